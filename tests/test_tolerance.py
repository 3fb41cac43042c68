"""Error-tolerance analysis (mapping.tolerance) and its CLI (bench.tolerance)."""
import json

import numpy as np
import pytest

from mapping.tolerance import (StoredWeights, bit_sensitivity, crossing_ber, log_grid, max_tolerable_ber,
                               summarize, tolerance_curve)
from snn.data import load_default_split
from snn.model import Model
from snn.params import NetworkParams
from snn.train import train


@pytest.fixture(scope="module")
def tiny():
    """A 10-neuron network trained on 300 images; 100 test images (a few seconds)."""
    ds = load_default_split()
    perm = np.random.default_rng(0).permutation(len(ds.x_train))[:300]
    m = Model.new(NetworkParams(n_neurons=10), seed=0)
    train(m, ds.x_train[perm], ds.y_train[perm], epochs=1, seed=0, progress=False)
    idx = np.linspace(0, len(ds.x_test) - 1, 100).round().astype(int)
    return m, ds.x_test[idx], ds.y_test[idx]


def test_log_grid():
    g = log_grid(1e-9, 1e-2, 2)
    assert len(g) == 15 and g[0] == pytest.approx(1e-9) and g[-1] == pytest.approx(1e-2)
    assert np.allclose(np.diff(np.log10(g)), 0.5)


def test_accuracy_falls_as_ber_rises(tiny):
    m, x, y = tiny
    bers = [1e-6, 1e-3, 3e-2]
    rows = tolerance_curve(m, x, y, bers, seeds=[0, 1], error_model=0, fmt="fp32", guard="none")
    assert len(rows) == 6 and {r["seed"] for r in rows} == {0, 1}
    s = {r["ber"]: r for r in summarize(rows)}
    store = StoredWeights.default(m.weights.shape, "fp32")
    from snn.infer import evaluate
    clean = evaluate(m, x, y, seed=0).accuracy
    assert clean > 0.3                                   # the tiny network learned something
    assert s[3e-2]["mean"] < clean - 0.1                 # fp32 without guard collapses
    assert s[3e-2]["mean"] <= s[1e-3]["mean"] <= s[1e-6]["mean"] + 0.02
    assert s[3e-2]["flipped_bits"] > s[1e-3]["flipped_bits"] > 0
    # same seeds -> same numbers
    again = tolerance_curve(m, x, y, bers, seeds=[0, 1], error_model=0, fmt="fp32", guard="none")
    assert again == rows
    assert store.layout.n_words == m.weights.size


def test_guard_buys_tolerance_for_fp32(tiny):
    m, x, y = tiny
    kw = dict(seeds=[0, 1], error_model=0, fmt="fp32")
    none = summarize(tolerance_curve(m, x, y, [1e-2], guard="none", **kw))[0]["mean"]
    zero = summarize(tolerance_curve(m, x, y, [1e-2], guard="zero", **kw))[0]["mean"]
    assert zero > none + 0.1


def test_zero_flip_rows_reuse_clean_accuracy(tiny):
    m, x, y = tiny
    calls = []

    def fake_eval(model, xs, ys, seed, weights):
        calls.append(1)
        return 0.5 - 0.01 * len(calls)

    rows = tolerance_curve(m, x, y, [1e-12, 0.5], seeds=[0, 1, 2], fmt="q8", evaluate=fake_eval, clean=0.9)
    lo = [r for r in rows if r["ber"] == 1e-12]
    assert all(r["flipped_bits"] == 0 and r["accuracy"] == 0.9 for r in lo)
    assert len(calls) == 3                                # only the BER-0.5 rows were evaluated


def test_summary_and_tolerable_ber():
    rows = [{"error_model": 0, "format": "fp32", "guard": "none", "ber": b, "seed": s, "accuracy": a,
             "flipped_bits": 0}
            for b, accs in ((1e-6, (0.80, 0.80)), (1e-5, (0.80, 0.78)), (1e-4, (0.74, 0.76)), (1e-3, (0.5, 0.3)))
            for s, a in enumerate(accs)]
    s = summarize(rows)
    assert [r["mean"] for r in s] == pytest.approx([0.80, 0.79, 0.75, 0.40])
    assert s[1]["std"] == pytest.approx(np.std([0.80, 0.78], ddof=1))
    assert s[2]["min"] == 0.74
    assert max_tolerable_ber(s, 0.79) == 1e-5
    assert max_tolerable_ber(rows, 0.79) == 1e-5               # raw rows are summarised first
    with pytest.raises(ValueError, match="several configurations"):
        max_tolerable_ber(rows + [{**rows[0], "format": "q8"}], 0.79)
    assert max_tolerable_ber(s, 0.70) == 1e-4
    assert max_tolerable_ber(s, 0.81) is None
    assert max_tolerable_ber(s, 0.10) == 1e-3                 # lower bound: all pass
    # crossing at 0.77 between 1e-5 (0.79) and 1e-4 (0.75): halfway in log -> 10**-4.5
    assert crossing_ber(s, 0.77) == pytest.approx(10 ** -4.5)
    # a non-monotone curve stops at the first failure
    bumpy = [dict(r) for r in s] + [{**s[0], "ber": 1e-2, "mean": 0.9}]
    assert max_tolerable_ber(bumpy, 0.79) == 1e-5


def test_bit_sensitivity_msb_hurts_lsb_does_not(tiny):
    m, x, y = tiny
    rows = bit_sensitivity(m, x, y, fmt="fp32", rate=0.2, seeds=[0], guard="none")
    assert [r["bit"] for r in rows] == list(range(32))
    by_bit = {r["bit"]: r for r in rows}
    assert abs(by_bit[0]["drop"]) < 0.03            # mantissa LSB: value changes by 1 ulp
    assert by_bit[30]["drop"] > 0.1                  # exponent MSB: weights become ~1e38
    assert all(r["flipped_bits"] > 0 for r in rows)


def test_cli_end_to_end(tmp_path):
    from bench.tolerance import main
    out = tmp_path / "res"
    args = ["--neurons", "10", "--n-train", "200", "--n-test", "50", "--bers", "1e-4", "3e-2",
            "--seeds", "2", "--format", "fp32", "q8", "--guard", "none", "clamp", "--no-progress",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--plot", str(tmp_path / "p.png")]
    assert main(args) == 0
    data = json.loads((tmp_path / "res.json").read_text())
    assert len(data["rows"]) == 2 * 2 * 2 * 2 and len(data["tolerable"]) == 4
    assert (tmp_path / "res.csv").read_text().startswith("error_model,format,guard,ber,seed,accuracy")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((tmp_path / "cache").glob("model_plain_*.npz"))) == 1
    # cached model reused: same numbers again
    out2 = tmp_path / "again"
    assert main(args[:-4] + ["--out", str(out2)]) == 0
    assert json.loads((tmp_path / "again.json").read_text())["rows"] == data["rows"]


@pytest.mark.parametrize("bad", [["--seeds", "0"], ["--bers", "2"], ["--error-model", "9"],
                                 ["--ber-min", "1e-2", "--ber-max", "1e-3"], ["--n-test", "0"]])
def test_cli_bad_input_exits_2(tmp_path, bad, capsys):
    from bench.tolerance import main
    rc = main(["--neurons", "10", "--n-train", "50", "--no-progress", "--cache-dir", str(tmp_path)] + bad)
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
