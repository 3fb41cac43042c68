"""Fault maps and error models (dramsim.errors.fault_map / models)."""
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from dramsim.errors import ErrorParams, FaultMap, flip_masks_numpy, region_ber, voltron_curve
from dramsim.spec import Organization

# Small device (fast, many regions): 2 ranks x 4 banks x 4 subarrays, 512 rows, 64 bursts/row.
ORG = Organization(channels=1, ranks=2, bankgroups=1, banks_per_group=4, subarrays=4, rows=512,
                   columns=512, device_width=8, devices_per_rank=8, burst_length=8)
FLAT = ErrorParams(bank_spread=0.0, subarray_spread=0.0)


def popcount(masks) -> np.ndarray:
    m = np.asarray(masks, dtype=np.uint64)
    return np.unpackbits(m.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def stratified_locations(org, per_region, seed, word_bits=32):
    """``per_region`` random word slots in every (rank, bank, subarray) region."""
    rng = np.random.default_rng(seed)
    parts = []
    for ch in range(org.channels):
        for rk in range(org.ranks):
            for bk in range(org.banks):
                for sa in range(org.subarrays):
                    row = sa * org.rows_per_subarray + rng.integers(0, org.rows_per_subarray, per_region)
                    parts.append(np.stack([np.full(per_region, ch), np.full(per_region, rk),
                                           np.full(per_region, bk // org.banks_per_group),
                                           np.full(per_region, bk % org.banks_per_group),
                                           np.full(per_region, sa), row,
                                           rng.integers(0, org.columns_per_row_bursts, per_region),
                                           rng.integers(0, org.burst_bytes * 8 // word_bits, per_region) * word_bits]))
    a = np.concatenate(parts, axis=1)
    return SimpleNamespace(**dict(zip(("channel", "rank", "bankgroup", "bank", "subarray", "row",
                                       "column", "bit_offset"), a)))


def grid_locations(rows, columns, offsets, org=ORG, rank=0, bank=0):
    r, c, o = np.meshgrid(rows, columns, offsets, indexing="ij")
    r, c, o = r.reshape(-1), c.reshape(-1), o.reshape(-1)
    z = np.zeros_like(r)
    return SimpleNamespace(channel=z, rank=z + rank, bankgroup=z, bank=z + bank,
                           subarray=r // org.rows_per_subarray, row=r, column=c, bit_offset=o)


def line_overdispersion(params, p, group):
    """Variance added by weak/strong lines when ``group`` bits of a word share a line."""
    wf = params.effective_weak_fraction
    pw = min(1.0, p * params.concentration / wf)
    ps = (p - wf * pw) / (1 - wf)
    return group * (wf * pw ** 2 + (1 - wf) * ps ** 2 - p ** 2)


@pytest.mark.parametrize("model", [0, 1, 2, 3])
def test_average_ber_equals_requested(model):
    """Flips / bits within 5 sigma of the requested BER (variance: binomial plus, for models 1/2,
    the spread due to which sampled lines are weak)."""
    ber, n_words = 1e-3, 128_000
    loc = stratified_locations(ORG, n_words // (ORG.ranks * ORG.banks * ORG.subarrays), seed=11)
    n = loc.row.size
    words = np.random.default_rng(5).integers(0, 2 ** 32, n, dtype=np.uint64)
    fm = FaultMap.build(ORG, model, ber, seed=7, params=FLAT)
    flips = int(popcount(fm.flip_masks(loc, 32, words)).sum())
    bits = 32 * n
    if model == 3:
        r = FLAT.ratio_1to0
        ones = int(popcount(words).sum())
        expect = ones * 2 * ber * r / (1 + r) + (bits - ones) * 2 * ber / (1 + r)
        var = expect
    else:
        expect = bits * ber
        group = {0: 1, 1: 1, 2: ORG.device_width}[model]
        var = expect + (0 if model == 0 else bits * line_overdispersion(FLAT, ber, group))
    assert abs(flips - expect) < 5 * np.sqrt(var), (flips, expect, np.sqrt(var))
    if model == 3:   # random data: half ones, so the mean is the requested BER too
        assert abs(flips - bits * ber) < 5 * np.sqrt(var) + abs(expect - bits * ber)


def test_average_ber_with_spatial_variation():
    ber = 2e-3
    params = ErrorParams(bank_spread=0.7, subarray_spread=0.7)
    rb = region_ber(ORG, ber, params, seed=3)
    assert rb.shape == (ORG.channels, ORG.ranks, ORG.banks, ORG.subarrays)
    assert rb.mean() == pytest.approx(ber, rel=1e-12)
    assert rb.max() / rb.min() > 3                       # some regions clearly weaker
    per_region = 2000
    loc = stratified_locations(ORG, per_region, seed=2)
    fm = FaultMap.build(ORG, 0, ber, seed=3, params=params)
    assert np.array_equal(fm.region_ber, rb)
    assert np.array_equal(fm.location_ber(loc), rb[loc.channel, loc.rank, loc.bankgroup * ORG.banks_per_group
                                                   + loc.bank, loc.subarray])
    flips = popcount(fm.flip_masks(loc, 32))
    bits = 32 * loc.row.size
    assert abs(flips.sum() - bits * ber) < 5 * np.sqrt(bits * ber)
    # and flips follow the region BERs: per-region counts within 5 sigma of their own expectation
    counts = flips.reshape(-1, per_region).sum(axis=1)
    exp = rb.reshape(-1) * 32 * per_region
    assert np.all(np.abs(counts - exp) < 5 * np.sqrt(exp) + 3)


def test_caller_supplied_region_ber():
    rb = np.zeros((ORG.channels, ORG.ranks, ORG.banks, ORG.subarrays))
    rb[0, 1, 2, 3] = 0.5                                   # only one region fails
    fm = FaultMap(ORG, 0, 0.5 / rb.size, region_ber=rb.reshape(-1))
    assert fm.region_ber.shape == rb.shape
    loc = stratified_locations(ORG, 50, seed=4)
    hit = fm.flip_masks(loc, 32) != 0
    region = (loc.rank == 1) & (loc.bank == 2) & (loc.subarray == 3)
    assert hit[region].any() and not hit[~region].any()
    with pytest.raises(ValueError, match="region_ber must hold"):
        FaultMap(ORG, 0, 1e-3, region_ber=np.zeros(5))


def test_region_ber_seeded_and_homogeneous_without_spread():
    a = region_ber(ORG, 1e-4, ErrorParams(), seed=1)
    assert np.array_equal(a, region_ber(ORG, 1e-4, ErrorParams(), seed=1))
    assert not np.array_equal(a, region_ber(ORG, 1e-4, ErrorParams(), seed=2))
    assert np.allclose(region_ber(ORG, 1e-4, FLAT, seed=1), 1e-4, rtol=1e-12)


@pytest.mark.parametrize("model", [1, 2])
def test_errors_concentrate_on_weak_lines(model):
    """All cells of a line share its probability; weak lines get the stated share of flips."""
    p = replace(FLAT, weak_fraction=0.05, concentration=0.8)
    ber = 1e-3
    fm = FaultMap.build(ORG, model, ber, seed=4, params=p)
    rows = np.arange(0, ORG.rows_per_subarray)            # one subarray: bitlines span its rows
    loc = grid_locations(rows, np.arange(8), np.arange(0, 512, 32))
    prob = fm.cell_probabilities(loc, 32).reshape(rows.size, 8, 16, 32)
    wf = p.effective_weak_fraction
    assert abs(wf - 0.05) <= 2.0 ** -17
    pw, ps = ber * 0.8 / wf, (ber - wf * ber * 0.8 / wf) / (1 - wf)
    assert np.all(np.isclose(prob, pw, rtol=1e-12) | np.isclose(prob, ps, rtol=1e-12))
    if model == 1:   # same bitline (column, bit) in every row -> identical along the row axis
        assert np.all(prob == prob[:1])
        weak_share = np.isclose(prob[0], pw).mean()
    else:            # same wordline: the 8 bits of one device in a row share it
        dev = prob.reshape(rows.size, 8, 16, 4, 8)
        assert np.all(dev == dev[..., :1])
        weak_share = np.isclose(dev[..., 0], pw).mean()
    assert 0.02 < weak_share < 0.09                          # ~ weak_fraction of the lines
    flips = fm.flip_masks(loc, 32)
    bits = ((flips[:, None] >> np.arange(32, dtype=np.uint64)) & np.uint64(1)).astype(bool).reshape(prob.shape)
    on_weak = np.isclose(prob, pw)
    exp_weak, exp_all = prob[on_weak].sum(), prob.sum()
    assert abs(bits[on_weak].sum() - exp_weak) < 5 * np.sqrt(exp_weak)
    assert abs(bits.sum() - exp_all) < 5 * np.sqrt(exp_all)
    # the weak lines (a few % of the cells) hold most of the errors
    assert bits[on_weak].sum() / bits.sum() > 0.6 and on_weak.mean() < 0.1


def test_model3_asymmetry():
    r, ber = 4.0, 2e-3
    fm = FaultMap.build(ORG, 3, ber, seed=9, params=replace(FLAT, ratio_1to0=r))
    loc = stratified_locations(ORG, 1000, seed=6)
    n = loc.row.size
    ones = np.full(n, 0xFFFFFFFF, dtype=np.uint64)
    zeros = np.zeros(n, dtype=np.uint64)
    f1 = popcount(fm.flip_masks(loc, 32, ones)).sum()
    f0 = popcount(fm.flip_masks(loc, 32, zeros)).sum()
    e1, e0 = 32 * n * 2 * ber * r / (1 + r), 32 * n * 2 * ber / (1 + r)
    assert abs(f1 - e1) < 5 * np.sqrt(e1) and abs(f0 - e0) < 5 * np.sqrt(e0)
    assert 2.5 < f1 / f0 < 6.5
    # with ones stored, a cell flips 1->0 exactly when its hash is below p10: the cells that
    # fail with zeros stored are a subset of those failing with ones (same uniform, lower bar)
    m1, m0 = fm.flip_masks(loc, 32, ones), fm.flip_masks(loc, 32, zeros)
    assert np.all(m0 & ~m1 == 0)


def test_persistent_same_flips_every_read_transient_differs():
    loc = stratified_locations(ORG, 300, seed=1)
    for model in range(4):
        words = np.random.default_rng(0).integers(0, 2 ** 32, loc.row.size, dtype=np.uint64)
        fm = FaultMap.build(ORG, model, 5e-3, seed=21)
        a = fm.flip_masks(loc, 32, words, read_index=0)
        assert a.any()
        assert np.array_equal(a, fm.flip_masks(loc, 32, words, read_index=5))
        assert np.array_equal(a, FaultMap.build(ORG, model, 5e-3, seed=21).flip_masks(loc, 32, words))
        assert not np.array_equal(a, FaultMap.build(ORG, model, 5e-3, seed=22).flip_masks(loc, 32, words))
        ft = FaultMap.build(ORG, model, 5e-3, seed=21, persistent=False)
        t0, t1 = ft.flip_masks(loc, 32, words, read_index=0), ft.flip_masks(loc, 32, words, read_index=1)
        assert not np.array_equal(t0, t1)
        assert np.array_equal(t0, ft.flip_masks(loc, 32, words, read_index=0))


@pytest.mark.parametrize("model", [0, 1, 2, 3])
@pytest.mark.parametrize("word_bits", [8, 16, 32])
def test_numba_kernel_matches_numpy_reference(model, word_bits):
    loc = stratified_locations(ORG, 40, seed=model * 10 + word_bits, word_bits=word_bits)
    words = np.random.default_rng(3).integers(0, 2 ** word_bits, loc.row.size, dtype=np.uint64)
    for persistent, read, sel in ((True, 0, None), (False, 3, 0b1010_0110)):
        fm = FaultMap.build(ORG, model, 0.02, seed=5, persistent=persistent,
                            params=ErrorParams(weak_fraction=0.1, concentration=0.7))
        a = fm.flip_masks(loc, word_bits, words, read_index=read, bit_select=sel)
        b = flip_masks_numpy(fm, loc, word_bits, words, read_index=read, bit_select=sel)
        assert np.array_equal(a, b)
        if sel is not None:
            assert np.all(a & ~np.uint64(sel) == 0)


def test_ber_from_vdd_and_curve():
    c = voltron_curve("B")
    fm = FaultMap.build(ORG, 0, vdd=1.05, curve=c, seed=1)
    assert fm.ber == c.ber(1.05) and fm.vdd == 1.05
    assert FaultMap.build(ORG, 0, vdd=1.2, curve=c).region_ber.max() == 0
    with pytest.raises(ValueError, match="outside the measured range"):
        FaultMap.build(ORG, 0, vdd=0.9, curve=c)
    with pytest.raises(ValueError, match="exactly one"):
        FaultMap.build(ORG, 0)


def test_bad_locations_and_arguments():
    loc = grid_locations(np.arange(4), np.arange(2), [0, 32])
    fm = FaultMap.build(ORG, 0, 1e-3)
    bad = SimpleNamespace(**{**vars(loc), "column": loc.column + ORG.columns_per_row_bursts})
    with pytest.raises(ValueError, match="location field column"):
        fm.flip_masks(bad, 32)
    bad = SimpleNamespace(**{**vars(loc), "subarray": loc.subarray + 1})
    with pytest.raises(ValueError, match="subarray .* does not match row"):
        fm.flip_masks(bad, 32)
    bad = SimpleNamespace(**{**vars(loc), "bit_offset": loc.bit_offset + 8})
    with pytest.raises(ValueError, match="not a multiple"):
        fm.flip_masks(bad, 32)
    with pytest.raises(ValueError, match="needs the stored words"):
        FaultMap.build(ORG, 3, 1e-3).flip_masks(loc, 32)
    with pytest.raises(ValueError, match="unknown error model"):
        FaultMap.build(ORG, 7, 1e-3)
    with pytest.raises(ValueError, match="weak_fraction"):
        ErrorParams(weak_fraction=0)
