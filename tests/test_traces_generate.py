"""Synthetic generators (determinism, statistics), the two CLIs, and the shipped samples."""
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from traces import generate as gen
from traces import read_logical, read_trace
from traces.records import REQUEST_DTYPE

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "traces" / "samples"
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@pytest.mark.parametrize("name", sorted(gen.GENERATORS))
def test_same_seed_same_array_other_seed_other_array(name):
    fn = gen.GENERATORS[name]
    a = fn(3000, seed=11, write_fraction=0.5)
    b = fn(3000, seed=11, write_fraction=0.5)
    c = fn(3000, seed=12, write_fraction=0.5)
    assert a.dtype == REQUEST_DTYPE and a.size == 3000
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()          # at least the write draws differ
    assert (a["addr"] % 64 == 0).all()
    assert (a["arrive"] == -1).all()
    assert 0.45 < a["is_write"].mean() < 0.55


def test_seq_is_consecutive_and_wraps():
    r = gen.seq(1000, base=4096)
    assert r["addr"][0] == 4096 and (np.diff(r["addr"].astype(np.int64)) == 64).all()
    assert not r["is_write"].any()
    w = gen.seq(10, span_bytes=256)
    assert w["addr"].tolist() == [0, 64, 128, 192] * 2 + [0, 64]


def test_stride_steps_and_wraps_within_span():
    r = gen.stride(20, stride_bytes=128 * KiB, span_bytes=MiB)
    assert r["addr"].tolist() == [(i * 128 * KiB) % MiB for i in range(20)]
    d = gen.stride(100)
    assert (np.diff(d["addr"].astype(np.int64)) == 128 * KiB).all()   # default stride


def test_random_is_uniform_within_span():
    r = gen.random(200_000, seed=3, base=GiB, span_bytes=64 * MiB)
    addr = r["addr"].astype(np.int64)
    assert addr.min() >= GiB and addr.max() < GiB + 64 * MiB
    counts = np.bincount((addr - GiB) // (8 * MiB), minlength=8)   # 8 equal bins
    assert counts.min() > 0.95 * 200_000 / 8 and counts.max() < 1.05 * 200_000 / 8
    assert np.unique(addr).size > 150_000          # 1M lines in span: few repeats
    assert gen.random(1000)["addr"].max() < GiB    # default span 1 GiB


def test_hotrows_concentrates_on_few_regions():
    r = gen.hotrows(50_000, seed=5, n_hot=3, hot_fraction=0.8, region_bytes=8 * KiB)
    regions, counts = np.unique(r["addr"] // (8 * KiB), return_counts=True)
    top3 = np.sort(counts)[-3:].sum()
    assert 0.78 < top3 / r.size < 0.83            # 80% hot plus the odd cold hit
    assert regions.size > 1000                    # the rest spread over the span


def test_mixed_runs_and_writes():
    r = gen.mixed(100_000, seed=9, seq_fraction=0.75)
    step = np.diff(r["addr"].astype(np.int64))
    assert 0.73 < (step == 64).mean() < 0.77       # continues sequentially 75% of the time
    assert 0.28 < r["is_write"].mean() < 0.32      # default write fraction 0.3


def test_interval_sets_arrival_cycles():
    assert gen.seq(5, interval_cycles=4)["arrive"].tolist() == [0, 4, 8, 12, 16]


@pytest.mark.parametrize("call, match", [
    (lambda: gen.seq(0), "n: must be"),
    (lambda: gen.random(5, span_bytes=100), "span"),
    (lambda: gen.stride(5, stride_bytes=96), "stride"),
    (lambda: gen.hotrows(5, n_hot=10**9), "n_hot"),
    (lambda: gen.mixed(5, write_fraction=1.5), "write_fraction"),
    (lambda: gen.seq(5, base=3), "base"),
])
def test_generator_argument_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_logical_spikes():
    acc = gen.logical_spikes(3, seed=1, n_rows=50, words_per_row=8, timesteps=10,
                             spike_rate=0.2)
    assert acc.tobytes() == gen.logical_spikes(3, seed=1, n_rows=50, words_per_row=8,
                                               timesteps=10, spike_rate=0.2).tobytes()
    assert 0.17 < acc.size / (3 * 10 * 50) < 0.23
    assert set(acc["image"].tolist()) == {0, 1, 2} and (acc["n_words"] == 8).all()
    assert (np.diff(acc["time_ns"]) >= 0).all() and acc["row"].max() < 50


# --- command lines ---------------------------------------------------------------------------

def run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_generate_cli_writes_what_the_function_returns(tmp_path):
    out = tmp_path / "s.npy"
    assert gen.main(["stride", "--n", "100", "--seed", "4", "--stride", "8KiB", "--span",
                     "1MiB", "--write-fraction", "0.5", "--out", str(out)]) == 0
    np.testing.assert_array_equal(
        read_trace(out), gen.stride(100, 4, stride_bytes=8 * KiB, span_bytes=MiB,
                                    write_fraction=0.5))


@pytest.mark.parametrize("argv", [
    ["mixed", "--n", "0", "--out", "X"],
    ["mixed", "--n", "10", "--write-fraction", "2", "--out", "X"],
    ["stride", "--n", "10", "--stride", "100", "--out", "X"],
    ["seq", "--n", "10", "--span", "lots", "--out", "X"],
    ["bogus", "--n", "10", "--out", "X"],
    ["seq", "--n", "10", "--out", "X", "--format", "csv"],
])
def test_generate_cli_bad_input_exits_2_without_output(tmp_path, capsys, argv):
    argv = [str(tmp_path / "out.trace") if a == "X" else a for a in argv]
    assert gen.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error:" in err
    assert list(tmp_path.iterdir()) == []


def test_convert_cli(tmp_path):
    src = SAMPLES / "mixed_2000.trace"
    out = tmp_path / "m.dramsim3.gz"
    done = run("traces", "convert", str(src), str(out), "--chunk", "300")
    assert done.returncode == 0, done.stderr
    want = read_trace(src)
    np.testing.assert_array_equal(read_trace(out), want)        # cycles kept by dramsim3
    back = tmp_path / "m.npz"
    assert run("traces", "convert", str(out), str(back)).returncode == 0
    np.testing.assert_array_equal(read_trace(back), want)
    logical = tmp_path / "l.npz"
    assert run("traces", "convert", str(SAMPLES / "logical_small.txt"),
               str(logical)).returncode == 0
    assert read_logical(logical)[1] == read_logical(SAMPLES / "logical_small.txt")[1]
    info = run("traces", "info", str(src))
    assert info.returncode == 0 and "2000" in info.stdout


def test_convert_cli_errors(tmp_path):
    bad = tmp_path / "bad.trace"
    bad.write_text("0x40 R\n0x80 Z\n")
    out = tmp_path / "out.npy"
    done = run("traces", "convert", str(bad), str(out))
    assert done.returncode == 2
    assert done.stderr.strip() == \
        f"python -m traces: error: {bad}:2: bad R/W field 'Z' (expected R or W)"
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["bad.trace"]
    same = run("traces", "convert", str(bad), str(bad))
    assert same.returncode == 2 and "refusing to overwrite it" in same.stderr
    missing = run("traces", "convert", str(tmp_path / "nope"), str(out))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert run("traces", "convert", str(bad)).returncode == 2
    helped = run("traces", "--help")
    assert helped.returncode == 0 and "examples:" in helped.stdout


def test_samples_are_reproduced_by_their_readme_commands(tmp_path):
    """Each command in traces/samples/README.md regenerates its sample byte for byte."""
    commands = [line.split() for line in (SAMPLES / "README.md").read_text().splitlines()
                if line.strip().startswith("python -m traces.generate")]
    assert len(commands) >= 4
    made = set()
    for words in commands:
        argv = words[3:]
        target = argv[argv.index("--out") + 1]
        argv[argv.index("--out") + 1] = str(tmp_path / Path(target).name)
        assert gen.main(argv) == 0, shlex.join(words)
        assert (tmp_path / Path(target).name).read_bytes() == (ROOT / target).read_bytes()
        made.add(Path(target).name)
    assert made == {p.name for p in SAMPLES.iterdir() if p.name != "README.md"}
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 200 * 1024
    assert read_trace(SAMPLES / "mixed_2000.trace").size == 2000
