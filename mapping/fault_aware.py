"""Fault-aware training (SparkXD's FAT, after EDEN's curricular retraining).

The network trains with its weights held in approximate DRAM: every ``every`` training images
(``snn.train``'s ``hook_every``) the weights are read back through a fault map at the current
BER of a schedule, and the values read replace the float weights the STDP rule then works with
-- so learning continues from, and compensates for, what the faulty memory returns.

Which faults (``faults``):

* ``"device"`` (default): the persistent fault map of the device that will hold the weights
  (``seed`` = the device). Its weak cells fail on every read, and since a cell that fails at a
  BER also fails at every higher BER of the same map, the rising schedule is that one device's
  supply voltage being lowered step by step. The schedule is quantised to ``levels_per_decade``
  BER levels so each level's masks are computed once. Neuron labels are assigned from the
  weights as this device returns them at the final BER. The model is then meant for *that*
  device: evaluate it with the same fault-map seed (``python -m bench.fault_aware`` does, and
  with ``--cross-device`` also shows it on other devices).
* ``"fresh"``: new (transient) faults on every read, keyed by the hook call -- training for *a*
  faulty device, not one; labels come from the clean weights.

How the reads meet STDP (``mode``):

* ``"restore"`` (default): at the next hook call the words that read wrong get back the value
  stored before the faulty read (the STDP change computed on the wrong value is dropped); every
  other word keeps its update. For the device this is the only consistent choice: its faults
  XOR the stored word, so writing a flipped value back would have the next read flip it back.
* ``"writeback"`` (``"fresh"`` faults only): the corrupted values are what STDP updates and what
  is written back, so errors accumulate in the weights.

Why device FAT works for this network (measured, docs/errors.md): in float32 without a read
guard, an exponent-MSB flip turns one weight into ~1e37, and the neuron holding it fires on
every spike of that pixel and wins every image showing it (one such flip on a busy pixel costs
up to 37 points). Trained on the device, that neuron fires until its adaptive threshold theta
reaches the firing ceiling E_exc - (v_thresh - offset) = 72 mV, which the clamped membrane
cannot cross (a huge weight on a silent pixel instead empties its column at normalisation).
Left alone, theta then hovers at the ceiling -- it decays a little, the neuron fires, theta
rises -- so whether the neuron is silent after training is a coin toss; ``retire`` makes it
silent for good. Label assignment on the device gives the remaining neurons the labels they
earn there. Fresh faults cannot do this: the harmful words are elsewhere on every read.

Cost: device faults cost one mask computation per BER level plus O(faulty words) per call, so
``every = 1`` is cheap; fresh faults compute a full mask per call (~10 ms for 784x100 fp32).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dramsim.errors import ErrorParams, FaultMap, parse_model
from mapping.guard import check_guard
from mapping.inject import count_flipped_bits, flip_masks, read_back
from mapping.tolerance import StoredWeights

SCHEDULES = ("ramp", "constant")
MODES = ("restore", "writeback")
FAULTS = ("device", "fresh")
DATA_DEPENDENT_MODEL = 3
#: a threshold within this of the ceiling counts as saturated (normal thetas sit 30+ mV below it)
SATURATION_MARGIN_MV = 1.0


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


def quantised_ber(ber: float, target_ber: float, levels_per_decade: int) -> float:
    """``ber`` rounded up to the level grid ``target * 10**(-k / levels_per_decade)`` (k >= 0)."""
    if ber >= target_ber:
        return float(target_ber)
    k = math.floor(math.log10(target_ber / ber) * levels_per_decade + 1e-9)
    return float(target_ber * 10 ** (-k / levels_per_decade))


def firing_ceiling_mv(params) -> float:
    """theta above which an excitatory neuron never fires: v is clamped to at most E_exc and a
    spike needs v > theta + v_thresh - offset (snn.kernels)."""
    return float(params.e_exc_mv - (params.v_thresh_e_mv - params.theta_offset_mv))


@dataclass
class FaultAwareHook:
    """``weight_hook`` for ``snn.train.train``: the weights as the faulty memory returns them."""
    store: StoredWeights
    n_images: int
    target_ber: float
    error_model: int = 0
    params: ErrorParams = field(default_factory=ErrorParams)
    schedule: str = "ramp"
    start_ber: float | None = None
    ramp: float = 0.5
    guard: str = "none"
    mode: str = "restore"
    faults: str = "device"
    levels_per_decade: int = 8
    seed: int = 0
    target_region_ber: np.ndarray | None = None     # device faults: per-subarray BER at the target
    theta: np.ndarray | None = None                 # the network's thresholds (watched, not changed)
    ceiling_mv: float = math.inf                     # theta at which a neuron can no longer fire
    calls: int = 0
    flipped_bits: int = 0
    history: list = field(default_factory=list)     # (image index, BER, flipped bits)
    saturated: np.ndarray | None = None             # neurons whose theta reached the ceiling at the target

    def __post_init__(self):
        self.error_model = parse_model(self.error_model)
        check_guard(self.guard)
        if self.n_images < 1:
            raise ValueError("FAT needs n_images >= 1")
        scheduled_ber(0.0, self.target_ber, self.schedule, self.start_ber, self.ramp)  # validate
        if self.mode not in MODES:
            raise ValueError(f"unknown FAT mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.faults not in FAULTS:
            raise ValueError(f"unknown FAT faults {self.faults!r}; choose one of {', '.join(FAULTS)}")
        if self.faults == "device" and self.mode != "restore":
            raise ValueError("device faults need mode 'restore' (a written-back flipped bit would read "
                             "flipped back)")
        if self.levels_per_decade < 1:
            raise ValueError("FAT levels_per_decade must be >= 1")
        self._saved = None     # (flat indices, values before the faulty read)
        self._cached = None    # device faults: (BER, flat indices, masks)

    def ber_at(self, image_index: int) -> float:
        ber = scheduled_ber(image_index / self.n_images, self.target_ber, self.schedule,
                            self.start_ber, self.ramp)
        if self.faults == "device" and ber > 0:
            ber = quantised_ber(ber, self.target_ber, self.levels_per_decade)
        return ber

    def _faulty_words(self, words: np.ndarray, ber: float) -> tuple[np.ndarray, np.ndarray]:
        """(flat indices of words with a flipped bit, their XOR masks)."""
        device = self.faults == "device"
        if self._cache_hit(ber):
            return self._cached[1], self._cached[2]
        fm = FaultMap.build(self.store.spec, self.error_model, ber, seed=self.seed, params=self.params,
                            persistent=device)
        if self.target_region_ber is not None:   # the device's own weak and strong regions, scaled
            scale = 1.0 if ber == self.target_ber else ber / self.target_ber   # exact at the target
            fm = FaultMap(fm.org, fm.model, fm.ber, fm.seed, fm.params, fm.persistent,
                          region_ber=np.minimum(self.target_region_ber * scale, 1.0))
        masks = flip_masks(words, self.store.layout, fm, read_index=0 if device else self.calls).reshape(-1)
        idx = np.flatnonzero(masks)
        if device:
            self._cached = (ber, idx, masks[idx])
        return idx, masks[idx]

    def restore(self, weights: np.ndarray) -> None:
        """Give the words corrupted by the last read their values from before it."""
        if self._saved is not None:
            idx, vals = self._saved
            weights.reshape(-1)[idx] = vals
            self._saved = None

    def _cache_hit(self, ber: float) -> bool:
        """Whether the faulty words at ``ber`` are known without looking at the stored values
        (device faults of a data-independent model, this BER level already computed)."""
        return (self.faults == "device" and self._cached is not None and self._cached[0] == ber
                and self.error_model != DATA_DEPENDENT_MODEL)

    def read(self, weights: np.ndarray, ber: float) -> tuple[np.ndarray, np.ndarray, int]:
        """(indices, values read, flipped bits) of the corrupted words of ``weights`` at ``ber``.

        Once a level's faulty words are known, only those words are encoded (encoding is per
        word, so this is exact): the per-image cost of device FAT is then O(faulty words)."""
        fmt = self.store.fmt
        if self._cache_hit(ber):
            idx, masks = self._cached[1], self._cached[2]
            words = fmt.encode(weights.reshape(-1)[idx])
        else:
            all_words = fmt.encode(weights)
            idx, masks = self._faulty_words(all_words, ber)
            words = all_words.reshape(-1)[idx]
        vals = read_back(fmt, words, masks, self.guard)
        return idx, vals, count_flipped_bits(masks)

    def __call__(self, weights: np.ndarray, image_index: int) -> None:
        flat = weights.reshape(-1)
        self.restore(weights)
        ber = self.ber_at(image_index)
        idx, vals, n = self.read(weights, ber)
        if idx.size:
            if self.mode == "restore":
                self._saved = (idx, flat[idx].copy())
            flat[idx] = vals
        if self.theta is not None and ber == self.target_ber:
            hit = self.theta >= self.ceiling_mv - SATURATION_MARGIN_MV
            self.saturated = hit if self.saturated is None else self.saturated | hit
        self.calls += 1
        self.flipped_bits += n
        self.history.append((int(image_index), ber, n))

    def device_view(self, weights: np.ndarray) -> np.ndarray:
        """A copy of ``weights`` as the device returns them at the final BER of the schedule."""
        out = np.array(weights, dtype=np.float32, copy=True)
        idx, vals, _ = self.read(out, self.ber_at(self.n_images))
        out.reshape(-1)[idx] = vals
        return out


def train_fault_aware(model, x, y=None, *, target_ber: float, epochs: int = 1, seed: int = 0,
                      fmt="fp32", error_model=0, params: ErrorParams | None = None, guard: str = "none",
                      schedule: str = "ramp", start_ber: float | None = None, ramp: float = 0.5,
                      every: int = 1, mode: str = "restore", faults: str = "device",
                      levels_per_decade: int = 8, retire: bool = True, spec=None, layout=None,
                      progress: bool = False, fault_seed: int = 0, target_region_ber=None):
    """Train ``model`` in place with a :class:`FaultAwareHook`; returns the hook (for its log).

    ``fault_seed`` is the device (``faults="device"``: use the fault-map seed you will evaluate
    with) or keys the fresh faults (``"fresh"``: keep it away from evaluation seeds). With
    labels ``y`` the neurons are then labelled from the weights as the device returns them at
    the target BER (device faults) or from the clean weights (fresh faults). The model keeps the
    clean, stored weights. ``target_region_ber`` (device faults) is the device's per-subarray BER
    at the target (``FaultMap.region_ber``): the schedule scales it down and up again, like a
    VDD being lowered, and meets it exactly at the target. With ``retire`` (device faults), neurons whose adaptive threshold
    reached the firing ceiling while training at the target BER are retired: their theta is set
    above the ceiling, so they stay silent instead of waking up whenever theta has decayed a little.
    """
    from snn.infer import spike_counts
    from snn.labels import assign_labels
    from snn.train import train
    if every < 1:
        raise ValueError("FAT hook interval must be >= 1 image")
    store = StoredWeights.default(model.weights.shape, fmt, spec, layout)
    hook = FaultAwareHook(store, n_images=len(x) * epochs, target_ber=target_ber, error_model=error_model,
                          params=params or ErrorParams(), schedule=schedule, start_ber=start_ber,
                          ramp=ramp, guard=guard, mode=mode, faults=faults,
                          levels_per_decade=levels_per_decade, seed=fault_seed, theta=model.theta,
                          target_region_ber=target_region_ber,
                          ceiling_mv=firing_ceiling_mv(model.params))
    # snn.train's image_index counts presented images across epochs (0 .. n_images-1); the hook
    # uses it for the schedule and its own call counter to key fresh faults.
    train(model, x, None, epochs=epochs, seed=seed, progress=progress, weight_hook=hook, hook_every=every)
    hook.restore(model.weights)
    if retire and faults == "device" and hook.saturated is not None:
        model.theta[hook.saturated] = np.float32(hook.ceiling_mv + SATURATION_MARGIN_MV)
    if y is not None:
        w = hook.device_view(model.weights) if faults == "device" else None
        model.labels = assign_labels(spike_counts(model, x, seed=seed, weights=w), y)
    return hook


def calibrate_to_device(model, x, y, store: StoredWeights, fault_map: FaultMap, *, seed: int = 0,
                        guard: str = "none", epochs: int = 1, retire: bool = True):
    """A copy of the trained ``model`` calibrated to one device at one operating point:
    device FAT (one more epoch over ``x``, ``y``) on exactly the persistent faults ``fault_map``
    puts at the words' locations ``store.layout``, the BER rising to ``fault_map.ber`` with the
    device's own region profile (the VDD being lowered to the operating point), then weak-neuron
    retirement and labels as the device returns the weights.

    The gain is tied to the device, layout and voltage (docs/errors.md): it is per-device
    calibration, not a network that tolerates errors in general.
    """
    if not fault_map.persistent:
        raise ValueError("calibration needs a persistent fault map (the device's weak cells)")
    out = model.copy()
    train_fault_aware(out, x, y, target_ber=float(fault_map.ber), epochs=epochs, seed=seed, fmt=store.fmt,
                      error_model=fault_map.model, params=fault_map.params, guard=guard, spec=store.spec,
                      layout=store.layout, fault_seed=int(fault_map.seed),
                      target_region_ber=np.asarray(fault_map.region_ber, dtype=np.float64).reshape(-1),
                      retire=retire)
    return out
