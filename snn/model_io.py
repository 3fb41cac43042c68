"""Model files: one ``.npz`` holding everything needed to re-create a trained network.

Members: ``params`` (NetworkParams as a JSON string, 0-d array), ``weights`` float32
[n_inputs, n_neurons] (input-major), ``theta`` float32 [n_neurons], ``labels`` int64 [n_neurons]
(-1 = unassigned), ``weight_format`` (name from snn.formats, 0-d string), ``version`` and
``seed`` (0-d int64).  Writes are atomic and reproducible (same model -> same bytes).

Loading is strict: a file that is not a zip, is truncated, lacks or adds a member, has an
unknown version or format, wrong dtypes or shapes inconsistent with its parameters, weights or
thresholds that are not finite (NaN, inf), or weights outside the range of its weight format
(negative anywhere; above ``w_max`` in a fixed-point format) raises :class:`ModelFileError`,
whose message is one line naming the file and the problem.
"""
from __future__ import annotations

import json
import zipfile
import zlib

import numpy as np

from snn.formats import FORMATS, get_format
from snn.model import Model
from snn.npzfile import json_array, write_npz
from snn.params import MODEL_VERSION, NetworkParams

KEYS = ("params", "weights", "theta", "labels", "weight_format", "version", "seed")
N_CLASSES = 10
ZIP_MAGIC = b"PK\x03\x04"


class ModelFileError(ValueError):
    """A model file that cannot be loaded; the message is one line naming the file."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def save_model(model: Model, path) -> None:
    """Write ``model`` to ``path`` (atomic: a temporary file renamed over the target)."""
    if model.weight_format not in FORMATS:
        raise ValueError(f"model has unknown weight format {model.weight_format!r}")
    write_npz(path, {
        "params": json_array(json.dumps(model.params.to_dict(), sort_keys=True)),
        "weights": np.asarray(model.weights, dtype=np.float32),
        "theta": np.asarray(model.theta, dtype=np.float32),
        "labels": np.asarray(model.labels, dtype=np.int64),
        "weight_format": np.array(model.weight_format, dtype=np.str_),
        "version": np.array(model.version, dtype=np.int64),
        "seed": np.array(model.seed, dtype=np.int64),
    })


def _read_members(path) -> dict:
    try:
        with open(path, "rb") as f:
            if f.read(4) != ZIP_MAGIC:
                raise ModelFileError(path, "not a model file (no .npz/zip signature)")
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            missing = [k for k in KEYS if k not in names]
            if missing:
                raise ModelFileError(path, f"missing key '{missing[0]}' (not a sparkxd model file?)")
            extra = sorted(names - set(KEYS))
            if extra:
                raise ModelFileError(path, f"unexpected key '{extra[0]}'")
            return {k: data[k] for k in KEYS}
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a directory") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        if isinstance(exc, ModelFileError):
            raise
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelFileError(path, f"corrupt or truncated model file ({detail})") from None


def _scalar(path, arrays, key, kind):
    a = arrays[key]
    if a.shape != () or a.dtype.kind not in kind:
        raise ModelFileError(path, f"'{key}' must be a scalar of kind {kind!r}, got dtype "
                                   f"{a.dtype} shape {a.shape}")
    return a.item()


def _array(path, arrays, key, dtype, shape):
    a = arrays[key]
    if a.dtype != dtype:
        raise ModelFileError(path, f"'{key}' has dtype {a.dtype}, expected {np.dtype(dtype)}")
    if a.shape != shape:
        raise ModelFileError(path, f"'{key}' has shape {a.shape}, expected {shape}")
    return a


def _check_finite(path, key, values) -> None:
    """ModelFileError naming the first non-finite entry of ``values`` (NaN or inf)."""
    bad = ~np.isfinite(values)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelFileError(path, f"'{key}' holds {int(bad.sum())} non-finite value(s) (NaN or inf), "
                                   f"the first {values[where]} at index {list(where)}")


def _check_weight_range(path, weights, weight_format: str) -> None:
    """ModelFileError unless every weight lies in the range its format stores: >= 0 for every
    format (STDP never makes a weight negative), and <= w_max for the fixed-point formats (float
    weights may exceed w_max after column normalisation)."""
    fmt = get_format(weight_format)
    high = fmt.w_max if fmt.kind == "fixed" else np.inf
    if not weights.size:
        return
    low_seen, high_seen = float(weights.min()), float(weights.max())
    if low_seen < 0 or high_seen > high:
        allowed = f"[0, {fmt.w_max:g}]" if fmt.kind == "fixed" else ">= 0"
        raise ModelFileError(path, f"'weights' lie in [{low_seen:g}, {high_seen:g}], outside the range "
                                   f"of weight format {weight_format} ({allowed})")


def load_model(path) -> Model:
    """The model stored in ``path``; :class:`ModelFileError` if it is unusable."""
    arrays = _read_members(path)
    version = _scalar(path, arrays, "version", "iu")
    if version != MODEL_VERSION:
        raise ModelFileError(path, f"unknown model version {version} (this sparkxd reads version "
                                   f"{MODEL_VERSION})")
    try:
        params = NetworkParams.from_dict(json.loads(_scalar(path, arrays, "params", "U")))
    except ModelFileError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        raise ModelFileError(path, f"bad 'params' ({' '.join(str(exc).split())})") from None
    weight_format = _scalar(path, arrays, "weight_format", "U")
    if weight_format not in FORMATS:
        raise ModelFileError(path, f"unknown weight format {weight_format!r} "
                                   f"(known: {', '.join(FORMATS)})")
    seed = _scalar(path, arrays, "seed", "iu")
    n_in, n = params.n_inputs, params.n_neurons
    weights = _array(path, arrays, "weights", np.float32, (n_in, n))
    theta = _array(path, arrays, "theta", np.float32, (n,))
    labels = _array(path, arrays, "labels", np.int64, (n,))
    if labels.size and (labels.min() < -1 or labels.max() >= N_CLASSES):
        raise ModelFileError(path, f"'labels' must lie in -1..{N_CLASSES - 1}")
    _check_finite(path, "weights", weights)
    _check_finite(path, "theta", theta)
    _check_weight_range(path, weights, weight_format)
    return Model(params=params, weights=weights, theta=theta, labels=labels, seed=int(seed),
                 weight_format=weight_format, version=int(version))
