"""Placement policies: every word placed exactly once, within capacity, where the policy promises."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dramsim.address import AddressMapper
from dramsim.spec import load_spec
from mapping.layout import CapacityError, Layout, layout_from_slots, total_bursts, words_per_burst
from mapping.policies import (PlacementRequest, drmap_slots, get_policy, place, policy_names,
                              register_policy)

SPEC = load_spec("DDR3-1600K")
MAPPER = AddressMapper(SPEC)
N_SA = SPEC.org.channels * SPEC.org.ranks * SPEC.org.banks * SPEC.org.subarrays
BUILTIN = ("linear", "drmap", "sparkxd", "random")


def _small_spec(rows=64, ranks=1, channels=1, subarrays=8):
    """A tiny memory (same geometry otherwise) so capacity limits are reachable in a test."""
    return replace(load_spec("DDR3-1600K", channels=channels, ranks=ranks),
                   org=replace(SPEC.org, rows=rows, ranks=ranks, channels=channels, subarrays=subarrays))


def _request(spec, n_words, word_bits, seed=0, region_ber=None, tol=None, mapper=None):
    if region_ber is None:
        n_sa = spec.org.channels * spec.org.ranks * spec.org.banks * spec.org.subarrays
        region_ber = np.zeros(n_sa)
        tol = 0.0
    return PlacementRequest(spec=spec, mapper=mapper or AddressMapper(spec), n_words=n_words,
                            word_bits=word_bits, shape=None, seed=seed, region_ber=region_ber,
                            tolerable_ber=tol)


def _check_placed_once(layout: Layout, spec):
    """Every word has its own (burst, bit range) inside the memory's bounds."""
    o = spec.org
    assert layout.n_words == len(layout.row)
    for name, bound in (("channel", o.channels), ("rank", o.ranks), ("bankgroup", o.bankgroups),
                        ("bank", o.banks_per_group), ("subarray", o.subarrays), ("row", o.rows),
                        ("column", o.columns_per_row_bursts)):
        arr = getattr(layout, name)
        assert arr.min() >= 0 and arr.max() < bound, name
    assert np.array_equal(layout.subarray, layout.row // o.rows_per_subarray)
    assert layout.bit_offset.min() >= 0
    assert layout.bit_offset.max() + layout.word_bits <= o.burst_bytes * 8
    assert np.all(layout.bit_offset % layout.word_bits == 0)
    key = layout.burst_ids(spec) * (o.burst_bytes * 8) + layout.bit_offset
    assert np.unique(key).size == layout.n_words
    # the address mapping sends each word's burst to exactly the coordinates the layout claims
    addr = layout.addresses(AddressMapper(spec))
    d = AddressMapper(spec).decode(addr, np.zeros(len(addr), bool), np.full(len(addr), -1, np.int64))
    for name in ("channel", "rank", "bankgroup", "bank", "row", "column", "subarray"):
        assert np.array_equal(getattr(d, name), getattr(layout, name)), name


def test_builtin_policies_are_registered():
    assert set(BUILTIN) <= set(policy_names())


@settings(max_examples=25, deadline=None)
@given(policy=st.sampled_from(BUILTIN), word_bits=st.sampled_from([8, 16, 32]),
       n_words=st.integers(1, 20000), seed=st.integers(0, 2**31))
def test_every_word_placed_exactly_once(policy, word_bits, n_words, seed):
    spec = _small_spec(rows=64, ranks=2)
    layout = place(policy, _request(spec, n_words, word_bits, seed=seed))
    _check_placed_once(layout, spec)


def test_linear_is_contiguous_from_address_zero():
    n, bits = 5000, 16
    layout = place("linear", _request(SPEC, n, bits, mapper=MAPPER))
    i = np.arange(n, dtype=np.uint64)
    byte = i * np.uint64(bits // 8)
    assert np.array_equal(layout.addresses(MAPPER), byte // np.uint64(64) * np.uint64(64))
    assert np.array_equal(layout.bit_offset, (np.arange(n) * bits) % 512)


def test_drmap_order_row_then_bank_then_subarray():
    """Hand-derived DRMap order for an 8-bank, 8-subarray DDR3 rank: chunk k of one row's bursts
    goes to bank k % 8 and subarray (k // 8) % 8; the row inside the subarray advances last."""
    o = SPEC.org
    cols = o.columns_per_row_bursts
    n_chunks = o.banks * o.subarrays + 3
    slots = drmap_slots(SPEC, n_chunks * cols)
    k = np.arange(n_chunks * cols) // cols
    assert np.array_equal(slots["column"], np.arange(n_chunks * cols) % cols)
    assert np.array_equal(slots["bank"], k % 8)
    assert np.array_equal(slots["row"] // o.rows_per_subarray, (k // 8) % 8)
    assert np.array_equal(slots["row"] % o.rows_per_subarray, k // 64)


def test_drmap_uses_ranks_after_subarrays():
    spec = _small_spec(rows=64, ranks=2)
    o = spec.org
    slots = drmap_slots(spec, 2 * o.banks * o.subarrays * o.columns_per_row_bursts)
    half = o.banks * o.subarrays * o.columns_per_row_bursts
    assert np.all(slots["rank"][:half] == 0) and np.all(slots["rank"][half:] == 1)
    assert np.all(slots["row"] % o.rows_per_subarray == 0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), tol_q=st.floats(0.05, 0.95), word_bits=st.sampled_from([8, 32]))
def test_sparkxd_never_uses_a_region_above_the_tolerable_ber(seed, tol_q, word_bits):
    spec = _small_spec(rows=64)
    n_sa = spec.org.banks * spec.org.subarrays
    rng = np.random.default_rng(seed)
    ber = 10.0 ** rng.uniform(-9, -2, n_sa)
    tol = float(np.quantile(ber, tol_q))
    safe = ber <= tol
    sa_words = spec.org.rows_per_subarray * spec.org.columns_per_row_bursts * words_per_burst(spec, word_bits)
    n_words = int(rng.integers(1, max(2, int(safe.sum()) * sa_words)))
    layout = place("sparkxd", _request(spec, n_words, word_bits, region_ber=ber, tol=tol))
    _check_placed_once(layout, spec)
    used = np.unique(layout.flat_subarray(spec))
    assert np.all(ber[used] <= tol)
    assert layout.info["subarrays_safe"] == int(safe.sum())
    assert layout.info["subarrays_excluded"] == n_sa - int(safe.sum())
    assert layout.info["max_ber_used"] <= tol


def test_sparkxd_fails_clearly_when_safe_regions_are_too_small():
    spec = _small_spec(rows=64)
    n_sa = spec.org.banks * spec.org.subarrays
    ber = np.full(n_sa, 1e-3)
    ber[:2] = 0.0
    sa_words = spec.org.rows_per_subarray * spec.org.columns_per_row_bursts * 16
    place("sparkxd", _request(spec, 2 * sa_words, 32, region_ber=ber, tol=1e-6))  # fits exactly
    with pytest.raises(CapacityError, match="do not fit"):
        place("sparkxd", _request(spec, 2 * sa_words + 1, 32, region_ber=ber, tol=1e-6))


def test_sparkxd_needs_an_error_profile():
    req = PlacementRequest(SPEC, MAPPER, 100, 32)
    with pytest.raises(ValueError, match="tolerable BER"):
        place("sparkxd", req)


@pytest.mark.parametrize("policy", BUILTIN)
def test_too_many_weights_is_a_clear_error(policy):
    spec = _small_spec(rows=16)
    cap_words = total_bursts(spec) * words_per_burst(spec, 32)
    place(policy, _request(spec, cap_words, 32))
    with pytest.raises(CapacityError):
        place(policy, _request(spec, cap_words + 1, 32))


def test_random_is_seeded():
    a = place("random", _request(SPEC, 3000, 32, seed=1, mapper=MAPPER))
    b = place("random", _request(SPEC, 3000, 32, seed=1, mapper=MAPPER))
    c = place("random", _request(SPEC, 3000, 32, seed=2, mapper=MAPPER))
    assert np.array_equal(a.addresses(MAPPER), b.addresses(MAPPER))
    assert not np.array_equal(a.addresses(MAPPER), c.addresses(MAPPER))


def test_word_size_must_divide_the_burst():
    with pytest.raises(ValueError, match="does not divide"):
        place("drmap", _request(SPEC, 10, 24, mapper=MAPPER))


def test_user_policy_registry():
    def reversed_drmap(req):
        """DRMap slots used back to front: a user policy built from the public helpers."""
        need = -(-req.n_words // words_per_burst(req.spec, req.word_bits))
        slots = {k: v[::-1] for k, v in drmap_slots(req.spec, need).items()}
        return layout_from_slots(req.spec, "reversed", req.n_words, req.word_bits, slots)

    register_policy("test_reversed", reversed_drmap, replace=True)
    layout = place("test_reversed", _request(SPEC, 4096, 32, mapper=MAPPER))
    _check_placed_once(layout, SPEC)
    with pytest.raises(ValueError, match="already registered"):
        register_policy("test_reversed", reversed_drmap)
    with pytest.raises(ValueError, match="unknown placement policy"):
        get_policy("no_such_policy")
