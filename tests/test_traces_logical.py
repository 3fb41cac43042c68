"""Logical weight-access traces: text and npz forms, metadata, errors, kind detection."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traces import (LOGICAL_ACCESS_DTYPE, TraceError, is_logical_trace, read_logical,
                    write_logical, write_trace)
from traces.records import REQUEST_DTYPE

I32, I64 = 2**31 - 1, 2**63 - 1
accesses = st.lists(
    st.tuples(st.integers(0, I64), st.integers(0, I32), st.integers(0, I64),
              st.integers(1, I32), st.integers(0, I32)),
    min_size=1, max_size=40,
).map(lambda rows: np.array(rows, LOGICAL_ACCESS_DTYPE))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
                         st.floats(allow_nan=False), st.text(max_size=12))
metadata = st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,8}", fullmatch=True),
                           st.one_of(json_scalars, st.lists(json_scalars, max_size=3)),
                           max_size=4)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(acc=accesses, meta=metadata, name=st.sampled_from(["w.txt", "w.txt.gz", "w.npz"]))
def test_round_trip(tmp_path, acc, meta, name):
    path = tmp_path / name
    assert write_logical(path, acc, meta) == acc.size
    assert is_logical_trace(path)
    got, got_meta = read_logical(path)
    assert got.dtype == LOGICAL_ACCESS_DTYPE
    np.testing.assert_array_equal(got, acc)
    assert got_meta == meta


def test_text_form_and_hand_written_metadata(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("# sparkxd-logical v1\n# dataset=mnist\n# n_images=2\n# just a comment\n"
                    "0 3 0 100 0\n\n1000 7 100 50 1  # trailing comment\n# late=ignored\n"
                    "2000 8 0 1 1")
    acc, meta = read_logical(path)
    assert meta == {"dataset": "mnist", "n_images": 2}   # plain text kept as a string
    assert acc.tolist() == [(0, 3, 0, 100, 0), (1000, 7, 100, 50, 1), (2000, 8, 0, 1, 1)]
    out = tmp_path / "again.txt"
    write_logical(out, acc, meta)
    assert out.read_text().splitlines() == [
        "# sparkxd-logical v1", '# dataset="mnist"', "# n_images=2",
        "0 3 0 100 0", "1000 7 100 50 1", "2000 8 0 1 1"]


def test_is_logical_trace_tells_the_kinds_apart(tmp_path):
    req = np.zeros(1, REQUEST_DTYPE)
    for name in ("r.trace", "r.npy", "r.npz", "r.trace.gz"):
        write_trace(tmp_path / name, req)
        assert not is_logical_trace(tmp_path / name)
    with pytest.raises(TraceError, match=":0: no such file"):
        is_logical_trace(tmp_path / "absent.txt")


@pytest.mark.parametrize("text, line, reason", [
    ("0 1 2 3 4\n", 1, "missing header '# sparkxd-logical v1' (not a logical trace)"),
    ("# sparkxd-logical v2\n0 1 2 3 4\n", 1,
     "unsupported logical trace header '# sparkxd-logical v2' (expected '# sparkxd-logical v1')"),
    ("# sparkxd-logical v1\n# a=1\n# a=2\n0 1 2 3 4\n", 3, "duplicate metadata key 'a'"),
    ("# sparkxd-logical v1\n0 1 2 3 4\n5 x 2 3 4\n", 3,
     "bad row 'x' (expected a non-negative decimal integer)"),
    ("# sparkxd-logical v1\n0 1 2 0 4\n", 2, "bad n_words '0' (must be in [1, 2147483647])"),
    ("# sparkxd-logical v1\n-1 1 2 3 4\n", 2,
     "bad time_ns '-1' (expected a non-negative decimal integer)"),
    ("# sparkxd-logical v1\n0 2147483648 2 3 4\n", 2,
     "bad row '2147483648' (must be in [0, 2147483647])"),
    ("# sparkxd-logical v1\n0 1 2 3\n", 2,
     "expected 'time_ns row first_word n_words image' (5 fields), got 4 field(s)"),
    ("# sparkxd-logical v1\n# meta=1\n", 0, "empty trace: no accesses"),
])
def test_errors(tmp_path, text, line, reason):
    path = tmp_path / "w.txt"
    path.write_text(text)
    with pytest.raises(TraceError) as info:
        read_logical(path)
    assert str(info.value) == f"{path}:{line}: {reason}"


def test_writer_rejects_bad_input(tmp_path):
    acc = np.zeros(2, LOGICAL_ACCESS_DTYPE)
    with pytest.raises(ValueError, match="field 'n_words' of record 0"):
        write_logical(tmp_path / "w.txt", acc)
    acc["n_words"] = 1
    with pytest.raises(ValueError, match="bad metadata key"):
        write_logical(tmp_path / "w.txt", acc, {"two words": 1})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        write_logical(tmp_path / "w.txt", acc, {"x": object()})
    with pytest.raises(ValueError, match="empty"):
        write_logical(tmp_path / "w.txt", acc[:0])
    with pytest.raises(ValueError, match="cannot be gzipped"):
        write_logical(tmp_path / "w.npz.gz", acc)
    assert list(tmp_path.iterdir()) == []
