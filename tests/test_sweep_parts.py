"""Pieces of the sweep: row bookkeeping, Pareto front, atomic files."""
import json

import numpy as np

from bench._sweep_main import best_row, closing_line
from bench._sweep_network import eval_sample
from bench._sweep_output import atomic_write, pareto_front, render_table, to_csv, to_json


def test_eval_sample_is_seeded_and_stratified_input_safe():
    x = np.arange(1000 * 4, dtype=np.uint8).reshape(1000, 4)
    y = np.repeat(np.arange(10), 100)                          # ordered by class, like the split
    xa, ya = eval_sample(x, y, 200, seed=1)
    xb, yb = eval_sample(x, y, 200, seed=1)
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert len(set(ya.tolist())) == 10                         # not just the first classes
    assert not np.array_equal(eval_sample(x, y, 200, seed=2)[1], ya)


ROWS = [
    {"policy": "linear", "format": "fp32", "vdd_v": 1.35, "energy_uj": 10.0, "saving_pct": 0.0,
     "accuracy_pct": 90.0, "accuracy_loss": 0.0},
    {"policy": "drmap", "format": "fp32", "vdd_v": 1.1, "energy_uj": 6.0, "saving_pct": 40.0,
     "accuracy_pct": 89.5, "accuracy_loss": 0.5},
    {"policy": "drmap", "format": "fp32", "vdd_v": 1.05, "energy_uj": 5.0, "saving_pct": 50.0,
     "accuracy_pct": 80.0, "accuracy_loss": 10.0},
    {"policy": "sparkxd", "format": "fp32", "vdd_v": 1.05, "error": "does not fit", "note": "does not fit"},
]


def test_best_row_respects_the_accuracy_target():
    assert best_row(ROWS, 1.0)["vdd_v"] == 1.1
    assert best_row(ROWS, 10.0)["vdd_v"] == 1.05
    assert "drmap at 1.1 V" in closing_line(ROWS, 1.0)
    assert "no configuration" in closing_line(ROWS[2:], 1.0)


def test_pareto_front_by_hand():
    pts = [r for r in ROWS if "energy_uj" in r] + [
        {"energy_uj": 7.0, "accuracy_pct": 85.0}]            # dominated by (6.0, 89.5)
    front = pareto_front(pts)
    assert [(r["energy_uj"], r["accuracy_pct"]) for r in front] == [(5.0, 80.0), (6.0, 89.5), (10.0, 90.0)]


def test_csv_json_and_table_render_missing_values_as_empty(tmp_path):
    csv_text = to_csv(ROWS)
    last = csv_text.strip().splitlines()[-1]
    assert last.startswith("sparkxd,fp32,1.05,,") and last.endswith(",does not fit")
    doc = json.loads(to_json(ROWS, {"seed": 0}))
    assert doc["rows"][3]["energy_uj"] is None and doc["meta"]["seed"] == 0
    assert "does not fit" in render_table(ROWS)
    path = tmp_path / "sub" / "t.csv"
    atomic_write(path, csv_text)
    atomic_write(path, csv_text)                                # overwrite in place
    assert path.read_text() == csv_text
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]  # no temporary file left
