"""snn.model_io: model files round-trip exactly and bad files fail with one clear line."""
import json
import os
import zipfile

import numpy as np
import pytest

from snn.model import Model
from snn.model_io import ModelFileError, load_model, save_model
from snn.params import MODEL_VERSION, NetworkParams


def _model(seed=3, n=12, fmt="q8"):
    params = NetworkParams(n_neurons=n, present_ms=20.0, rest_ms=10.0, theta_plus_mv=0.07)
    model = Model.new(params, seed=seed)
    rng = np.random.default_rng(seed)
    model.theta = rng.random(n, dtype=np.float32) * 5
    model.labels = rng.integers(-1, 10, size=n)
    model.weight_format = fmt
    return model


def _arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _rewrite(src, dst, **changes):
    """Copy the members of model file ``src`` to ``dst`` with some replaced (None = dropped)."""
    arrays = _arrays(src)
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(dst, **arrays)
    return dst


def test_round_trip_is_exact_and_reproducible(tmp_path):
    model = _model()
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save_model(model, a)
    save_model(model, b)
    assert a.read_bytes() == b.read_bytes()  # no timestamps in the zip
    back = load_model(a)
    assert back.params == model.params
    assert back.seed == model.seed and back.weight_format == "q8" and back.version == MODEL_VERSION
    for key in ("weights", "theta", "labels"):
        got, want = getattr(back, key), getattr(model, key)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "b.npz"]  # no temporaries left


def test_save_writes_exact_path_and_plain_npz_layout(tmp_path):
    path = tmp_path / "model.bin"  # no .npz suffix appended
    save_model(_model(), path)
    arrays = _arrays(path)
    assert set(arrays) == {"params", "weights", "theta", "labels", "weight_format", "version", "seed"}
    assert json.loads(str(arrays["params"]))["theta_plus_mv"] == 0.07
    assert str(arrays["weight_format"]) == "q8" and int(arrays["version"]) == MODEL_VERSION


BAD = {
    "wrong weight shape": (dict(weights=np.zeros((784, 11), np.float32)), "'weights' has shape"),
    "float64 weights": (dict(weights=np.zeros((784, 12))), "'weights' has dtype float64"),
    "theta shape": (dict(theta=np.zeros(3, np.float32)), "'theta' has shape"),
    "label out of range": (dict(labels=np.full(12, 10)), "'labels' must lie in -1..9"),
    "unknown version": (dict(version=np.array(99)), "unknown model version 99"),
    "unknown format": (dict(weight_format=np.array("q4")), "unknown weight format 'q4'"),
    "missing key": (dict(theta=None), "missing key 'theta'"),
    "extra key": (dict(bias=np.zeros(3)), "unexpected key 'bias'"),
    "params not json": (dict(params=np.array("{oops")), "bad 'params'"),
    "unknown param": (dict(params=np.array('{"n_neuronz": 3}')), "unknown field(s) n_neuronz"),
    "params inconsistent": (dict(params=np.array('{"n_neurons": 0}')), "bad 'params'"),
    "NaN weights": (dict(weights=np.full((784, 12), np.nan, np.float32)), "'weights' holds 9408 non-finite"),
    "one inf weight": (dict(weights=np.where(np.arange(12) == 5, np.inf, 0.1).astype(np.float32)[None, :]
                            .repeat(784, axis=0)), "the first inf at index [0, 5]"),
    "NaN theta": (dict(theta=np.full(12, np.nan, np.float32)), "'theta' holds 12 non-finite"),
    "negative weight": (dict(weights=np.full((784, 12), -0.5, np.float32)), "outside the range of weight format q8"),
    "q8 weight above w_max": (dict(weights=np.full((784, 12), 1.5, np.float32)), "([0, 1])"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_mismatched_files_are_rejected(tmp_path, case):
    changes, fragment = BAD[case]
    good = tmp_path / "good.npz"
    save_model(_model(), good)
    bad = _rewrite(good, tmp_path / "bad.npz", **changes)
    with pytest.raises(ModelFileError) as err:
        load_model(bad)
    msg = str(err.value)
    assert msg.startswith(str(bad)) and fragment in msg and "\n" not in msg


def test_float_weights_above_w_max_load(tmp_path):
    """fp32 stores any finite value: column normalisation may leave weights above w_max."""
    model = _model(fmt="fp32")
    model.weights[0, 0] = 1.75
    save_model(model, tmp_path / "m.npz")
    assert load_model(tmp_path / "m.npz").weights[0, 0] == np.float32(1.75)


def test_corrupt_and_truncated_files_are_rejected(tmp_path):
    good = tmp_path / "good.npz"
    save_model(_model(), good)
    blob = good.read_bytes()
    cases = {
        "truncated.npz": blob[: len(blob) // 2],
        "empty.npz": b"",
        "text.npz": b"weights = 1, 2, 3\n",
    }
    flipped = bytearray(blob)
    flipped[len(blob) // 3] ^= 0xFF  # inside the deflated weights: CRC/zlib error on read
    cases["flipped.npz"] = bytes(flipped)
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ModelFileError) as err:
            load_model(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value), name
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ModelFileError, match="not a model file"):
        load_model(npy)
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "absent.npz")
    assert issubclass(ModelFileError, ValueError)


def test_failed_save_leaves_existing_file_untouched(tmp_path):
    path = tmp_path / "model.npz"
    save_model(_model(seed=1), path)
    before = path.read_bytes()
    model = _model(seed=2)
    model.weight_format = "bogus"
    with pytest.raises(ValueError):
        save_model(model, path)
    assert path.read_bytes() == before
    assert zipfile.is_zipfile(path) and os.listdir(tmp_path) == ["model.npz"]


def test_write_interrupted_mid_file_keeps_target_and_leaves_no_temporary(tmp_path):
    from snn.npzfile import write_npz
    path = tmp_path / "model.npz"
    save_model(_model(seed=1), path)
    before = path.read_bytes()
    with pytest.raises(ValueError):  # object arrays cannot be written without pickle
        write_npz(path, {"weights": np.zeros(3), "bad": np.array([object()], dtype=object)})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]
