"""Unsupervised STDP training (Diehl & Cook 2015) and label assignment.

Images are presented in the given order, ``epochs`` times (the original does not shuffle).
Presentation ``a`` of image ``b`` in epoch ``e`` draws its Poisson input from the stream keyed
by (seed, TRAIN_KEY_BASE + e * n_images + b, a); inference (snn.infer) keys its streams by the
image index alone, so the label-assignment pass after training sees fresh input spikes.

All columns are normalised once at the start of each ``train`` call (the original normalises
before every image; afterwards only the columns that changed need it, see snn.kernels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from snn import discrete as d
from snn import kernels
from snn.infer import as_images, check_seed, spike_counts
from snn.labels import assign_labels
from snn.model import Model

#: Training streams are keyed from here on, far from inference keys (image indices).
TRAIN_KEY_BASE = 1 << 40


@dataclass
class TrainStats:
    presentations: int = 0          # including retries
    images: int = 0                 # accepted images (each counted once)
    spikes: int = 0                 # excitatory spikes during training
    max_attempts: int = 0

    @property
    def retries_per_image(self) -> float:
        return (self.presentations - self.images) / max(self.images, 1)


def normalise_all(model: Model) -> None:
    """Rescale every neuron's input weights to sum params.weight_sum (as the original does)."""
    p = model.params
    cols = np.arange(p.n_neurons, dtype=np.int32)
    over = np.zeros(p.n_neurons, np.bool_)
    kernels.normalise_columns(model.weights, p.n_inputs, cols, p.n_neurons,
                              float(p.weight_sum), np.float32(p.w_max), over)


def train(model: Model, images, labels=None, *, epochs=1, seed=0, progress=True,
          weight_hook=None, hook_every=1, stats: TrainStats | None = None,
          batch_size=256) -> Model:
    """Train ``model`` in place with STDP on ``images`` (uint8 [n, n_inputs]); returns it.

    If ``labels`` is given, neuron labels are then assigned from a frozen-theta pass over the
    same images (snn.infer.spike_counts with this seed).

    ``weight_hook(weights, image_index)``, if given, is called before every ``hook_every``-th
    training image (image_index counts presented images across epochs, from 0) and may modify
    the float32 weight matrix in place, e.g. to model weights read from an approximate DRAM.
    Columns it changes are renormalised after that image's presentation, like any column the
    network changed.  Without a hook, ``batch_size`` images are trained per numba call.
    ``stats`` (optional TrainStats) accumulates counts of presentations, retries and spikes.
    """
    p = model.params
    images = as_images(images, p.n_inputs)
    seed = check_seed(seed)
    epochs = int(epochs)
    if epochs < 0:
        raise ValueError("train: epochs must be >= 0")
    hook_every = int(hook_every)
    if weight_hook is not None and hook_every < 1:
        raise ValueError("train: hook_every must be >= 1")
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"train: {images.shape[0]} images but {labels.shape[0]} labels")
    stats = stats if stats is not None else TrainStats()
    cf, cd, ci = d.constants(p)
    tables = d.trace_tables(p)
    delays = d.input_delays(p, model.seed)
    w, theta = model.weights, model.theta
    n_img = images.shape[0]
    normalise_all(model)
    no_pending = np.zeros(p.n_neurons, np.bool_)
    step = hook_every if weight_hook is not None else max(1, int(batch_size))
    total = epochs * n_img
    with tqdm(total=total, disable=not progress or total == 0, unit="img",
              desc=f"train N={p.n_neurons}") as bar:
        done = 0
        while done < total:
            epoch, start = divmod(done, n_img)
            stop = min(n_img, start + step)
            pending = no_pending
            if weight_hook is not None:
                before = w.copy()
                weight_hook(w, done)
                if w.dtype != np.float32 or w.shape != before.shape:
                    raise ValueError("weight_hook must modify the float32 weights in place")
                pending = (w != before).any(axis=0)
            keys = TRAIN_KEY_BASE + epoch * n_img + np.arange(start, stop, dtype=np.int64)
            attempts = np.zeros(stop - start, np.int64)
            stats.spikes += kernels.train_images(w, theta, images[start:stop], keys, seed, delays,
                                                 cf, cd, ci, tables, pending, attempts)
            stats.presentations += int(attempts.sum())
            stats.images += stop - start
            stats.max_attempts = max(stats.max_attempts, int(attempts.max()))
            done += stop - start
            bar.update(stop - start)
            bar.set_postfix(retries=f"{stats.retries_per_image:.2f}",
                            theta=f"{float(theta.mean()):.1f}")
    if labels is not None:
        counts = spike_counts(model, images, seed=seed)
        model.labels = assign_labels(counts, labels)
    return model
