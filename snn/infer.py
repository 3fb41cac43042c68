"""Inference with a frozen network: spike counts, accuracy, and the input spikes themselves.

Every presentation starts from the rested state (snn.kernels), so an image's result depends only
on (weights, theta, image, seed, image index): images may be processed in any order or in
parallel (``threads``) with identical results.  Image ``b`` of the ``images`` array uses the
Poisson streams keyed by (seed, b).
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from snn import discrete as d
from snn import kernels
from snn.labels import confusion_matrix, predict
from snn.model import Model


@dataclass
class EvalResult:
    accuracy: float                 # fraction of images classified correctly
    confusion: np.ndarray           # int64 [10, 10]: [true class, predicted class]
    predictions: np.ndarray         # int64 [n_images]
    attempts: np.ndarray            # int64 [n_images]: presentations (1 + retries) per image


def as_images(images, n_inputs: int, what: str = "images") -> np.ndarray:
    """Validate and convert to a C-contiguous uint8 [n, n_inputs] array (pixel values 0..255)."""
    arr = np.asarray(images)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != n_inputs:
        raise ValueError(f"{what}: expected shape [n, {n_inputs}], got {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.size and (np.nanmin(arr) < 0 or np.nanmax(arr) > 255 or np.isnan(arr).any()):
            raise ValueError(f"{what}: pixel values must lie in 0..255")
        if arr.size and not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{what}: pixel values must be integers 0..255")
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)


def check_seed(seed) -> int:
    seed = int(seed)
    if not 0 <= seed < 2 ** 63:
        raise ValueError(f"seed must be in 0 .. 2**63-1, got {seed}")
    return seed


def _weights_of(model: Model, weights) -> np.ndarray:
    if weights is None:
        return model.weights
    w = np.ascontiguousarray(weights, dtype=np.float32)
    if w.shape != model.weights.shape:
        raise ValueError(f"weights: expected shape {model.weights.shape}, got {w.shape}")
    return w


def image_keys(keys, n_images: int) -> np.ndarray:
    """Poisson keys of the images: ``keys`` (one int per image, e.g. the images' indices in
    the set they were taken from) or, by default, 0 .. n_images - 1."""
    if keys is None:
        return np.arange(n_images, dtype=np.int64)
    k = np.ascontiguousarray(keys, dtype=np.int64).reshape(-1)
    if k.size != n_images:
        raise ValueError(f"{k.size} image keys for {n_images} images")
    return k


def spike_counts_and_attempts(model: Model, images, *, seed=0, weights=None, threads=1, keys=None):
    """(int32 [n_images, N] spike counts of the accepted presentation, int64 [n] attempts).

    ``keys``: the Poisson key of each image (default: its position 0..n-1); image ``b`` gets
    exactly the result it gets in any other call with the same seed, key and weights, so a
    subset of a set evaluated with its original positions as keys reproduces those images."""
    p = model.params
    images = as_images(images, p.n_inputs)
    keys = image_keys(keys, images.shape[0])
    seed = check_seed(seed)
    w = _weights_of(model, weights)
    cf, cd, ci = d.constants(p)
    tables = d.trace_tables(p)
    delays = d.input_delays(p, model.seed)
    counts = np.zeros((images.shape[0], p.n_neurons), np.int32)
    attempts = np.zeros(images.shape[0], np.int64)
    theta = np.ascontiguousarray(model.theta, dtype=np.float32)
    if images.shape[0] == 0:
        return counts, attempts
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        n_chunks = 1 if threads == 1 else min(images.shape[0], 8 * threads)
        kernels.infer_images_parallel(w, theta, images, keys, seed, delays, cf, cd, ci, tables,
                                      n_chunks, counts, attempts)
    finally:
        numba.set_num_threads(previous)
    return counts, attempts


def spike_counts(model: Model, images, *, seed=0, weights=None, threads=1, keys=None) -> np.ndarray:
    """int32 [n_images, N]: excitatory spike counts per image (frozen theta, no plasticity).

    ``weights`` (float32 [n_inputs, N]) replaces model.weights, e.g. weights read back from an
    approximate DRAM.  Same seed -> identical counts, for any ``threads``.
    """
    return spike_counts_and_attempts(model, images, seed=seed, weights=weights,
                                     threads=threads, keys=keys)[0]


def evaluate(model: Model, images, labels, *, seed=0, weights=None, threads=1, keys=None) -> EvalResult:
    """Classify images with the model's neuron labels and score against ``labels``."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    counts, attempts = spike_counts_and_attempts(model, images, seed=seed, weights=weights, keys=keys,
                                                 threads=threads)
    if labels.shape[0] != counts.shape[0]:
        raise ValueError(f"evaluate: {counts.shape[0]} images but {labels.shape[0]} labels")
    if (model.labels < 0).all():
        raise ValueError("evaluate: the model has no neuron labels (train with labels, or "
                         "snn.labels.assign_labels)")
    predictions = predict(counts, model.labels)
    accuracy = float((predictions == labels).mean()) if labels.size else float("nan")
    return EvalResult(accuracy=accuracy, confusion=confusion_matrix(labels, predictions),
                      predictions=predictions, attempts=attempts)


def input_spike_events(model: Model, images, *, seed=0, weights=None):
    """Exactly the input spikes that ``spike_counts(model, images, seed=seed)`` simulates.

    Returns (image_idx, step, input_idx), int32 arrays in time order: by image, then step, then
    input index (the order in which the engine reads weight rows).  ``step`` counts dt steps
    from the start of the image's first presentation.  A retried image (fewer than min_spikes
    excitatory spikes) is presented again after the rest period with intensity + 1; the spikes
    of retry ``a`` (a = 1, 2, ...) carry steps ``a * (present_steps + rest_steps) + s``, i.e.
    they appear later in the same image, in the time line the original simulation has.  With
    input delays on, ``step`` is the emission time (when the row is read), not the arrival.
    """
    p = model.params
    images = as_images(images, p.n_inputs)
    seed = check_seed(seed)
    _, attempts = spike_counts_and_attempts(model, images, seed=seed, weights=weights)
    _, cd, ci = d.constants(p)
    return kernels.input_events_of(images, attempts, 0, seed, cd, ci, p.n_inputs)


def correct_matrix(model: Model, images, labels, *, seeds=(0,), weights=None, threads=1,
                   keys=None) -> np.ndarray:
    """bool [len(seeds), n_images]: whether each image is classified correctly under each input
    spike seed. The per-image outcomes are what snn.stats needs for confidence intervals, and
    the same seeds on an error-free and a faulty run make their difference a paired one.
    ``keys`` as in :func:`spike_counts_and_attempts`."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    rows = [evaluate(model, images, labels, seed=s, weights=weights, threads=threads,
                     keys=keys).predictions == labels for s in seeds]
    return np.array(rows, dtype=bool).reshape(len(rows), labels.size)


def correct_after_change(model: Model, images, labels, *, seeds, weights, clean: np.ndarray,
                         changed_rows, threads=1) -> np.ndarray:
    """What :func:`correct_matrix` gives with ``weights``, computing only what can differ from
    the error-free outcomes ``clean`` (bool [seeds, images], same images and seeds).

    ``weights`` differ from the weights of the run that gave ``clean`` only in the rows
    (inputs) ``changed_rows``. A row
    is read only when its input spikes, and an input whose pixel is 0 never spikes (Poisson
    rate proportional to the pixel), so an image with no lit pixel on a changed row runs
    exactly as without the change: only the other images are evaluated, with their own Poisson
    keys. The result is identical to evaluating every image."""
    images = as_images(images, model.params.n_inputs)
    rows = np.unique(np.asarray(changed_rows, dtype=np.int64))
    out = np.array(clean, dtype=bool, copy=True)
    if rows.size == 0 or images.shape[0] == 0:
        return out
    hit = np.flatnonzero((images[:, rows] > 0).any(axis=1))
    if hit.size:
        out[:, hit] = correct_matrix(model, images[hit], np.asarray(labels)[hit], seeds=seeds, weights=weights,
                                     threads=threads, keys=hit)
    return out
