"""Command-log files: a self-describing header, then one CSV row per DRAM command.

::

    # sparkxd-command-log 2
    # spec.name = "DDR3L-1600K"
    # spec.source = "DDR3L-1600K"
    # spec.sha256 = "8810ca45..."
    # vdd = 1.35
    # channels = 1
    # ...
    cycle,channel,rank,bankgroup,bank,subarray,row,column,command,request
    0,0,0,0,1,0,5,-1,ACT,0

Header lines are ``# key = value`` with a JSON value; they record everything the checker needs
to replay the log against the same rules (``HEADER_KEYS``): the device (name, where it was
loaded from, and ``spec_digest`` of the spec as simulated, i.e. at the run's VDD), channels,
ranks, address mapping, controller variant and settings, refresh and power management, and the
number of requests. Logs without a header (older ones) still read.

Rows are parsed and formatted by numba kernels (dramsim/_cmdlog_kernel.py) in blocks, so the
checker can stream a log of any length in bounded memory (``iter_command_log``).
"""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from dramsim import _cmdlog_kernel as KP
from dramsim.commands import COMMAND_LOG_DTYPE, COMMAND_NAMES

LOG_FIELDS = COMMAND_LOG_DTYPE.names
MAGIC = "# sparkxd-command-log 2"
#: Header keys, in the order written; the controller settings are ControllerConfig's fields.
HEADER_KEYS = ("spec.name", "spec.source", "spec.sha256", "vdd", "channels", "ranks", "mapping",
               "controller", "scheduler", "page_policy", "salp", "read_queue", "write_queue",
               "write_high_watermark", "write_low_watermark", "row_hit_cap", "refresh",
               "refresh_interval", "powerdown_idle", "self_refresh_idle", "requests")
_CONFIG_KEYS = ("controller", "scheduler", "page_policy", "salp", "read_queue", "write_queue",
                "write_high_watermark", "write_low_watermark", "row_hit_cap", "refresh",
                "refresh_interval", "powerdown_idle", "self_refresh_idle")
_NAMES, _NAME_LEN = KP.name_table(COMMAND_NAMES)
_BLOCK = 1 << 21          # bytes read per block


class CommandLogError(ValueError):
    """A command-log file is malformed (message: ``file:line: field: problem``)."""


# ------------------------------------------------------------------------------------------
# Header
# ------------------------------------------------------------------------------------------

def make_header(spec, config, mapping: str, spec_source: str | None = None,
                n_requests: int | None = None) -> dict:
    """The header of a log of ``spec`` (as simulated, at its VDD) under ``config``."""
    from dramsim.spec import spec_digest
    cfg = asdict(config)
    head = {"spec.name": spec.name, "spec.source": spec_source or spec.name,
            "spec.sha256": spec_digest(spec), "vdd": spec.vdd, "channels": spec.org.channels,
            "ranks": spec.org.ranks, "mapping": mapping,
            **{k: cfg[k] for k in _CONFIG_KEYS}, "requests": n_requests}
    head["refresh_interval"] = config.nrefi(spec)          # the interval actually used
    return head


def format_header(header: dict) -> str:
    return "".join([MAGIC + "\n"] + [f"# {k} = {json.dumps(header[k])}\n" for k in HEADER_KEYS if k in header])


def _check_text(path) -> None:
    """CommandLogError (line 0) for a binary file: a command log is CSV text."""
    from traces.sources import binary_kind
    with _open(path, "rb") as fh:
        head = fh.read(4096)
    kind = binary_kind(head)
    if kind is not None:
        raise CommandLogError(f"{path}:0: {kind}, not a command log (CSV text)")


def _check_columns(path, line: str, line_no: int) -> None:
    """CommandLogError unless ``line`` is the column-name line."""
    fields = [h.strip() for h in line.lstrip("\ufeff").rstrip("\r\n").split(",")]
    if fields != list(LOG_FIELDS):
        raise CommandLogError(f"{path}:{line_no}: header: expected {','.join(LOG_FIELDS)}")


def read_header(path) -> tuple[dict | None, int]:
    """(header dict or None for a log without one, number of lines before the column header)."""
    _check_text(path)
    fh = _open(path, "r")
    with fh:
        first = fh.readline().lstrip("\ufeff")          # a UTF-8 byte-order mark is invisible: skip it
        if first.rstrip("\r\n") != MAGIC:
            _check_columns(path, first, 1)
            return None, 0
        header, line_no = {}, 1
        for line in fh:
            line_no += 1
            if not line.startswith("#"):
                _check_columns(path, line, line_no)
                break
            key, sep, value = line[1:].strip().partition(" = ")
            if not sep:
                raise CommandLogError(f"{path}:{line_no}: header: expected '# key = value', got {line.strip()!r}")
            if key not in HEADER_KEYS:
                raise CommandLogError(f"{path}:{line_no}: header.{key}: unknown key; expected one of "
                                      f"{', '.join(HEADER_KEYS)}")
            try:
                header[key] = json.loads(value)
            except ValueError:
                raise CommandLogError(f"{path}:{line_no}: header.{key}: not a JSON value: {value!r}") from None
        else:
            line_no += 1
            _check_columns(path, "", line_no)
        missing = [k for k in HEADER_KEYS if k not in header]
        if missing:
            raise CommandLogError(f"{path}:{line_no}: header.{missing[0]}: missing")
        return header, line_no - 1


def config_from_header(header: dict):
    """The ControllerConfig a header describes (ValueError naming the bad key)."""
    from dramsim.config import ControllerConfig
    return ControllerConfig(**{k: header[k] for k in _CONFIG_KEYS})


# ------------------------------------------------------------------------------------------
# Rows
# ------------------------------------------------------------------------------------------

def _open(path, mode):
    try:
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, newline="", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CommandLogError(f"{path}:0: cannot read: {exc.strerror or exc}") from None


def _cols(log: np.ndarray) -> np.ndarray:
    cols = np.empty((len(log), len(LOG_FIELDS)), dtype=np.int64)
    for i, name in enumerate(LOG_FIELDS):
        cols[:, i] = log[name]
    return cols


def records(cols: np.ndarray) -> np.ndarray:
    """COMMAND_LOG_DTYPE records of an int64 [n, 10] row table."""
    log = np.empty(len(cols), dtype=COMMAND_LOG_DTYPE)
    for i, name in enumerate(LOG_FIELDS):
        log[name] = cols[:, i]
    return log


def write_command_log_csv(path, log: np.ndarray, header: dict | None = None) -> None:
    """CSV with the header (if given), a line of COMMAND_LOG_DTYPE's field names and one row per
    command (``command`` as its name). Written atomically."""
    from traces.atomic import atomic_output
    step = 1 << 18
    buf = np.empty(step * 220, dtype=np.uint8)
    with atomic_output(path, "wb") as fh:
        if header is not None:
            fh.write(format_header(header).encode())
        fh.write((",".join(LOG_FIELDS) + "\n").encode())
        for start in range(0, len(log), step):
            n = KP.format_rows(_cols(log[start:start + step]), _NAMES, _NAME_LEN, buf)
            fh.write(buf[:n].tobytes())


def iter_command_log(path, chunk_rows: int = 1 << 16):
    """Yield the rows of a command-log file as int64 [n, 10] tables (command as its code), in
    file order, in bounded memory. CommandLogError names file, line and field."""
    _, skip = read_header(path)
    n_codes = len(COMMAND_NAMES)
    with _open(path, "rb") as fh:
        line_no = 0
        head = b""
        while line_no < skip:                        # the header
            head = fh.readline()
            line_no += 1
        head = fh.readline()
        line_no += 1
        fields = [h.strip() for h in head.decode(errors="replace").lstrip("\ufeff").rstrip("\r\n").split(",")]
        if fields != list(LOG_FIELDS):
            raise CommandLogError(f"{path}:{line_no}: header: expected {','.join(LOG_FIELDS)}")
        out = np.empty((chunk_rows, len(LOG_FIELDS)), dtype=np.int64)
        rest = b""
        eof = False
        while True:
            if not eof:
                block = fh.read(_BLOCK)
                eof = not block
                data = rest + block
            else:
                data = rest
            buf = np.frombuffer(data, dtype=np.uint8)
            pos = 0
            while True:
                used, rows, lines, err, err_line, err_field = KP.parse_rows(buf[pos:], len(buf) - pos, out,
                                                                           _NAMES, _NAME_LEN, eof)
                if err != KP.OK:
                    where = f"{path}:{line_no + err_line + 1}"
                    if err == KP.ERR_FIELDS:
                        raise CommandLogError(f"{where}: expected {len(LOG_FIELDS)} fields")
                    name = LOG_FIELDS[err_field]
                    what = (f"unknown DRAM command; expected one of {', '.join(COMMAND_NAMES)}"
                            if err == KP.ERR_COMMAND else "not an integer")
                    raise CommandLogError(f"{where}: {name}: {what}")
                line_no += lines
                pos += used
                if rows:
                    bad = out[:rows, 8] >= n_codes
                    assert not bad.any()
                    yield out[:rows].copy()
                if rows < chunk_rows:
                    break
            rest = data[pos:]
            if eof:
                return


def read_command_log_csv(path) -> np.ndarray:
    """The whole log as COMMAND_LOG_DTYPE records (its header, if any, is skipped)."""
    parts = [records(c) for c in iter_command_log(path)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=COMMAND_LOG_DTYPE)
