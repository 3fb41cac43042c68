"""Network side of the placement sweep: the trained model (cached), its per-device calibrated
copies (cached), the test samples, the weight-access stream, and the network's error tolerance
on validation images.

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
    from bench._sweep_timing import phase
    model = Model.new(params, seed=seed)
    with phase("training", len(x_train) * epochs):
        train(model, x_train, y_train, epochs=epochs, seed=seed, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return model, path


def sample_test_images(x_test, y_test, n: int, seed: int, salt: int):
    """(indices, images, labels) of a seeded, class-stratified sample of ``n`` test images
    (``salt`` keeps different samples of the same seed apart; the test split is sorted by class,
    so "the first n" would be the zeros)."""
    from snn.data import stratified_indices
    idx = stratified_indices(y_test, min(int(n), len(y_test)), [int(seed), int(salt)])
    return idx, np.ascontiguousarray(x_test[idx]), np.ascontiguousarray(y_test[idx])


#: salts of the two test samples: the accuracy images and the images whose reads are simulated
ACCURACY_SALT, DRAM_SALT = 0x1A6E5, 0xD7A3


def spike_seeds(seed: int, n: int) -> list[int]:
    """Input-spike seeds of inference, derived from the master seed (apart from training's)."""
    return [1_000_000 + 1000 * int(seed) + k for k in range(int(n))]


def fault_seeds(seed: int, n: int) -> list[int]:
    """Fault-map seeds (devices) derived from the master seed (apart from the region seed)."""
    return [int(seed) * 1000 + 1 + k for k in range(int(n))]


def access_stream(model, images, dataflow: str, seed: int, word_bits: int) -> np.ndarray:
    """Weight reads of inference over ``images`` (traces.records.LOGICAL_ACCESS_DTYPE)."""
    from snn.access import weight_access_stream
    return weight_access_stream(model, images, dataflow=dataflow, seed=seed, word_bits=word_bits)


# ---------------------------------------------------------------------------------------------
# per-device calibration (fault-aware training on the device's own faults), cached

def _fault_map_digest(h, fault_map, layout) -> None:
    from dramsim.errors.fault_map import location_arrays
    h.update(json.dumps({"model": fault_map.model, "ber": float(fault_map.ber), "seed": int(fault_map.seed),
                         "persistent": bool(fault_map.persistent),
                         "params": dataclasses.asdict(fault_map.params)}, sort_keys=True).encode())
    h.update(np.ascontiguousarray(fault_map.region_ber, dtype=np.float64).tobytes())
    for a in location_arrays(layout, fault_map.org, layout.word_bits):
        h.update(np.ascontiguousarray(a).tobytes())


def calibrated_model(plain, plain_path, x, y, store, fault_map, *, seed: int, guard: str, cache: Path):
    """(model, path): the plain model calibrated to ``fault_map`` at ``store.layout``
    (``mapping.fault_aware.calibrate_to_device``), cached under ``<cache>/models/fat/`` by every
    input: the plain model file, the fault map (region BERs included), the word locations,
    format, guard, seed and training images."""
    import mapping.fault_aware
    from mapping.fault_aware import calibrate_to_device
    from snn.model_io import ModelFileError, load_model, save_model
    h = hashlib.sha256(Path(plain_path).name.encode())
    h.update(Path(mapping.fault_aware.__file__).read_bytes())
    h.update(json.dumps({"format": store.fmt.name, "guard": guard, "seed": int(seed)}).encode())
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    _fault_map_digest(h, fault_map, store.layout)
    h.update(snn_source_digest().encode())
    path = Path(cache) / "models" / "fat" / f"{h.hexdigest()[:32]}.npz"
    if path.exists():
        try:
            return load_model(path), path
        except ModelFileError:
            pass
    from bench._sweep_timing import phase
    with phase("training", len(x)):
        model = calibrate_to_device(plain, x, y, store, fault_map, seed=seed, guard=guard)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return model, path


def fat_control(plain, plain_path, x, y, spec, *, seed: int, guard: str, cache: Path):
    """(model, path): the plain model put through the same calibration with a device that
    never fails (BER 0): one more epoch of the same training, no faults. It is the error-free
    reference of ``--training fat``, so that the extra epoch is not counted as fault tolerance;
    a device whose faults miss every stored bit gets exactly this network."""
    from dramsim.errors import ErrorParams, FaultMap
    from mapping.tolerance import StoredWeights
    store = StoredWeights.default(plain.weights.shape, "fp32", spec)
    never = FaultMap(spec.org, 0, 0.0, seed=0, params=ErrorParams().homogeneous())
    return calibrated_model(plain, plain_path, x, y, store, never, seed=seed, guard=guard, cache=cache)


# ---------------------------------------------------------------------------------------------
# tolerable BER, measured on validation images

def calibration_task(task: dict) -> dict:
    """One calibration of the tolerance walk, as a JSON task a worker process can run: the plain
    model calibrated to device ``seed`` at ``ber`` (homogeneous errors, the default layout);
    the network lands in the cache, where the walk's ``calibrate`` then finds it."""
    from bench._sweep_context import load_context
    from dramsim.errors import ErrorParams, FaultMap
    from dramsim.spec import load_spec
    from mapping.tolerance import StoredWeights
    from snn.model_io import load_model
    meta, arrays = load_context(task["cache_dir"], task["context"])
    spec = load_spec(meta["spec"])
    plain = load_model(meta["plain_path"])
    store = StoredWeights.default(plain.weights.shape, task["format"], spec)
    fm = FaultMap.build(spec, task["error_model"], float(task["ber"]), seed=int(task["seed"]),
                        params=ErrorParams().homogeneous())
    from bench._sweep_timing import TIMING_KEY, take
    path = calibrated_model(plain, meta["plain_path"], arrays["x_train"], arrays["y_train"], store, fm,
                            seed=int(meta["seed"]), guard=meta["guard"], cache=Path(task["cache_dir"]))[1]
    return {"path": str(path), TIMING_KEY: take()}


def _devices_with_flips(model, fmt: str, ber: float, seeds, error_model, guard: str, spec, params) -> list[int]:
    from dramsim.errors import FaultMap, parse_model
    from mapping.inject import count_flipped_bits
    from mapping.tolerance import StoredWeights
    store = StoredWeights.default(model.weights.shape, fmt, spec)
    out = []
    for seed in seeds:
        fm = FaultMap.build(spec, parse_model(error_model), ber, seed=int(seed), params=params)
        if count_flipped_bits(store.read_with_masks(model.weights, fm, guard)[1]):
            out.append(int(seed))
    return out


def tolerable_ber(model, x_val, y_val, fmt: str, *, max_loss: float, seeds, spike_seeds, error_model,
                  guard: str, spec, clean, reference, calibrate=None, prefetch=None, lo: float = 1e-8,
                  hi: float = 1e-2, per_decade: int = 4, threads: int = 1, shortcuts: bool = True,
                  progress=None) -> tuple[float, list]:
    """Largest BER of a log grid at which -- and below which -- the upper 95 % bound of the
    accuracy loss (against ``reference``, the error-free fp32 run) on the VALIDATION images
    stays within ``max_loss`` (a fraction), with errors spread uniformly over the device.

    The grid is walked upwards and stops at the first failing BER. ``calibrate``: per-device
    fault-aware training at each (BER, device) (``--training fat``); ``prefetch(tasks)``, if
    given, runs the calibrations of one grid BER side by side first (:func:`calibration_task`).
    ``threads``: inference threads (results do not depend on it). Returns (BER, summary rows);
    the BER is 0.0 when even the smallest grid BER fails.
    """
    from bench._sweep_timing import phase
    from dramsim.errors import ErrorParams
    from mapping.tolerance import log_grid, spike_seed_evaluator, summarize, tolerance_curve
    from mapping.tolerance import tolerable_ber as tolerable_from_summary
    flat = ErrorParams().homogeneous()
    correct = spike_seed_evaluator(spike_seeds, threads)
    if not shortcuts:                       # every image evaluated (bench.perf_sweep's baseline)
        correct = (lambda full: lambda m, x, y, w: full(m, x, y, w))(correct)
    rows = []
    for ber in log_grid(lo, hi, per_decade):
        if prefetch is not None and calibrate is not None:
            flipping = _devices_with_flips(model, fmt, float(ber), seeds, error_model, guard, spec, flat)
            if len(flipping) > 1:
                prefetch([{"format": fmt, "error_model": error_model, "ber": float(ber), "seed": s}
                          for s in flipping])
        with phase("tolerance", len(seeds) * len(y_val) * len(spike_seeds)):
            part = tolerance_curve(model, x_val, y_val, [float(ber)], list(seeds), error_model, fmt, guard,
                                   spec=spec, params=flat, correct=correct, clean=clean, reference=reference,
                                   calibrate=calibrate, progress=progress)
        rows.extend(part)
        if summarize(part)[0]["loss_ci_high"] > max_loss + 1e-12:
            break
    summary = summarize(rows)
    best = tolerable_from_summary(summary, max_loss)
    return (0.0 if best is None else float(best)), summary
