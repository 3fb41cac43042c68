"""Pieces of the sweep: row bookkeeping, Pareto front, atomic files."""
import json

import numpy as np
import pytest

from bench._sweep_network import ACCURACY_SALT, DRAM_SALT, sample_test_images
from bench._sweep_output import atomic_write, pareto_front, render_table, to_csv, to_json
from bench._sweep_select import best_row, closing_line, finish_rows, saving_terms


def test_test_samples_are_seeded_stratified_and_distinct():
    x = np.arange(1000 * 4, dtype=np.uint8).reshape(1000, 4)
    y = np.repeat(np.arange(10), 100)                          # ordered by class, like the split
    ia, xa, ya = sample_test_images(x, y, 10, 1, DRAM_SALT)
    ib, xb, yb = sample_test_images(x, y, 10, 1, DRAM_SALT)
    assert np.array_equal(xa, xb) and np.array_equal(ia, ib)
    assert sorted(ya.tolist()) == list(range(10))             # one per class, not ten zeros
    assert not np.array_equal(sample_test_images(x, y, 10, 2, DRAM_SALT)[0], ia)
    assert not np.array_equal(sample_test_images(x, y, 10, 1, ACCURACY_SALT)[0], ia)


def _row(policy, vdd, energy, val_high, test_loss, **kw):
    return {"policy": policy, "format": "fp32", "vdd_v": vdd, "energy_uj": energy, "energy_ci_low_uj": energy,
            "energy_ci_high_uj": energy, "saving_pct": 0.0, "val_loss_ci_high": val_high,
            "accuracy_pct": 90.0 - test_loss, "accuracy_ci_low": 89.0, "accuracy_ci_high": 91.0,
            "accuracy_loss": test_loss, "loss_ci_low": test_loss - 1, "loss_ci_high": test_loss + 1, **kw}


ROWS = [
    _row("linear", 1.35, 10.0, 0.0, 0.0),
    _row("drmap", 1.1, 6.0, 0.9, 3.0),          # passes on validation, fails on test: still chosen
    _row("drmap", 1.05, 5.0, 1.2, 0.0),         # fails on validation, fine on test: never chosen
    {"policy": "sparkxd", "format": "fp32", "vdd_v": 1.05, "error": "does not fit", "note": "does not fit"},
]


def test_best_row_is_chosen_on_validation_and_reports_test():
    assert best_row(ROWS, 1.0)["vdd_v"] == 1.1
    assert best_row(ROWS, 1.2)["vdd_v"] == 1.05
    line = closing_line(ROWS, 1.0)
    assert "drmap at 1.1 V" in line and "loss 3.00 points [2.00, 4.00]" in line
    assert "no configuration" in closing_line(ROWS[2:], 1.0)
    rows = finish_rows([{k: v for k, v in r.items() if k != "saving_pct"} for r in ROWS], 1.35, 1.0)
    assert [r.get("meets_target") for r in rows] == ["yes", "yes", "no", None]
    assert rows[1]["saving_pct"] == 40.0 and rows[0]["note"] == "baseline"


def test_saving_terms_multiply_to_the_total():
    t = saving_terms([100.0, 90.0, 45.0, 15.0])
    assert (t["placement_pct"], t["voltage_pct"]) == pytest.approx((10.0, 50.0))
    assert t["format_pct"] == pytest.approx(100 * (1 - 15 / 45))
    assert (1 - t["total_pct"] / 100) == pytest.approx(
        (1 - t["placement_pct"] / 100) * (1 - t["voltage_pct"] / 100) * (1 - t["format_pct"] / 100))


def test_pareto_front_by_hand():
    pts = [{"energy_uj": 10.0, "accuracy_pct": 90.0}, {"energy_uj": 6.0, "accuracy_pct": 89.5},
           {"energy_uj": 5.0, "accuracy_pct": 80.0}, {"energy_uj": 7.0, "accuracy_pct": 85.0}]  # last: dominated
    front = pareto_front(pts)
    assert [(r["energy_uj"], r["accuracy_pct"]) for r in front] == [(5.0, 80.0), (6.0, 89.5), (10.0, 90.0)]


def test_csv_json_and_table_render_missing_values_as_empty(tmp_path):
    csv_text = to_csv(ROWS)
    last = csv_text.strip().splitlines()[-1]
    assert last.startswith(",sparkxd,fp32,1.05,,") and last.endswith(",does not fit")
    doc = json.loads(to_json(ROWS, {"seed": 0}))
    assert doc["rows"][3]["energy_uj"] is None and doc["meta"]["seed"] == 0
    assert "does not fit" in render_table(ROWS)
    path = tmp_path / "sub" / "t.csv"
    atomic_write(path, csv_text)
    atomic_write(path, csv_text)                                # overwrite in place
    assert path.read_text() == csv_text
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]  # no temporary file left


def test_a_target_the_error_free_network_misses_is_refused():
    from bench._sweep_errors import UsageError
    from bench._sweep_main import _check_reachable
    rng = np.random.default_rng(0)
    fp32 = rng.random((2, 400)) < 0.8
    q8 = fp32.copy()
    q8[:, :40] = False                                        # q8 loses ~8 points on validation
    clean = {"clean_val_fp32": fp32, "clean_val_q8": q8}
    _check_reachable(clean, "fp32", 0.0)                      # fp32 against itself: loss exactly 0
    _check_reachable(clean, "q8", 20.0)
    with pytest.raises(UsageError, match="--target-loss 1: the error-free q8 network already loses"):
        _check_reachable(clean, "q8", 1.0)


def test_the_compact_grid_fits_120_columns_however_many_policies_and_formats():
    """Issue 13: the terminal view fits 120 columns; a grid with more columns than fit is
    stacked, and no cell is lost on the way."""
    from bench._sweep_output import render_grid
    rng = np.random.default_rng(0)
    policies = ["linear", "drmap", "sparkxd", "random", "my_policy_with_a_long_name"]
    rows = [dict(policy="linear", format="fp32", vdd_v=1.35, energy_uj=1.0, saving_pct=0.0,
                 accuracy_loss=0.0, loss_ci_low=0.0, loss_ci_high=0.0, meets_target="yes")]
    for policy in policies:
        for fmt in ("q8", "q16"):
            for vdd in (1.35, 1.2, 1.05, 1.025):
                loss = float(rng.uniform(-20, 20))
                rows.append(dict(policy=policy, format=fmt, vdd_v=vdd, energy_uj=1.0,
                                 saving_pct=float(rng.uniform(-130, 90)), accuracy_loss=loss,
                                 loss_ci_low=loss - 3.21, loss_ci_high=loss + 3.21, meets_target="no"))
    text = render_grid(rows, 1.0, best=rows[0])
    assert max(len(line) for line in text.splitlines()) <= 120
    for r in rows:
        assert f"{r['saving_pct']:.1f} | {r['accuracy_loss']:.2f} [{r['loss_ci_low']:.2f}," in text
    assert text.count("VDD (V)") > 1                      # stacked, not wrapped
