"""Read guard: sanitise decoded weights that bit errors pushed out of the legal range.

The accelerator knows every weight lies in ``[0, w_max]`` (the STDP clip bound), so on a read a
value outside that range (or NaN/inf, e.g. after a flipped fp32 exponent bit) is certainly
corrupted. Two cheap fixes, applied per weight after decoding:

* ``clamp``: saturate to the range; ``+inf``/too large -> ``w_max``, ``-inf``/negative -> 0,
  NaN (which has no side) -> 0.
* ``zero``: replace any out-of-range or non-finite value by 0 (the synapse is dropped).
* ``none``: pass values through unchanged.

Fixed-point formats (q8/q16) can only decode to values inside the range, so the guard changes
nothing for them; it matters for fp32.
"""
from __future__ import annotations

import numpy as np

GUARDS = ("none", "clamp", "zero")


def check_guard(mode: str) -> str:
    if mode not in GUARDS:
        raise ValueError(f"unknown guard {mode!r}; choose one of {', '.join(GUARDS)}")
    return mode


def apply_guard(weights, mode: str = "none", w_max: float = 1.0, out=None) -> np.ndarray:
    """Guarded float32 copy of ``weights`` (or written into ``out``, which may be ``weights``)."""
    check_guard(mode)
    w = np.asarray(weights, dtype=np.float32)
    if out is None:
        out = w.copy()
    elif out is not w:
        np.copyto(out, w)
    if mode == "none":
        return out
    with np.errstate(invalid="ignore"):
        bad = ~((out >= 0.0) & (out <= w_max))   # True for NaN too
    if not bad.any():
        return out
    if mode == "zero":
        out[bad] = 0.0
    else:
        vals = out[bad]
        out[bad] = np.where(vals > w_max, np.float32(w_max), np.float32(0.0))  # NaN, negatives -> 0
    return out


def count_out_of_range(weights, w_max: float = 1.0) -> int:
    """Decoded weights the guard would touch."""
    w = np.asarray(weights)
    with np.errstate(invalid="ignore"):
        return int(np.count_nonzero(~((w >= 0.0) & (w <= w_max))))
