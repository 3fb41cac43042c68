"""Checked conversion of structured arrays (from callers or ``.npy``/``.npz`` files) to the
record layouts of traces.records.

Fields are matched by name, so arrays with extra fields or other integer widths are accepted as
long as every value fits; a missing optional field takes its "none" value.
"""
import numpy as np

from .records import LOGICAL_ACCESS_DTYPE, REQUEST_DTYPE

_REQUEST_RULES = {            # field -> (required, minimum allowed value, default)
    "addr": (True, 0, None),
    "is_write": (True, 0, None),
    "arrive": (False, -1, -1),
}
_LOGICAL_RULES = {
    "time_ns": (True, 0, None),
    "row": (True, 0, None),
    "first_word": (True, 0, None),
    "n_words": (True, 1, None),
    "image": (True, 0, None),
}


def _convert(src, dtype, rules):
    """Copy ``src`` into a new ``dtype`` array; raises ValueError naming the bad field."""
    src = np.asarray(src)
    names = src.dtype.names
    if names is None or src.ndim != 1:
        raise ValueError(f"expected a 1-D structured array with fields {', '.join(rules)}; "
                         f"got dtype {src.dtype} with shape {src.shape}")
    out = np.empty(src.size, dtype)
    for name, (required, minimum, default) in rules.items():
        if name not in names:
            if required:
                raise ValueError(f"missing field '{name}' (have: {', '.join(names)})")
            out[name] = default
            continue
        col = src[name]
        kind = col.dtype.kind
        if kind not in "biu":
            raise ValueError(f"field '{name}' has non-integer dtype {col.dtype}")
        if col.size and kind != "b":
            low, high = col.min(), col.max()
            top = np.iinfo(dtype[name]).max if dtype[name].kind != "b" else 1
            if low < minimum or high > top:
                bad = int(np.flatnonzero((col < minimum) | (col > top))[0])
                raise ValueError(f"field '{name}' of record {bad} is {col[bad]} "
                                 f"(allowed: {minimum}..{top})")
        out[name] = col
    return out


def as_requests(src):
    """``src`` as a REQUEST_DTYPE array (fields addr, is_write, optional arrive >= -1)."""
    return _convert(src, REQUEST_DTYPE, _REQUEST_RULES)


def as_logical(src):
    """``src`` as a LOGICAL_ACCESS_DTYPE array (all fields >= 0, n_words >= 1)."""
    return _convert(src, LOGICAL_ACCESS_DTYPE, _LOGICAL_RULES)


def first_decrease(arrive, last=-1):
    """Where arrival cycles (``arrive``; -1 = none, not compared) first decrease, given the last
    cycle before them (``last``, -1: none): ``(i, j)``, record i's cycle is below record j's
    (j = -1: below ``last``); None if they never do."""
    timed = np.flatnonzero(np.asarray(arrive) >= 0)
    if timed.size == 0:
        return None
    cycles = np.asarray(arrive)[timed]
    previous = np.concatenate([np.array([last], cycles.dtype), cycles[:-1]])
    drops = np.flatnonzero(cycles < previous)       # (a difference could overflow int64)
    if drops.size == 0:
        return None
    k = int(drops[0])
    return int(timed[k]), int(timed[k - 1]) if k else -1
