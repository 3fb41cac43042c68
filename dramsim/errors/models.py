"""Bit-error models of reduced-voltage DRAM and their parameters.

The four models follow EDEN (S. Koppula et al., "EDEN: Enabling Energy-Efficient, High-Performance
Deep Neural Network Inference Using Approximate DRAM", MICRO 2019, section 4): errors spread
uniformly (0), along bitlines (1), along wordlines (2), or depending on the stored value (3).
The exact parameterisation below is ours (EDEN fits its models to measured chips; we expose
the knobs so the average BER is exactly the requested one):

* **0 uniform**: every cell fails independently with probability ``p`` (the region's BER).
* **1 bitline**: a fraction ``weak_fraction`` of the bitlines is weak and receives a fraction
  ``concentration`` of the errors: a cell on a weak bitline fails with probability
  ``p_w = p * concentration / weak_fraction`` (capped at 1), one on a strong bitline with
  ``p_s = (p - weak_fraction * p_w) / (1 - weak_fraction)``, so the mean over bitlines is ``p``.
  (For speed, line weakness comes from 16-bit slices of one hash per four lines, so
  ``weak_fraction`` is rounded to a multiple of 2^-16 -- ``effective_weak_fraction`` -- and the
  formulas use the rounded value, keeping the mean exact.)
  A bitline is (channel, rank, bank, subarray, device, device column, DQ bit): local bitlines
  belong to one subarray of one chip.
* **2 wordline**: the same with wordlines: (channel, rank, bank, row, device).
* **3 data-dependent**: a cell storing 1 flips to 0 with probability
  ``p10 = 2 p r / (1 + r)``, a cell storing 0 flips to 1 with ``p01 = 2 p / (1 + r)``, where
  ``r = ratio_1to0 = p10 / p01``. The average BER is ``p`` when half of the stored bits are ones
  (as for random data); for other data it is ``q p10 + (1 - q) p01`` with ``q`` the fraction of
  ones. ``r > 1`` models true cells losing charge (1 -> 0) at low voltage; the default 3 is an
  assumption, not a measured value.

**Spatial variation** (all models): the BER ``p`` of a region is the requested BER times a
per-bank multiplier times a per-subarray multiplier, each log-normal with spread (sigma of
``ln``) ``bank_spread`` / ``subarray_spread``, and the product normalised so that its mean over
all (channel, rank, bank, subarray) regions of the device is exactly 1 (then capped so no
region exceeds BER 1). Chang et al. (SIGMETRICS 2017) observe that reduced-voltage errors
cluster in some banks and regions; the default spreads (0.5 each) are an assumption chosen to
make some regions clearly weaker than others, not a fit. Set both to 0 for a homogeneous device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODEL_NAMES = ("uniform", "bitline", "wordline", "data")
WEAK_QUANTUM = 2.0 ** -16   # line weakness is drawn from 16-bit hash slices (4 lines per hash)
_REGION_SALT = 0x5EED_0F_BA_2C_5A_11


def parse_model(model) -> int:
    """Error model number from 0..3 or a name ("uniform", "bitline", "wordline", "data")."""
    if isinstance(model, (int, np.integer)) and not isinstance(model, bool) and 0 <= int(model) < 4:
        return int(model)
    if isinstance(model, str):
        s = model.strip().lower()
        if s.isdigit() and int(s) < 4:
            return int(s)
        if s in MODEL_NAMES:
            return MODEL_NAMES.index(s)
    raise ValueError(f"unknown error model {model!r}; use 0-3 or one of {', '.join(MODEL_NAMES)}")


@dataclass(frozen=True)
class ErrorParams:
    """Knobs of the error models (see the module docstring)."""
    weak_fraction: float = 0.01     # models 1/2: fraction of bitlines / wordlines that are weak
    concentration: float = 0.9      # models 1/2: fraction of all errors that fall on weak lines
    ratio_1to0: float = 3.0         # model 3: P(1->0) / P(0->1)
    bank_spread: float = 0.5        # sigma of ln(per-bank BER multiplier)
    subarray_spread: float = 0.5    # sigma of ln(per-subarray BER multiplier)

    def __post_init__(self):
        if not WEAK_QUANTUM <= self.weak_fraction <= 1.0 - WEAK_QUANTUM:
            raise ValueError(f"weak_fraction must be in [2^-16, 1 - 2^-16], got {self.weak_fraction}")
        if not 0.0 <= self.concentration <= 1.0:
            raise ValueError(f"concentration must be in [0, 1], got {self.concentration}")
        if not (self.ratio_1to0 > 0 and np.isfinite(self.ratio_1to0)):
            raise ValueError(f"ratio_1to0 must be a positive number, got {self.ratio_1to0}")
        for name in ("bank_spread", "subarray_spread"):
            v = getattr(self, name)
            if not (v >= 0 and np.isfinite(v)):
                raise ValueError(f"{name} must be >= 0, got {v}")

    @property
    def weak_threshold(self) -> int:
        """``weak_fraction`` in units of 2^-16 (a line is weak iff its 16-bit hash is below)."""
        return int(round(self.weak_fraction / WEAK_QUANTUM))

    @property
    def effective_weak_fraction(self) -> float:
        """The weak fraction actually used: ``weak_fraction`` rounded to a multiple of 2^-16."""
        return self.weak_threshold * WEAK_QUANTUM

    def homogeneous(self) -> "ErrorParams":
        """The same parameters without spatial variation."""
        return ErrorParams(self.weak_fraction, self.concentration, self.ratio_1to0, 0.0, 0.0)


def region_multipliers(org, params: ErrorParams, seed: int) -> np.ndarray:
    """Per-(channel, rank, bank, subarray) BER multipliers with mean exactly 1 (float64)."""
    shape_b = (org.channels, org.ranks, org.banks)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, _REGION_SALT])
    bank = np.exp(params.bank_spread * rng.standard_normal(shape_b))
    sub = np.exp(params.subarray_spread * rng.standard_normal(shape_b + (org.subarrays,)))
    m = bank[..., None] * sub
    return m / m.mean()


def region_ber(org, ber: float, params: ErrorParams | None = None, seed: int = 0) -> np.ndarray:
    """BER of every (channel, rank, bank, subarray) region; ``bank`` is the flat bank index
    ``bankgroup * banks_per_group + bank``. Its mean is ``ber`` unless capping at 1 bites."""
    if not (0.0 <= ber <= 1.0):
        raise ValueError(f"BER must be in [0, 1], got {ber}")
    params = params or ErrorParams()
    return np.minimum(ber * region_multipliers(org, params, seed), 1.0)
