"""No tool takes "the first K" images of the default split, which is sorted by label (its first 100
test images are all zeros): every sample is seeded and class-stratified (snn.data.stratified_indices)."""
import json

import numpy as np
import pytest

from bench import perf_snn
from snn.__main__ import main
from snn.data import load_default_split, stratified_indices

TINY = ["--neurons", "10", "--train-images", "20", "--seed", "4"]


@pytest.fixture(scope="module")
def ds():
    return load_default_split()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("first_k") / "tiny.npz"
    assert main(["train", *TINY, "--out", str(path)]) == 0
    return path


def test_default_split_really_is_label_sorted(ds):
    # the premise: "the first 50 test images" would be 50 zeros
    assert np.all(ds.y_test[:50] == 0) and np.all(np.diff(ds.y_test) >= 0)


@pytest.mark.parametrize("images, seed", [(20, 0), (20, 7), (25, 3)])
def test_eval_images_are_a_class_stratified_sample(trained, capsys, images, seed):
    assert main(["eval", str(trained), "--images", str(images), "--seed", str(seed), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    per_class = np.array(res["confusion"]).sum(axis=1)   # true class of every evaluated image
    assert per_class.sum() == images and res["images"] == images
    assert per_class.min() == images // 10 and per_class.max() == -(-images // 10), per_class
    assert res["sample"] == "class-stratified"


def test_eval_of_all_images_says_so(trained, capsys):
    assert main(["eval", str(trained), "--images", "1000", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["sample"] == "all" and np.array(res["confusion"]).sum(axis=1).tolist() == [100] * 10


def test_trace_images_are_seeded_and_stratified(trained, tmp_path, ds, capsys):
    from traces.logical import read_logical

    def picked(seed, name):
        out = tmp_path / name
        assert main(["trace", str(trained), "--dataflow", "dense", "--images", "20", "--seed", str(seed),
                     "--out", str(out)]) == 0
        capsys.readouterr()
        return np.array(read_logical(out)[1]["test_images"]), out.read_bytes()

    a, bytes_a = picked(5, "a.npz")
    again, bytes_again = picked(5, "again.npz")
    b, _ = picked(6, "b.npz")
    assert np.bincount(ds.y_test[a], minlength=10).tolist() == [2] * 10
    assert np.bincount(ds.y_test[b], minlength=10).tolist() == [2] * 10
    assert np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(a, stratified_indices(ds.y_test, 20, 5))
    assert bytes_a == bytes_again                 # same seed -> same bytes
    assert not np.array_equal(a, b)               # the seed does choose the images


def test_trace_default_ten_images_cover_every_digit(trained, tmp_path, ds, capsys):
    from traces.logical import read_logical
    out = tmp_path / "t.npz"
    assert main(["trace", str(trained), "--dataflow", "dense", "--out", str(out)]) == 0
    capsys.readouterr()
    idx = read_logical(out)[1]["test_images"]
    assert sorted(ds.y_test[idx].tolist()) == list(range(10))


def test_too_many_images_keeps_its_error(trained, capsys):
    assert main(["eval", str(trained), "--images", "1001"]) == 2
    err = capsys.readouterr().err
    assert "--images 1001" in err and "only 1000" in err


def test_perf_snn_sample_gives_every_class(ds):
    idx, desc = perf_snn.sample(ds.y_test, 50, 0, perf_snn.TEST_SALT)
    assert np.bincount(ds.y_test[idx], minlength=10).tolist() == [5] * 10
    assert desc == {"images": 50, "of": 1000, "sample": "class-stratified", "seed": [0, perf_snn.TEST_SALT],
                    "per_class": [5] * 10}
    again, _ = perf_snn.sample(ds.y_test, 50, 0, perf_snn.TEST_SALT)
    other, _ = perf_snn.sample(ds.y_test, 50, 1, perf_snn.TEST_SALT)
    np.testing.assert_array_equal(idx, again)
    assert not np.array_equal(idx, other)
    ref, _ = perf_snn.sample(ds.y_test, 3, 0, perf_snn.REF_SALT)
    assert len(set(ds.y_test[ref].tolist())) == 3            # three images, three digits
    every, desc = perf_snn.sample(ds.y_test, None, 0, perf_snn.TEST_SALT)
    np.testing.assert_array_equal(every, np.arange(1000))
    assert desc["sample"] == "all" and desc["seed"] is None
    assert perf_snn.describe_sample(desc) == "all 1000"
    assert "5 per class" in perf_snn.describe_sample(perf_snn.sample(ds.y_test, 50, 0, 1)[1])
    with pytest.raises(ValueError, match="1001"):
        perf_snn.sample(ds.y_test, 1001, 0, 1)


def test_perf_snn_measures_on_the_stratified_sample(ds, monkeypatch):
    """The figures come from the stratified sample, not only the report: watch the images passed."""
    import snn.infer
    import snn.reference
    seen, ref_train_seen = [], []
    infer, ref_train = snn.infer.spike_counts_and_attempts, snn.reference.train

    def spy_infer(model, images, *a, **kw):
        seen.append((np.array(images), kw.get("seed")))
        return infer(model, images, *a, **kw)

    def spy_train(params, w, th, images, *a, **kw):
        ref_train_seen.append(np.array(images))
        return ref_train(params, w, th, images, *a, **kw)

    monkeypatch.setattr(snn.infer, "spike_counts_and_attempts", spy_infer)
    monkeypatch.setattr(snn.reference, "train", spy_train)
    row = perf_snn.measure_size(10, epochs=1, seed=2, train_images=20, test_images=20, ref_images=3,
                                ref_train=2, dt_ms=0.5)
    test_idx = stratified_indices(ds.y_test, 20, [2, perf_snn.TEST_SALT])
    ref_idx = stratified_indices(ds.y_test, 3, [2, perf_snn.REF_SALT])
    evaluated = [x for x, s in seen if s == 2 + 1000]       # test evaluation, then the reference check
    assert len(evaluated) == 2
    np.testing.assert_array_equal(evaluated[0], ds.x_test[test_idx])
    np.testing.assert_array_equal(evaluated[1], ds.x_test[ref_idx])
    assert np.bincount(ds.y_test[test_idx], minlength=10).tolist() == [2] * 10
    assert row["test_images"] == 20 and row["test_sample"]["per_class"] == [2] * 10
    assert row["test_sample"]["seed"] == [2, perf_snn.TEST_SALT]
    assert row["ref_sample"]["images"] == 3 and row["ref_train_sample"]["images"] == 2
    x_train, y_train = ds.shuffled_train(2, 20)
    train_idx = stratified_indices(y_train, 2, [2, perf_snn.REF_TRAIN_SALT])
    assert len(ref_train_seen) == 1
    np.testing.assert_array_equal(ref_train_seen[0], x_train[train_idx])
    assert row["infer_identical"] and row["train_identical"]
