"""Address mapping: decode/encode are exact inverses; bit layouts match hand-computed ones."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dramsim.address import DEFAULT_SCHEME, AddressError, AddressMapper, parse_scheme
from dramsim.spec import load_spec
from traces.records import REQUEST_DTYPE

DDR3L = load_spec("DDR3L-1600K", channels=2, ranks=2)
DDR4 = load_spec("DDR4-2400R", channels=2, ranks=2)
# every permutation of the five fields without Bg, plus a few with an explicit Bg
SCHEMES = ["".join(p) for p in itertools.permutations(["Ch", "Ra", "Ba", "Ro", "Co"])]
SCHEMES_BG = ["RoBgBaRaCoCh", "BgRoBaRaCoCh", "ChRaBgBaRoCo", "RoCoBaRaChBg"]


def test_default_scheme_layout_by_hand():
    """DDR3L, 2 ch, 2 ranks, RoBaRaCoCh: offset 6 bits (64 B), Ch 1, Co 7 (1024/8), Ra 1, Ba 3, Ro 16."""
    m = AddressMapper(DDR3L)
    assert m.scheme == DEFAULT_SCHEME
    ch, co, ra, ba, ro = 1, 0b1010101, 1, 0b101, 0xBEEF
    addr = (ro << 18) | (ba << 15) | (ra << 14) | (co << 7) | (ch << 6) | 0b101101  # + burst offset
    d = m.decode(np.array([addr], dtype=np.uint64))
    got = (d.channel[0], d.rank[0], d.bankgroup[0], d.bank[0], d.row[0], d.column[0])
    assert got == (ch, ra, 0, ba, ro, co)
    assert d.subarray[0] == ro >> 13  # 8 subarrays: top 3 of 16 row bits
    assert d.addr[0] == addr & ~63
    assert d.is_write[0] == False and d.arrive[0] == -1  # noqa: E712
    assert m.address_bits == 34 and m.capacity_bytes == DDR3L.org.capacity_bytes


def test_ddr4_bg_goes_below_ba():
    m = AddressMapper(DDR4, "RoBaRaCoCh")
    assert m.order == ("Ro", "Ba", "Bg", "Ra", "Co", "Ch")
    assert m.shifts["Bg"] + 2 == m.shifts["Ba"]


def test_ddr3_bg_is_zero_width():
    m = AddressMapper(DDR3L, "RoBgBaRaCoCh")
    assert m.widths["Bg"] == 0
    d = m.decode(np.arange(0, 2**20, 64, dtype=np.uint64))
    assert not d.bankgroup.any()


@pytest.mark.parametrize("bad,msg", [("RoBaRaCo", "missing field"), ("RoBaRaCoChCh", "appears twice"),
                                     ("RoBaRaCoChXx", "unknown field"), ("robaracoch", "expected a sequence"),
                                     ("", "expected a sequence")])
def test_bad_schemes(bad, msg):
    with pytest.raises(ValueError, match=msg):
        parse_scheme(bad)


def test_beyond_capacity_names_first_index():
    m = AddressMapper(DDR3L)
    addrs = np.array([0, 64, m.capacity_bytes, m.capacity_bytes + 64], dtype=np.uint64)
    with pytest.raises(AddressError, match=r"^request 2: address 0x400000000 is beyond"):
        m.decode(addrs)


def test_negative_address():
    with pytest.raises(AddressError, match="request 1: negative"):
        AddressMapper(DDR3L).decode(np.array([0, -64]))


def test_encode_out_of_range():
    m = AddressMapper(DDR3L)
    with pytest.raises(AddressError, match=r"index 1: column 128 outside 0\.\.127"):
        m.encode(0, 0, 0, 0, 0, [0, 128])


def test_decode_records_and_flags():
    rec = np.zeros(3, dtype=REQUEST_DTYPE)
    rec["addr"] = [0, 4096, 8192]
    rec["is_write"] = [False, True, False]
    rec["arrive"] = [5, 6, -1]
    d = AddressMapper(DDR4).decode_records(rec)
    assert d.is_write.tolist() == [False, True, False] and d.arrive.tolist() == [5, 6, -1]
    assert len(d) == 3 and d.row.dtype == np.int32


def test_consecutive_bursts_alternate_channels_default():
    """RoBaRaCoCh puts the channel right above the offset: consecutive lines alternate channels."""
    d = AddressMapper(DDR3L).decode(np.arange(8, dtype=np.uint64) * 64)
    assert d.channel.tolist() == [0, 1] * 4
    assert d.column.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


coords = st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 3), st.integers(0, 3),
                   st.integers(0, 65535), st.integers(0, 127))


@settings(max_examples=60, deadline=None)
@given(scheme=st.sampled_from(SCHEMES + SCHEMES_BG), values=st.lists(coords, min_size=1, max_size=20))
def test_encode_decode_inverse_ddr4(scheme, values):
    m = AddressMapper(DDR4, scheme)
    ch, ra, bg, ba, ro, co = (np.array(v) for v in zip(*values))
    addr = m.encode(ch, ra, bg, ba, ro, co)
    d = m.decode(addr)
    for got, want in zip((d.channel, d.rank, d.bankgroup, d.bank, d.row, d.column), (ch, ra, bg, ba, ro, co)):
        assert np.array_equal(got, want)
    assert np.array_equal(d.addr, addr)


@settings(max_examples=60, deadline=None)
@given(scheme=st.sampled_from(SCHEMES),
       addrs=st.lists(st.integers(0, DDR3L.org.capacity_bytes - 1), min_size=1, max_size=20))
def test_decode_encode_inverse_ddr3l(scheme, addrs):
    m = AddressMapper(DDR3L, scheme)
    a = np.array(addrs, dtype=np.uint64)
    d = m.decode(a)
    back = m.encode(d.channel, d.rank, d.bankgroup, d.bank, d.row, d.column)
    assert np.array_equal(back, a & ~np.uint64(63))
    assert np.array_equal(d.subarray, d.row // DDR3L.org.rows_per_subarray)


def test_mapping_is_a_bijection_on_a_small_device():
    """Exhaustive: every burst of a tiny device maps to distinct coordinates for every scheme."""
    import dataclasses
    small = dataclasses.replace(DDR4, org=dataclasses.replace(DDR4.org, rows=16, columns=32, subarrays=4))
    n_bursts = small.org.capacity_bytes // small.org.burst_bytes
    addrs = np.arange(n_bursts, dtype=np.uint64) * np.uint64(64)
    for scheme in SCHEMES[:20] + SCHEMES_BG:
        m = AddressMapper(small, scheme)
        d = m.decode(addrs)
        flat = d.flat_bank(2, 4, 4).astype(np.int64) * 16 * 4 + d.row * 4 + d.column
        assert np.unique(flat).size == n_bursts
