"""Reading physical request traces, whole or in fixed-size chunks.

Text is parsed block by block (`BLOCK_BYTES` at a time) by the vectorised scanner, so memory
stays bounded and no Python object is made per request; ``.npy`` files are memory-mapped.

Arrival cycles must not decrease: a request with a cycle earlier than an earlier request's is
refused (``file:line``; records without a cycle are not compared). Decreasing cycles mean a
concatenated or corrupt trace, and a controller offered them in order would silently delay
them.
"""
import numpy as np

from .arrays import as_requests, first_decrease
from .errors import TraceError
from .formats import LAYOUTS, resolve_format
from .npyio import ACCESSES_KEY, REQUESTS_KEY, load_npy, load_npz, npz_keys
from .sources import check_text, read_blocks
from .textscan import LineError, scan_block

BLOCK_BYTES = 4 << 20


def scan_text(path, layout):
    """Yield the record arrays of the text file ``path``, block by block."""
    lines_before = 0
    for block in read_blocks(path, BLOCK_BYTES):
        try:
            records, n_lines = scan_block(block, layout)
        except LineError as err:
            raise TraceError(path, lines_before + err.line_index + 1, err.reason) from None
        lines_before += n_lines
        if records.size:
            yield records


class _Arrivals:
    """Checks that the arrival cycles of a request stream never decrease, chunk by chunk."""

    def __init__(self, path):
        self.path, self.last, self.where = path, -1, None

    def check(self, arrive, where):
        """``where(i)``: (line, label) of record i of this chunk, for the message."""
        drop = first_decrease(arrive, self.last)
        if drop is not None:
            i, j = drop
            line, label = where(i)
            before, before_label = (int(arrive[j]), where(j)[1]) if j >= 0 else (self.last, self.where)
            what = f"{label}: " if line == 0 else ""      # a text line is in the location already
            raise TraceError(self.path, line, f"{what}arrival cycle {int(arrive[i])} is earlier than "
                                              f"cycle {before} of {before_label}: arrival cycles must not "
                                              "decrease (a concatenated or corrupt trace?)")
        timed = np.flatnonzero(arrive >= 0)
        if timed.size:
            self.last, self.where = int(arrive[timed[-1]]), where(int(timed[-1]))[1]


def scan_requests(path, layout):
    """Like `scan_text` for a request layout, also checking the arrival cycles."""
    check_text(path, f"a {layout.name} trace (a text format)")
    arrivals = _Arrivals(path)
    lines_before = 0
    for block in read_blocks(path, BLOCK_BYTES):
        try:
            records, n_lines, data_lines = scan_block(block, layout, lines=True)
        except LineError as err:
            raise TraceError(path, lines_before + err.line_index + 1, err.reason) from None
        base = lines_before + 1
        arrivals.check(records["arrive"], lambda i: (base + int(data_lines[i]), f"line {base + int(data_lines[i])}"))
        lines_before += n_lines
        if records.size:
            yield records


def _checked(path, array):
    try:
        return as_requests(array)
    except ValueError as err:
        raise TraceError(path, 0, str(err)) from None


def _npz_requests(path):
    keys = npz_keys(path)
    if ACCESSES_KEY in keys:
        raise TraceError(path, 0, "this is a logical weight-access trace (array 'accesses'), not a "
                                  "request trace (traces.read_logical reads it; python -m "
                                  "bench.sweep_mappings --trace places it in DRAM)")
    if REQUESTS_KEY in keys:
        key = REQUESTS_KEY
    elif len(keys) == 1:
        key = keys[0]
    else:
        raise TraceError(path, 0, f"no '{REQUESTS_KEY}' array in .npz (found: {', '.join(keys)})")
    return load_npz(path)[key]


def _binary_arrays(path, format, chunk_requests):
    source = load_npy(path) if format == "npy" else _npz_requests(path)
    if source.ndim != 1:
        raise TraceError(path, 0, f"expected a 1-D structured array, got shape {source.shape}")
    arrivals = _Arrivals(path)
    for lo in range(0, source.shape[0], chunk_requests):
        chunk = _checked(path, source[lo:lo + chunk_requests])
        arrivals.check(chunk["arrive"], lambda i, lo=lo: (0, f"record {lo + i}"))
        yield chunk


def _arrays(path, format, chunk_requests):
    format = resolve_format(path, format)
    if format in LAYOUTS:
        return scan_requests(path, LAYOUTS[format])
    return _binary_arrays(path, format, chunk_requests)


def _empty(path):
    return TraceError(path, 0, "empty trace: no requests")


def _rechunk(arrays, chunk_requests, path):
    pending, total = None, 0
    for array in arrays:
        pending = array if pending is None else np.concatenate([pending, array])
        while pending.size >= chunk_requests:
            yield pending[:chunk_requests]
            total += chunk_requests
            pending = pending[chunk_requests:]
    if pending is not None and pending.size:
        total += pending.size
        yield pending
    if total == 0:
        raise _empty(path)


def iter_trace_chunks(path, chunk_requests=1 << 20, format=None):
    """Iterator over the requests of ``path`` as REQUEST_DTYPE arrays of exactly
    ``chunk_requests`` records (the last one may be shorter). ``format`` overrides
    auto-detection. A missing or unrecognisable file fails here; a malformed line when the
    iteration reaches it (nothing after it is yielded)."""
    if chunk_requests < 1:
        raise ValueError("chunk_requests must be >= 1")
    return _rechunk(_arrays(path, format, chunk_requests), chunk_requests, path)


def read_trace(path, format=None):
    """All requests of ``path`` as one REQUEST_DTYPE array (format auto-detected unless given)."""
    arrays = list(_arrays(path, format, 1 << 24))
    if not arrays or sum(a.size for a in arrays) == 0:
        raise _empty(path)
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

