"""Logical weight-access traces (records.LOGICAL_ACCESS_DTYPE): the SNN's weight reads before
placement in DRAM.

Text form (optionally gzipped)::

    # sparkxd-logical v1
    # n_images=2
    # dataset="mnist"
    0 17 0 100 0
    1000 3 0 100 0

The first line is the header. ``# key=value`` lines before the first data line are metadata;
values are JSON (a value that is not valid JSON is kept as a string). Data lines are
``time_ns row first_word n_words image``, decimal, with blank lines and ``#`` comments allowed.
``.npz`` form: array ``accesses`` plus a JSON string array ``metadata``.
"""
import gzip
import json
import re

import numpy as np

from . import textencode
from .arrays import as_logical
from .atomic import atomic_output
from .errors import TraceError
from .formats import INT64_MAX, LOGICAL_HEADER, split_gz
from .npyio import ACCESSES_KEY, METADATA_KEY, NPY_MAGIC, ZIP_MAGIC, load_npz, \
    metadata_array, npz_keys, save_npz
from .reader import scan_text
from .records import LOGICAL_ACCESS_DTYPE
from .sources import UTF8_BOM, check_text, open_binary, read_head
from .textscan import IntField, Layout

INT32_MAX = (1 << 31) - 1
LOGICAL_LAYOUT = Layout(
    "logical",
    {5: (IntField("time_ns", "time_ns", INT64_MAX), IntField("row", "row", INT32_MAX),
         IntField("first_word", "first_word", INT64_MAX),
         IntField("n_words", "n_words", INT32_MAX, min_value=1),
         IntField("image", "image", INT32_MAX))},
    LOGICAL_ACCESS_DTYPE, {}, "'time_ns row first_word n_words image' (5 fields)")
_META_RE = re.compile(r"#\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*=(.*)")
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_ENCODE_ROWS = 1 << 16


def _is_npz(path):
    return split_gz(path)[0].lower().endswith(".npz") or read_head(path, 4) == ZIP_MAGIC


def is_logical_trace(path):
    """True if ``path`` is a logical weight-access trace, False if it is anything else
    (e.g. a physical request trace). Raises TraceError if it cannot be read."""
    head = read_head(path, 1 << 10)
    if head.startswith(ZIP_MAGIC):
        return ACCESSES_KEY in npz_keys(path)
    if head.startswith(NPY_MAGIC):
        return False
    return head.split(b"\n", 1)[0].rstrip().startswith(b"# sparkxd-logical")   # any version: read_logical names it


def _metadata_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _read_header(path):
    """Metadata from the header block of a text logical trace."""
    metadata = {}
    with open_binary(path) as f:
        for number, raw in enumerate(f, start=1):
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            line = raw.decode("utf-8", "backslashreplace").strip()
            if number == 1:
                if line.startswith("# sparkxd-logical") and line.encode() != LOGICAL_HEADER:
                    raise TraceError(path, 1, f"unsupported logical trace header '{line}' "
                                              f"(expected '{LOGICAL_HEADER.decode()}')")
                if line.encode() != LOGICAL_HEADER:
                    raise TraceError(path, 1, f"missing header '{LOGICAL_HEADER.decode()}' "
                                              f"(not a logical trace)")
                continue
            if line and not line.startswith("#"):
                break
            match = _META_RE.fullmatch(line)
            if match:
                key = match.group(1)
                if key in metadata:
                    raise TraceError(path, number, f"duplicate metadata key '{key}'")
                metadata[key] = _metadata_value(match.group(2).strip())
    return metadata


def _read_npz(path):
    arrays = load_npz(path)
    if ACCESSES_KEY not in arrays:
        raise TraceError(path, 0, f"no '{ACCESSES_KEY}' array: not a logical trace")
    try:
        accesses = as_logical(arrays[ACCESSES_KEY])
    except ValueError as err:
        raise TraceError(path, 0, str(err)) from None
    metadata = {}
    if METADATA_KEY in arrays:
        try:
            metadata = json.loads(str(arrays[METADATA_KEY].item()))
        except ValueError as err:
            raise TraceError(path, 0, f"bad metadata JSON ({err})") from None
    return accesses, metadata


def read_logical(path):
    """``(accesses, metadata)`` of a logical trace (text, gzipped text or ``.npz``)."""
    if _is_npz(path):
        accesses, metadata = _read_npz(path)
    else:
        check_text(path, "a logical trace (text, or .npz)")
        metadata = _read_header(path)
        arrays = list(scan_text(path, LOGICAL_LAYOUT))
        accesses = np.concatenate(arrays) if arrays else np.empty(0, LOGICAL_ACCESS_DTYPE)
    if accesses.size == 0:
        raise TraceError(path, 0, "empty trace: no accesses")
    return accesses, metadata


def _metadata_lines(metadata):
    lines = []
    for key, value in metadata.items():
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise ValueError(f"bad metadata key {key!r} (letters, digits, _ . - only)")
        try:
            lines.append(f"# {key}={json.dumps(value)}\n")
        except TypeError as err:
            raise ValueError(f"metadata {key!r} is not JSON-serialisable ({err})") from None
    return "".join(lines)


def write_logical(path, accesses, metadata=None):
    """Write a logical trace atomically: ``.npz`` by extension, else text (``.gz``: gzipped).
    ``metadata`` is a dict of JSON-serialisable values. Raises ValueError for bad input."""
    accesses = as_logical(accesses)
    metadata = dict(metadata or {})
    if accesses.size == 0:
        raise ValueError(f"refusing to write an empty logical trace to {path}")
    name, gz = split_gz(path)
    is_npz = name.lower().endswith(".npz")
    if is_npz and gz:
        raise ValueError(".npz files cannot be gzipped (they are compressed already)")
    header = LOGICAL_HEADER.decode() + "\n" + _metadata_lines(metadata)
    with atomic_output(path) as raw:
        if is_npz:
            save_npz(raw, {ACCESSES_KEY: accesses, METADATA_KEY: metadata_array(metadata)})
            return accesses.size
        f = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gz else raw
        f.write(header.encode())
        for lo in range(0, accesses.size, _ENCODE_ROWS):
            f.write(textencode.encode_logical(accesses[lo:lo + _ENCODE_ROWS]))
        if gz:
            f.close()
    return accesses.size
