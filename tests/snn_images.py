"""Synthetic digit-like images for the SNN tests: a random set of lit pixels on a dark ground."""
import numpy as np


def random_images(n: int, seed: int, lit_min: int = 80, lit_max: int = 200) -> np.ndarray:
    """uint8 [n, 784]; each image lights between lit_min and lit_max random pixels (1..255)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 784), np.uint8)
    for b in range(n):
        on = rng.choice(784, size=rng.integers(lit_min, lit_max), replace=False)
        images[b, on] = rng.integers(1, 256, size=len(on))
    return images


#: the tests that read Fashion-MNIST name the Debian package here; .ci/run looks for this string
#: and installs the package when the suite needs it
FASHION_PACKAGE = "dataset-fashion-mnist"


def fashion_mnist():
    """snn.data.load_dataset("fashion-mnist"), or a pytest skip naming the missing package (only
    where the data are genuinely absent: .ci/run installs them)."""
    import pytest
    from snn.data import DataError, load_dataset
    try:
        return load_dataset("fashion-mnist")
    except DataError as exc:
        pytest.skip(f"{exc} -- .ci/run installs {FASHION_PACKAGE}")


def write_fashion_subset(directory, n_train: int, n_test: int, seed: int = 0):
    """A seeded, class-stratified subset of Fashion-MNIST written as the four standard IDX files
    in ``directory`` (a small stand-in for --idx-dir); returns (x_train, y_train, x_test, y_test)."""
    from snn.data import stratified_indices
    from snn.idx import write_idx
    ds = fashion_mnist()
    tr = stratified_indices(ds.y_train, n_train, [seed, 1])
    te = stratified_indices(ds.y_test, n_test, [seed, 2])
    parts = (ds.x_train[tr], ds.y_train[tr], ds.x_test[te], ds.y_test[te])
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    for name, a in zip(names, parts):
        write_idx(f"{directory}/{name}", a.reshape(len(a), 28, 28) if a.ndim == 2 else a)
    return parts
