"""python -m bench.sweep_mappings: option and input errors, and small end-to-end sweeps."""
import csv
import json
from pathlib import Path

import pytest

from bench.sweep_mappings import main

SAMPLES = Path(__file__).resolve().parents[1] / "traces" / "samples"
TINY = ["--neurons", "10", "--train-images", "60", "--val-images", "100", "--images", "40",
        "--dram-images", "2", "--vdd", "1.35,1.05", "--fault-maps", "2", "--spike-seeds", "1", "--no-progress"]


def _fails_cleanly(argv, tmp_path, capsys, expect):
    out = tmp_path / "out"
    rc = main([*argv, "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert rc == 2
    assert expect in err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize("argv, expect", [
    (["--vdd", "1.35,abc"], "bad list of numbers"),
    (["--vdd", "0.9"], "outside"),
    (["--policies", "linear,nosuch"], "unknown placement policy 'nosuch'"),
    (["--spec", "no-such-spec"], "no such spec"),
    (["--format", "q4"], "q4"),
    (["--error-model", "cosmic"], "unknown error model"),
    (["--vendor", "Z"], "Z"),
    (["--dataflow", "sideways"], "unknown dataflow"),
    (["--fault-maps", "0"], "argument --fault-maps/--seeds"),
    (["--seeds", "0"], "argument --fault-maps/--seeds"),
    (["--salp", "maybe"], "invalid choice"),
    (["--vdd", "1.2,1.2"], "must not repeat"),
    (["--spike-seeds", "0"], "argument --spike-seeds"),
    (["--val-images", "4000"], "--val-images 4000"),
    (["--val-images", "1"], "--val-images 1"),
    (["--val-images", "3000", "--train-images", "1001"], "--train-images 1001"),
    (["--images", "1001"], "--images 1001"),
    (["--preset", "best"], "argument --preset: invalid choice"),
    (["--training", "magic"], "--training 'magic'"),
    (["--dimm", "B99"], "B99"),
    (["--dimm", "A1"], "A1"),                                   # a DIMM of another vendor than B
    (["--vdd", "1.35,1.025"], "does not operate"),              # the median DIMM stops above 1.025 V
    (["--dimm-statistic", "typical"], "--dimm-statistic 'typical'"),
    (["--spread", "wide"], "--spread 'wide'"),
    (["--vdd-timing", "fast"], "--vdd-timing 'fast'"),
])
def test_bad_options_exit_2_and_write_nothing(argv, expect, tmp_path, capsys):
    _fails_cleanly(argv, tmp_path, capsys, expect)


def test_bad_trace_line_is_reported_as_file_line_reason(tmp_path, capsys):
    bad = tmp_path / "bad.trace"
    bad.write_text("0x40 R\n0x80 W\n0x1c0 X\n")
    _fails_cleanly(["--trace", str(bad)], tmp_path, capsys, f"{bad}:3:")


def test_bad_logical_trace_is_reported(tmp_path, capsys):
    bad = tmp_path / "bad.logical.txt"
    bad.write_text("# sparkxd-logical v1\n0 1 0 10 0\n5 2 0 -3 0\n")
    _fails_cleanly(["--trace", str(bad)], tmp_path, capsys, f"{bad}:3:")


def test_missing_trace_and_out_is_a_file(tmp_path, capsys):
    _fails_cleanly(["--trace", str(tmp_path / "nope.trace")], tmp_path, capsys, "nope.trace")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["--out", str(blocker), "--cache-dir", str(tmp_path / "cache")])
    assert rc == 2 and "not a directory" in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_help_has_examples(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "--trace" in text and "--target-loss" in text


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_small_sweep_end_to_end_and_reproducible(tmp_path, capsys):
    cache = tmp_path / "cache"
    argv = [*TINY, "--policies", "linear,drmap,sparkxd,random", "--cache-dir", str(cache), "--plot"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    rows = _read_csv(tmp_path / "a" / "sweep.csv")
    chosen = [r for r in rows if r["meets_target"] == "yes"]
    assert chosen                                  # the error-free baseline always meets the target
    best = min(chosen, key=lambda r: float(r["energy_uj"]))
    assert f"{best['policy']} at {float(best['vdd_v']):g} V" in printed
    assert [(r["policy"], r["vdd_v"]) for r in rows] == [
        (p, v) for p in ("linear", "drmap", "sparkxd", "random") for v in ("1.35", "1.05")]
    base = rows[0]
    assert base["note"] == "baseline" and float(base["saving_pct"]) == 0.0
    for r in rows:
        if r["note"].startswith("does not fit"):
            continue
        assert 0.0 <= float(r["row_hit_rate"]) <= 1.0
        assert 0.0 <= float(r["accuracy_ci_low"]) <= float(r["accuracy_pct"]) <= float(r["accuracy_ci_high"]) <= 100
        assert float(r["val_loss_ci_low"]) <= float(r["val_accuracy_loss"]) <= float(r["val_loss_ci_high"])
        assert float(r["energy_ci_low_uj"]) <= float(r["energy_uj"]) <= float(r["energy_ci_high_uj"])
        parts = sum(float(r[k]) for k in ("energy_act_uj", "energy_rd_uj", "energy_bg_uj", "energy_ref_uj"))
        assert parts == pytest.approx(float(r["energy_uj"]), rel=1e-6)
    by = {(r["policy"], r["vdd_v"]): r for r in rows}
    assert float(by[("linear", "1.05")]["energy_uj"]) < float(by[("linear", "1.35")]["energy_uj"])
    assert float(by[("drmap", "1.35")]["row_hit_rate"]) > float(by[("random", "1.35")]["row_hit_rate"])
    doc = json.loads((tmp_path / "a" / "sweep.json").read_text())
    assert len(doc["rows"]) == len(rows) and doc["meta"]["neurons"] == [10]
    assert all(r["neurons"] == "10" for r in rows)
    sets = doc["meta"]["sizes"]["10"]["image_sets"]
    assert (sets["validation_images"], sets["test_images"], sets["validation_seed"]) == (100, 40, 0)
    dram = doc["meta"]["sizes"]["10"]["dram_images"]
    assert dram["count"] == 2 and len(set(dram["labels"])) == 2   # a stratified sample, not two zeros
    assert (tmp_path / "a" / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # same seed -> identical bytes (the second run loads the cached network)
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    for name in ("sweep.csv", "sweep.json", "pareto.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.slow
def test_q8_sweep_keeps_the_fp32_baseline_row(tmp_path):
    """64 neurons: an fp32 weight row is 256 B = 4 bursts, a q8 row 64 B = 1 burst, so the q8
    sweep reads exactly a quarter of the bursts of the fp32 baseline (same input spikes)."""
    out = tmp_path / "q8"
    argv = [*TINY, "--neurons", "64", "--format", "q8", "--policies", "linear", "--vdd", "1.35,1.05",
            "--target-loss", "100"]
    assert main([*argv, "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]) == 0
    rows = _read_csv(out / "sweep.csv")
    assert [(r["policy"], r["format"], r["vdd_v"]) for r in rows] == [
        ("linear", "fp32", "1.35"), ("linear", "q8", "1.35"), ("linear", "q8", "1.05")]
    assert rows[0]["note"] == "baseline"
    base, q8, q8_low = rows
    assert float(q8["energy_rd_uj"]) / float(base["energy_rd_uj"]) == pytest.approx(0.25, rel=1e-6)
    ratio = float(q8_low["energy_rd_uj"]) / float(q8["energy_rd_uj"])
    assert ratio == pytest.approx((1.05 / 1.35) ** 2, rel=1e-6)
    assert float(q8_low["saving_pct"]) > float(q8["saving_pct"]) > 50.0


def test_logical_trace_compares_policies(tmp_path, capsys):
    out = tmp_path / "lt"
    assert main(["--trace", str(SAMPLES / "logical_small.txt"), "--policies", "linear,drmap,random",
                 "--vdd", "1.35,1.1", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                 "--no-progress"]) == 0
    rows = _read_csv(out / "trace_sweep.csv")
    assert len(rows) == 6 and all(r["accuracy_pct"] == "" for r in rows)
    by = {(r["policy"], r["vdd_v"]): r for r in rows}
    assert float(by[("drmap", "1.35")]["row_hit_rate"]) > float(by[("random", "1.35")]["row_hit_rate"])


def test_physical_trace_compares_mappings_schedulers_pages(tmp_path, capsys):
    out = tmp_path / "pt"
    assert main(["--trace", str(SAMPLES / "random_500.ramulator"), "--out", str(out),
                 "--cache-dir", str(tmp_path / "cache"), "--no-progress"]) == 0
    rows = _read_csv(out / "trace_sweep.csv")
    first = (rows[0]["mapping"], rows[0]["scheduler"], rows[0]["page_policy"])
    assert first == ("RoBaRaCoCh", "frfcfs", "open")
    assert len({(r["mapping"], r["scheduler"], r["page_policy"]) for r in rows}) == len(rows) >= 12
    assert all(float(r["requests"]) == 500 for r in rows)


@pytest.mark.slow
def test_several_sizes_shortcuts_and_jobs_give_the_same_bytes(tmp_path, capsys):
    """Two network sizes in one run: a table each and a summary across them; the shortcuts
    (deduplicated points, only reachable images evaluated) and any --jobs change nothing."""
    cache = tmp_path / "cache"
    argv = [*TINY, "--neurons", "10,16", "--vdd", "1.35,1.075,1.05", "--training", "plain",
            "--cache-dir", str(cache)]
    assert main([*argv, "--jobs", "2", "--out", str(tmp_path / "fast")]) == 0
    printed = capsys.readouterr().out
    assert "N=10:" in printed and "N=16:" in printed and "mean saving of the best rows across" in printed
    assert main([*argv, "--jobs", "1", "--no-shortcuts", "--out", str(tmp_path / "slow")]) == 0
    for name in ("sweep.csv", "sweep.json"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "slow" / name).read_bytes(), name
    rows = _read_csv(tmp_path / "fast" / "sweep.csv")
    assert {r["neurons"] for r in rows} == {"10", "16"}
    doc = json.loads((tmp_path / "fast" / "sweep.json").read_text())
    summary = doc["meta"]["summary_across_sizes"]
    assert [s["neurons"] for s in summary["sizes"]] == [10, 16]
    savings = [s["saving_pct"] for s in summary["sizes"] if "saving_pct" in s]
    assert summary["mean_saving_pct"] == pytest.approx(sum(savings) / len(savings))


def test_a_voltage_the_dimm_does_not_reach_is_a_row_that_says_so(tmp_path):
    """The default VDD list runs down to 1.025 V, where the median vendor-B DIMM does not
    operate: those rows say so instead of disappearing or failing the run."""
    out = tmp_path / "o"
    argv = [*TINY, "--vdd", "1.35,1.05", "--policies", "linear", "--training", "plain"]
    argv = [a for a in argv if a not in ("--vdd", "1.35,1.05")]
    assert main([*argv, "--out", str(out), "--cache-dir", str(tmp_path / "c")]) == 0
    rows = {r["vdd_v"]: r for r in _read_csv(out / "sweep.csv")}
    assert rows["1.025"]["note"].startswith("does not operate: Voltron vendor B median DIMM")
    assert rows["1.025"]["energy_uj"] == "" and rows["1.05"]["energy_uj"] != ""
    meta = json.loads((out / "sweep.json").read_text())["meta"]
    assert meta["ber_curve"] == "Voltron vendor B median DIMM" and meta["vdd_timing"] == "nominal"
    assert meta["error_params"]["subarray_spread"] == pytest.approx(0.6)


def test_timed_arrivals_report_what_power_down_saves(tmp_path):
    out = tmp_path / "pd"
    argv = [*TINY, "--policies", "linear", "--training", "plain", "--arrival", "timed", "--powerdown-idle", "64"]
    assert main([*argv, "--out", str(out), "--cache-dir", str(tmp_path / "c")]) == 0
    for r in _read_csv(out / "sweep.csv"):
        saved, with_pd, energy = (float(r[k]) for k in ("pd_saved_uj", "energy_pd_uj", "energy_uj"))
        assert saved > 0 and with_pd == pytest.approx(energy - saved)      # a timed stream idles
        assert float(r["pd_saved_pct"]) == pytest.approx(100 * saved / energy)
    rc = main([*TINY, "--powerdown-idle", "64", "--self-refresh-idle", "32", "--out", str(tmp_path / "x")])
    assert rc == 2 and not (tmp_path / "x").exists()


def test_python_api_returns_a_dataframe_and_writes_nothing_by_default(tmp_path, monkeypatch):
    import pandas as pd
    from bench.sweep_mappings import sweep
    monkeypatch.chdir(tmp_path)
    df = sweep(TINY[:-5] + ["--spike-seeds", "1"], policies=["linear", "drmap"], training="plain",
               cache_dir=str(tmp_path / "c"))
    assert isinstance(df, pd.DataFrame) and list(df.policy) == ["linear", "linear", "drmap", "drmap"]
    assert {"energy_uj", "saving_ci_low", "accuracy_loss", "loss_ci_high", "meets_target"} <= set(df.columns)
    assert df.attrs["meta"]["neurons"] == [10]
    assert not (tmp_path / "sparkxd_out").exists()
    with pytest.raises(ValueError, match="--vdd"):
        sweep(vdd=[0.5], cache_dir=str(tmp_path / "c"))


def test_csv_dash_streams_the_csv_to_stdout(tmp_path, capsys):
    argv = [*TINY, "--policies", "linear", "--training", "plain", "--csv", "-",
            "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == (tmp_path / "o" / "sweep.csv").read_text()   # stdout is the CSV alone
    assert "cell: saving %" in captured.err                           # the view went to stderr


def test_data_option_reaches_the_sweep_and_bad_idx_dirs_fail_first(tmp_path, capsys):
    rc = main([*TINY, "--idx-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "nowhere" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
