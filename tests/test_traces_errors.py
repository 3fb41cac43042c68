"""Every reader error is a TraceError (a ValueError) reading exactly 'file:line: reason'."""
import gzip
import pickle

import numpy as np
import pytest

import traces
import traces.reader
from traces import TraceError, iter_trace_chunks, read_trace, write_logical
from traces.records import LOGICAL_ACCESS_DTYPE


def error_of(path, **kwargs):
    with pytest.raises(TraceError) as info:
        read_trace(path, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("text, line, reason", [
    ("0x40 R\nzz W\n", 2, "bad address 'zz' (expected 0x-hex or decimal)"),
    ("0x40 R\n0x W\n", 2, "bad address '0x' (expected 0x-hex or decimal)"),
    ("0x10000000000000000 R\n", 1, "bad address '0x10000000000000000' (does not fit in 64 bits)"),
    ("# header\n\n0x40 X\n", 3, "bad R/W field 'X' (expected R or W)"),
    ("0x40 R\n-5 0x80 W\n", 2, "bad cycle '-5' (expected a non-negative decimal integer)"),
    ("1e3 0x80 W\n", 1, "bad cycle '1e3' (expected a non-negative decimal integer)"),
    ("0x40 R 7 9\n", 1, "expected '[cycle] addr R|W' (2 or 3 fields), got 4 field(s)"),
    ("0x40\n", 1, "expected '[cycle] addr R|W' (2 or 3 fields), got 1 field(s)"),
    ("0x40 R\n0x80 W\n0xq0 R", 3, "bad address '0xq0' (expected 0x-hex or decimal)"),
])
def test_native_errors_name_file_line_and_field(tmp_path, text, line, reason):
    path = tmp_path / "t.trace"
    path.write_text(text)
    assert error_of(path) == f"{path}:{line}: {reason}"


@pytest.mark.parametrize("name, text, line, reason", [
    ("t.dramsim3", "0x40 READ 1\n0x80 RD 2\n", 2, "bad READ/WRITE field 'RD' (expected READ "
                                                  "or WRITE)"),
    ("t.dramsim3", "0x40 READ\n", 1, "expected '0xADDR READ|WRITE cycle' (3 fields), "
                                     "got 2 field(s)"),
    ("t.dramsim3", "0x40 READ x\n", 1, "bad cycle 'x' (expected a non-negative decimal "
                                       "integer)"),
    ("t.ramulator", "0x40 R\n5 0x80 R\n", 2, "expected '0xADDR R|W' (2 fields), got 3 field(s)"),
    ("t.ramulator2", "LD 0x40\nXX 0x80\n", 2, "bad LD/ST field 'XX' (expected LD or ST)"),
    ("t.ramulator2", "LD 0x40\nST g\n", 2, "bad address 'g' (expected 0x-hex or decimal)"),
])
def test_other_text_formats(tmp_path, name, text, line, reason):
    path = tmp_path / name
    path.write_text(text)
    assert error_of(path) == f"{path}:{line}: {reason}"


def test_format_override_reports_against_that_format(tmp_path):
    path = tmp_path / "t.trace"
    path.write_text("0x40 R\n")
    assert error_of(path, format="ramulator2") == \
        f"{path}:1: bad LD/ST field '0x40' (expected LD or ST)"


def test_line_numbers_across_blocks_and_in_gzip(tmp_path, monkeypatch):
    monkeypatch.setattr(traces.reader, "BLOCK_BYTES", 16)
    lines = ["0x40 R"] * 40 + ["# comment", "", "0x40 Q"] + ["0x40 W"] * 5
    path = tmp_path / "t.trace.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines))
    assert error_of(path) == f"{path}:43: bad R/W field 'Q' (expected R or W)"
    with pytest.raises(TraceError, match=r":43: bad R/W"):
        list(iter_trace_chunks(path, chunk_requests=3))


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   \n# another"])
def test_empty_trace(tmp_path, text):
    path = tmp_path / "e.trace"
    path.write_text(text)
    assert error_of(path) == f"{path}:0: empty trace: no requests"
    with pytest.raises(TraceError, match="empty trace"):
        list(iter_trace_chunks(path))


def test_empty_npy(tmp_path):
    path = tmp_path / "e.npy"
    np.save(path, np.zeros(0, traces.REQUEST_DTYPE))
    assert error_of(path) == f"{path}:0: empty trace: no requests"


def test_missing_file_and_directory(tmp_path):
    for name in ("absent.trace", "absent.npy", "absent.npz", "absent.trace.gz"):
        path = tmp_path / name
        assert error_of(path) == f"{path}:0: no such file"
    assert error_of(tmp_path) == f"{tmp_path}:0: is a directory, not a trace file"
    with pytest.raises(TraceError, match=":0: no such file"):
        iter_trace_chunks(tmp_path / "absent.trace")          # at the call, not later


def test_corrupt_binary_files(tmp_path):
    bad_npy = tmp_path / "b.npy"
    bad_npy.write_bytes(b"not numpy at all")
    assert error_of(bad_npy).startswith(f"{bad_npy}:0: not a valid .npy file")
    bad_npz = tmp_path / "b.npz"
    bad_npz.write_bytes(b"PK\x03\x04 truncated")
    assert error_of(bad_npz).startswith(f"{bad_npz}:0: not a valid .npz file")
    bad_gz = tmp_path / "b.trace.gz"
    bad_gz.write_bytes(gzip.compress(b"0x40 R\n" * 100)[:-30])
    assert error_of(bad_gz).startswith(f"{bad_gz}:0: corrupt compressed data")


def test_npy_with_wrong_fields(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.arange(4, dtype=np.uint64))
    assert error_of(path).startswith(f"{path}:0: expected a 1-D structured array")
    np.save(path, np.zeros(2, [("addr", np.uint64)]))
    assert error_of(path) == f"{path}:0: missing field 'is_write' (have: addr)"
    arr = np.zeros(2, [("addr", np.int64), ("is_write", np.int8)])
    arr["is_write"] = [0, 2]
    np.save(path, arr)
    assert error_of(path) == f"{path}:0: field 'is_write' of record 1 is 2 (allowed: 0..1)"


def test_logical_trace_is_not_a_request_trace(tmp_path):
    acc = np.zeros(1, LOGICAL_ACCESS_DTYPE)
    acc["n_words"] = 1
    write_logical(tmp_path / "w.txt", acc)
    write_logical(tmp_path / "w.npz", acc)
    assert error_of(tmp_path / "w.txt").startswith(
        f"{tmp_path / 'w.txt'}:1: this is a logical weight-access trace")
    assert error_of(tmp_path / "w.npz").startswith(
        f"{tmp_path / 'w.npz'}:0: this is a logical weight-access trace")


def test_trace_error_is_a_picklable_value_error():
    err = TraceError("f.trace", 3, "bad address 'zz'")
    assert isinstance(err, ValueError)
    assert (err.path, err.line, err.reason) == ("f.trace", 3, "bad address 'zz'")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == "f.trace:3: bad address 'zz'"
