"""Writing physical request traces in any format, atomically (temp file + rename)."""
import gzip
import warnings

import numpy as np

from .arrays import as_requests, first_decrease
from .atomic import atomic_output
from .formats import BINARY_FORMATS, ENCODERS, KEEPS_ARRIVAL, check_format, \
    format_from_extension, split_gz
from .npyio import REQUESTS_KEY, save_npy, save_npz

ENCODE_ROWS = 1 << 16        # lines formatted per vectorised step


def _chunks(requests):
    """``requests`` (one array or an iterable of arrays) as checked REQUEST_DTYPE arrays whose
    arrival cycles never decrease (ValueError naming the record)."""
    if isinstance(requests, np.ndarray):
        requests = [requests]
    last, done = -1, 0
    for chunk in requests:
        chunk = as_requests(chunk)
        drop = first_decrease(chunk["arrive"], last)
        if drop is not None:
            i, j = drop
            before = f"record {done + j}'s {chunk['arrive'][j]}" if j >= 0 else f"the previous cycle {last}"
            raise ValueError(f"record {done + i}: arrival cycle {chunk['arrive'][i]} is earlier than {before}: "
                             "arrival cycles must not decrease")
        timed = chunk["arrive"][chunk["arrive"] >= 0]
        last = int(timed[-1]) if timed.size else last
        done += chunk.size
        yield chunk


def _write_text(f, chunks, format, comment):
    encode = ENCODERS[format]
    if comment:
        f.write("".join(f"# {line}\n" for line in comment.splitlines()).encode())
    total, dropped, last = 0, False, 0
    for chunk in chunks:
        dropped |= not KEEPS_ARRIVAL[format] and bool((chunk["arrive"] >= 0).any())
        if format == "dramsim3" and chunk.size:
            # every line needs a cycle: "none" is written as the latest cycle before it (0 at first),
            # the same for the controller, which accepts requests in order
            chunk = chunk.copy()
            before = np.maximum.accumulate(np.concatenate([[last], np.maximum(chunk["arrive"], 0)]))
            chunk["arrive"] = np.where(chunk["arrive"] < 0, before[:-1], chunk["arrive"])
            last = int(before[-1])
        for lo in range(0, chunk.size, ENCODE_ROWS):
            f.write(encode(chunk[lo:lo + ENCODE_ROWS]))
        total += chunk.size
    return total, dropped


def _write_binary(f, chunks, format):
    arrays = list(chunks)
    if not arrays or sum(a.size for a in arrays) == 0:
        return 0, False
    requests = np.concatenate(arrays)
    if format == "npy":
        save_npy(f, requests)
    else:
        save_npz(f, {REQUESTS_KEY: requests})
    return requests.size, False


def write_trace(path, requests, format=None, *, comment=None):
    """Write ``requests`` to ``path`` in ``format`` (default: from the extension, else native).

    ``requests`` is a structured array with fields addr, is_write and optionally arrive, or an
    iterable of such arrays (text formats then stream; npy/npz gather them first). A name ending
    in ``.gz`` gzips any text format. ``comment`` (native only) becomes leading ``#`` lines.
    The file appears complete or not at all. Formats without arrival times (ramulator,
    ramulator2) drop them with a warning. Raises ValueError for bad input or an empty trace.
    """
    format = check_format(format or format_from_extension(path) or "native")
    _, gz = split_gz(path)
    if gz and format in BINARY_FORMATS:
        raise ValueError(f"{format} files cannot be gzipped (they are binary; npz is compressed)")
    if comment and format != "native":
        raise ValueError(f"comments can only be written to native traces, not {format}")
    with atomic_output(path) as raw:
        f = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gz else raw
        if format in BINARY_FORMATS:
            total, dropped = _write_binary(f, _chunks(requests), format)
        else:
            total, dropped = _write_text(f, _chunks(requests), format, comment)
        if total == 0:
            raise ValueError(f"refusing to write an empty trace to {path}")
        if gz:
            f.close()
    if dropped:
        warnings.warn(f"{format} traces have no arrival times: arrival cycles were dropped "
                      f"writing {path}", stacklevel=2)
    return total
