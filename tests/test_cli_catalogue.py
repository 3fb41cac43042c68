"""A catalogue of bad inputs for every command line (issue 13; the rules are docs/cli.md).

Each row runs one CLI on one bad input and checks what a user sees: exit status 2 (130 for
Ctrl-C), exactly one line on standard error, ``python -m TOOL: error: ...`` (or ``...:
interrupted ...``), no traceback, nothing on standard output, nothing written or changed in the
working directory, and the right names in the message (the option, the file as the user wrote
it, the line, the offending token).

Adding a row: pick the tool's list below (or start one with ``rows("python -m my.tool", ...)``)
and add ``"id": (args, expected)``. In ``args`` and ``expected``, ``<name>`` is a file made by
``FILES[name]`` in the working directory (``<name>/sub`` a path below it), so messages carry the
relative path a user would type. ``Case(..., how="run")`` runs ``python -m`` in a subprocess
instead of calling ``main(argv)`` in this process; ``how="sigint"`` sends Ctrl-C once the tool
is busy; ``how="pipe"`` closes its standard output first (``| head -1``).
"""
from __future__ import annotations

import atexit
import gzip
import hashlib
import importlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "traces" / "samples"
SPECS = ROOT / "dramsim" / "specs"
PLACEHOLDER = re.compile(r"<([^<>/]+)>")


# ------------------------------------------------------------------------------------------
# Files the rows refer to as <name> (made on demand in the case's working directory)
# ------------------------------------------------------------------------------------------

def _text(content, encoding="utf-8"):
    return lambda path: path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)


def _gz(content: bytes, damage=None):
    def make(path):
        data = gzip.compress(content, mtime=0)
        path.write_bytes(damage(data) if damage else data)
    return make


def _copy(source: Path):
    return lambda path: shutil.copyfile(source, path)


def _npy(rows, dtype=None, **fields):
    def make(path):
        from traces import REQUEST_DTYPE
        dt = dtype or REQUEST_DTYPE
        a = np.zeros(rows, dt)
        for name, values in fields.items():
            a[name] = values
        if path.suffix == ".npz":
            np.savez(path, requests=a)
        else:
            np.save(path, a)
    return make


def _spec_without(*prefixes):
    def make(path):
        lines = (SPECS / "DDR3-1600K.toml").read_text().splitlines()
        path.write_text("\n".join(line for line in lines if not line.startswith(prefixes)) + "\n")
    return make


def _command_log(edit=None):
    """A command log of the mixed_2000 sample (made once per session), optionally edited."""
    def make(path):
        text = _good_log().read_text()
        path.write_text(edit(text) if edit else text)
    return make


_LOG_CACHE: dict = {}


def _good_log() -> Path:
    if "log" not in _LOG_CACHE:
        import tempfile

        from dramsim.__main__ import main as dramsim_main
        where = Path(tempfile.mkdtemp(prefix="catalogue-log-"))
        atexit.register(shutil.rmtree, where, True)
        log = where / "run.csv"
        assert dramsim_main(["--trace", str(SAMPLES / "mixed_2000.trace"), "--command-log", str(log),
                             "--quiet"]) == 0
        _LOG_CACHE["log"] = log
    return _LOG_CACHE["log"]


def _write_generated(path, n):
    from traces import generate, write_trace
    write_trace(path, generate.random(n, seed=1))


def _dir(path):
    path.mkdir()
    (path / "inside.txt").write_text("x\n")


def _voltron_like(retention: bytes):
    """A --data directory shaped like the shared Voltron data, with this retention file."""
    def make(path):
        base = path / "voltron" / "characterization_results"
        (base / "spatial_locality").mkdir(parents=True)
        (base / "retention_time_profile.csv").write_bytes(retention)
    return make


def _spice_like(schematic: bytes):
    """A --data directory of bench.spice_vdd_timing with this schematic."""
    def make(path):
        (path / "SPICE_circuit_model").mkdir(parents=True)
        (path / "SPICE_circuit_model" / "voltron_spice.asc").write_bytes(schematic)
        (path / "SPICE_circuit_model" / "cmosedu_models.txt").write_text("* models\n")
    return make


def _model_file(fmt="fp32", **arrays):
    """A 5-neuron model file (snn.model_io) in weight format ``fmt``, members replaced by ``arrays``
    (written with numpy directly, as a damaged or foreign file would be)."""
    def make(path):
        from snn.model import Model
        from snn.model_io import save_model
        from snn.params import NetworkParams
        model = Model.new(NetworkParams(n_neurons=5), seed=0)
        model.weight_format = fmt
        save_model(model, path)
        if arrays:
            with np.load(path, allow_pickle=False) as data:
                members = {k: data[k] for k in data.files}
            members.update(arrays)
            with open(path, "wb") as fh:
                np.savez(fh, **members)
    return make


RANDOM_BYTES = bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8))
BOM = b"\xef\xbb\xbf"

FILES = {
    # request traces, every format
    "mixed.trace": _copy(SAMPLES / "mixed_2000.trace"),
    "rand.ramulator": _copy(SAMPLES / "random_500.ramulator"),
    "logical.txt": _copy(SAMPLES / "logical_small.txt"),
    "bad_rw.trace": _text("0x40 R\n# comment\n0x80 Q\n"),
    "bad_addr.trace": _text("0x40 R\n0xZZ W\n"),
    "hex.dramsim3": _text("0x40 READ 0x10\n"),
    "latenul.trace": _text("0x40 R\n" * 1000 + "0x\0 W\n"),
    "fields.trace": _text("1 2 3 4\n"),
    "huge_addr.trace": _text("0x40 R\n0x1ffffffffffffffff R\n"),
    "far.trace": _text("0x40 R\n\n0x40000000000 W\n"),
    "dec.trace": _text("0 0x40 R\n10 0x80 R\n# a second trace pasted on\n5 0xc0 W\n"),
    "dec.dramsim3": _text("0x0 READ 0\n0x40 READ 20\n0x80 WRITE 10\n"),
    "dec.npy": _npy(4, addr=[0, 64, 128, 192], arrive=[0, 8, 4, 12]),
    "dec.npz": _npy(3, addr=[0, 64, 128], arrive=[5, -1, 2]),
    "bom_bad.trace": _text(BOM + b"0x1000 R\n0x2000 X\n"),
    "binary.trace": _text(RANDOM_BYTES),
    "png.trace": _text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + RANDOM_BYTES[:200]),
    "utf16.trace": _text("0x40 R\n0x80 W\n", "utf-16"),
    "trunc.trace.gz": _gz(b"0x40 R\n" * 5000, damage=lambda d: d[: len(d) // 2]),
    "crc.trace.gz": _gz(b"0x40 R\n" * 50, damage=lambda d: d[:-8] + bytes(8)),
    "junk.gz": _text(b"\x1f\x8b" + RANDOM_BYTES[:100]),
    "empty.trace": _text(""),
    "comments.trace": _text("# nothing but a comment\n\n"),
    "bad.ramulator": _text("0x40 READ\n"),
    "bad.ramulator2": _text("LD 0x40\nXX 0x80\n"),
    "short.ramulator2": _text("LD\n"),
    "bad.dramsim3": _text("0x40 READ 1\n0x80 READ soon\n"),
    "cycle.dramsim3": _text("0x40 READ -5\n"),
    "fields.npy": _npy(3, dtype=np.dtype([("address", np.uint64), ("w", np.bool_)])),
    "float.npy": _npy(2, dtype=np.dtype([("addr", np.uint64), ("is_write", np.bool_), ("arrive", np.float64)])),
    "neg.npy": _npy(2, dtype=np.dtype([("addr", np.int64), ("is_write", np.bool_)]), addr=[64, -64]),
    "matrix.npy": lambda path: np.save(path, np.zeros((3, 3))),
    "two.npz": lambda path: np.savez(path, a=np.zeros(2), b=np.zeros(2)),
    "corrupt.npy": _text(b"\x93NUMPY" + RANDOM_BYTES[:60]),
    "corrupt.npz": _text(b"PK\x03\x04" + RANDOM_BYTES[:60]),
    "bad.logical.txt": _text("# sparkxd-logical v1\n0 1 0 16 0\n0 1 0 16\n"),
    "zero.logical.txt": _text("# sparkxd-logical v1\n0 1 0 0 0\n"),
    "v9.logical.txt": _text("# sparkxd-logical v9\n0 1 0 16 0\n"),
    "dupmeta.logical.txt": _text("# sparkxd-logical v1\n# a=1\n# a=2\n0 1 0 16 0\n"),
    "a_dir": _dir,
    "afile": _text("just a file\n"),
    "x.ch0.rank0.drampower": _copy(SAMPLES / "mixed_2000.trace"),   # a trace where a log's side file goes
    # large inputs for the Ctrl-C rows
    "big.npy": lambda path: _write_generated(path, 5_000_000),
    # specs
    "bad.toml": _text("[organization\nchannels = 1\n"),
    "bin.toml": _text(RANDOM_BYTES),
    "nopd.toml": _spec_without("IDD2P", "IDD3P", "IDD6"),
    "nokey.toml": _spec_without("nRCD"),
    "tiny.toml": _text('base = "DDR3-1600K"\nname = "tiny"\n[organization]\nrows = 64\n'),
    # command logs
    "run.csv": _command_log(),
    "badrow.csv": _command_log(lambda t: t.replace("\n5,0,0,0,7,", "\n5,0,0,zero,7,", 1)),
    "badcmd.csv": _command_log(lambda t: t.replace(",ACT,1\n", ",JUMP,1\n", 1)),
    "badkey.csv": _command_log(lambda t: t.replace("# salp =", "# salsa =", 1)),
    "badjson.csv": _command_log(lambda t: t.replace("# ranks = 1", "# ranks = one", 1)),
    "nocols.csv": _command_log(lambda t: t.replace("cycle,channel,rank,", "cycle,chan,rank,", 1)),
    "fewfields.csv": _command_log(lambda t: t.replace("\n5,0,0,0,7,0,4655,-1,ACT,1\n", "\n5,0,0,0\n", 1)),
    "bin.csv": _text(RANDOM_BYTES),
    "gz.csv": lambda path: path.write_bytes(gzip.compress(_good_log().read_bytes(), mtime=0)),
    "empty.csv": _text(""),
    "binary.csv": _text(RANDOM_BYTES),
    "badber.csv": _text("vdd,ber\n1.35,0\n1.2,lots\n"),
    # data directories
    "voltron_bin": _voltron_like(RANDOM_BYTES),
    "voltron_hdr": _voltron_like(b"dimm,vendor,oops\n"),
    "spice_data": _spice_like(b"Version 4\nSHEET 1 880 680\nSYMBOL nmos4 0 0 R0\n"),
    # model files (snn.model_io)
    "m.npz": _model_file(),
    "model.png": _model_file(),                   # a model file with a misleading name
    "nan.npz": _model_file(weights=np.full((784, 5), np.nan, np.float32)),
    "inf_theta.npz": _model_file(theta=np.array([0, 0, np.inf, 0, 0], np.float32)),
    "negative.npz": _model_file(weights=np.full((784, 5), -0.25, np.float32)),
    "q8_above.npz": _model_file("q8", weights=np.full((784, 5), 2.0, np.float32)),
}


def _make(name: str, where: Path) -> None:
    target = where / name
    if not target.exists():
        FILES[name](target)


def _fill(text: str, where: Path, made: set) -> str:
    def one(m):
        name = m.group(1)
        if name not in FILES:
            raise KeyError(f"no file {name!r} in FILES")
        _make(name, where)
        made.add(name)
        return name
    return PLACEHOLDER.sub(one, text)


# ------------------------------------------------------------------------------------------
# The catalogue
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    args: tuple
    expect: tuple = ()                 # substrings of the error line (placeholders allowed)
    status: int = 2
    how: str = "call"                  # call | run | sigint | pipe
    env: dict = field(default_factory=dict)


CASES: dict[str, tuple[str, Case]] = {}


def rows(tool: str, table: dict) -> None:
    """Add ``{id: (args, expected) or Case}`` rows for ``tool`` (e.g. ``"python -m traces"``)."""
    for key, row in table.items():
        case = row if isinstance(row, Case) else Case(tuple(row[0]), (row[1],) if isinstance(row[1], str)
                                                         else tuple(row[1]))
        cid = f"{tool.split()[-1]}: {key}"
        assert cid not in CASES, cid
        CASES[cid] = (tool, case)


T = "<mixed.trace>"

rows("python -m dramsim", {
    "trace missing": (["--trace", "nope.trace"], "nope.trace:0: no such file"),
    "trace is a directory": (["--trace", "<a_dir>"], "a_dir:0: is a directory"),
    "trace name empty": (["--trace", ""], ":0: empty file name"),
    "--json to standard output": (["--trace", T, "--json", "-"], ["--json -", "file name"]),
    "--spec empty": (["--trace", T, "--spec", ""], ["--spec", "empty"]),
    "--vdd with a decimal comma": (["--trace", T, "--vdd", "1,35"], ["--vdd", "'1,35'"]),
    "dramsim3 hex cycle": (["--trace", "<hex.dramsim3>"], ["hex.dramsim3:1:", "'0x10'"]),
    "NUL byte late in a text trace": (["--trace", "<latenul.trace>"], ["latenul.trace:1001:", "'0x\\x00'"]),
    "no --trace": ([], "--trace"),
    "unknown option": (["--trace", T, "--colour"], "--colour"),
    "bad R/W field": (["--trace", "<bad_rw.trace>"], ["bad_rw.trace:3:", "'Q'"]),
    "bad address": (["--trace", "<bad_addr.trace>"], ["bad_addr.trace:2:", "'0xZZ'"]),
    "too many fields": (["--trace", "<fields.trace>"], ["fields.trace:1:", "4 field(s)"]),
    "address over 64 bits": (["--trace", "<huge_addr.trace>"], ["huge_addr.trace:2:", "64 bits"]),
    "address beyond capacity": (["--trace", "<far.trace>"], ["far.trace:3:", "request 1"]),
    "decreasing cycles, native": (["--trace", "<dec.trace>"], ["dec.trace:4:", "arrival cycle 5", "line 2"]),
    "decreasing cycles, dramsim3": (["--trace", "<dec.dramsim3>"], ["dec.dramsim3:3:", "must not decrease"]),
    "decreasing cycles, npy": (["--trace", "<dec.npy>"], ["dec.npy:0:", "record 2", "record 1"]),
    "decreasing cycles, npz": (["--trace", "<dec.npz>"], ["dec.npz:0:", "record 2", "record 0"]),
    "BOM then a bad line": (["--trace", "<bom_bad.trace>"], ["bom_bad.trace:2:", "'X'"]),
    "binary file": (["--trace", "<binary.trace>"], ["binary.trace:0:", "binary file"]),
    "PNG as trace": (["--trace", "<png.trace>"], ["png.trace:0:", "binary"]),
    "UTF-16 text": (["--trace", "<utf16.trace>"], ["utf16.trace:0:", "UTF-16"]),
    "truncated gzip": (["--trace", "<trunc.trace.gz>"], ["trunc.trace.gz:0:", "corrupt compressed data"]),
    "gzip CRC error": (["--trace", "<crc.trace.gz>"], ["crc.trace.gz:0:", "corrupt compressed data"]),
    "gzip magic, then junk": (["--trace", "<junk.gz>"], ["junk.gz:0:"]),
    "empty trace": (["--trace", "<empty.trace>"], ["empty.trace:0:", "empty"]),
    "only comments": (["--trace", "<comments.trace>"], ["comments.trace:0:", "empty"]),
    "ramulator wrong keyword": (["--trace", "<bad.ramulator>"], ["bad.ramulator:1:", "'READ'"]),
    "ramulator2 bad op": (["--trace", "<bad.ramulator2>"], ["bad.ramulator2:2:", "'XX'"]),
    "ramulator2 one field": (["--trace", "<short.ramulator2>"], ["short.ramulator2:1:", "1 field(s)"]),
    "dramsim3 bad cycle": (["--trace", "<bad.dramsim3>"], ["bad.dramsim3:2:", "'soon'"]),
    "dramsim3 negative cycle": (["--trace", "<cycle.dramsim3>"], ["cycle.dramsim3:1:", "'-5'"]),
    "npy without addr": (["--trace", "<fields.npy>"], ["fields.npy:0:", "addr"]),
    "npy float arrive": (["--trace", "<float.npy>"], ["float.npy:0:", "arrive"]),
    "npy negative address": (["--trace", "<neg.npy>"], ["neg.npy:0:", "addr"]),
    "npy 2-D": (["--trace", "<matrix.npy>"], ["matrix.npy:0:"]),
    "npz without requests": (["--trace", "<two.npz>"], ["two.npz:0:", "requests"]),
    "corrupt npy": (["--trace", "<corrupt.npy>"], ["corrupt.npy:0:", ".npy"]),
    "corrupt npz": (["--trace", "<corrupt.npz>"], ["corrupt.npz:0:", ".npz"]),
    "logical trace given": (["--trace", "<logical.txt>"], ["logical.txt:1:", "logical"]),
    "--trace-format forced wrong": (["--trace", T, "--trace-format", "dramsim3"],
                                    ["mixed.trace:2:", "READ/WRITE", "'0x10a8b1c0'"]),
    "--trace-format unknown": (["--trace", T, "--trace-format", "csv"], ["--trace-format", "'csv'"]),
    "spec unknown": (["--trace", T, "--spec", "DDR9-1"], ["--spec", "DDR9-1"]),
    "spec is a directory": (["--trace", T, "--spec", "<a_dir>"], ["--spec", "a_dir", "directory"]),
    "spec invalid TOML": (["--trace", T, "--spec", "<bad.toml>"], ["bad.toml", "invalid TOML"]),
    "spec binary": (["--trace", T, "--spec", "<bin.toml>"], ["bin.toml", "binary"]),
    "spec key missing": (["--trace", T, "--spec", "<nokey.toml>"], ["nokey.toml", "nRCD"]),
    "spec without IDD2P, power-down": (["--trace", T, "--spec", "<nopd.toml>", "--powerdown-idle", "10"],
                                       ["nopd.toml", "IDD2P"]),
    "channels 3": (["--trace", T, "--channels", "3"], ["--channels", "'3'"]),
    "channels 128": (["--trace", T, "--channels", "128"], ["--channels", "'128'"]),
    "ranks 0": (["--trace", T, "--ranks", "0"], ["--ranks", "'0'"]),
    "vdd below the table": (["--trace", T, "--vdd", "0.4"], ["--vdd"]),
    "vdd nan": (["--trace", T, "--vdd", "nan"], ["--vdd", "'nan'"]),
    "vdd text": (["--trace", T, "--vdd", "low"], ["--vdd", "'low'"]),
    "vdd negative": (["--trace", T, "--vdd=-1"], ["--vdd", "'-1'"]),
    "read queue 0": (["--trace", T, "--read-queue", "0"], ["--read-queue", "'0'"]),
    "write queue huge": (["--trace", T, "--write-queue", "1000000"], ["--write-queue", "'1000000'"]),
    "watermark above 1": (["--trace", T, "--write-high-watermark", "1.5"], ["--write-high-watermark", "'1.5'"]),
    "watermarks crossed": (["--trace", T, "--write-low-watermark", "0.9", "--write-high-watermark", "0.5"],
                           "--write-low-watermark"),
    "refresh interval within nRFC": (["--trace", T, "--refresh-interval", "100"], "--refresh-interval"),
    "power-down idle 0": (["--trace", T, "--powerdown-idle", "0"], ["--powerdown-idle", "'0'"]),
    "self-refresh before power-down": (["--trace", T, "--powerdown-idle", "100", "--self-refresh-idle", "50"],
                                       "--self-refresh-idle"),
    "cycles beyond 2^40": (["--trace", T, "--refresh-interval", str(1 << 50)], "--refresh-interval"),
    "mapping unknown field": (["--trace", T, "--mapping", "RoBaXx"], ["--mapping", "RoBaXx"]),
    "scheduler unknown": (["--trace", T, "--scheduler", "lifo"], ["--scheduler", "'lifo'"]),
    "engine unknown": (["--trace", T, "--engine", "warp"], ["--engine", "'warp'"]),
    "controller unknown": (["--trace", T, "--controller", "r3"], ["--controller", "'r3'"]),
    "--json under a plain file": (["--trace", T, "--json", "<afile>/x.json"], ["--json", "afile is a file"]),
    "--json directory missing": (["--trace", T, "--json", "no/such/x.json"], ["--json", "no/such", "does not exist"]),
    "--json is a directory": (["--trace", T, "--json", "<a_dir>"], ["--json", "a_dir", "is a directory"]),
    "--json unwritable directory": (["--trace", T, "--json", "/proc/x.json"], ["--json", "/proc", "not writable"]),
    "--csv over the trace": (["--trace", T, "--csv", T], ["--csv", "mixed.trace", "input"]),
    "--json over the spec": (["--trace", T, "--spec", "<nokey.toml>", "--json", "<nokey.toml>"],
                             ["--json", "nokey.toml", "input"]),
    "--json and --csv the same": (["--trace", T, "--json", "o.json", "--csv", "o.json"], ["--csv", "o.json", "--json"]),
    "--command-log side file is the trace": (["--trace", "<x.ch0.rank0.drampower>", "--command-log", "x"],
                                             ["--command-log", "x.ch0.rank0.drampower", "input"]),
    "Ctrl-C while simulating": Case(("--trace", "<big.npy>", "--engine", "simpy", "--json", "o.json"),
                                    ("interrupted",), status=130, how="sigint"),
    "stdout closed (| head -1)": Case(("--trace", "<rand.ramulator>", "--channels", "2"), how="pipe", status=0),
    "bad input as python -m": Case(("--trace", "<bad_rw.trace>"), ("bad_rw.trace:3:",), how="run"),
})

rows("python -m dramsim.checker", {
    "log missing": (["nope.csv"], ["nope.csv:0:", "cannot read"]),
    "log is a directory": (["<a_dir>"], ["a_dir:0:"]),
    "log binary": (["<bin.csv>"], ["bin.csv:0:", "binary"]),
    "log gzipped": (["<gz.csv>"], ["gz.csv:0:", "gzip"]),
    "log empty": (["<empty.csv>"], ["empty.csv:1:"]),
    "log row not an integer": (["<badrow.csv>"], ["badrow.csv:25:", "bankgroup"]),
    "log unknown command": (["<badcmd.csv>"], ["badcmd.csv:25:", "command"]),
    "log row too short": (["<fewfields.csv>"], ["fewfields.csv:25:", "fields"]),
    "log header unknown key": (["<badkey.csv>"], ["badkey.csv:12:", "salsa"]),
    "log header not JSON": (["<badjson.csv>"], ["badjson.csv:7:", "ranks"]),
    "log column names": (["<nocols.csv>"], ["nocols.csv:23:"]),
    "--trace with other requests": (["<run.csv>", "--trace", "<rand.ramulator>"], ["run.csv", "header.requests"]),
    "--trace bad line": (["<run.csv>", "--trace", "<bad_rw.trace>"], ["bad_rw.trace:3:"]),
    "--trace decreasing cycles": (["<run.csv>", "--trace", "<dec.trace>"], ["dec.trace:4:", "decrease"]),
    "--trace binary": (["<run.csv>", "--trace", "<binary.trace>"], ["binary.trace:0:", "binary"]),
    "--ranks disagrees with the header": (["<run.csv>", "--ranks", "2"], ["header.ranks", "--ranks"]),
    "--channels 3": (["<run.csv>", "--channels", "3"], ["--channels", "'3'"]),
    "--vdd text": (["<run.csv>", "--vdd", "high"], ["--vdd", "'high'"]),
    "--spec of another device": (["<run.csv>", "--spec", "DDR3-1600K"], ["run.csv", "header.vdd"]),
    "--spec binary": (["<run.csv>", "--spec", "<bin.toml>"], ["bin.toml", "binary"]),
    "--max-print negative": (["<run.csv>", "--max-print", "-1"], ["--max-print", "'-1'"]),
    "--scheme disagrees with --mapping": Case(("<run.csv>", "--scheme", "RoRaBaChCo", "--mapping", "RoBaRaCoCh"),
                                             ("--scheme", "RoRaBaChCo")),
    "--powerdown-idle 0": (["<run.csv>", "--powerdown-idle", "0"], ["--powerdown-idle", "'0'"]),
    "no log": ([], "log"),
})

rows("python -m traces", {
    "no command": ([], "command"),
    "unknown command": (["show", T], "'show'"),
    "info: missing file": (["info", "nope.trace"], "nope.trace:0: no such file"),
    "info: bad R/W": (["info", "<bad_rw.trace>"], ["bad_rw.trace:3:", "'Q'"]),
    "info: decreasing cycles": (["info", "<dec.trace>"], ["dec.trace:4:", "must not decrease"]),
    "info: decreasing cycles, dramsim3": (["info", "<dec.dramsim3>"], ["dec.dramsim3:3:"]),
    "info: decreasing cycles, npz": (["info", "<dec.npz>"], ["dec.npz:0:", "record 2"]),
    "info: BOM then a bad line": (["info", "<bom_bad.trace>"], ["bom_bad.trace:2:", "'X'"]),
    "info: binary": (["info", "<binary.trace>"], ["binary.trace:0:", "binary"]),
    "info: UTF-16": (["info", "<utf16.trace>"], ["utf16.trace:0:", "UTF-16"]),
    "info: truncated gzip": (["info", "<trunc.trace.gz>"], ["trunc.trace.gz:0:", "corrupt"]),
    "info: bad ramulator2": (["info", "<bad.ramulator2>"], ["bad.ramulator2:2:", "'XX'"]),
    "info: bad dramsim3": (["info", "<bad.dramsim3>"], ["bad.dramsim3:2:", "'soon'"]),
    "info: corrupt npz": (["info", "<corrupt.npz>"], ["corrupt.npz:0:"]),
    "info: logical, 4 fields": (["info", "<bad.logical.txt>"], ["bad.logical.txt:3:", "4 field(s)"]),
    "info: logical, n_words 0": (["info", "<zero.logical.txt>"], ["zero.logical.txt:2:", "n_words"]),
    "info: logical, header v9": (["info", "<v9.logical.txt>"], ["v9.logical.txt:1:", "v9"]),
    "info: logical, duplicate metadata": (["info", "<dupmeta.logical.txt>"], ["dupmeta.logical.txt:3:", "'a'"]),
    "info: --trace-format unknown": (["info", T, "--trace-format", "csv"], ["--trace-format", "'csv'"]),
    "convert: --to unknown": (["convert", T, "o.trace", "--to", "csv"], ["--to", "'csv'"]),
    "convert: --to disagrees with extension": (["convert", T, "o.npy", "--to", "native"],
                                               ["OUT o.npy", "native", ".npy"]),
    "convert: npy without extension": (["convert", T, "o.trace", "--to", "npy"], ["OUT o.trace", ".npy"]),
    "convert: gzipped npz": (["convert", T, "o.npz.gz"], ["OUT o.npz.gz", "gzipped"]),
    "convert: logical to .npy": (["convert", "<logical.txt>", "o.npy"], ["OUT o.npy", "logical"]),
    "convert: logical with --to": (["convert", "<logical.txt>", "o.trace", "--to", "native"], "--to"),
    "convert: OUT is IN": (["convert", T, T], ["OUT mixed.trace", "input"]),
    "convert: OUT a directory": (["convert", T, "<a_dir>"], ["OUT a_dir", "directory"]),
    "convert: OUT under a plain file": (["convert", T, "<afile>/o.npy"], ["OUT afile/o.npy", "afile is a file"]),
    "convert: OUT unwritable": (["convert", T, "/proc/o.npy"], ["OUT /proc/o.npy", "not writable"]),
    "convert: --chunk 0": (["convert", T, "o.npy", "--chunk", "0"], ["--chunk", "'0'"]),
    "convert: no OUT": (["convert", T], "OUT"),
    "convert: bad line late in the file": (["convert", "<bad_rw.trace>", "o.npy"], ["bad_rw.trace:3:"]),
    "convert: decreasing cycles": (["convert", "<dec.npy>", "o.trace"], ["dec.npy:0:", "record 2"]),
    "convert: gzip CRC error": (["convert", "<crc.trace.gz>", "o.npy"], ["crc.trace.gz:0:"]),
    "convert: stdout closed": Case(("info", T), how="pipe", status=0),
    "convert: Ctrl-C": Case(("convert", "<big.npy>", "o.trace.gz"), ("interrupted",), status=130, how="sigint"),
})

rows("python -m traces.generate", {
    "no kind": ([], "KIND"),
    "unknown kind": (["zigzag", "--n", "5", "--out", "o.trace"], "'zigzag'"),
    "--n 0": (["seq", "--n", "0", "--out", "o.trace"], ["--n", "'0'"]),
    "--n text": (["seq", "--n", "many", "--out", "o.trace"], ["--n", "'many'"]),
    "--n beyond memory": (["seq", "--n", str(10**10), "--out", "o.trace"], ["--n", str(10**10)]),
    "no --out": (["seq", "--n", "5"], "--out"),
    "--seed negative": (["random", "--n", "5", "--seed", "-1", "--out", "o.trace"], ["--seed", "'-1'"]),
    "--span not a multiple of 64": (["random", "--n", "5", "--span", "100", "--out", "o.trace"], ["--span", "100"]),
    "--span not a size": (["seq", "--n", "5", "--span", "lots", "--out", "o.trace"], ["--span", "'lots'"]),
    "--stride 96": (["stride", "--n", "5", "--stride", "96", "--out", "o.trace"], ["--stride", "96"]),
    "--base 3": (["seq", "--n", "5", "--base", "3", "--out", "o.trace"], ["--base", "3"]),
    "--base past 2^64": (["seq", "--n", "5", "--base", "0xffffffffffffffc0", "--out", "o.trace"],
                         ["--base", "64 bits"]),
    "--interval past 2^63": (["seq", "--n", "5", "--interval", str(1 << 62), "--out", "o.trace"], "--interval"),
    "--hot-regions too many": (["hotrows", "--n", "5", "--hot-regions", "1000000000", "--out", "o.trace"],
                               "--hot-regions"),
    "--hot-fraction 2": (["hotrows", "--n", "5", "--hot-fraction", "2", "--out", "o.trace"],
                         ["--hot-fraction", "'2'"]),
    "--region not dividing the span": (["hotrows", "--n", "5", "--region", "192", "--out", "o.trace"], "--region"),
    "--write-fraction negative": (["mixed", "--n", "5", "--write-fraction=-0.1", "--out", "o.trace"],
                                  ["--write-fraction", "'-0.1'"]),
    "--seq-fraction nan": (["mixed", "--n", "5", "--seq-fraction", "nan", "--out", "o.trace"],
                           ["--seq-fraction", "'nan'"]),
    "--to unknown": (["seq", "--n", "5", "--out", "o.trace", "--to", "csv"], ["--to", "'csv'"]),
    "--to disagrees with extension": (["seq", "--n", "5", "--out", "o.npy", "--to", "native"], ["--out o.npy"]),
    "gzipped npy": (["seq", "--n", "5", "--out", "o.npy.gz"], ["--out o.npy.gz", "gzipped"]),
    "--out under a plain file": (["seq", "--n", "5", "--out", "<afile>/o.trace"], ["--out", "afile is a file"]),
    "--out a directory": (["seq", "--n", "5", "--out", "<a_dir>"], ["--out", "a_dir", "directory"]),
    "--out unwritable": (["seq", "--n", "5", "--out", "/proc/o.trace"], ["--out", "/proc", "not writable"]),
    "--out missing directory": (["seq", "--n", "5", "--out", "new/o.trace"], ["--out", "new", "does not exist"]),
    "--out to standard output": (["seq", "--n", "5", "--out", "-"], ["--out -", "file name"]),
    "--n in float notation": (["seq", "--n", "1e6", "--out", "o.trace"], ["--n", "'1e6'"]),
    "logical: --spike-rate 0": (["logical", "--spike-rate", "0", "--out", "o.txt"], ["--spike-rate", "'0'"]),
    "logical: --images 0": (["logical", "--images", "0", "--out", "o.txt"], ["--images", "'0'"]),
    "logical: --out .npy": (["logical", "--out", "o.npy"], ["--out o.npy", "logical"]),
    "logical: --rows huge": (["logical", "--rows", str(1 << 30), "--out", "o.txt"], "--rows"),
    "logical: too many spike draws": (["logical", "--images", "100000", "--out", "o.txt"],
                                      ["--images 100000", "--timesteps", "--rows"]),
    "Ctrl-C": Case(("random", "--n", "20000000", "--out", "o.trace.gz"), ("interrupted",), status=130, how="sigint"),
})

rows("python -m bench.perf_dram", {
    "--n 0": (["--n", "0"], ["--n", "'0'"]),
    "--n text": (["--n", "lots"], ["--n", "'lots'"]),
    "--n too large": (["--n", str(10**12)], ["--n"]),
    "--engines unknown": (["--engines", "fsat"], ["--engines", "'fsat'"]),
    "--engines empty item": (["--engines", "simpy,,fast"], ["--engines", "empty item"]),
    "--engines repeated": (["--engines", "fast,fast"], ["--engines", "repeats"]),
    "--traces unknown": (["--traces", "seq,zigzag"], ["--traces", "'zigzag'"]),
    "--traces empty": (["--traces", ""], ["--traces", "empty item"]),
    "--controller unknown": (["--controller", "r3"], ["--controller", "'r3'"]),
    "--json under a plain file": (["--json", "<afile>/p.json"], ["--json", "afile is a file"]),
    "--json a directory": (["--json", "<a_dir>"], ["--json", "a_dir"]),
    "Ctrl-C": Case(("--n", "3000000", "--engines", "simpy"), ("interrupted",), status=130, how="sigint"),
})

rows("python -m bench.perf_inject", {
    "--words 0": (["--words", "0"], ["--words", "'0'"]),
    "--words too many": (["--words", str(10**8)], ["--words"]),
    "--format unknown": (["--format", "fp16"], ["--format", "'fp16'"]),
    "--models out of range": (["--models", "0,5"], ["--models", "'5'"]),
    "--models empty item": (["--models", "0,,3"], ["--models", "empty item"]),
    "--ber 0": (["--ber", "0"], ["--ber", "'0'"]),
    "--ber above 1": (["--ber", "2"], ["--ber", "'2'"]),
    "--ber nan": (["--ber", "nan"], ["--ber", "'nan'"]),
    "--repeats 0": (["--repeats", "0"], ["--repeats", "'0'"]),
    "--spec unknown": (["--spec", "DDR9"], ["--spec", "DDR9"]),
    "--spec binary": (["--spec", "<bin.toml>"], ["bin.toml", "binary"]),
    "--seed negative": (["--seed", "-3"], ["--seed", "'-3'"]),
    "--words beyond the device": (["--words", "9000000", "--spec", "<tiny.toml>"], ["--words", "tiny"]),
})

rows("python -m bench.perf_sweep", {
    "--neurons 0": (["--neurons", "0"], ["--neurons", "'0'"]),
    "--preset unknown": (["--preset", "fast"], ["--preset", "'fast'"]),
    "--json under a plain file": (["--json", "<afile>/p.json"], ["--json", "afile is a file"]),
    "sweep option --out": (["--", "--out", "x"], "--out"),
    "sweep option --neurons": (["--", "--neurons", "5"], "--neurons"),
    "sweep option --plot": (["--", "--plot"], "--plot"),
    "sweep --images beyond the test set": (["--", "--images", "5000"], "--images 5000"),
    "sweep --vdd empty item": (["--", "--vdd", "1.35,,1.1"], ["--vdd", "empty item"]),
    "sweep --vdd outside the table": (["--", "--vdd", "0.8"], "--vdd"),
    "sweep --cache-dir under a file": (["--", "--cache-dir", "<afile>/c"], ["--cache-dir", "afile"]),
    "sweep --dask malformed": (["--", "--dask", "tcp://127.0.0.1"], ["--dask", "127.0.0.1"]),
    "sweep --dask unknown scheme": (["--", "--dask", "foo://h:1"], ["--dask", "foo"]),
    "sweep --dask unknown host": (["--", "--dask", "nohost.invalid:8786"], ["--dask", "nohost.invalid"]),
    "sweep unknown option": (["--", "--colour"], "--colour"),
})

rows("python -m bench.fit_spatial", {
    "--data missing": (["--data", "nodata"], ["--data nodata", "no such directory"]),
    "--data a file": (["--data", "<afile>"], ["--data afile", "not a directory"]),
    "--data without the files": (["--data", "<a_dir>"], ["--data a_dir", "retention_time_profile.csv"]),
    "--data retention binary": (["--data", "<voltron_bin>"], ["retention_time_profile.csv", "binary"]),
    "--data retention header": (["--data", "<voltron_hdr>"], ["retention_time_profile.csv:1:", "header"]),
    "--boot 5": (["--boot", "5"], ["--boot", "'5'"]),
    "--seed negative": (["--seed", "-1"], ["--seed", "'-1'"]),
    "--json under a plain file": (["--data", "<voltron_hdr>", "--json", "<afile>/f.json"], ["--json", "afile"]),
    "--json a directory": (["--data", "<voltron_hdr>", "--json", "<a_dir>"], ["--json", "a_dir"]),
})

rows("python -m bench.spice_vdd_timing", {
    "--data missing": (["--data", "nodata"], ["--data nodata", "no such directory"]),
    "--data without the model": (["--data", "<a_dir>"], ["--data a_dir", "voltron_spice.asc"]),
    "--out unwritable": (["--data", "<spice_data>", "--out", "/proc/t.csv"], ["--out", "/proc", "not writable"]),
    "--out under a plain file": (["--data", "<spice_data>", "--out", "<afile>/t.csv"], ["--out", "afile is a file"]),
    "--out is the schematic": (["--data", "<spice_data>", "--out", "<spice_data>/SPICE_circuit_model/voltron_spice.asc"],
                               ["--out", "voltron_spice.asc", "input"]),
    "schematic with an unconnected pin": (["--data", "<spice_data>"], ["voltron_spice.asc"]),
    "unknown option": (["--vdd", "1.2"], "--vdd"),
})

rows("python -m bench.fast_engine_stream", {
    "--n 0": (["--n", "0"], ["--n", "'0'"]),
    "--chunk 0": (["--chunk", "0"], ["--chunk", "'0'"]),
    "--chunk beyond memory": (["--chunk", str(10**9)], ["--chunk"]),
    "--trace unknown": (["--trace", "zigzag"], ["--trace", "'zigzag'"]),
    "--write-fraction 2": (["--write-fraction", "2"], ["--write-fraction", "'2'"]),
    "--seed negative": (["--seed", "-1"], ["--seed", "'-1'"]),
    "--spec unknown": (["--spec", "DDR9"], ["--spec", "DDR9"]),
    "--spec too small for the trace": (["--spec", "<tiny.toml>", "--n", "10"], ["--spec", "tiny", "1 GiB"]),
    "--json under a plain file": (["--json", "<afile>/s.json"], ["--json", "afile is a file"]),
    "--json is the spec": (["--spec", "<tiny.toml>", "--json", "<tiny.toml>"], ["--json", "tiny.toml", "input"]),
    "Ctrl-C": Case(("--n", "2000000000", "--no-progress"), ("interrupted",), status=130, how="sigint"),
})

# The main sweep (bench/sweep_mappings.py, bench/_sweep_*.py). Each row adds SWEEP_SMALL, so a
# row the sweep wrongly accepts runs a few seconds, not minutes.
SWEEP_SMALL = ("--neurons", "5", "--train-images", "20", "--val-images", "10", "--images", "10",
               "--dram-images", "2", "--fault-maps", "1", "--spike-seeds", "1", "--vdd", "1.35", "--jobs", "1",
               "--no-progress", "--cache-dir", "cache")
SWEEP = {
    "--vdd empty item": (["--vdd", "1.35,,1.2"], ["--vdd", "empty item"]),
    "--vdd text": (["--vdd", "low"], ["--vdd", "'low'"]),
    "--vdd below the data": (["--vdd", "0.5"], "--vdd"),
    "--vdd repeated": (["--vdd", "1.35,1.35"], "--vdd"),
    "--policies unknown": (["--policies", "linear,zigzag"], "zigzag"),
    "--policies repeated": (["--policies", "linear,linear"], "--policies"),
    "--neurons 0": (["--neurons", "0"], ["--neurons", "'0'"]),
    "--neurons repeated": (["--neurons", "10,10"], "--neurons"),
    "--preset unknown": (["--preset", "fast"], ["--preset", "'fast'"]),
    "--format unknown": (["--format", "fp16"], "fp16"),
    "--guard unknown": (["--guard", "maybe"], "maybe"),
    "--training unknown": (["--training", "hard"], ["--training", "hard"]),
    "--error-model unknown": (["--error-model", "7"], "7"),
    "--vendor unknown": (["--vendor", "Z"], "Z"),
    "--dimm-statistic unknown": (["--dimm-statistic", "mode"], ["--dimm-statistic", "mode"]),
    "--spread unknown": (["--spread", "wide"], ["--spread", "wide"]),
    "--vdd-timing unknown": (["--vdd-timing", "fast"], ["--vdd-timing", "fast"]),
    "--target-loss 101": (["--target-loss", "101"], ["--target-loss", "'101'"]),
    "--tolerable-ber 0": (["--tolerable-ber", "0"], ["--tolerable-ber", "'0'"]),
    "--tolerable-ber 2": (["--tolerable-ber", "2"], ["--tolerable-ber", "'2'"]),
    "--fault-maps 0": (["--fault-maps", "0"], ["--fault-maps", "'0'"]),
    "--spike-seeds 0": (["--spike-seeds", "0"], ["--spike-seeds", "'0'"]),
    "--images beyond the test set": (["--images", "5000"], "--images 5000"),
    "--images 1": (["--images", "1"], "--images"),
    "--dram-images beyond the test set": (["--dram-images", "5000"], "--dram-images 5000"),
    "--val-images 4000": (["--val-images", "4000"], "--val-images 4000"),
    "--train-images beyond the rest": (["--train-images", "3995"], "--train-images 3995"),
    "--epochs 0": (["--epochs", "0"], ["--epochs", "'0'"]),
    "--seed negative": (["--seed", "-1"], ["--seed", "'-1'"]),
    "--jobs 0": (["--jobs", "0"], ["--jobs", "'0'"]),
    "--spec unknown": (["--spec", "DDR9"], "DDR9"),
    "--mapping unknown field": (["--mapping", "RoBaXx"], "RoBaXx"),
    "--scheduler unknown": (["--scheduler", "lifo"], "lifo"),
    "--page-policy unknown": (["--page-policy", "half"], "half"),
    "--dataflow unknown": (["--dataflow", "sideways"], "sideways"),
    "--engine unknown": (["--engine", "warp"], ["--engine", "'warp'"]),
    "--arrival unknown": (["--arrival", "late"], ["--arrival", "'late'"]),
    "--powerdown-idle 0": (["--powerdown-idle", "0"], ["--powerdown-idle", "'0'"]),
    "--csv to a file": (["--csv", "o.csv"], ["--csv", "'o.csv'"]),
    "--out under a plain file": (["--out", "<afile>/sw"], ["--out", "afile"]),
    "--out is a file": (["--out", "<afile>"], ["--out", "afile"]),
    "--out unwritable": (["--out", "/proc/sw"], ["--out", "/proc"]),
    "--cache-dir under a plain file": (["--cache-dir", "<afile>/c"], ["--cache-dir", "afile"]),
    "--trace missing": (["--trace", "nope.trace"], "nope.trace:0:"),
    "--trace bad line": (["--trace", "<bad_rw.trace>"], ["bad_rw.trace:3:", "'Q'"]),
    "--trace decreasing cycles": (["--trace", "<dec.trace>"], ["dec.trace:4:", "decrease"]),
    "--trace BOM then a bad line": (["--trace", "<bom_bad.trace>"], ["bom_bad.trace:2:", "'X'"]),
    "--trace binary": (["--trace", "<binary.trace>"], ["binary.trace:0:", "binary"]),
    "--trace truncated gzip": (["--trace", "<trunc.trace.gz>"], ["trunc.trace.gz:0:"]),
    "--trace logical, bad line": (["--trace", "<bad.logical.txt>"], ["bad.logical.txt:3:"]),
    "--trace beyond the capacity": (["--trace", "<far.trace>"], ["far.trace"]),
    "--dask malformed address": Case(SWEEP_SMALL + ("--dask", "tcp://127.0.0.1"), ("--dask", "127.0.0.1"),
                                     how="run"),
    "--spec binary": (["--spec", "<bin.toml>"], ["bin.toml", "binary"]),
    "--vendor CSV missing": (["--vendor", "mine.csv"], "mine.csv"),
    "--vendor CSV binary": (["--vendor", "<binary.csv>"], ["binary.csv"]),
    "--vendor CSV bad line": (["--vendor", "<badber.csv>"], ["badber.csv"]),
    "--dimm unknown": (["--dimm", "Z9"], "Z9"),
    "--vdd where vendor A stops operating": (["--vendor", "A", "--vdd", "1.025"], "1.025"),
    "--target-loss nan": (["--target-loss", "nan"], ["--target-loss", "'nan'"]),
    "--train-images 0": (["--train-images", "0"], ["--train-images", "'0'"]),
    "--val-images 1": (["--val-images", "1"], "--val-images"),
    "--trace is a directory": (["--trace", "<a_dir>"], ["a_dir"]),
    "--trace UTF-16": (["--trace", "<utf16.trace>"], ["utf16.trace", "UTF-16"]),
    "--trace logical v9": (["--trace", "<v9.logical.txt>"], ["v9.logical.txt:1:"]),
    "--trace with --plot": (["--trace", "<rand.ramulator>", "--plot"], "--plot"),
    "--trace, stdout closed": Case(("--trace", "<rand.ramulator>", "--csv", "-", "--out", "sw", "--jobs", "1",
                                    "--no-progress", "--cache-dir", "cache"), how="pipe", status=0),
}
rows("python -m bench.sweep_mappings", {
    key: (row if isinstance(row, Case) else Case(SWEEP_SMALL + tuple(row[0]),
                                                 (row[1],) if isinstance(row[1], str) else tuple(row[1])))
    for key, row in SWEEP.items()})
rows("python -m bench.sweep_mappings", {"Ctrl-C": Case(
    ("--out", "sw", "--neurons", "50", "--train-images", "1000", "--val-images", "100", "--images", "100",
     "--dram-images", "2", "--fault-maps", "2", "--spike-seeds", "1", "--vdd", "1.35,1.3,1.25,1.2,1.15,1.1",
     "--jobs", "1", "--no-progress", "--cache-dir", "cache"), ("interrupted",), status=130, how="sigint")})

#: Rows that fail today, reported to the owner of that tool (strict: a fixed row fails until its
#: mark is removed here).
KNOWN_FAILURES: dict = {}

rows("python -m snn", {
    "eval: model with NaN weights": (["eval", "<nan.npz>", "--images", "10"], ["nan.npz", "'weights'", "non-finite"]),
    "eval: model with an inf threshold": (["eval", "<inf_theta.npz>", "--images", "10"],
                                          ["inf_theta.npz", "'theta'", "index [2]"]),
    "eval: negative weights": (["eval", "<negative.npz>", "--images", "10"], ["negative.npz", "fp32", ">= 0"]),
    "eval: q8 weights above w_max": (["eval", "<q8_above.npz>", "--images", "10"], ["q8_above.npz", "q8", "[0, 1]"]),
    "trace: model with NaN weights": (["trace", "<nan.npz>", "--out", "w.npz"], ["nan.npz", "non-finite"]),
    "no subcommand": ([], ["train,eval,trace"]),
    "unknown subcommand": (["fit"], ["'fit'"]),
    "eval: no model": (["eval"], ["MODEL.npz"]),
    "train: --neurons text": (["train", "--neurons", "x", "--out", "m.npz"], ["--neurons", "'x'"]),
    "train: --epochs 0": (["train", "--epochs", "0", "--out", "m.npz"], ["--epochs", "0"]),
    "train: no --out": (["train", "--neurons", "5"], ["--out"]),
    "train: unknown format": (["train", "--format", "fp8", "--out", "m.npz"], ["--format", "'fp8'"]),
    "eval: negative seed": (["eval", "<nan.npz>", "--seed", "-1"], ["--seed", "-1"]),
    "trace: unknown dataflow": (["trace", "<nan.npz>", "--dataflow", "burst", "--out", "w.npz"],
                                ["--dataflow", "'burst'"]),
})

rows("python -m snn", {"train: Ctrl-C": Case(
    ("train", "--neurons", "100", "--epochs", "50", "--out", "m.npz"), ("interrupted",), status=130,
    how="sigint")})

# bench.tolerance and bench.fault_aware: each row adds TOLERANCE_SMALL, so a row the tool wrongly
# accepts trains a 5-neuron network for seconds, not a 100-neuron one for minutes.
TOLERANCE_SMALL = ("--neurons", "5", "--train-images", "20", "--val-images", "10", "--images", "10",
                   "--fault-maps", "1", "--spike-seeds", "1", "--ber-min", "1e-3", "--ber-max", "1e-2",
                   "--per-decade", "1", "--no-progress", "--cache-dir", "cache")
TOLERANCE = {
    "--neurons 0": (["--neurons", "0"], ["--neurons", "'0'"]),
    "--neurons beyond the maximum": (["--neurons", "20000"], ["--neurons", "'20000'", "10000"]),
    "--epochs 0": (["--epochs", "0"], ["--epochs", "'0'"]),
    "--train-seed negative": (["--train-seed=-1"], ["--train-seed", "'-1'"]),
    "--eval-seed text": (["--eval-seed", "x"], ["--eval-seed", "'x'"]),
    "--val-images 1": (["--val-images", "1"], ["--val-images", "'1'"]),
    "--val-images all the training images": (["--val-images", "4000"], "--val-images 4000"),
    "--train-images 0": (["--train-images", "0"], ["--train-images", "'0'"]),
    "--train-images beyond the rest": (["--val-images", "3990", "--train-images", "20"], "--train-images 20"),
    "--images 1": (["--images", "1"], ["--images", "'1'"]),
    "--images beyond the test set": (["--images", "1001"], "--images 1001"),
    "--fault-maps 0": (["--fault-maps", "0"], ["--fault-maps", "'0'"]),
    "--spike-seeds 0": (["--spike-seeds", "0"], ["--spike-seeds", "'0'"]),
    "--bers 0": (["--bers", "0"], ["--bers", "'0'", "(0, 1]"]),
    "--bers above 1": (["--bers", "1e-3,2"], ["--bers", "'2'"]),
    "--bers empty item": (["--bers", "1e-4,,1e-3"], ["--bers", "empty item"]),
    "--bers repeated": (["--bers", "1e-4,1e-4"], ["--bers", "repeats"]),
    "--bers nan": (["--bers", "nan"], ["--bers", "'nan'"]),
    "--ber-min 0": (["--ber-min", "0"], ["--ber-min", "'0'"]),
    "--ber-min above --ber-max": (["--ber-min", "1e-2", "--ber-max", "1e-3"], ["--ber-min", "--ber-max"]),
    "--per-decade 0": (["--per-decade", "0"], ["--per-decade", "'0'"]),
    "--drop negative": (["--drop=-1"], ["--drop", "'-1'"]),
    "--drop above 100": (["--drop", "101"], ["--drop", "'101'"]),
    "--target above 100": (["--target", "120"], ["--target", "'120'"]),
    "--error-model unknown": (["--error-model", "0,9"], ["--error-model", "'9'"]),
    "--error-model empty item": (["--error-model", "0,,1"], ["--error-model", "empty item"]),
    "--format unknown": (["--format", "fp32,fp16"], ["--format", "'fp16'"]),
    "--guard unknown": (["--guard", "maybe"], ["--guard", "'maybe'"]),
    "--weak-fraction 0": (["--weak-fraction", "0"], ["--weak-fraction", "'0'"]),
    "--concentration 2": (["--concentration", "2"], ["--concentration", "'2'"]),
    "--ratio 0": (["--ratio", "0"], ["--ratio", "'0'"]),
    "--bank-spread negative": (["--bank-spread=-1"], ["--bank-spread", "'-1'"]),
    "--spec unknown": (["--spec", "DDR9"], ["--spec", "DDR9"]),
    "--spec binary": (["--spec", "<bin.toml>"], ["--spec", "bin.toml", "binary"]),
    "--spec too small for the weights": (["--spec", "<tiny.toml>", "--neurons", "10000"],
                                         ["--spec <tiny.toml>", "do not fit"]),
    "--out under a plain file": (["--out", "<afile>/res"], ["--out <afile>/res.csv", "afile is a file"]),
    "--out unwritable": (["--out", "/proc/res"], ["--out /proc/res.csv", "not writable"]),
    "--out empty": (["--out", ""], ["--out", "prefix"]),
    "--out a directory, no prefix": (["--out", "<a_dir>/"], ["--out", "a_dir/", "prefix"]),
    "--plot not a PNG name": (["--plot", "p.svg"], ["--plot p.svg", ".png"]),
    "--plot a directory": (["--plot", "<a_dir>"], ["--plot <a_dir>", "directory"]),
    "--plot under a plain file": (["--plot", "<afile>/p.png"], ["--plot", "afile is a file"]),
    "--cache-dir under a plain file": (["--cache-dir", "<afile>/c"], ["--cache-dir <afile>/c", "afile is a file"]),
    "--cache-dir is a file": (["--cache-dir", "<afile>"], ["--cache-dir <afile>", "not a directory"]),
    "--idx-dir missing": (["--idx-dir", "nodir"], ["--idx-dir nodir", "not a directory"]),
    "--idx-dir without the IDX files": (["--idx-dir", "<a_dir>"], ["--idx-dir <a_dir>", "train-images-idx3-ubyte"]),
    "--data unknown": (["--data", "mnist"], ["--data", "'mnist'"]),
    "unknown option": (["--colour"], "--colour"),
}
TOLERANCE_ONLY = {
    "--bit-rate 0": (["--bit-sensitivity", "--bit-rate", "0"], ["--bit-rate", "'0'"]),
    "--plot with --no-sweep": (["--no-sweep", "--plot", "p.png"], ["--plot", "--no-sweep"]),
    "--model missing": (["--model", "nope.npz"], ["--model nope.npz", "no such file"]),
    "--model a directory": (["--model", "<a_dir>"], ["--model <a_dir>", "directory"]),
    "--model not a model file": (["--model", "<afile>"], ["--model <afile>", "not a model file"]),
    "--model corrupt": (["--model", "<corrupt.npz>"], ["--model <corrupt.npz>", "corrupt"]),
    "--model with NaN weights": (["--model", "<nan.npz>"], ["--model <nan.npz>", "'weights'", "non-finite"]),
    "--model with an inf threshold": (["--model", "<inf_theta.npz>"], ["--model <inf_theta.npz>", "'theta'"]),
    "--model with negative weights": (["--model", "<negative.npz>"], ["--model <negative.npz>", "outside the range"]),
    "--model q8 above w_max": (["--model", "<q8_above.npz>"], ["--model <q8_above.npz>", "q8", "[0, 1]"]),
    "--plot over the --model": (["--model", "<model.png>", "--plot", "<model.png>"],
                                ["--plot <model.png>", "input", "refusing"]),
    "--plot of another format": (["--model", "<m.npz>", "--plot", "<m.npz>"], ["--plot <m.npz>", ".png"]),
}
FAULT_AWARE_ONLY = {
    "--model given": (["--model", "<m.npz>"], ["--model <m.npz>", "trains its own"]),
    "--fat-target-ber 0": (["--fat-target-ber", "0"], ["--fat-target-ber", "'0'"]),
    "--fat-target-ber above 1": (["--fat-target-ber", "2"], ["--fat-target-ber", "'2'"]),
    "--fat-start-ber above the target": (["--fat-start-ber", "1e-2", "--fat-target-ber", "1e-3"],
                                         ["--fat-start-ber", "--fat-target-ber"]),
    "--fat-ramp 2": (["--fat-ramp", "2"], ["--fat-ramp", "'2'"]),
    "--fat-every 0": (["--fat-every", "0"], ["--fat-every", "'0'"]),
    "--fat-levels 0": (["--fat-levels", "0"], ["--fat-levels", "'0'"]),
    "--fat-epochs 0": (["--fat-epochs", "0"], ["--fat-epochs", "'0'"]),
    "--fat-mode writeback on device faults": (["--fat-mode", "writeback"], ["--fat-faults device", "restore"]),
    "--fat-faults unknown": (["--fat-faults", "cosmic"], ["--fat-faults", "'cosmic'"]),
    "--train-seeds negative": (["--train-seeds", "0,-1"], ["--train-seeds", "'-1'"]),
    "--train-seeds repeated": (["--train-seeds", "0,0"], ["--train-seeds", "repeats"]),
    "--compare-guard unknown": (["--compare-guard", "zero,maybe"], ["--compare-guard", "'maybe'"]),
    "--val-images beyond a --train-seeds carve": (["--train-seeds", "0,1", "--val-images", "3999",
                                                   "--train-images", "5"], "--train-images 5"),
}
for tool, table in (("python -m bench.tolerance", {**TOLERANCE, **TOLERANCE_ONLY}),
                    ("python -m bench.fault_aware", {**TOLERANCE, **FAULT_AWARE_ONLY})):
    rows(tool, {key: Case(TOLERANCE_SMALL + tuple(row[0]), (row[1],) if isinstance(row[1], str) else tuple(row[1]))
                for key, row in table.items()})
rows("python -m bench.tolerance", {"Ctrl-C while training": Case(
    ("--neurons", "100", "--train-images", "3000", "--no-progress", "--out", "tol"), ("interrupted",),
    status=130, how="sigint")})

rows("python -m bench.perf_snn", {
    "--sizes 0": (["--sizes", "0"], ["--sizes", "'0'"]),
    "--sizes beyond the maximum": (["--sizes", "100,20000"], ["--sizes", "'20000'"]),
    "--sizes empty item": (["--sizes", "100,,400"], ["--sizes", "empty item"]),
    "--sizes repeated": (["--sizes", "100,100"], ["--sizes", "repeats"]),
    "--sizes text": (["--sizes", "big"], ["--sizes", "'big'"]),
    "--epochs 0": (["--epochs", "0"], ["--epochs", "'0'"]),
    "--seed negative": (["--seed", "-1"], ["--seed", "'-1'"]),
    "--val-images 1": (["--val-images", "1"], "--val-images 1"),
    "--val-images all the training images": (["--val-images", "4000"], "--val-images 4000"),
    "--train-images 0": (["--train-images", "0"], ["--train-images", "'0'"]),
    "--train-images beyond the training set": (["--train-images", "4001"], "--train-images 4001"),
    "--images beyond the test set": (["--images", "1001"], "--images 1001"),
    "--ref-images beyond the test set": (["--ref-images", "2000"], "--ref-images 2000"),
    "--ref-train beyond the training images": (["--train-images", "5", "--ref-train", "6"], "--ref-train 6"),
    "--threads 0": (["--threads", "0"], ["--threads", "'0'"]),
    "--dt 0": (["--dt", "0"], ["--dt", "'0'"]),
    "--dt not dividing the presentation": (["--dt", "0.3"], ["--dt 0.3", "multiple"]),
    "--json under a plain file": (["--json", "<afile>/p.json"], ["--json", "afile is a file"]),
    "--json a directory": (["--json", "<a_dir>"], ["--json <a_dir>", "directory"]),
    "--json unwritable": (["--json", "/proc/p.json"], ["--json", "/proc", "not writable"]),
    "--data unknown": (["--data", "mnist"], ["--data", "'mnist'"]),
    "--idx-dir missing": (["--idx-dir", "nodir"], ["--idx-dir nodir", "not a directory"]),
})


# ------------------------------------------------------------------------------------------
# Running a row
# ------------------------------------------------------------------------------------------

def _snapshot(where: Path) -> dict:
    """Every file and directory below ``where`` with a digest of its content."""
    out = {}
    for p in sorted(where.rglob("*")):
        rel = str(p.relative_to(where))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _module(tool: str):
    name = tool.split()[-1]
    spec = importlib.util.find_spec(name)
    return importlib.import_module(name + ".__main__" if spec.submodule_search_locations else name)


def _env(case: Case) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "SPARKXD_TRACEBACK"}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **case.env)
    return env


def _call(tool: str, argv: list, case: Case, capfd) -> tuple[int, str, str]:
    main = _module(tool).main
    capfd.readouterr()
    try:
        status = main(argv)
    except SystemExit as exc:          # a CLI that exits instead of returning its status
        status = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:        # noqa: BLE001 -- what a user would see as a traceback
        out, err = capfd.readouterr()
        pytest.fail(f"{tool} {argv}: raised {type(exc).__name__}: {exc}\n{err}")
    out, err = capfd.readouterr()
    return status, out, err


def _run(tool: str, argv: list, case: Case, where: Path) -> tuple[int, str, str]:
    cmd = [sys.executable, *tool.split()[1:], *argv]
    if case.how == "run":
        r = subprocess.run(cmd, cwd=where, env=_env(case), capture_output=True, text=True, timeout=300)
        return r.returncode, r.stdout, r.stderr
    if case.how == "pipe":                 # the reader has gone before the first line: | head -0
        p = subprocess.Popen(cmd, cwd=where, env=_env(case), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.close()
        err = p.stderr.read().decode()
        return p.wait(timeout=300), "", err
    assert case.how == "sigint"
    p = subprocess.Popen(cmd, cwd=where, env=_env(case), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and p.poll() is None and not _busy(p.pid):
        time.sleep(0.1)
    assert p.poll() is None, f"{tool} ended before it could be interrupted: {p.stderr.read().decode()}"
    os.killpg(p.pid, signal.SIGINT)          # Ctrl-C reaches the whole process group
    err = p.stderr.read().decode()
    return p.wait(timeout=120), "", err


def _busy(pid: int, cpu_s: float = 3.0) -> bool:
    """True once ``pid`` has used ``cpu_s`` seconds of CPU (its imports take well under that),
    counted over the process and its children."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    ticks = sum(int(x) for x in fields[11:15])        # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK") >= cpu_s


def _params() -> list:
    params = []
    for cid in sorted(CASES):
        reason = KNOWN_FAILURES.get(cid)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(cid, marks=marks, id=cid))
    return params


@pytest.mark.parametrize("cid", _params())
def test_catalogue(cid, tmp_path, monkeypatch, capfd):
    tool, case = CASES[cid]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPARKXD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SPARKXD_TRACEBACK", raising=False)
    made: set = set()
    argv = [_fill(a, tmp_path, made) for a in case.args]
    expect = [_fill(e, tmp_path, made) for e in case.expect]
    before = _snapshot(tmp_path)
    if case.how == "call":
        status, out, err = _call(tool, argv, case, capfd)
    else:
        status, out, err = _run(tool, argv, case, tmp_path)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert status == case.status, f"exit status {status}, expected {case.status}; stderr:\n{err}"
    if case.how == "pipe":
        assert not any("rror" in line for line in lines), err
        return
    if case.status == 130:             # what the run said before Ctrl-C may stand above the one line
        lines = lines[-1:]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    prefix = f"{tool}: interrupted" if case.status == 130 else f"{tool}: error: "
    assert line.startswith(prefix), line
    for text in expect:
        assert text in line, f"{text!r} not in {line!r}"
    assert out == "" or case.status == 130, out
    after = _snapshot(tmp_path)
    if case.status == 130:            # an interrupted run may have filled the cache, never the outputs
        after = {k: v for k, v in after.items() if not k.startswith("cache")}
        before = {k: v for k, v in before.items() if not k.startswith("cache")}
    assert after == before, f"written or changed: {sorted(set(after.items()) ^ set(before.items()))}"


def test_catalogue_size():
    """The issue asks for at least 120 bad inputs across the command lines."""
    assert len(CASES) >= 120, len(CASES)
    assert set(KNOWN_FAILURES) <= set(CASES)


# ------------------------------------------------------------------------------------------
# Good inputs the rules also promise: a byte-order mark is accepted everywhere text is read
# ------------------------------------------------------------------------------------------

def test_byte_order_mark_is_accepted(tmp_path, capfd):
    from dramsim.__main__ import main as dramsim_main
    from dramsim.checker import main as checker_main
    from dramsim.spec import load_spec
    from traces import read_logical, read_trace
    sample = (SAMPLES / "mixed_2000.trace").read_bytes()
    bom_trace = tmp_path / "bom.trace"
    bom_trace.write_bytes(BOM + sample)
    assert np.array_equal(read_trace(bom_trace), read_trace(SAMPLES / "mixed_2000.trace"))
    gz = tmp_path / "bom.trace.gz"
    gz.write_bytes(gzip.compress(BOM + sample, mtime=0))
    assert np.array_equal(read_trace(gz), read_trace(SAMPLES / "mixed_2000.trace"))
    for name in ("random_500.ramulator", "stride_500.dramsim3", "hotrows_300.ramulator2"):
        p = tmp_path / name
        p.write_bytes(BOM + (SAMPLES / name).read_bytes())
        assert np.array_equal(read_trace(p), read_trace(SAMPLES / name)), name
    logical = tmp_path / "bom.logical.txt"
    logical.write_bytes(BOM + (SAMPLES / "logical_small.txt").read_bytes())
    got, meta = read_logical(logical)
    want, want_meta = read_logical(SAMPLES / "logical_small.txt")
    assert np.array_equal(got, want) and meta == want_meta
    spec = tmp_path / "bom.toml"
    spec.write_bytes(BOM + (SPECS / "DDR3L-1600K.toml").read_bytes())
    assert load_spec(spec).timing == load_spec("DDR3L-1600K").timing
    log = tmp_path / "run.csv"
    assert dramsim_main(["--trace", str(bom_trace), "--spec", str(spec), "--command-log", str(log),
                         "--quiet"]) == 0
    bom_log = tmp_path / "bom.csv"
    bom_log.write_bytes(BOM + log.read_bytes())
    capfd.readouterr()
    assert checker_main([str(bom_log), "--trace", str(bom_trace)]) == 0, capfd.readouterr().err


def test_decreasing_cycles_are_never_written(tmp_path):
    """The writer refuses what the reader would refuse; "no cycle" in dramsim3 (which needs one
    on every line) is written as the latest cycle before it, the same for the controller."""
    from traces import REQUEST_DTYPE, read_trace, write_trace
    r = np.zeros(3, REQUEST_DTYPE)
    r["arrive"] = [4, 2, 9]
    with pytest.raises(ValueError, match="record 1: arrival cycle 2 is earlier"):
        write_trace(tmp_path / "t.trace", r)
    assert not list(tmp_path.iterdir())
    r["arrive"] = [-1, 7, -1]
    write_trace(tmp_path / "t.dramsim3", r)
    assert read_trace(tmp_path / "t.dramsim3")["arrive"].tolist() == [0, 7, 7]


# ------------------------------------------------------------------------------------------
# Local folders named like the packages never shadow them (README install: pip install -e .)
# ------------------------------------------------------------------------------------------

SHADOW_RUNS = [
    ["dramsim", "--trace", "traces/my.trace", "--quiet", "--json", "dramsim/out.json"],
    ["dramsim.checker", "--help"],
    ["traces", "info", "traces/my.trace"],
    ["traces", "convert", "traces/my.trace", "traces/my.npy"],
    ["traces.generate", "seq", "--n", "5", "--out", "traces/gen.trace"],
    ["bench.sweep_mappings", "--help"],
    ["bench.perf_dram", "--n", "500", "--engines", "fast", "--traces", "seq"],
    ["bench.perf_inject", "--help"],
    ["bench.perf_sweep", "--help"],
    ["bench.fit_spatial", "--help"],
    ["bench.spice_vdd_timing", "--help"],
    ["bench.fast_engine_stream", "--help"],
    ["bench.tolerance", "--help"],
    ["bench.fault_aware", "--help"],
    ["bench.perf_snn", "--help"],
    ["snn", "--help"],
]


@pytest.mark.parametrize("argv", SHADOW_RUNS, ids=lambda a: " ".join(a[:2]))
def test_local_folders_do_not_shadow_the_packages(argv, tmp_path):
    """Run from a folder holding the user's own traces/, snn/, mapping/, bench/ and dramsim/
    folders (data, no __init__.py), as `python -m` puts the working directory first on sys.path.
    The packages must still be the installed ones: no PYTHONPATH here, on purpose."""
    for name in ("traces", "snn", "mapping", "bench", "dramsim"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text("my own files\n")
    shutil.copyfile(SAMPLES / "mixed_2000.trace", tmp_path / "traces" / "my.trace")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARKXD_TRACEBACK")}
    r = subprocess.run([sys.executable, "-m", *argv], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr


def test_ctrl_c_inside_a_half_built_object_still_prints_one_line():
    """A Ctrl-C can land while a library builds an object whose __del__ then fails (llvmlite's
    PassBuilder, seen in the sweep's Ctrl-C row under load): its "Exception ignored" traceback
    must not follow the one line, and the hook is restored afterwards. (In a subprocess:
    pytest replaces the unraisable hook in its own.)"""
    program = """if True:
        import sys
        from traces.cli import run

        class HalfBuilt:
            def __del__(self):
                raise AttributeError("no attribute '_as_parameter_'")

        def body(argv):
            held = HalfBuilt()
            raise KeyboardInterrupt

        hook = sys.unraisablehook
        status = run("python -m my.tool", body, [])
        assert sys.unraisablehook is hook
        sys.exit(status)
    """
    r = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip() == "python -m my.tool: interrupted (nothing was written)", r.stderr


def test_ctrl_c_swallowed_by_a_ctypes_callback_is_still_an_interrupt():
    """Ctrl-C inside a ctypes callback (llvmlite's object-cache hook while numba compiles, seen
    on a cold first run) cannot be raised there; Python reports it as "Exception ignored". It
    must end the tool as an interrupt: one line, exit 130."""
    program = """if True:
        import ctypes, sys, time
        from traces.cli import run

        CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))

        def compare(a, b):
            raise KeyboardInterrupt

        def body(argv):
            values = (ctypes.c_int * 4)(4, 3, 2, 1)
            ctypes.CDLL(None).qsort(values, 4, ctypes.sizeof(ctypes.c_int), CMP(compare))
            for _ in range(1000):          # the deferred interrupt arrives at the next steps
                time.sleep(0.001)
            return 0

        sys.exit(run("python -m my.tool", body, []))
    """
    r = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip() == "python -m my.tool: interrupted (nothing was written)", r.stderr


def _run_program(program: str, where: Path) -> subprocess.CompletedProcess:
    """``program`` run as ``python -m`` runs our tools (with ``-c`` CPython exits before it looks
    at its Ctrl-C mark) and with Ctrl-C's default disposition, so a process that kills itself
    with SIGINT shows as status -2 (this runner may have SIGINT ignored or blocked)."""
    def default_sigint():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    (where / "my_tool.py").write_text(program)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "my_tool"], capture_output=True, text=True, timeout=60,
                          preexec_fn=default_sigint, cwd=where, env=env)


_SWALLOW = """if True:
        import ctypes, sys, time
        from traces.cli import run

        CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))

        def raise_interrupt(a, b):
            raise KeyboardInterrupt

        def in_callback(compare):      # Ctrl-C raised in here is swallowed ("Exception ignored")
            values = (ctypes.c_int * 4)(4, 3, 2, 1)
            ctypes.CDLL(None).qsort(values, 4, ctypes.sizeof(ctypes.c_int), CMP(compare))
    """


def test_error_after_a_swallowed_ctrl_c_is_reported_as_the_interrupt(tmp_path):
    """llvmlite fails with "no compiled object yet" right after its callback swallowed the
    Ctrl-C, before the interrupt is delivered again: an interrupt (130), not an error (1)."""
    r = _run_program(_SWALLOW + """
        def body(argv):
            in_callback(raise_interrupt)
            raise RuntimeError("no compiled object yet for <Library 'normalise_columns'>")

        sys.exit(run("python -m my.tool", body, []))
    """, tmp_path)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip() == "python -m my.tool: interrupted (nothing was written)", r.stderr


def test_ctrl_c_swallowed_again_when_delivered_again_still_interrupts(tmp_path):
    """The re-delivered Ctrl-C can land in a callback too (seen: llvmlite's object-cache hook
    after a finalizer swallowed the first); it is delivered once more, not lost."""
    r = _run_program(_SWALLOW + """
        first = [True]

        def slow_once(a, b):           # the first re-delivery lands while this sleeps
            if first[0]:
                first[0] = False
                time.sleep(0.2)
            return a[0] - b[0]

        def body(argv):
            in_callback(raise_interrupt)
            in_callback(slow_once)
            for _ in range(2000):      # the next re-delivery lands here
                time.sleep(0.001)
            return 0

        sys.exit(run("python -m my.tool", body, []))
    """, tmp_path)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip() == "python -m my.tool: interrupted (nothing was written)", r.stderr


def test_ctrl_c_caught_after_leaving_exec_of_a_string_exits_130_not_by_sigint(tmp_path):
    """CPython marks a KeyboardInterrupt that leaves exec() of a string (numba builds code that
    way) as unhandled even though run() handles it, and would end the process by SIGINT (-2)."""
    r = _run_program("""if True:
        import sys
        from traces.cli import run

        def body(argv):
            exec("raise KeyboardInterrupt")

        sys.exit(run("python -m my.tool", body, []))
    """, tmp_path)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip() == "python -m my.tool: interrupted (nothing was written)", r.stderr


def test_ctrl_c_delivered_again_after_the_body_finished_is_dropped(tmp_path):
    """A body that finishes while a swallowed Ctrl-C waits to be delivered again keeps its
    status, and the late interrupt neither escapes nor prints (no traceback, no -2)."""
    r = _run_program(_SWALLOW + """
        def body(argv):
            in_callback(raise_interrupt)
            print("done")
            return 0

        status = run("python -m my.tool", body, [])
        time.sleep(0.1)                # a late delivery would land here, outside run()
        print("after", status)
        sys.exit(status)
    """, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["done", "after", "0"] and r.stderr == "", (r.stdout, r.stderr)


def test_the_two_copies_of_the_interrupt_module_match():
    """snn and traces import nothing of ours, so each holds the same Ctrl-C module: kept equal."""
    assert (ROOT / "snn" / "interrupts.py").read_bytes() == (ROOT / "traces" / "interrupts.py").read_bytes()
