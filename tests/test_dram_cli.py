"""``python -m dramsim``: bad input gives one line and exit 2 with nothing written; good input
gives deterministic outputs that agree with the engine and the checker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dramsim.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "traces" / "samples" / "random_500.ramulator"


def write_trace(path: Path, lines) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


@pytest.fixture
def trace(tmp_path):
    lines = [f"{i * 7} 0x{(i * 0x1040) % (1 << 24):x} {'W' if i % 4 == 0 else 'R'}" for i in range(150)]
    return write_trace(tmp_path / "small.trace", lines)


def run_cli(capsys, *args):
    """(exit status, stdout, stderr) of main(args); argparse usage errors exit via SystemExit."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def outputs(tmp_path):
    return {tmp_path / "o.json", tmp_path / "o.csv", tmp_path / "o.log.csv"}


BAD_CASES = {
    "missing trace": (["--trace", "{dir}/nope.trace"], "nope.trace:0:"),
    "bad line": (["--trace", "{bad_line}"], "bad.trace:3:"),
    "address beyond capacity": (["--trace", "{too_far}"], "far.trace:4: request 1"),
    "channels not a power of two": (["--trace", "{trace}", "--channels", "3"], "--channels:"),
    "ranks zero": (["--trace", "{trace}", "--ranks", "0"], "--ranks:"),
    "unknown spec": (["--trace", "{trace}", "--spec", "DDR9-1"], "--spec:"),
    "vdd outside table": (["--trace", "{trace}", "--vdd", "0.4"], "--vdd:"),
    "bad mapping": (["--trace", "{trace}", "--mapping", "RoBaXx"], "--mapping:"),
    "bad scheduler": (["--trace", "{trace}", "--scheduler", "lifo"], "--scheduler:"),
    "no trace option": ([], "required: --trace"),
    "output over the trace": (["--trace", "{trace}", "--csv", "{trace}"], "refusing to overwrite it"),
    "output dir missing": (["--trace", "{trace}", "--json", "{dir}/no/such/dir/x.json"], "does not exist"),
    "bad controller": (["--trace", "{trace}", "--controller", "r3"], "--controller:"),
    "power-down idle 0": (["--trace", "{trace}", "--powerdown-idle", "0"], "--powerdown-idle:"),
    "negative self-refresh idle": (["--trace", "{trace}", "--self-refresh-idle", "-4"], "--self-refresh-idle:"),
    "self-refresh sooner than power-down": (["--trace", "{trace}", "--powerdown-idle", "100",
                                             "--self-refresh-idle", "50"], "--self-refresh-idle: must be longer"),
    "power-down on a spec without IDD2P": (["--trace", "{trace}", "--spec", "{nopd}", "--powerdown-idle", "10"],
                                           "nopd.toml: currents.IDD2P: missing"),
    "watermarks crossed": (["--trace", "{trace}", "--write-low-watermark", "0.9", "--write-high-watermark", "0.5"],
                           "--write-low-watermark:"),
    "watermark above 1": (["--trace", "{trace}", "--write-high-watermark", "1.5"], "--write-high-watermark:"),
    "refresh interval within nRFC": (["--trace", "{trace}", "--refresh-interval", "100"], "--refresh-interval:"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_one_line_exit_2_nothing_written(case, tmp_path, trace, capsys):
    args, expected = BAD_CASES[case]
    bad_line = write_trace(tmp_path / "bad.trace", ["0x40 R", "# comment", "0x80 Q"])
    too_far = write_trace(tmp_path / "far.trace", ["0x40 R", "", "# big one next", "0x40000000000 W"])
    nopd = tmp_path / "nopd.toml"                  # a complete spec file without the low-power currents
    nopd.write_text("\n".join(line for line in (ROOT / "dramsim/specs/DDR3-1600K.toml").read_text().splitlines()
                              if not line.startswith(("IDD2P", "IDD3P", "IDD6"))))
    before = trace.read_bytes()
    fill = {"dir": tmp_path, "trace": trace, "bad_line": bad_line, "too_far": too_far, "nopd": nopd}
    argv = [a.format(**fill) for a in args]
    if "--json" not in argv and "--csv" not in argv:
        argv += ["--json", tmp_path / "o.json", "--command-log", tmp_path / "o.log.csv"]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m dramsim: error: ") and expected in lines[0], err
    assert out == ""
    assert not any(p.exists() for p in outputs(tmp_path))
    assert trace.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temp files
    assert not (tmp_path / "nopd.toml.ch0.rank0.drampower").exists()


def test_good_run_writes_deterministic_outputs(tmp_path, trace, capsys):
    a = [tmp_path / "a.json", tmp_path / "a.csv", tmp_path / "a.log.csv"]
    b = [tmp_path / "b.json", tmp_path / "b.csv", tmp_path / "b.log.csv"]
    for j, c, log in (a, b):
        status, out, err = run_cli(capsys, "--spec", "DDR4-2400R", "--trace", trace, "--channels", "2",
                                   "--json", j, "--csv", c, "--command-log", log)
        assert status == 0, err
        assert "energy counts all" in out and "row_hit_rate" in out
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes()
    doc = json.loads(a[0].read_text())
    assert doc["totals"]["requests"] == 150
    assert len(doc["channels"]) == 2 and len(doc["banks"]) == 2 * 16
    t = doc["totals"]
    assert t["reads"] + t["writes"] + t["forwarded_reads"] + t["coalesced_writes"] == 150
    assert a[1].read_text().splitlines()[0] == "scope,metric,value"
    for ch in range(2):
        assert (tmp_path / f"a.log.csv.ch{ch}.rank0.drampower").stat().st_size > 0


def test_command_log_replays_clean_and_matches_counters(tmp_path, trace, capsys):
    checker = pytest.importorskip("dramsim.checker")
    from dramsim.address import AddressMapper
    from dramsim.config import ControllerConfig
    from dramsim.spec import load_spec
    from traces import read_trace
    log_path, json_path = tmp_path / "r.log.csv", tmp_path / "r.json"
    status, _, err = run_cli(capsys, "--spec", "DDR3L-1600K", "--trace", trace, "--page-policy", "closed",
                             "--salp", "masa", "--command-log", log_path, "--json", json_path, "--quiet")
    assert status == 0, err
    spec = load_spec("DDR3L-1600K")
    config = ControllerConfig(page_policy="closed", salp="masa")
    log = checker.read_command_log_csv(log_path)
    d = AddressMapper(spec).decode_records(read_trace(trace))
    assert checker.check_log(log, spec, config, requests=d) == []
    doc = json.loads(json_path.read_text())
    assert doc["totals"]["commands"]["RDA"] == int(np.sum(log["command"] == 5))
    assert doc["totals"]["cycles_to_drain"] > int(log["cycle"].max())


def test_controller_options_in_header_line_json_and_log_header(tmp_path, trace, capsys):
    """Watermarks, refresh interval, controller variant and power management reach the printed
    header line, the JSON and the command log's header, which the checker reads."""
    from dramsim import checker
    from dramsim.cmdlog import read_header
    log_path, json_path = tmp_path / "r.log.csv", tmp_path / "r.json"
    status, out, err = run_cli(capsys, "--trace", trace, "--ranks", "2", "--write-high-watermark", "0.5",
                               "--write-low-watermark", "0.1", "--refresh-interval", "3120", "--powerdown-idle",
                               "20", "--self-refresh-idle", "900", "--controller", "r2.0-conservative",
                               "--command-log", log_path, "--json", json_path)
    assert status == 0, err
    assert ("controller r2.0-conservative, queues 32/32, write drain 0.1/0.5, refresh every 3120 cycles, "
            "power-down 20, self-refresh 900") in out
    cfg = json.loads(json_path.read_text())["config"]
    assert (cfg["write_high_watermark"], cfg["write_low_watermark"], cfg["refresh_interval"],
            cfg["effective_nrefi"], cfg["powerdown_idle"], cfg["controller"]) == (0.5, 0.1, 3120, 3120, 20,
                                                                                "r2.0-conservative")
    header, _ = read_header(log_path)
    assert (header["ranks"], header["refresh_interval"], header["powerdown_idle"], header["requests"],
            header["spec.name"], header["controller"]) == (2, 3120, 20, 150, "DDR3L-1600K", "r2.0-conservative")
    assert checker.main([str(log_path), "--trace", str(trace)]) == 0        # everything from the header
    capsys.readouterr()
    # a flag that disagrees with the header is bad input, unless --override
    assert checker.main([str(log_path), "--ranks", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "r.log.csv: header.ranks: the log says 2, --ranks says 1" in err
    assert checker.main([str(log_path), "--controller", "r2.1", "--override"]) in (0, 1)
    assert "warning:" in capsys.readouterr().err
    # a spec that is not the run's (another device, or the file changed) is bad input too
    assert checker.main([str(log_path), "--spec", "DDR3-1600K"]) == 2            # (1.5 V only)
    assert "r.log.csv: header.vdd:" in capsys.readouterr().err
    assert checker.main([str(log_path), "--spec", "DDR3L-1600K", "--channels", "2"]) == 2
    assert "r.log.csv: header.channels" in capsys.readouterr().err
    text = log_path.read_text()
    tampered = tmp_path / "t.log.csv"
    tampered.write_text(text.replace('# vdd = 1.35', '# vdd = 1.3'))
    assert checker.main([str(tampered)]) == 2
    assert "t.log.csv: header.spec.sha256" in capsys.readouterr().err
    # --scheme still works, with a deprecation warning
    assert checker.main([str(log_path), "--scheme", "RoBaRaCoCh"]) == 0
    assert "--scheme is deprecated" in capsys.readouterr().err


def test_vdd_slows_core_timings(tmp_path, trace, capsys):
    nominal, low = tmp_path / "n.json", tmp_path / "l.json"
    assert run_cli(capsys, "--trace", trace, "--json", nominal, "--quiet")[0] == 0
    assert run_cli(capsys, "--trace", trace, "--vdd", "1.1", "--json", low, "--quiet")[0] == 0
    n, l_ = json.loads(nominal.read_text()), json.loads(low.read_text())
    assert l_["device"]["timing"]["nRCD"] >= n["device"]["timing"]["nRCD"]
    assert l_["device"]["vdd"] == 1.1


def test_help_and_module_entry_point():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "dramsim", "--help"], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0 and "examples:" in r.stdout and "all devices of a rank" in r.stdout.lower()
    r = subprocess.run([sys.executable, "-m", "dramsim", "--trace", str(SAMPLE), "--channels", "5"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().startswith("python -m dramsim: error: argument --channels:")
