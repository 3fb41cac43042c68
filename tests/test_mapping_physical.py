"""Logical weight-access stream -> physical requests, checked against a plain-Python reference."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dramsim.address import AddressMapper
from dramsim.spec import load_spec
from mapping.layout import layout_from_slots
from mapping.physical import logical_to_requests, write_requests
from mapping.policies import PlacementRequest, place
from traces.records import LOGICAL_ACCESS_DTYPE, REQUEST_DTYPE

SPEC = load_spec("DDR3-1600K")
MAPPER = AddressMapper(SPEC)


def _stream(rng, rows, cols, n):
    s = np.zeros(n, dtype=LOGICAL_ACCESS_DTYPE)
    s["time_ns"] = np.sort(rng.integers(0, 10_000, n))
    s["row"] = rng.integers(0, rows, n)
    s["first_word"] = rng.integers(0, cols, n)
    s["n_words"] = 1 + (rng.integers(0, cols, n) % (cols - s["first_word"]))
    s["image"] = 0
    return s


def _reference(stream, layout, spec, mapper):
    """One access at a time: the addresses of its words' bursts, each burst once, in word order."""
    addr = layout.addresses(mapper)
    cols = layout.shape[1]
    out = []
    for acc in stream:
        seen = []
        start = acc["row"] * cols + acc["first_word"]
        for w in range(start, start + acc["n_words"]):
            if addr[w] not in seen:
                seen.append(addr[w])
        out.extend(seen)
    return np.array(out, dtype=np.uint64)


def _scattered(spec, n_words, word_bits, seed):
    """A layout whose bursts are not contiguous in word order (exercises the duplicate merge)."""
    rng = np.random.default_rng(seed)
    wpb = 512 // word_bits
    n_bursts = -(-n_words // wpb)
    perm = rng.permutation(n_bursts * wpb)[:n_words]  # word i -> (burst perm//wpb, slot perm%wpb)
    base = place("drmap", PlacementRequest(spec, MAPPER, n_bursts * wpb, word_bits))
    layout = layout_from_slots(spec, "scattered", n_words, word_bits,
                               {k: getattr(base, k)[::wpb] for k in
                                ("channel", "rank", "bankgroup", "bank", "row", "column")})
    for k in ("channel", "rank", "bankgroup", "bank", "row", "column", "subarray"):
        getattr(layout, k)[:] = getattr(base, k)[::wpb][perm // wpb]
    layout.bit_offset[:] = (perm % wpb) * word_bits
    return layout


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), policy=st.sampled_from(["linear", "drmap", "random", "scattered"]),
       word_bits=st.sampled_from([8, 16, 32]), rows=st.integers(1, 12), cols=st.integers(1, 150))
def test_matches_reference(seed, policy, word_bits, rows, cols):
    rng = np.random.default_rng(seed)
    if policy == "scattered":
        layout = _scattered(SPEC, rows * cols, word_bits, seed)
        layout.shape = (rows, cols)
    else:
        req = PlacementRequest(SPEC, MAPPER, rows * cols, word_bits, (rows, cols), seed=seed)
        layout = place(policy, req)
    stream = _stream(rng, rows, cols, int(rng.integers(0, 40)))
    req = logical_to_requests(stream, layout, SPEC, MAPPER)
    assert req.dtype == REQUEST_DTYPE
    assert np.array_equal(req["addr"], _reference(stream, layout, SPEC, MAPPER))
    assert not req["is_write"].any() and np.all(req["arrive"] == -1)


def test_timed_arrivals_follow_time_ns():
    layout = place("drmap", PlacementRequest(SPEC, MAPPER, 4 * 100, 32, (4, 100)))
    s = np.zeros(3, dtype=LOGICAL_ACCESS_DTYPE)
    s["time_ns"] = [1000, 1000, 1500]
    s["row"] = [0, 1, 2]
    s["n_words"] = [100, 16, 1]
    req = logical_to_requests(s, layout, SPEC, MAPPER, arrival="timed")
    # 100 fp32 words = 400 B = 7 bursts (not burst-aligned: row 0 starts at 0 -> bursts 0..6)
    # row 1 starts at word 100 = byte 400 (burst 6) -> words 100..115 span bursts 6 and 7
    assert len(req) == 7 + 2 + 1
    assert list(req["arrive"]) == [0] * 9 + [int(500 / SPEC.tck_ns)]


def test_out_of_range_access_is_rejected():
    layout = place("linear", PlacementRequest(SPEC, MAPPER, 10 * 10, 32, (10, 10)))
    s = np.zeros(1, dtype=LOGICAL_ACCESS_DTYPE)
    s["row"], s["first_word"], s["n_words"] = 3, 5, 6
    with pytest.raises(ValueError, match="outside the 10x10"):
        logical_to_requests(s, layout, SPEC, MAPPER)
    with pytest.raises(ValueError, match="arrival"):
        logical_to_requests(s[:0], layout, SPEC, MAPPER, arrival="later")


def test_write_requests_store_each_burst_once():
    layout = place("drmap", PlacementRequest(SPEC, MAPPER, 1000, 8, (10, 100)))
    w = write_requests(layout, SPEC, MAPPER)
    assert w["is_write"].all() and len(w) == -(-1000 // 64)
    assert np.unique(w["addr"]).size == len(w)


@pytest.mark.parametrize("arrival", ["saturation", "timed"])
def test_kept_requests_give_back_the_same_requests(arrival):
    """The sweep keeps a layout's requests compact (addresses, arrivals only when timed) and
    builds them with the layout's addresses and burst ids computed once: the requests it
    simulates are exactly those logical_to_requests makes on its own."""
    from bench._sweep_point import _compact, as_requests
    rng = np.random.default_rng(5)
    layout = place("drmap", PlacementRequest(SPEC, MAPPER, 30 * 50, 32, (30, 50)))
    stream = _stream(rng, 30, 50, 200)
    alone = logical_to_requests(stream, layout, SPEC, MAPPER, arrival=arrival)
    shared = logical_to_requests(stream, layout, SPEC, MAPPER, arrival=arrival,
                                 word_addr=layout.addresses(MAPPER), burst_ids=layout.burst_ids(SPEC))
    kept = _compact(shared)
    assert (kept[1] is None) == (arrival == "saturation")
    rebuilt = as_requests(kept)
    assert rebuilt.dtype == REQUEST_DTYPE and rebuilt.tobytes() == alone.tobytes()
