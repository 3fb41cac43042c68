"""Fault-aware training (SparkXD's FAT, after EDEN's curricular retraining).

The network trains with its weights held in approximate DRAM: every ``every`` training images
(``snn.train``'s ``hook_every``), the weights are stored, read back through a fault map at the
current BER of a schedule, and the corrupted values replace the float weights the STDP rule then
updates -- so learning continues from, and compensates for, what the faulty memory returns.

Choices (documented because they change results):

* **Schedule**: the BER rises log-linearly from ``start_ber`` to ``target_ber`` over the first
  ``ramp`` fraction of the training images, then stays at the target (``"ramp"``, the curricular
  form), or is the target throughout (``"constant"``).
* **Fresh faults per read** (transient map keyed by the hook call): training should make the
  network robust to *a* faulty device, not memorise one fault pattern; evaluation afterwards
  uses persistent maps from other seeds. (With a persistent XOR map, re-reading a written-back
  flipped bit would flip it back on every other read.)
* **Only flipped words change**: words with no flipped bit keep their float value (no
  quantisation of the training weights for q8/q16), corrupted words take their decoded,
  guarded value. So the hook injects errors, not quantisation.
* **Mode** ``restore`` (default): at the next hook call the previously corrupted weights get
  their pre-corruption values back (the STDP change they received meanwhile is dropped), so the
  errors perturb the dynamics STDP sees for ``every`` images while learning continues on clean
  weights -- the usual noise-injection form. ``writeback``: the corrupted values are what STDP
  updates and what is written back, so errors accumulate in the weights as in a memory that is
  read, updated and rewritten. Measured on the default split (N=100): ``writeback`` at BER
  1e-4 already drops error-free accuracy from ~72-77 % to ~51-53 % (fp32, clamp guard), because
  corrupted weights on never-active pixels are never depressed by STDP and eat each neuron's
  normalised weight budget.
* **Cost**: one injection is ~2.5 Mbit for 784x100 fp32 weights (~10 ms); with ``every=10``
  that adds about 1 ms per training image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dramsim.errors import ErrorParams, FaultMap, parse_model
from mapping.guard import apply_guard, check_guard
from mapping.inject import flip_masks
from mapping.tolerance import StoredWeights

SCHEDULES = ("ramp", "constant")
MODES = ("writeback", "restore")


def scheduled_ber(fraction: float, target_ber: float, schedule: str = "ramp",
                  start_ber: float | None = None, ramp: float = 0.5) -> float:
    """BER at ``fraction`` (0..1) of the training images."""
    if schedule == "constant" or target_ber <= 0:
        return float(target_ber)
    if schedule != "ramp":
        raise ValueError(f"unknown FAT schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    start = target_ber / 1000.0 if start_ber is None else start_ber
    if not 0 < start <= target_ber:
        raise ValueError(f"FAT start BER {start} must be in (0, target {target_ber}]")
    if ramp <= 0 or fraction >= ramp:
        return float(target_ber)
    t = max(0.0, fraction) / ramp
    return float(10 ** (math.log10(start) + t * (math.log10(target_ber) - math.log10(start))))


@dataclass
class FaultAwareHook:
    """``weight_hook`` for ``snn.train.train``: corrupt the weights in place as a faulty read."""
    store: StoredWeights
    n_images: int
    target_ber: float
    error_model: int = 0
    params: ErrorParams = field(default_factory=ErrorParams)
    schedule: str = "ramp"
    start_ber: float | None = None
    ramp: float = 0.5
    guard: str = "clamp"
    mode: str = "restore"
    seed: int = 0
    calls: int = 0
    flipped_bits: int = 0
    history: list = field(default_factory=list)     # (image index, BER, flipped bits)

    def __post_init__(self):
        self.error_model = parse_model(self.error_model)
        check_guard(self.guard)
        if self.n_images < 1:
            raise ValueError("FAT needs n_images >= 1")
        scheduled_ber(0.0, self.target_ber, self.schedule, self.start_ber, self.ramp)  # validate
        if self.mode not in MODES:
            raise ValueError(f"unknown FAT mode {self.mode!r}; choose one of {', '.join(MODES)}")
        self._saved = None     # (flat indices, pre-corruption values) for mode "restore"

    def ber_at(self, image_index: int) -> float:
        return scheduled_ber(image_index / self.n_images, self.target_ber, self.schedule,
                             self.start_ber, self.ramp)

    def __call__(self, weights: np.ndarray, image_index: int) -> None:
        flat = weights.reshape(-1)
        if self._saved is not None:
            idx, vals = self._saved
            flat[idx] = vals
            self._saved = None
        ber = self.ber_at(image_index)
        fm = FaultMap.build(self.store.spec, self.error_model, ber, seed=self.seed, params=self.params,
                            persistent=False)
        fmt = self.store.fmt
        words = fmt.encode(weights)
        masks = flip_masks(words, self.store.layout, fm, read_index=self.calls)
        idx = np.flatnonzero(masks.reshape(-1))
        n = int(np.unpackbits(masks.reshape(-1)[idx].view(np.uint8)).sum()) if idx.size else 0
        if n:
            w_words = words.reshape(-1)[idx] ^ masks.reshape(-1)[idx]
            if self.mode == "restore":
                self._saved = (idx, flat[idx].copy())
            flat[idx] = apply_guard(fmt.decode(w_words), self.guard, fmt.w_max)
        self.calls += 1
        self.flipped_bits += n
        self.history.append((int(image_index), ber, n))


def train_fault_aware(model, x, y, *, target_ber: float, epochs: int = 1, seed: int = 0,
                      fmt="fp32", error_model=0, params: ErrorParams | None = None, guard: str = "clamp",
                      schedule: str = "ramp", start_ber: float | None = None, ramp: float = 0.5,
                      every: int = 10, mode: str = "restore", spec=None, layout=None, progress: bool = False,
                      fault_seed: int = 1_000_003):
    """Train ``model`` in place with a :class:`FaultAwareHook`; returns the hook (for its log).

    ``fault_seed`` keys the training-time faults; keep it different from evaluation seeds.
    """
    from snn.train import train
    if every < 1:
        raise ValueError("FAT hook interval must be >= 1 image")
    store = StoredWeights.default(model.weights.shape, fmt, spec, layout)
    hook = FaultAwareHook(store, n_images=len(x) * epochs, target_ber=target_ber, error_model=error_model,
                          params=params or ErrorParams(), schedule=schedule, start_ber=start_ber,
                          ramp=ramp, guard=guard, mode=mode, seed=fault_seed)
    # snn.train's image_index counts presented images across epochs (0 .. n_images-1); the hook
    # uses it for the schedule and its own call counter to key the transient faults.
    train(model, x, y, epochs=epochs, seed=seed, progress=progress, weight_hook=hook, hook_every=every)
    return hook
