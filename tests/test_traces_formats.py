"""Request-trace readers and writers: round trips, equivalences, detection, chunking."""
import gzip
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import traces.reader
from traces import (FORMATS, REQUEST_DTYPE, detect_format, iter_trace_chunks, read_trace,
                    write_trace)
from traces.formats import LAYOUTS
from traces.textscan import FieldError, LineError, scan_block

EXT = {"native": ".trace", "ramulator": ".ramulator", "dramsim3": ".dramsim3",
       "ramulator2": ".ramulator2", "npy": ".npy", "npz": ".npz"}
TEXT = ("native", "ramulator", "dramsim3", "ramulator2")
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def make(addrs, writes, arrives=None):
    r = np.empty(len(addrs), REQUEST_DTYPE)
    r["addr"] = addrs
    r["is_write"] = writes
    r["arrive"] = -1 if arrives is None else arrives
    return r


def expected_after(fmt, r):
    """What a format can keep: ramulator/ramulator2 have no arrival times; dramsim3 always
    has one (arrive -1 is written as cycle 0, the same for the controller)."""
    out = r.copy()
    if fmt in ("ramulator", "ramulator2"):
        out["arrive"] = -1
    if fmt == "dramsim3":     # "no cycle" is written as the latest cycle before it (0 at first)
        before = np.maximum.accumulate(np.concatenate([[0], np.maximum(out["arrive"], 0)]))[:-1]
        out["arrive"] = np.where(out["arrive"] < 0, before, out["arrive"])
    return out


def _nondecreasing(rows):
    """Rows with their arrival cycles (those present) sorted: a trace's cycles never decrease."""
    addrs, writes, arrives = zip(*rows)
    arrives = np.array(arrives, np.int64)
    timed = arrives >= 0
    arrives[timed] = np.sort(arrives[timed])
    return make(addrs, writes, arrives)


requests = st.lists(
    st.tuples(st.integers(0, 2**64 - 1), st.booleans(),
              st.one_of(st.just(-1), st.integers(0, 2**63 - 1))),
    min_size=1, max_size=60,
).map(_nondecreasing)


def write_quiet(path, r, fmt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_trace(path, r, fmt)


@SETTINGS
@given(r=requests, fmt=st.sampled_from(FORMATS), gz=st.booleans())
def test_round_trip_every_format(tmp_path, r, fmt, gz):
    gz = gz and fmt in TEXT
    path = tmp_path / ("t" + EXT[fmt] + (".gz" if gz else ""))
    assert write_quiet(path, r, fmt) == r.size
    assert detect_format(path) == fmt
    got = read_trace(path)
    assert got.dtype == REQUEST_DTYPE
    np.testing.assert_array_equal(got, expected_after(fmt, r))
    # the format override gives the same, and the file is what format says (gzip or not)
    np.testing.assert_array_equal(read_trace(path, format=fmt), got)
    with open(path, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == gz


@SETTINGS
@given(r=requests, fmt=st.sampled_from(TEXT))
def test_trailing_newline_does_not_matter(tmp_path, r, fmt):
    path = tmp_path / ("t" + EXT[fmt])
    write_quiet(path, r, fmt)
    text = path.read_bytes()
    assert text.endswith(b"\n")
    bare = tmp_path / ("bare" + EXT[fmt])
    bare.write_bytes(text.rstrip(b"\n"))
    np.testing.assert_array_equal(read_trace(bare), read_trace(path))
    crlf = tmp_path / ("crlf" + EXT[fmt])
    crlf.write_bytes(text.replace(b"\n", b"\r\n"))
    np.testing.assert_array_equal(read_trace(crlf), read_trace(path))


def test_text_forms_hand_written(tmp_path):
    """Hex and decimal, case, comments, blank lines, optional cycles, extra whitespace."""
    path = tmp_path / "hand.trace"
    path.write_text("# a comment\n\n  0x40 R\n5 128 w   # decimal address, lower-case op\n"
                    "\t7\t0XFF\tW\n0x0000000000000000000080 r\n18446744073709551615 R\n")
    got = read_trace(path)
    np.testing.assert_array_equal(
        got, make([0x40, 128, 0xFF, 0x80, 2**64 - 1], [False, True, True, False, False],
                  [-1, 5, 7, -1, -1]))
    d3 = tmp_path / "x.trace"
    d3.write_text("0x1F40 read 12\n# c\n0x2000 WRITE 13")
    assert detect_format(d3) == "dramsim3"
    np.testing.assert_array_equal(read_trace(d3), make([0x1F40, 0x2000], [0, 1], [12, 13]))
    r2 = tmp_path / "y.trace"
    r2.write_text("LD 0x100\nst 4096\n")
    assert detect_format(r2) == "ramulator2"
    np.testing.assert_array_equal(read_trace(r2), make([0x100, 4096], [0, 1]))


def test_written_text_matches_the_published_formats(tmp_path):
    r = make([0x1F40, 0x40], [False, True], [12, -1])
    lines = {}
    for fmt in TEXT:
        path = tmp_path / ("t" + EXT[fmt])
        write_quiet(path, r, fmt)
        lines[fmt] = path.read_text().splitlines()
    assert lines["native"] == ["12 0x1f40 R", "0x40 W"]
    assert lines["ramulator"] == ["0x1f40 R", "0x40 W"]
    assert lines["dramsim3"] == ["0x1f40 READ 12", "0x40 WRITE 12"]     # no cycle: the latest before
    assert lines["ramulator2"] == ["LD 0x1f40", "ST 0x40"]


def test_dropping_arrival_times_warns(tmp_path):
    r = make([64], [False], [3])
    with pytest.warns(UserWarning, match="no arrival times"):
        write_trace(tmp_path / "a.ramulator", r)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_trace(tmp_path / "b.ramulator", make([64], [False]))   # nothing dropped


@SETTINGS
@given(r=requests, fmt=st.sampled_from(FORMATS), chunk=st.integers(1, 25),
       block=st.integers(1, 200))
def test_chunked_equals_whole(tmp_path, monkeypatch, r, fmt, chunk, block):
    monkeypatch.setattr(traces.reader, "BLOCK_BYTES", block)   # lines split across blocks
    path = tmp_path / ("t" + EXT[fmt])
    write_quiet(path, r, fmt)
    chunks = list(iter_trace_chunks(path, chunk_requests=chunk))
    assert all(c.size == chunk for c in chunks[:-1]) and 1 <= chunks[-1].size <= chunk
    np.testing.assert_array_equal(np.concatenate(chunks), read_trace(path))
    np.testing.assert_array_equal(read_trace(path), expected_after(fmt, r))


def test_writer_streams_an_iterable_of_chunks(tmp_path):
    r = make(np.arange(100) * 64, np.arange(100) % 3 == 0, np.arange(100))
    for fmt in FORMATS:
        path = tmp_path / ("s" + EXT[fmt])
        write_quiet(path, (r[i:i + 7] for i in range(0, 100, 7)), fmt)
        np.testing.assert_array_equal(read_trace(path), expected_after(fmt, r))


def test_write_is_atomic_and_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "keep.trace"
    path.write_text("0x40 R\n")

    def chunks():
        yield make([128], [True])
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_trace(path, chunks(), "native")
    assert path.read_text() == "0x40 R\n"          # old content intact
    assert os.listdir(tmp_path) == ["keep.trace"]   # no temporary file left
    with pytest.raises(ValueError, match="empty"):
        write_trace(tmp_path / "e.trace", make([], []), "native")
    assert os.listdir(tmp_path) == ["keep.trace"]


def test_writer_rejects_bad_arrays(tmp_path):
    bad = np.zeros(2, [("addr", np.int64), ("is_write", np.bool_)])
    bad["addr"] = [64, -64]
    with pytest.raises(ValueError, match="field 'addr' of record 1"):
        write_trace(tmp_path / "x.trace", bad)
    with pytest.raises(ValueError, match="missing field 'is_write'"):
        write_trace(tmp_path / "x.trace", np.zeros(2, [("addr", np.uint64)]))
    with pytest.raises(ValueError, match="unknown trace format"):
        write_trace(tmp_path / "x.trace", make([64], [0]), "csv")
    with pytest.raises(ValueError, match="cannot be gzipped"):
        write_trace(tmp_path / "x.npy.gz", make([64], [0]))
    assert os.listdir(tmp_path) == []


def test_npy_with_other_integer_widths_and_no_arrive(tmp_path):
    src = np.zeros(3, [("is_write", np.uint8), ("addr", np.uint32), ("extra", np.float32)])
    src["addr"] = [1, 2, 3]
    src["is_write"] = [0, 1, 1]
    np.save(tmp_path / "s.npy", src)
    np.testing.assert_array_equal(read_trace(tmp_path / "s.npy"), make([1, 2, 3], [0, 1, 1]))


def test_same_requests_give_same_bytes(tmp_path):
    r = make(np.arange(50) * 64, np.arange(50) % 2 == 0, np.arange(50))
    for name in ("a.npz", "a.trace.gz", "a.npy"):
        write_trace(tmp_path / name, r)
        first = (tmp_path / name).read_bytes()
        write_trace(tmp_path / name, r)
        assert (tmp_path / name).read_bytes() == first


def test_gzip_is_recognised_by_content(tmp_path):
    path = tmp_path / "noext"
    with gzip.open(path, "wb") as f:
        f.write(b"0x40 READ 3\n")
    assert detect_format(path) == "dramsim3"
    np.testing.assert_array_equal(read_trace(path), make([0x40], [0], [3]))


# --- the vectorised scanner against the reference per-line parser --------------------------

TOKENS = ["0x40", "0X1fF", "64", "0", "007", "0x", "zz", "-1", "1.5", "0x1g",
          "18446744073709551615", "18446744073709551616", "0x" + "f" * 16, "0x1" + "0" * 16,
          "0x000000000000000000001", "9" * 19, "12345678901234567890", "R", "w", "W", "x",
          "READ", "write", "LD", "st", "RD", "#", "# c", "\u00e9"]
lines = st.lists(st.sampled_from(TOKENS), max_size=4).flatmap(
    lambda toks: st.sampled_from([" ", "\t", "  ", " \r"]).map(lambda sep: sep.join(toks)))


def reference(buf, layout):
    """Per-line reference: records, or (line index, reason) of the first bad line."""
    out = []
    for i, line in enumerate(buf.split(b"\n")):
        try:
            rec = layout.parse_line(line)
        except FieldError as err:
            return ("error", i, err.reason)
        if rec is not None:
            out.append(tuple(rec.get(n, -1) for n in layout.dtype.names))
    return out


@settings(max_examples=300, deadline=None)
@given(body=st.lists(lines, min_size=1, max_size=6), fmt=st.sampled_from(TEXT),
       newline=st.booleans())
def test_vectorised_scanner_agrees_with_reference(body, fmt, newline):
    layout = LAYOUTS[fmt]
    buf = "\n".join(body).encode() + (b"\n" if newline else b"")
    want = reference(buf, layout)
    try:
        records, n_lines = scan_block(buf, layout)
    except LineError as err:
        assert want == ("error", err.line_index, err.reason)
        return
    assert n_lines == buf.count(b"\n") + (0 if buf.endswith(b"\n") or not buf else 1)
    got = [tuple(int(x) for x in rec) for rec in records.tolist()]
    assert got == want
