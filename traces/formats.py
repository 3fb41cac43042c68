"""The physical request-trace formats, and how a file's format is recognised.

=============  ==============================  ==============================================
name           data line                       notes
=============  ==============================  ==============================================
native         ``[cycle] addr R|W``            sparkxd's own; the arrival cycle is optional
                                               per line (absent: arrive = -1)
ramulator      ``0xADDR R|W``                  Ramulator 1 memory-only (``--mode=dram``)
                                               trace; no arrival times
dramsim3       ``0xADDR READ|WRITE cycle``     DRAMSim3 trace CPU; arrive -1 is written as
                                               the latest cycle before it, 0 at first (the
                                               same for the controller)
ramulator2     ``LD|ST addr``                  Ramulator 2 ``LoadStoreTrace`` front end; no
                                               arrival times
npy, npz       structured array                fields addr, is_write[, arrive]; ``.npz``
                                               member ``requests``; for large traces
=============  ==============================  ==============================================

Every text format may be gzipped (recognised by its magic bytes; written when the name ends in
``.gz``). Readers accept ``0x`` hex or decimal addresses, case-insensitive keywords, blank lines
and ``#`` comments in every text format; writers emit ``0x`` hex and upper-case keywords.

Recognition (`detect_format`): the extension (``.npy``, ``.npz``, ``.ramulator``,
``.ramulator2``, ``.dramsim3``, each optionally followed by ``.gz``), else the content: numpy
magic bytes, else the first data line (``LD``/``ST`` first: ramulator2; ``READ``/``WRITE``
second: dramsim3; otherwise native, which also reads every ramulator line). A binary file that
is none of these is refused as such. Arrival cycles must not decrease (traces.reader).
"""
import os
import re

from . import textencode
from .errors import TraceError
from .npyio import NPY_MAGIC, ZIP_MAGIC
from .records import REQUEST_DTYPE
from .sources import binary_kind, read_head
from .textscan import AddressField, IntField, Layout, WordField

INT64_MAX = (1 << 63) - 1
_ADDR = AddressField()
_CYCLE = IntField("arrive", "cycle", INT64_MAX)
_RW = WordField("is_write", "R/W", {"R": False, "W": True})
_NO_ARRIVAL = {"arrive": -1}

LAYOUTS = {
    "native": Layout("native", {2: (_ADDR, _RW), 3: (_CYCLE, _ADDR, _RW)}, REQUEST_DTYPE,
                     _NO_ARRIVAL, "'[cycle] addr R|W' (2 or 3 fields)"),
    "ramulator": Layout("ramulator", {2: (_ADDR, _RW)}, REQUEST_DTYPE, _NO_ARRIVAL,
                        "'0xADDR R|W' (2 fields)"),
    "dramsim3": Layout("dramsim3",
                       {3: (_ADDR, WordField("is_write", "READ/WRITE",
                                             {"READ": False, "WRITE": True}), _CYCLE)},
                       REQUEST_DTYPE, _NO_ARRIVAL, "'0xADDR READ|WRITE cycle' (3 fields)"),
    "ramulator2": Layout("ramulator2",
                         {2: (WordField("is_write", "LD/ST", {"LD": False, "ST": True}), _ADDR)},
                         REQUEST_DTYPE, _NO_ARRIVAL, "'LD|ST addr' (2 fields)"),
}
ENCODERS = {
    "native": textencode.encode_native,
    "ramulator": textencode.encode_ramulator,
    "dramsim3": textencode.encode_dramsim3,
    "ramulator2": textencode.encode_ramulator2,
}
TEXT_FORMATS = tuple(LAYOUTS)
BINARY_FORMATS = ("npy", "npz")
FORMATS = TEXT_FORMATS + BINARY_FORMATS
KEEPS_ARRIVAL = {"native": True, "ramulator": False, "dramsim3": True, "ramulator2": False,
                 "npy": True, "npz": True}
EXTENSIONS = {".npy": "npy", ".npz": "npz", ".ramulator": "ramulator",
              ".ramulator2": "ramulator2", ".dramsim3": "dramsim3"}
LOGICAL_HEADER = b"# sparkxd-logical v1"
_TOKEN_RE = re.compile(rb"[^ \t\n\v\f\r]+")


def check_format(format):
    if format not in FORMATS:
        raise ValueError(f"unknown trace format {format!r}; choose from {', '.join(FORMATS)}")
    return format


def split_gz(path):
    """(name without a trailing ``.gz``, whether it had one)."""
    name = os.path.basename(os.fspath(path))
    if name.lower().endswith(".gz"):
        return name[:-3], True
    return name, False


def format_from_extension(path):
    """The format an extension names, or None."""
    name, _ = split_gz(path)
    return EXTENSIONS.get(os.path.splitext(name)[1].lower())


def sniff_text(head):
    """Format of a text trace from its first data line (native when there is none)."""
    for line in head.split(b"\n")[:1000]:
        tokens = _TOKEN_RE.findall(line.split(b"#", 1)[0])
        if not tokens:
            continue
        if tokens[0].upper() in (b"LD", b"ST"):
            return "ramulator2"
        if len(tokens) == 3 and tokens[1].upper() in (b"READ", b"WRITE"):
            return "dramsim3"
        return "native"
    return "native"


def detect_format(path):
    """Format name of the request trace ``path`` (see the module docstring)."""
    by_extension = format_from_extension(path)
    if by_extension:
        return by_extension
    head = read_head(path)
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(ZIP_MAGIC):
        return "npz"
    if head.startswith(LOGICAL_HEADER):
        raise TraceError(path, 1, "this is a logical weight-access trace ('# sparkxd-logical v1'), not a "
                                  "request trace (traces.read_logical reads it; python -m "
                                  "bench.sweep_mappings --trace places it in DRAM)")
    kind = binary_kind(read_head(path, 1 << 12, keep_bom=True))
    if kind is not None:
        raise TraceError(path, 0, f"{kind}, not a trace (text formats: {', '.join(LAYOUTS)}; "
                                  "binary: .npy, .npz)")
    return sniff_text(head)


def resolve_format(path, format):
    return detect_format(path) if format is None else check_format(format)


def output_format(path, to=None, option="--out"):
    """The request-trace format ``path`` is written in: ``to``, else its extension, else native.
    ValueError (naming ``option``) where ``to`` and the extension disagree, a binary format lacks
    its extension or is gzipped: an output's extension always matches what is in it."""
    by_ext = format_from_extension(path)
    fmt = check_format(to or by_ext or "native")
    name, gz = split_gz(path)
    if to and by_ext and to != by_ext:
        raise ValueError(f"{option} {path}: the format is {to}, but the extension "
                         f"{os.path.splitext(name)[1]} means {by_ext}")
    if fmt in BINARY_FORMATS:
        if gz:
            raise ValueError(f"{option} {path}: {fmt} files cannot be gzipped (they are binary; npz is "
                             "compressed)")
        if by_ext != fmt:
            raise ValueError(f"{option} {path}: a {fmt} file needs the extension .{fmt}")
    return fmt


def logical_output_kind(path, option="--out"):
    """"npz" or "text": how a logical trace is written to ``path``. ValueError (naming ``option``)
    for a request format's extension or a gzipped ``.npz``."""
    name, gz = split_gz(path)
    ext = os.path.splitext(name)[1].lower()
    if ext == ".npz" and gz:
        raise ValueError(f"{option} {path}: .npz files cannot be gzipped (they are compressed already)")
    if ext in EXTENSIONS and ext != ".npz":
        raise ValueError(f"{option} {path}: a logical trace is written as .npz or as text; {ext} is the "
                         "extension of a request-trace format")
    return "npz" if ext == ".npz" else "text"
