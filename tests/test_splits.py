"""Three disjoint image sets and seeded, class-stratified samples (snn.data)."""
import numpy as np
import pytest

from snn.data import Dataset, stratified_indices


def _sorted_split(per_class=40, test_per_class=10):
    """A label-sorted toy dataset whose images are all distinct (image i holds i in pixel 0..1)."""
    y = np.repeat(np.arange(10), per_class)
    x = np.zeros((y.size, 784), np.uint8)
    x[:, 0], x[:, 1] = np.arange(y.size) % 256, np.arange(y.size) // 256
    yt = np.repeat(np.arange(10), test_per_class)
    return Dataset(x, y, x[:yt.size] + 1, yt, "toy")


def test_stratified_sample_is_balanced_seeded_and_not_the_first_k():
    y = np.repeat(np.arange(10), 100)
    idx = stratified_indices(y, 50, 7)
    assert np.bincount(y[idx], minlength=10).tolist() == [5] * 10
    assert np.array_equal(idx, stratified_indices(y, 50, 7))
    assert not np.array_equal(idx, stratified_indices(y, 50, 8))
    assert len(np.unique(idx)) == 50 and np.all(np.diff(idx) > 0)
    odd = stratified_indices(y, 13, 1)                       # 13 = 10 x 1 + 3 extra, no class twice extra
    assert sorted(np.bincount(y[odd], minlength=10).tolist()) == [1] * 7 + [2] * 3
    uneven = np.array([0] * 90 + [1] * 10)
    assert np.bincount(uneven[stratified_indices(uneven, 20, 0)]).tolist() == [18, 2]
    with pytest.raises(ValueError):
        stratified_indices(y, 1001, 0)


def test_validation_is_carved_out_of_training_and_disjoint():
    ds = _sorted_split()
    v = ds.with_validation(100, seed=3)
    assert len(v.x_train) == 300 and len(v.x_val) == 100
    assert np.bincount(v.y_val).tolist() == [10] * 10
    train_ids = set(map(bytes, v.x_train[:, :2]))
    val_ids = set(map(bytes, v.x_val[:, :2]))
    assert not train_ids & val_ids and len(train_ids | val_ids) == 400
    assert np.array_equal(v.x_test, ds.x_test)
    # shuffled training never hands out a validation image
    xs, _ = v.shuffled_train(0)
    assert not set(map(bytes, xs[:, :2])) & val_ids
    assert v.describe() == {"data": "toy", "train_images": 300, "validation_images": 100,
                            "test_images": 100, "validation_seed": 3}
    again = ds.with_validation(100, seed=3)
    assert np.array_equal(again.x_val, v.x_val)
    assert not np.array_equal(ds.with_validation(100, seed=4).x_val, v.x_val)


def test_validation_size_is_checked():
    ds = _sorted_split()
    with pytest.raises(ValueError, match="training set has 400"):
        ds.with_validation(400, 0)
    with pytest.raises(ValueError, match="already"):
        ds.with_validation(10, 0).with_validation(10, 0)


def test_a_training_subset_is_stratified_and_shuffled():
    ds = _sorted_split()
    x, y = ds.shuffled_train(5, 40)
    assert np.bincount(y, minlength=10).tolist() == [4] * 10
    assert not np.all(np.diff(y) >= 0)                       # shuffled, not label-sorted
    assert np.array_equal(ds.shuffled_train(5, 40)[0], x)
