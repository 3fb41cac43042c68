"""Logical weight-access stream + layout -> physical request trace (``REQUEST_DTYPE``).

Each logical access reads ``n_words`` consecutive words of weight-matrix row ``row`` starting at
``first_word`` (word index ``row * columns + first_word`` of the flattened matrix). It becomes
the bursts holding those words, in word order, each distinct burst once per access (a burst
holding several of the words is read once). Accesses keep their stream order.

Arrival cycles (``arrival=``):

* ``"saturation"`` (default): every request has ``arrive = -1`` and is offered as soon as the
  memory system accepts it. This measures the DRAM work of the weight reads themselves (the
  accelerator is assumed to be memory-bound), so cycles, background energy and latency reflect
  the layout, not the SNN's idle time between spikes.
* ``"timed"``: every burst of an access arrives at cycle ``floor((time_ns - t0) / tck_ns)``
  with ``t0`` the first access's time; idle time between spikes then counts as background.

Everything is vectorised numpy; the result depends only on its inputs.
"""
from __future__ import annotations

import numpy as np

from dramsim.spec import DramSpec
from mapping.layout import Layout
from traces.records import LOGICAL_ACCESS_DTYPE, REQUEST_DTYPE

ARRIVAL_MODES = ("saturation", "timed")


def _check_stream(stream: np.ndarray, layout: Layout) -> np.ndarray:
    names = LOGICAL_ACCESS_DTYPE.names
    missing = [n for n in names if n not in (stream.dtype.names or ())]
    if missing:
        raise ValueError(f"logical stream lacks field(s) {', '.join(missing)}")
    rows, cols = layout.shape
    r = stream["row"].astype(np.int64)
    f = stream["first_word"].astype(np.int64)
    n = stream["n_words"].astype(np.int64)
    bad = (r < 0) | (r >= rows) | (f < 0) | (n < 1) | (f + n > cols)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"logical access {i} (row {r[i]}, first_word {f[i]}, n_words {n[i]}) lies "
                         f"outside the {rows}x{cols} weight matrix of the layout")
    return r * cols + f


def access_bursts(starts: np.ndarray, counts: np.ndarray, burst_of_word: np.ndarray):
    """Bursts read by each access ``[starts[i], starts[i] + counts[i])`` of the word array.

    Returns ``(word_index, access_index)``: for each burst request, the first word of the
    access that lies in that burst, and the access it belongs to; in access order, then word
    order, with every burst appearing once per access.
    """
    n_words = len(burst_of_word)
    starts = starts.astype(np.int64)
    ends = starts + counts.astype(np.int64)
    change = np.ones(n_words, dtype=bool)
    change[1:] = burst_of_word[1:] != burst_of_word[:-1]
    # Positions where a new run of equal burst ids starts (the first word of a run).
    run_starts = np.flatnonzero(change)
    lo = np.searchsorted(run_starts, starts, side="right")   # runs starting strictly inside
    hi = np.searchsorted(run_starts, ends, side="left")
    per_access = 1 + (hi - lo)                               # the access's first word + new runs
    total = int(per_access.sum())
    access = np.repeat(np.arange(len(starts), dtype=np.int64), per_access)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(per_access) - per_access, per_access)
    # offset 0 -> the access's first word; offset k >= 1 -> run start lo + k - 1
    run_idx = np.repeat(lo, per_access) + offset - 1
    word = np.where(offset == 0, np.repeat(starts, per_access),
                    run_starts[np.clip(run_idx, 0, max(len(run_starts) - 1, 0))])
    if not _runs_are_unique(burst_of_word, run_starts):
        word, access = _drop_repeats(word, access, burst_of_word)
    return word, access


def _runs_are_unique(burst_of_word: np.ndarray, run_starts: np.ndarray) -> bool:
    """True if every burst occupies one contiguous run of words (true of all built-in policies)."""
    return np.unique(burst_of_word[run_starts]).size == run_starts.size


def _drop_repeats(word: np.ndarray, access: np.ndarray, burst_of_word: np.ndarray):
    """Keep the first occurrence of each (access, burst) pair, preserving order."""
    burst = burst_of_word[word]
    order = np.lexsort((np.arange(len(word)), burst, access))
    a, b = access[order], burst[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    keep = np.sort(order[first])
    return word[keep], access[keep]


def logical_to_requests(stream: np.ndarray, layout: Layout, spec: DramSpec, mapper,
                        arrival: str = "saturation", word_addr: np.ndarray | None = None,
                        burst_ids: np.ndarray | None = None) -> np.ndarray:
    """Physical read requests (``REQUEST_DTYPE``) for a logical weight-access stream.

    ``word_addr`` and ``burst_ids`` (optional) cache ``layout.addresses(mapper)`` and
    ``layout.burst_ids(spec)`` across calls on the same layout.
    """
    if arrival not in ARRIVAL_MODES:
        raise ValueError(f"unknown arrival mode {arrival!r}; expected one of {', '.join(ARRIVAL_MODES)}")
    starts = _check_stream(stream, layout)
    if word_addr is None:
        word_addr = layout.addresses(mapper)
    if burst_ids is None:
        burst_ids = layout.burst_ids(spec)
    word, access = access_bursts(starts, stream["n_words"], burst_ids)
    out = np.empty(len(word), dtype=REQUEST_DTYPE)
    out["addr"] = word_addr[word]
    out["is_write"] = False
    if arrival == "saturation" or len(stream) == 0:
        out["arrive"] = -1
    else:
        t = stream["time_ns"].astype(np.int64)
        cyc = np.floor((t - t.min()) / spec.tck_ns).astype(np.int64)
        out["arrive"] = np.maximum.accumulate(cyc)[access]
    return out


def write_requests(layout: Layout, spec: DramSpec, mapper, word_addr: np.ndarray | None = None) -> np.ndarray:
    """Write requests that store the whole weight array once (one per distinct burst, in word order)."""
    if word_addr is None:
        word_addr = layout.addresses(mapper)
    bid = layout.burst_ids(spec)
    _, first = np.unique(bid, return_index=True)
    first = np.sort(first)
    out = np.empty(len(first), dtype=REQUEST_DTYPE)
    out["addr"] = word_addr[first]
    out["is_write"] = True
    out["arrive"] = -1
    return out
