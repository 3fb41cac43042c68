"""The numba fast engine on its own: textbook latencies, streaming (chunked feeding equals one
call, whatever the chunk boundaries), buffer growth and log draining, input validation, and
counter invariants of a large random trace (row-buffer classification, ACT accounting, refresh
cadence). Equality with the simpy reference engine lives in test_engine_diff.py."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dramsim import engine_fast
from dramsim.address import AddressMapper
from dramsim.commands import ACT, PRE, PREA, RD, RDA, REF, WR, WRA
from dramsim.config import ControllerConfig
from dramsim.spec import bundled_spec_names, load_spec
from traces import generate

SPECS = bundled_spec_names()


def decoded(spec, coords, is_write=None, arrive=None):
    """DecodedRequests for (channel, rank, bankgroup, bank, row, column) tuples."""
    m = AddressMapper(spec)
    cols = np.asarray(coords, dtype=np.int64).reshape(-1, 6).T
    return m.decode(m.encode(*cols), is_write, arrive)


def read_latencies(counters):
    hist = counters.read_latency_hist.sum(axis=0)
    return sorted(int(i) for i in np.repeat(np.arange(hist.size), hist))


def same_run(a, b):
    (ca, la), (cb, lb) = a, b
    assert ca.differences(cb) == []
    assert (la is None) == (lb is None)
    if la is not None:
        assert np.array_equal(la, lb)


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    engine_fast.warmup()


# -------------------------------------------------------------------------------------------
# Independent truths
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPECS)
def test_isolated_requests_have_textbook_latencies(name):
    """Miss nRCD+nCL+nBL, hit nCL+nBL, conflict nRP+nRCD+nCL+nBL (requests far apart)."""
    spec = load_spec(name)
    t = spec.timing
    gap = 10 * (t.nRC + t.nRFC + t.nCL + t.nWR)
    other_row = spec.org.rows // 2 + 3
    d = decoded(spec, [(0, 0, 0, 2, 7, 1), (0, 0, 0, 2, 7, 5), (0, 0, 0, 2, other_row, 0)],
                arrive=[0, gap, 2 * gap])
    c, log = engine_fast.run(spec, ControllerConfig(refresh=False), d, command_log=True)
    miss, hit, conflict = t.nRCD + t.nCL + t.nBL, t.nCL + t.nBL, t.nRP + t.nRCD + t.nCL + t.nBL
    assert read_latencies(c) == sorted([miss, hit, conflict])
    assert (c.row_misses.sum(), c.row_hits.sum(), c.row_conflicts.sum()) == (1, 1, 1)
    assert list(log["command"]) == [ACT, RD, RD, PRE, ACT, RD]
    assert c.total_cycles == 2 * gap + t.nRP + t.nRCD + t.nCL + t.nBL
    # the bank is open from the first ACT (cycle 0) to the PRE (2 * gap), then from the second
    # ACT (2 * gap + nRP) to the end (open page)
    assert c.active_cycles[0] == c.total_cycles - t.nRP


@pytest.mark.parametrize("name", SPECS)
def test_one_bank_new_row_each_time_runs_at_trc(name):
    """Back-to-back conflicts to one bank: one request per ACT->ACT = nRAS + nRP window."""
    spec = load_spec(name)
    t = spec.timing
    n = 200
    d = decoded(spec, [(0, 0, 0, 0, 2 * i + 1, 0) for i in range(n)])
    c, _ = engine_fast.run(spec, ControllerConfig(refresh=False), d)
    per_request = max(t.nRC, t.nRAS + t.nRP, t.nRCD + t.nRTP + t.nRP)
    assert c.row_conflicts.sum() == n - 1 and c.row_misses.sum() == 1
    first_data = t.nRCD + t.nCL + t.nBL
    assert c.total_cycles == first_data + (n - 1) * per_request


def test_jumps_over_idle_cycles():
    spec = load_spec("DDR3-1600K")
    d = AddressMapper(spec).decode_records(generate.stride(2000, seed=1))
    eng = engine_fast.FastEngine(spec, ControllerConfig())
    counters, _ = eng.feed(d).finish()
    assert eng.evaluated_cycles < counters.total_cycles / 5


def test_empty_trace_and_feed_after_finish():
    spec = load_spec("DDR3-1600K")
    eng = engine_fast.FastEngine(spec, ControllerConfig(), command_log=True)
    c, log = eng.feed(decoded(spec, np.zeros((0, 6)))).finish()
    assert c.total_cycles == 0 and c.commands.sum() == 0 and len(log) == 0
    with pytest.raises(RuntimeError):
        eng.feed(decoded(spec, [(0, 0, 0, 0, 0, 0)]))


def test_out_of_range_coordinates_are_rejected():
    spec = load_spec("DDR3-1600K")
    d = decoded(spec, [(0, 0, 0, 1, 3, 0), (0, 0, 0, 2, 3, 0)])
    d.bank[1] = spec.org.banks_per_group
    with pytest.raises(ValueError, match="request 1: bank 8 outside 0..7"):
        engine_fast.run(spec, ControllerConfig(), d)
    eng = engine_fast.FastEngine(spec, ControllerConfig())
    eng.feed(d.slice(0, 1))
    with pytest.raises(ValueError, match="request 2: bank"):      # trace index, not chunk index
        eng.feed(d)


def test_refresh_that_never_ends_is_rejected():
    spec = load_spec("DDR3-1600K")
    spec = dataclasses.replace(spec, timing=dataclasses.replace(spec.timing, nREFI=spec.timing.nRFC))
    with pytest.raises(ValueError, match="nRFC"):
        engine_fast.FastEngine(spec, ControllerConfig())
    engine_fast.FastEngine(spec, ControllerConfig(refresh=False))        # fine without refresh


def test_stall_guard_reports_a_stuck_controller():
    """The guard that turns a (buggy) endless wait into an error: with its limit forced down to
    a few cycles, an ordinary conflict (which waits nRAS + nRP) trips it."""
    from dramsim import _fast_kernel as K
    spec = load_spec("DDR3-1600K")
    eng = engine_fast.FastEngine(spec, ControllerConfig())
    eng._args[eng._A_PRM][K.P_STALL] = 3
    with pytest.raises(RuntimeError, match="deadlock"):
        eng.feed(decoded(spec, [(0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 2, 0)])).finish()


# -------------------------------------------------------------------------------------------
# Streaming
# -------------------------------------------------------------------------------------------

def _mixed_trace(spec, n, seed, with_arrivals):
    rec = generate.mixed(n, seed=seed, span_bytes=1 << 22,
                         interval_cycles=3 if with_arrivals else None)
    return AddressMapper(spec).decode_records(rec)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, 600), max_size=6), with_arrivals=st.booleans(),
       name=st.sampled_from(SPECS), salp=st.sampled_from(["none", "masa"]),
       page=st.sampled_from(["open", "closed"]))
def test_chunked_feeding_equals_one_call(cuts, with_arrivals, name, salp, page):
    spec = load_spec(name, channels=2)
    spec = dataclasses.replace(spec, timing=dataclasses.replace(spec.timing, nREFI=900))
    config = ControllerConfig(salp=salp, page_policy=page, read_queue=8, write_queue=8)
    d = _mixed_trace(spec, 600, seed=len(cuts), with_arrivals=with_arrivals)
    whole = engine_fast.run(spec, config, d, command_log=True)
    bounds = [0, *sorted(cuts), len(d)]
    chunks = [d.slice(a, b) for a, b in zip(bounds, bounds[1:])]
    same_run(whole, engine_fast.run_chunks(spec, config, chunks, command_log=True))


def test_progress_callback_counts_every_request(monkeypatch):
    monkeypatch.setattr(engine_fast, "_PROGRESS_PIECE", 700)
    spec = load_spec("DDR3-1600K")
    d = _mixed_trace(spec, 2000, seed=2, with_arrivals=False)
    seen = []
    same_run(engine_fast.run(spec, ControllerConfig(), d, True),
             engine_fast.run(spec, ControllerConfig(), d, True, progress=seen.append))
    assert seen == [700, 700, 600]


def test_small_log_buffer_and_tiny_initial_capacity_change_nothing():
    spec = load_spec("DDR4-2400R", ranks=2)
    config = ControllerConfig(salp="masa", read_queue=16, write_queue=16)
    d = _mixed_trace(spec, 3000, seed=5, with_arrivals=False)
    ref = engine_fast.run(spec, config, d, command_log=True)
    eng = engine_fast.FastEngine(spec, config, command_log=True, log_block=7, _capacity=2)
    same_run(ref, eng.feed(d).finish())
    assert len(eng._args[eng._A_FREE]) > 2                 # the slot pool did grow


# -------------------------------------------------------------------------------------------
# Invariants of a large random trace
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["open", "closed"])
def test_large_random_trace_invariants(page):
    spec = load_spec("DDR3-1600K")
    t = spec.timing
    n = 200_000
    rec = generate.random(n, seed=11, span_bytes=1 << 30, write_fraction=0.3)
    rec["addr"][1::50] = rec["addr"][0:-1:50]              # some reads/writes of a just-used line
    d = AddressMapper(spec).decode_records(rec)
    c, _ = engine_fast.run(spec, ControllerConfig(page_policy=page), d)
    served = int(c.reads.sum() + c.writes.sum())
    assert served + int(c.forwarded_reads.sum()) + int(c.coalesced_writes.sum()) == n
    assert int(c.writes.sum() + c.coalesced_writes.sum()) == int(rec["is_write"].sum())
    assert c.coalesced_writes.sum() > 0                   # (r2.1: a write of a just-written line)
    assert int(c.row_hits.sum() + c.row_misses.sum() + c.row_conflicts.sum()) == served
    # a miss issues its own ACT (once: then it sits in A until served); a conflict's PRE may be
    # followed by another request's ACT to the same row, which then serves it as a hit
    acts = c.commands[:, ACT].sum()
    assert acts == c.subarray_acts.sum()
    assert c.row_misses.sum() <= acts <= c.row_misses.sum() + c.row_conflicts.sum()
    assert c.commands[:, PRE].sum() >= c.row_conflicts.sum()
    rd, wr = (RD, WR) if page == "open" else (RDA, WRA)
    assert c.commands[:, rd].sum() == c.reads.sum() and c.commands[:, wr].sum() == c.writes.sum()
    assert c.subarray_accesses.sum() == served and c.read_latency_hist.sum() == c.reads.sum()
    # refresh: one REF per elapsed nREFI (the last flag may still be pending at the end)
    intervals = c.total_cycles // t.nREFI
    assert intervals - 2 <= c.commands[0, REF] <= intervals
    assert c.commands[0, PREA] <= c.commands[0, REF] + 1
    assert 0 < c.active_cycles[0] <= c.total_cycles
    assert c.queue_occupancy_sum[0] > 0
    # latency: every read waits at least for its data burst, mean within the expected range
    assert read_latencies_min(c) >= t.nCL + t.nBL
    mean = c.read_latency_sum[0] / c.reads.sum()
    assert t.nRCD + t.nCL + t.nBL < mean < 64 * t.nRC


def read_latencies_min(counters):
    hist = counters.read_latency_hist.sum(axis=0)
    return int(np.flatnonzero(hist)[0])


def test_coordinates_of_other_dtypes_are_checked_before_narrowing():
    spec = load_spec("DDR3-1600K")
    d = decoded(spec, [(0, 0, 0, 1, 3, 0), (0, 0, 0, 2, 3, 0)])
    d.row = d.row.astype(np.int64)
    d.row[1] = (1 << 32) + 3                     # would wrap to 3 as int32
    with pytest.raises(ValueError, match="request 1: row 4294967299"):
        engine_fast.run(spec, ControllerConfig(), d)
    d.row[1] = 3
    ok, _ = engine_fast.run(spec, ControllerConfig(), d)
    assert ok.reads.sum() == 2
