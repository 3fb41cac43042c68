"""Error-tolerance analysis (mapping.tolerance) and its CLI (bench.tolerance): accuracies with
95 % confidence intervals, choices on validation images, test images reported only."""
import json

import numpy as np
import pytest

from mapping.tolerance import (StoredWeights, bit_sensitivity, clean_correct, crossing_ber, log_grid,
                               max_tolerable_ber, plain_rows, spike_seed_evaluator, summarize, tolerable_ber,
                               tolerance_curve)
from snn.data import load_default_split, stratified_indices
from snn.model import Model
from snn.params import NetworkParams
from snn.train import train

SPIKES = (11, 12)


@pytest.fixture(scope="module")
def tiny():
    """A 10-neuron network trained on 300 images (a seeded stratified sample of the training
    images left after a validation carve); 100 stratified test images (a few seconds)."""
    ds = load_default_split().with_validation(100, 0)
    tr = stratified_indices(ds.y_train, 300, 0)
    order = np.random.default_rng(0).permutation(tr)          # a label-sorted order would not train
    m = Model.new(NetworkParams(n_neurons=10), seed=0)
    train(m, ds.x_train[order], ds.y_train[order], epochs=1, seed=0, progress=False)
    idx = stratified_indices(ds.y_test, 100, 1)
    return m, ds.x_test[idx], ds.y_test[idx]


def test_log_grid():
    g = log_grid(1e-9, 1e-2, 2)
    assert len(g) == 15 and g[0] == pytest.approx(1e-9) and g[-1] == pytest.approx(1e-2)
    assert np.allclose(np.diff(np.log10(g)), 0.5)


def test_accuracy_falls_as_ber_rises(tiny):
    m, x, y = tiny
    bers = [1e-6, 1e-3, 3e-2]
    rows = tolerance_curve(m, x, y, bers, seeds=[0, 1], error_model=0, fmt="fp32", guard="none",
                           spike_seeds=SPIKES)
    assert len(rows) == 6 and {r["seed"] for r in rows} == {0, 1}
    assert all(r["correct"].shape == (2, 100) and r["reference"].shape == (2, 100) for r in rows)
    s = {r["ber"]: r for r in summarize(rows)}
    store = StoredWeights.default(m.weights.shape, "fp32")
    clean = clean_correct(m, x, y, store, spike_seed_evaluator(SPIKES)).mean()
    assert clean > 0.3                                   # the tiny network learned something
    assert s[3e-2]["mean"] < clean - 0.1                 # fp32 without guard collapses
    assert s[3e-2]["mean"] <= s[1e-3]["mean"] <= s[1e-6]["mean"] + 0.02
    assert s[3e-2]["flipped_bits"] > s[1e-3]["flipped_bits"] > 0
    # every summary row carries the mean inside its 95% intervals, and the loss is paired
    for r in s.values():
        assert r["ci_low"] <= r["mean"] <= r["ci_high"]
        assert r["loss_ci_low"] <= r["loss"] <= r["loss_ci_high"]
        assert r["loss"] == pytest.approx(clean - r["mean"])
    assert s[3e-2]["loss_ci_low"] > 0.05                 # the collapse is significant
    # same seeds -> same numbers
    again = tolerance_curve(m, x, y, bers, seeds=[0, 1], error_model=0, fmt="fp32", guard="none",
                            spike_seeds=SPIKES)
    assert plain_rows(again) == plain_rows(rows)
    assert all(np.array_equal(a["correct"], b["correct"]) for a, b in zip(again, rows))
    assert store.layout.n_words == m.weights.size


def test_guard_buys_tolerance_for_fp32(tiny):
    m, x, y = tiny
    kw = dict(seeds=[0, 1], error_model=0, fmt="fp32", spike_seeds=SPIKES)
    none = summarize(tolerance_curve(m, x, y, [1e-2], guard="none", **kw))[0]
    zero = summarize(tolerance_curve(m, x, y, [1e-2], guard="zero", **kw))[0]
    assert zero["mean"] > none["mean"] + 0.1 and zero["loss_ci_high"] < none["loss_ci_low"]


def test_zero_flip_rows_reuse_clean_outcomes(tiny):
    m, x, y = tiny
    calls = []
    clean = np.zeros((2, len(y)), bool)
    clean[:, :90] = True

    def fake_correct(model, xs, ys, weights):
        calls.append(1)
        out = np.zeros((2, len(ys)), bool)
        out[:, :40] = True
        return out

    rows = tolerance_curve(m, x, y, [1e-12, 0.5], seeds=[0, 1, 2], fmt="q8", correct=fake_correct, clean=clean)
    lo = [r for r in rows if r["ber"] == 1e-12]
    assert all(r["flipped_bits"] == 0 and r["accuracy"] == 0.9 and r["loss"] == 0.0 for r in lo)
    assert all(r["correct"] is clean for r in lo)
    hi = [r for r in rows if r["ber"] == 0.5]
    assert all(r["accuracy"] == 0.4 and r["loss"] == pytest.approx(0.5) for r in hi)
    assert len(calls) == 3                                # only the BER-0.5 rows were evaluated


def _rows(curve, n=200, seeds=2, ref_acc=0.8, seed=0):
    """Curve rows with per-image outcomes: ``curve`` maps BER -> per-device accuracies. The
    error-free run gets the first ``ref_acc`` of the images right; a device differs from it on
    just enough images (drawn at random) to reach its accuracy."""
    rng = np.random.default_rng(seed)
    ref = np.zeros((seeds, n), bool)
    ref[:, : int(ref_acc * n)] = True
    rows = []
    for b, accs in curve.items():
        for dev, acc in enumerate(accs):
            c = ref.copy()
            k = int(round((ref_acc - acc) * n))
            pool = np.flatnonzero(ref[0]) if k > 0 else np.flatnonzero(~ref[0])
            c[:, rng.choice(pool, size=abs(k), replace=False)] = k < 0
            rows.append({"error_model": 0, "format": "fp32", "guard": "none", "ber": b, "seed": dev,
                         "accuracy": float(c.mean()), "loss": float(ref.mean() - c.mean()), "flipped_bits": 1,
                         "correct": c, "reference": ref})
    return rows


def test_summary_and_mean_based_tolerable_ber():
    rows = [{"error_model": 0, "format": "fp32", "guard": "none", "ber": b, "seed": s, "accuracy": a,
             "flipped_bits": 0}
            for b, accs in ((1e-6, (0.80, 0.80)), (1e-5, (0.80, 0.78)), (1e-4, (0.74, 0.76)), (1e-3, (0.5, 0.3)))
            for s, a in enumerate(accs)]
    s = summarize(rows)
    assert [r["mean"] for r in s] == pytest.approx([0.80, 0.79, 0.75, 0.40])
    assert s[1]["std"] == pytest.approx(np.std([0.80, 0.78], ddof=1))
    assert s[2]["min"] == 0.74
    assert "ci_low" not in s[0]                               # no per-image outcomes, no interval
    assert max_tolerable_ber(s, 0.79) == 1e-5
    assert max_tolerable_ber(rows, 0.79) == 1e-5               # raw rows are summarised first
    with pytest.raises(ValueError, match="several configurations"):
        max_tolerable_ber(rows + [{**rows[0], "format": "q8"}], 0.79)
    assert max_tolerable_ber(s, 0.70) == 1e-4
    assert max_tolerable_ber(s, 0.81) is None
    assert max_tolerable_ber(s, 0.10) == 1e-3                 # lower bound: all pass
    # crossing at 0.77 between 1e-5 (0.79) and 1e-4 (0.75): halfway in log -> 10**-4.5
    assert crossing_ber(s, 0.77) == pytest.approx(10 ** -4.5)
    bumpy = [dict(r) for r in s] + [{**s[0], "ber": 1e-2, "mean": 0.9}]
    assert max_tolerable_ber(bumpy, 0.79) == 1e-5
    with pytest.raises(ValueError, match="loss intervals"):
        tolerable_ber(s, 0.01)                                 # the loss rule needs outcomes


def test_tolerable_ber_judges_the_upper_bound_of_the_loss():
    """A BER whose mean loss is within the allowance but not shown to be (devices disagree)
    fails, although the mean-based rule passes it; the walk stops at the first failure."""
    rows = _rows({1e-6: (0.8, 0.8, 0.8), 1e-5: (0.8, 0.795, 0.8), 1e-4: (0.8, 0.77, 0.81),
                  1e-3: (0.8, 0.8, 0.8)})
    s = summarize(rows)
    by = {r["ber"]: r for r in s}
    assert by[1e-4]["loss"] <= 0.01 < by[1e-4]["loss_ci_high"]
    assert tolerable_ber(s, 0.01) == 1e-5
    assert max_tolerable_ber(s, 0.8 - 0.01) == 1e-3            # the mean rule would take them all
    assert tolerable_ber(s, 0.5) == 1e-3                       # lower bound at the top of the grid
    assert tolerable_ber(_rows({1e-6: (0.5, 0.5)}), 0.01) is None


def test_bit_sensitivity_msb_hurts_lsb_does_not(tiny):
    m, x, y = tiny
    rows = bit_sensitivity(m, x, y, fmt="fp32", rate=0.2, seeds=[0], guard="none", spike_seeds=SPIKES)
    assert [r["bit"] for r in rows] == list(range(32))
    by_bit = {r["bit"]: r for r in rows}
    assert abs(by_bit[0]["drop"]) < 0.03            # mantissa LSB: value changes by 1 ulp
    assert by_bit[30]["drop"] > 0.1                  # exponent MSB: weights become ~1e38
    assert by_bit[30]["drop_ci_low"] > 0.05          # ... significantly
    assert all(r["flipped_bits"] > 0 for r in rows)


def test_accuracy_floor_rule_of_target():
    from bench.tolerance import accuracy_floor_ber
    s = summarize(_rows({1e-6: (0.8, 0.8), 1e-5: (0.78, 0.79), 1e-4: (0.6, 0.7), 1e-3: (0.8, 0.8)}))
    by = {r["ber"]: r for r in s}
    assert accuracy_floor_ber(s, by[1e-5]["ci_low"]) == 1e-5
    assert accuracy_floor_ber(s, by[1e-5]["ci_low"] + 1e-6) == 1e-6
    assert accuracy_floor_ber(s, 0.99) is None


def test_load_data_gives_three_disjoint_seeded_stratified_sets():
    from bench.tolerance import build_parser, load_data
    a = build_parser().parse_args(["--val-images", "300", "--n-train", "500", "--n-test", "70", "--train-seed", "3"])
    d = load_data(a)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (500, 300, 70)
    for y, per_class in ((d.y_train, 50), (d.y_val, 30), (d.y_test, 7)):
        assert np.bincount(y, minlength=10).tolist() == [per_class] * 10
    assert len(set(d.y_train[:20].tolist())) > 3                      # presented in a shuffled order
    seen = {x.tobytes() for x in d.x_val}
    assert not any(x.tobytes() in seen for x in d.x_train)            # validation never trains
    again = load_data(a)
    assert np.array_equal(again.x_train, d.x_train) and np.array_equal(again.x_test, d.x_test)
    other = load_data(build_parser().parse_args(["--val-images", "300", "--n-test", "70", "--train-seed", "4",
                                                 "--eval-seed", "1"]))
    assert not np.array_equal(other.x_val, d.x_val) and d.meta["test_indices"] != other.meta["test_indices"]


def _cli(tmp_path, *extra, out="res"):
    return ["--neurons", "10", "--n-train", "200", "--val-images", "60", "--n-test", "40", "--no-progress",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / out), *extra]


def test_cli_end_to_end(tmp_path, capsys):
    from bench.tolerance import TEST_SALT, TRAIN_SALT, main
    args = _cli(tmp_path, "--bers", "1e-4", "3e-2", "--seeds", "2", "--spike-seeds", "2", "--format", "fp32", "q8",
                "--guard", "none", "clamp", "--plot", str(tmp_path / "p.png"))
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "200 train / 60 validation (choices) / 40 test (reported)" in printed
    assert "chosen on the validation images" in printed
    data = json.loads((tmp_path / "res.json").read_text())
    # 2 models x 2 guards x 2 BERs x 2 devices, on validation and on test
    assert len(data["rows"]) == 2 * 2 * 2 * 2 * 2 and len(data["tolerable"]) == 4
    assert {r["images"] for r in data["rows"]} == {"validation", "test"}
    assert all("correct" not in r and "reference" not in r for r in data["rows"])
    sets = data["image_sets"]
    assert (sets["validation_images"], sets["validation_seed"], sets["train_images"]) == (60, 0, 3940)
    assert sets["train_images_used"] == 200 and sets["test_images_used"] == 40
    assert sets["train_sample_seed"] == [0, TRAIN_SALT]
    assert sets["test_sample_seed"] == [0, TEST_SALT] and sets["validation_classes"] == [6] * 10
    y_test = load_default_split().y_test
    assert np.bincount(y_test[sets["test_indices"]], minlength=10).tolist() == [4] * 10   # stratified
    assert sets["test_indices"] != list(range(40))
    assert data["spike_seeds"] and len(data["spike_seeds"]) == 2 and min(data["spike_seeds"]) >= 1_000_000
    assert data["fault_seeds"] == [0, 1]
    for t in data["tolerable"]:
        assert t["clean_val_ci_low"] <= t["clean_val"] <= t["clean_val_ci_high"]
        assert t["max_loss"] == 0.01 and t["target"] is None
        if t["tolerable_ber"] is not None:
            assert t["val_loss_ci_high"] <= 0.01 + 1e-12 and t["test_loss_ci_low"] <= t["test_loss"]
    header = (tmp_path / "res.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["error_model", "format", "guard", "ber", "seed", "accuracy", "loss"]
    assert "images" in header and "correct" not in header
    summary_header = (tmp_path / "res_summary.csv").read_text().splitlines()[0].split(",")
    assert {"ci_low", "ci_high", "loss", "loss_ci_low", "loss_ci_high"} <= set(summary_header)
    tol_header = (tmp_path / "res_tolerable.csv").read_text().splitlines()[0].split(",")
    assert {"tolerable_ber", "test_loss_ci_low", "test_loss_ci_high", "clean_test_ci_low"} <= set(tol_header)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((tmp_path / "cache").glob("model_plain_*.npz"))) == 1
    # cached model reused: same numbers again
    assert main(args[:-2] + ["--out", str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again.json").read_text())["rows"] == data["rows"]
    assert len(list((tmp_path / "cache").glob("model_plain_*.npz"))) == 1
    # another validation carve is another training set: another model
    assert main(_cli(tmp_path, "--val-images", "80", "--bers", "1e-4", "--seeds", "1", out="v80")) == 0
    assert len(list((tmp_path / "cache").glob("model_plain_*.npz"))) == 2


@pytest.mark.parametrize("tolerant", ["validation", "test"])
def test_cli_tolerable_ber_is_chosen_on_validation(tmp_path, monkeypatch, tolerant):
    """Rig inference so one image set shrugs off every bit error and the other fails every image
    once a bit flipped: the reported tolerable BER follows the validation set, whichever it is;
    the test curve is still reported (and would have chosen differently)."""
    import bench.tolerance as bt
    real = bt.spike_seed_evaluator
    n_val, n_test = 60, 40
    tolerant_n = n_val if tolerant == "validation" else n_test

    def rigged(spikes):
        inner = real(spikes)

        def correct(model, x, y, weights):
            clean_read = np.array_equal(weights, model.weights)
            if len(x) == tolerant_n or clean_read:
                return inner(model, x, y, model.weights)
            return np.zeros((len(spikes), len(y)), bool)
        return correct
    monkeypatch.setattr(bt, "spike_seed_evaluator", rigged)
    bers = [1e-9, 1e-4, 1e-3, 1e-2]
    assert bt.main(_cli(tmp_path, "--bers", *map(str, bers), "--seeds", "2")) == 0
    data = json.loads((tmp_path / "res.json").read_text())
    (t,) = data["tolerable"]
    val = [s for s in data["summary"] if s["images"] == "validation"]
    test = [s for s in data["summary"] if s["images"] == "test"]
    assert len(val) == len(test) == 4
    assert test[0]["flipped_bits"] == 0 and test[1]["flipped_bits"] > 0    # 1e-9: nothing flips
    if tolerant == "validation":
        assert t["tolerable_ber"] == 1e-2 and t["tolerable_is_lower_bound"]
        assert tolerable_ber(test, 0.01) == 1e-9                 # the test set would have said 1e-9
        assert t["test_loss"] > 0.1                              # ... and is reported, not hidden
    else:
        assert t["tolerable_ber"] == 1e-9
        assert tolerable_ber(test, 0.01) == 1e-2
        assert t["test_loss"] == 0.0
    assert t["tolerable_ber"] == tolerable_ber(val, 0.01)


@pytest.mark.parametrize("bad, option", [
    (["--fault-maps", "0"], "--fault-maps"), (["--spike-seeds", "0"], "--spike-seeds"),
    (["--val-images", "4000"], "--val-images"), (["--val-images", "1"], "--val-images"),
    (["--val-images", "3990", "--train-images", "20"], "--train-images"), (["--images", "1"], "--images"),
    (["--images", "1001"], "--images"), (["--bers", "2"], "--bers"), (["--error-model", "9"], "--error-model"),
    (["--ber-min", "1e-2", "--ber-max", "1e-3"], "--ber-min"), (["--target", "120"], "--target")])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, bad, option, capsys):
    from bench.tolerance import main
    rc = main(["--neurons", "10", "--train-images", "50", "--no-progress", "--cache-dir", str(tmp_path / "cache"),
               "--out", str(tmp_path / "out" / "res")] + bad)
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m bench.tolerance: error: ") and option in err[0]
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_old_option_names_still_work_with_a_note(capsys):
    """--n-train, --n-test and --seeds are hidden, deprecated spellings of --train-images, --images
    and --fault-maps: same values, one note each; space-separated lists still parse, with a note."""
    from bench.tolerance import build_parser
    old = build_parser().parse_args(["--n-train", "50", "--n-test", "40", "--seeds", "3", "--bers", "1e-4", "1e-3"])
    err = capsys.readouterr().err
    new = build_parser().parse_args(["--train-images", "50", "--images", "40", "--fault-maps", "3",
                                     "--bers", "1e-4,1e-3"])
    assert vars(old) == vars(new) and (new.n_train, new.n_test, new.seeds, new.bers) == (50, 40, 3, [1e-4, 1e-3])
    for name in ("--n-train is deprecated; use --train-images", "--n-test is deprecated; use --images",
                 "--seeds is deprecated; use --fault-maps",
                 "space-separated lists are deprecated; write --bers 1e-4,1e-3"):
        assert f"python -m bench.tolerance: note: {name}" in err
    assert capsys.readouterr().err == ""
    assert "--n-train" not in build_parser().format_usage()   # hidden (the description names it)
