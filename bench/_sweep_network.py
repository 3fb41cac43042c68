"""Network side of the placement sweep: the trained model (cached), the evaluation images, the
weight-access stream, and the network's error tolerance.

Model cache: ``<cache>/models/<key>.npz`` (snn.model_io format) where ``<key>`` digests every
input of training -- all NetworkParams fields, the training images and labels, epochs, seed and
the source code of the snn modules training runs through -- so changing any of them retrains.
``<cache>`` is ``--cache-dir``, else ``$SPARKXD_CACHE``, else ``~/.cache/sparkxd``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np

TRAIN_SOURCES = ("params.py", "model.py", "train.py", "kernels.py", "discrete.py", "encoding.py",
                 "labels.py", "infer.py")


def cache_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("SPARKXD_CACHE") or Path.home() / ".cache" / "sparkxd").expanduser()


def snn_source_digest() -> str:
    """Digest of the snn sources that shape a trained model: a cached model dies with any edit."""
    import snn
    h = hashlib.sha256()
    root = Path(snn.__file__).parent
    for name in TRAIN_SOURCES:
        p = root / name
        h.update(name.encode())
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()


def model_key(params, x_train, y_train, epochs: int, seed: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(dataclasses.asdict(params), sort_keys=True).encode())
    h.update(json.dumps({"epochs": int(epochs), "seed": int(seed), "n": int(len(x_train))}).encode())
    h.update(np.ascontiguousarray(x_train).tobytes())
    h.update(np.ascontiguousarray(y_train).tobytes())
    h.update(snn_source_digest().encode())
    return h.hexdigest()[:32]


def get_model(params, x_train, y_train, *, epochs: int, seed: int, cache: Path, progress: bool = True,
              log=print):
    """(model, path): the cached model for these inputs, trained and stored when missing."""
    from snn.model import Model
    from snn.model_io import ModelFileError, load_model, save_model
    from snn.train import train
    path = Path(cache) / "models" / f"{model_key(params, x_train, y_train, epochs, seed)}.npz"
    if path.exists():
        try:
            return load_model(path), path
        except ModelFileError as exc:
            log(f"cached model unusable ({exc}); retraining")
    log(f"training a {params.n_neurons}-neuron network on {len(x_train)} images x {epochs} epoch(s) "
        f"(cached afterwards in {path.parent})")
    model = Model.new(params, seed=seed)
    train(model, x_train, y_train, epochs=epochs, seed=seed, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return model, path


def eval_sample(x_test, y_test, n: int, seed: int):
    """A seeded random sample of ``n`` test images (the test split is ordered by class)."""
    n = min(int(n), len(x_test))
    idx = np.sort(np.random.default_rng([int(seed), 0x1A6E5]).permutation(len(x_test))[:n])
    return np.ascontiguousarray(x_test[idx]), np.ascontiguousarray(y_test[idx])


def access_stream(model, images, dataflow: str, seed: int, word_bits: int) -> np.ndarray:
    """Weight reads of inference over ``images`` (traces.records.LOGICAL_ACCESS_DTYPE)."""
    from snn.access import weight_access_stream
    return weight_access_stream(model, images, dataflow=dataflow, seed=seed, word_bits=word_bits)


def tolerable_ber(model, x, y, fmt: str, *, target_acc: float, seeds, error_model, guard: str, spec,
                  eval_seed: int, clean: float, lo: float = 1e-8, hi: float = 1e-2, per_decade: int = 4,
                  progress=None) -> tuple[float, list]:
    """Largest BER of a log grid at which (and below which) the mean accuracy over ``seeds``
    stays >= ``target_acc`` (fractions), with errors spread uniformly over the device.

    The grid is walked upwards and stops at the first failing BER. Returns (BER, rows); the BER
    is 0.0 when even the smallest grid BER fails.
    """
    from dramsim.errors import ErrorParams
    from mapping.tolerance import log_grid, max_tolerable_ber, summarize, tolerance_curve
    flat = ErrorParams().homogeneous()
    rows = []
    for ber in log_grid(lo, hi, per_decade):
        part = tolerance_curve(model, x, y, [float(ber)], list(seeds), error_model, fmt, guard, spec=spec,
                               params=flat, eval_seed=eval_seed, clean=clean, progress=progress)
        rows.extend(part)
        if np.mean([r["accuracy"] for r in part]) < target_acc:
            break
    best = max_tolerable_ber(summarize(rows), target_acc)
    return (0.0 if best is None else float(best)), rows
