"""The simpy reference engine against independent truths: textbook latencies from the spec's
timings, row-buffer behaviour of characteristic traces, refresh cadence, forwarding, counter
invariants, and the independent checker (dramsim/checker.py) on hypothesis-generated traces.
(The cycle-by-cycle oracle comparison lives in test_engine_simpy_naive.py.)"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dramsim import engine_simpy
from dramsim.address import AddressMapper
from dramsim.commands import ACT, PDE, PDX, PRE, PREA, RD, RDA, REF, SRE, SRX, WR, WRA
from dramsim.config import ControllerConfig
from dramsim.spec import bundled_spec_names, load_spec

SPECS = bundled_spec_names()


def requests(spec, coords, is_write=None, arrive=None):
    """DecodedRequests for (channel, rank, bankgroup, bank, row, column) tuples."""
    cols = np.array(coords, dtype=np.int64).reshape(-1, 6).T
    m = AddressMapper(spec)
    return m.decode(m.encode(*cols), is_write, arrive)


def run(spec, d, config=ControllerConfig(), log=True):
    return engine_simpy.run(spec, config, d, command_log=log)


def no_refresh(**kw):
    return ControllerConfig(refresh=False, **kw)


def latencies(counters):
    """Per-read latencies (cycles), from the histogram, in ascending order."""
    hist = counters.read_latency_hist.sum(axis=0)
    return [int(i) for i in np.repeat(np.arange(hist.size), hist)]


# -------------------------------------------------------------------------------------------
# Textbook latencies of isolated requests
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPECS)
def test_isolated_miss_hit_conflict_latencies(name):
    spec = load_spec(name)
    t = spec.timing
    far = 4 * (t.nRC + t.nRFC + t.nCL + t.nWR)            # spacing: no request sees another
    row2 = spec.org.rows // 2 + 1
    d = requests(spec, [(0, 0, 0, 1, 5, 3), (0, 0, 0, 1, 5, 4), (0, 0, 0, 1, row2, 0)],
                 arrive=[0, far, 2 * far])
    c, log = run(spec, d, no_refresh())
    miss = t.nRCD + t.nCL + t.nBL
    hit = t.nCL + t.nBL
    conflict = t.nRP + t.nRCD + t.nCL + t.nBL
    assert latencies(c) == sorted([miss, hit, conflict])
    assert (c.row_misses.sum(), c.row_hits.sum(), c.row_conflicts.sum()) == (1, 1, 1)
    # The command sequence: ACT RD | RD | PRE ACT RD, at the earliest legal cycles.
    assert [(int(r["cycle"]), int(r["command"])) for r in log] == [
        (0, ACT), (t.nRCD, RD), (far, RD), (2 * far, PRE), (2 * far + t.nRP, ACT),
        (2 * far + t.nRP + t.nRCD, RD)]
    assert c.total_cycles == 2 * far + conflict


@pytest.mark.parametrize("name", SPECS)
def test_closed_page_isolated_reads_are_misses(name):
    spec = load_spec(name)
    t = spec.timing
    far = 4 * (t.nRC + t.nRFC + t.nCL + t.nWR)
    d = requests(spec, [(0, 0, 0, 0, 7, 0), (0, 0, 0, 0, 7, 1)], arrive=[0, far])
    c, log = run(spec, d, no_refresh(page_policy="closed"))
    assert latencies(c) == [t.nRCD + t.nCL + t.nBL] * 2
    assert list(log["command"]) == [ACT, RDA, ACT, RDA]


@pytest.mark.parametrize("name", SPECS)
def test_isolated_write_then_read_of_another_bank(name):
    spec = load_spec(name)
    t = spec.timing
    d = requests(spec, [(0, 0, 0, 0, 3, 0), (0, 0, 0, 1, 3, 0)], is_write=[True, False], arrive=[0, 1])
    c, log = run(spec, d, no_refresh())
    # Banks 0 and 1 share bank group 0: the _L values apply. The write's ACT issues at 0 (write
    # mode: no reads yet), its WR at nRCD; the read's ACT at max(1, nRRD_L), its RD after nRCD
    # and after WR -> RD = nCWL + nBL + nWTR_L.
    assert [(int(r["cycle"]), int(r["command"])) for r in log][:3] == [
        (0, ACT), (max(1, t.nRRD_L), ACT), (t.nRCD, WR)]
    rd = int(log["cycle"][log["command"] == RD][0])
    assert rd == max(max(1, t.nRRD_L) + t.nRCD, t.nRCD + t.nCWL + t.nBL + t.nWTR_L)
    assert c.writes.sum() == 1 and c.reads.sum() == 1


# -------------------------------------------------------------------------------------------
# Characteristic traces
# -------------------------------------------------------------------------------------------

def _seq(spec, n):
    m = AddressMapper(spec)
    return m.decode(np.arange(n, dtype=np.uint64) * np.uint64(spec.org.burst_bytes))


@pytest.mark.parametrize("name", SPECS)
def test_sequential_trace_is_nearly_all_row_hits(name):
    spec = load_spec(name)
    c, _ = run(spec, _seq(spec, 3000), log=False)
    served = c.reads.sum() + c.writes.sum()
    assert served == 3000
    assert c.row_hits.sum() / served > 0.98


@pytest.mark.parametrize("name", SPECS)
def test_closed_page_sequential_has_no_hits(name):
    spec = load_spec(name)
    c, _ = run(spec, _seq(spec, 600), ControllerConfig(page_policy="closed"), log=False)
    assert c.row_hits.sum() == 0
    assert c.commands[:, RDA].sum() == 600 and c.commands[:, RD].sum() == 0


@pytest.mark.parametrize("name", SPECS)
def test_one_bank_new_row_each_time_is_bound_by_trc(name):
    spec = load_spec(name)
    n = 200
    d = requests(spec, [(0, 0, 0, 2, r, 0) for r in range(n)])
    c, log = run(spec, d, no_refresh())
    assert c.row_hits.sum() == 0
    assert c.row_misses.sum() + c.row_conflicts.sum() == n
    acts = log["cycle"][log["command"] == ACT]
    assert len(acts) == n and np.all(np.diff(acts) >= spec.timing.nRC)
    assert c.total_cycles >= (n - 1) * spec.timing.nRC


def test_bank_parallelism_beats_one_bank():
    spec = load_spec("DDR3-1600K")
    n = 256
    one = requests(spec, [(0, 0, 0, 0, r, 0) for r in range(n)])
    spread = requests(spec, [(0, 0, 0, r % 8, r, 0) for r in range(n)])
    c_one, _ = run(spec, one, no_refresh(), log=False)
    c_spread, _ = run(spec, spread, no_refresh(), log=False)
    assert c_spread.total_cycles < c_one.total_cycles / 3


# -------------------------------------------------------------------------------------------
# Refresh, forwarding, write drain
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPECS)
def test_refresh_cadence(name):
    spec = load_spec(name)
    t = spec.timing
    n = 120
    arrive = np.arange(n) * (t.nREFI // 10)                # the run spans ~12 refresh intervals
    d = requests(spec, [(0, 0, 0, i % 4, i % 3, i % 5) for i in range(n)], arrive=arrive)
    c, log = run(spec, d)
    last_cycle = int(log["cycle"].max())
    raised = last_cycle // t.nREFI                        # flags raised during the run
    refs = int(c.commands[:, REF].sum())
    assert raised - 1 <= refs <= raised and refs >= 10
    ref_cycles = log["cycle"][log["command"] == REF]
    assert np.all(np.diff(ref_cycles) >= t.nRFC)
    for rc in ref_cycles:                                 # each REF follows its flag, promptly
        assert rc % t.nREFI < t.nRFC + t.nRC + t.nRP + 4 * t.nREFI // 10
    c_off, _ = run(spec, d, ControllerConfig(refresh=False), log=False)
    assert c_off.commands[:, REF].sum() == 0 and c_off.commands[:, PREA].sum() == 0


def test_read_after_write_is_forwarded():
    spec = load_spec("DDR3-1600K")
    # Ten reads keep the controller in read mode, so the write waits in W when its read arrives.
    coords = [(0, 0, 0, i % 8, 40 + i, 0) for i in range(10)] + [(0, 0, 0, 3, 9, 7), (0, 0, 0, 3, 9, 7)]
    w = [False] * 10 + [True, False]
    c, log = run(spec, requests(spec, coords, is_write=w), no_refresh())
    assert c.forwarded_reads.sum() == 1
    assert c.reads.sum() == 10 and c.writes.sum() == 1
    assert c.read_latency_hist.sum() == 10                # the forwarded read has no sample
    assert 11 not in set(log["request"].tolist())         # and no command


def test_read_after_write_to_other_address_is_not_forwarded():
    spec = load_spec("DDR3-1600K")
    coords = [(0, 0, 0, i % 8, 40 + i, 0) for i in range(10)] + [(0, 0, 0, 3, 9, 7), (0, 0, 0, 3, 9, 6)]
    c, _ = run(spec, requests(spec, coords, is_write=[False] * 10 + [True, False]), no_refresh())
    assert c.forwarded_reads.sum() == 0 and c.reads.sum() == 11


def test_write_drain_watermarks():
    spec = load_spec("DDR3-1600K")
    # 40 writes then 40 reads, saturation: writes are served while W is above the low mark even
    # though reads wait; once reads exist and W < 0.2 * 32, reads take over.
    coords = [(0, 0, 0, i % 8, i // 8, i % 16) for i in range(80)]
    c, log = run(spec, requests(spec, coords, is_write=[True] * 40 + [False] * 40), no_refresh())
    cols = log[np.isin(log["command"], [RD, WR])]
    first_rd = int(np.argmax(cols["command"] == RD))
    writes_before_reads = int(np.sum(cols["command"][:first_rd] == WR))
    assert writes_before_reads >= 40 - int(0.2 * 32)
    assert c.reads.sum() == 40 and c.writes.sum() == 40


# -------------------------------------------------------------------------------------------
# Randomised: invariants and the independent checker
# -------------------------------------------------------------------------------------------

@st.composite
def small_runs(draw):
    """(spec, config, DecodedRequests): every controller variant, scheduler, page policy, SALP
    mode, 1-2 channels and ranks, small queues, short refresh intervals, and power management
    (power-down / self-refresh after short idle times, arrivals with long gaps)."""
    name = draw(st.sampled_from(SPECS))
    spec = load_spec(name, channels=draw(st.sampled_from([1, 2])), ranks=draw(st.sampled_from([1, 2])))
    t = spec.timing
    refi = draw(st.sampled_from([None, 300 + t.nRFC]))    # short intervals exercise refresh
    pd = draw(st.sampled_from([None, None, 1, 7, 40]))
    sr = draw(st.sampled_from([None, None, 30, 400]))
    if pd is not None and sr is not None and sr <= pd:
        sr = pd + 1
    config = ControllerConfig(scheduler=draw(st.sampled_from(["fcfs", "frfcfs", "frfcfs_cap"])),
                              page_policy=draw(st.sampled_from(["open", "closed"])),
                              salp=draw(st.sampled_from(["none", "masa"])),
                              read_queue=draw(st.integers(1, 8)), write_queue=draw(st.integers(1, 8)),
                              row_hit_cap=draw(st.integers(1, 4)), refresh=draw(st.booleans()),
                              controller=draw(st.sampled_from(["r2.1", "r2.0-conservative"])),
                              refresh_interval=refi, powerdown_idle=pd, self_refresh_idle=sr)
    org = spec.org
    n = draw(st.integers(0, 60))
    rps = org.rows // org.subarrays
    coord = st.tuples(st.integers(0, org.channels - 1), st.integers(0, org.ranks - 1),
                      st.integers(0, org.bankgroups - 1), st.integers(0, min(2, org.banks_per_group - 1)),
                      st.sampled_from([0, 1, rps, rps + 1]), st.integers(0, 3))
    coords = draw(st.lists(coord, min_size=n, max_size=n))
    is_write = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    arrive = None
    style = draw(st.sampled_from(["none", "any", "sorted", "gaps"]))
    if style in ("any", "sorted"):
        arrive = draw(st.lists(st.integers(-1, 40 * n + 10), min_size=n, max_size=n))
        if style == "sorted":
            arrive = sorted(arrive)
    elif style == "gaps":                                  # bursts separated by idle stretches
        gaps = draw(st.lists(st.sampled_from([0, 0, 0, 3, 50, 900, 2500]), min_size=n, max_size=n))
        arrive = np.cumsum(gaps).tolist()
    d = requests(spec, coords or np.zeros((0, 6), np.int64), is_write or None, arrive)
    return spec, config, d


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(small_runs())
def test_counters_are_consistent(case):
    spec, config, d = case
    c, log = run(spec, config=config, d=d)
    n = len(d)
    served = int(c.reads.sum() + c.writes.sum())
    assert served + int(c.forwarded_reads.sum()) + int(c.coalesced_writes.sum()) == n
    assert int(c.row_hits.sum() + c.row_misses.sum() + c.row_conflicts.sum()) == served
    assert int(c.writes.sum() + c.coalesced_writes.sum()) == int(np.sum(d.is_write))
    if config.controller != "r2.1":
        assert c.coalesced_writes.sum() == 0
    assert c.commands[:, [RD, RDA]].sum() == c.reads.sum()
    assert c.commands[:, [WR, WRA]].sum() == c.writes.sum()
    assert c.commands[:, ACT].sum() == c.subarray_acts.sum()
    assert c.subarray_accesses.sum() == served
    assert c.read_latency_hist.sum() == c.reads.sum()
    assert len(log) == c.commands.sum()
    assert np.all(c.active_cycles <= c.total_cycles)
    if config.page_policy == "closed":
        assert c.row_hits.sum() == 0 and c.commands[:, [RD, WR]].sum() == 0
    else:
        assert c.commands[:, [RDA, WRA]].sum() == 0
    if not config.refresh:
        assert c.commands[:, [REF, PREA]].sum() == 0
    if not config.power_management:
        assert c.commands[:, [PDE, PDX, SRE, SRX]].sum() == 0
    assert np.all(c.pd_active_cycles + c.pd_precharged_cycles + c.sr_cycles <= c.total_cycles)
    if n:
        last_col = log[np.isin(log["command"], [RD, WR, RDA, WRA])]["cycle"].max()
        assert c.total_cycles > last_col
        assert np.all(log["cycle"] <= last_col)           # nothing after the last request


@SETTINGS
@given(small_runs())
def test_checker_finds_no_violation(case):
    checker = pytest.importorskip("dramsim.checker")
    spec, config, d = case
    c, log = run(spec, config=config, d=d)
    violations = checker.check_log(log, spec, config, requests=d, counters=c)
    assert violations == [], violations[:5]


def test_checker_catches_a_corrupted_log():
    """The checker used above is not vacuous: moving one command earlier is caught."""
    checker = pytest.importorskip("dramsim.checker")
    spec = load_spec("DDR3-1600K")
    c, log = run(spec, _seq(spec, 64), no_refresh())
    bad = log.copy()
    i = int(np.flatnonzero(bad["command"] == RD)[5])
    bad["cycle"][i] -= 2                                  # violates nCCD with the previous RD
    assert checker.check_log(log, spec, no_refresh()) == []
    assert checker.check_log(bad, spec, no_refresh()) != []


def test_same_input_same_result_and_log_optional():
    spec = load_spec("DDR4-2400R", channels=2, ranks=2)
    rng = np.random.default_rng(7)
    m = AddressMapper(spec)
    d = m.decode(rng.integers(0, 1 << 24, 3000).astype(np.uint64) * np.uint64(64), rng.random(3000) < 0.3)
    a, la = run(spec, d)
    b, lb = run(spec, d)
    c, lc = run(spec, d, log=False)
    assert a.equals(b) and a.equals(c) and np.array_equal(la, lb) and lc is None


def test_empty_trace():
    spec = load_spec("DDR3-1600K")
    c, log = run(spec, requests(spec, np.zeros((0, 6), np.int64)))
    assert c.total_cycles == 0 and c.commands.sum() == 0 and len(log) == 0


# -------------------------------------------------------------------------------------------
# dramsim.simulate
# -------------------------------------------------------------------------------------------

def test_simulate_decodes_runs_and_summarises():
    from dramsim.simulate import simulate
    from traces.records import REQUEST_DTYPE
    rec = np.zeros(500, dtype=REQUEST_DTYPE)
    rec["addr"] = np.arange(500, dtype=np.uint64) * np.uint64(4096 + 64)
    rec["is_write"] = np.arange(500) % 3 == 0
    rec["arrive"] = -1
    res = simulate("DDR3L-1600K", rec, engine="simpy", command_log=True)
    assert res.command_log is not None and len(res.command_log) == res.counters.commands.sum()
    t = res.summary["totals"]
    assert t["reads"] + t["writes"] + t["forwarded_reads"] == 500
    assert t["cycles_to_drain"] == res.counters.total_cycles and res.wall_s > 0
    spec = load_spec("DDR3L-1600K")
    direct, _ = engine_simpy.run(spec, ControllerConfig(), AddressMapper(spec).decode_records(rec))
    assert direct.equals(res.counters)
    with pytest.raises(ValueError):
        simulate(spec, rec, engine="warp")


def test_simulate_fast_engine_gives_identical_counters():
    from dramsim.simulate import EngineUnavailable, simulate
    spec = load_spec("DDR4-2400R", channels=2)
    rng = np.random.default_rng(3)
    d = AddressMapper(spec).decode(rng.integers(0, 1 << 22, 800).astype(np.uint64) * np.uint64(64),
                                   rng.random(800) < 0.3)
    try:
        fast = simulate(spec, d, engine="fast", command_log=True)
    except EngineUnavailable:
        pytest.skip("fast engine not available")
    ref = simulate(spec, d, engine="simpy", command_log=True)
    assert ref.counters.differences(fast.counters) == []
    assert np.array_equal(ref.command_log, fast.command_log)
