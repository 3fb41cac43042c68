"""Ramulator 2.1 semantics (docs/controller.md, "Controller variants"), worked out by hand.

Each trace is small enough to follow cycle by cycle; the expected command sequence is derived in
the comments from the spec's timings and the rules of CMU-SAFARI/ramulator2 at c5b1c3a
(python/ramulator/dram/ddr3.py; src/ramulator/controller/controller_base.cpp, generic_ddr_
controller.cpp, refresh/impl/all_bank.cpp). Both engines must produce exactly these logs, and
the checker must accept them under their own variant.

DDR3-1600K in cycles: nCL 11, nCWL 8, nBL 4, nRCD 11, nRP 11, nRAS 28, nRC 39, nRTP 6, nWR 12,
nRRD 5, nFAW 24, nCCD 4, nWTR 6, nRTRS (Ramulator's nCS) 2, nRFC 208, nREFI 6240.
"""
from __future__ import annotations

import numpy as np
import pytest

from dramsim import engine_fast, engine_simpy
from dramsim.address import AddressMapper
from dramsim.checker import check_log
from dramsim.commands import COMMAND_NAMES
from dramsim.config import ControllerConfig
from dramsim.spec import load_spec
from dramsim.stats import summarize

SPEC = load_spec("DDR3-1600K")
SPEC2R = load_spec("DDR3-1600K", ranks=2)
R21 = ControllerConfig(refresh=False)
R20 = ControllerConfig(refresh=False, controller="r2.0-conservative")


def decoded(spec, coords, writes, arrive=None):
    """coords: (rank, bank, row, column) per request (channel 0, bank group 0)."""
    m = AddressMapper(spec)
    rk, ba, ro, co = (np.array(x) for x in zip(*coords))
    return m.decode(m.encode(0, rk, 0, ba, ro, co), np.array(writes, dtype=bool), arrive)


def run(spec, config, d):
    """(counters, [(cycle, command, rank, bank, request)]), the same from both engines, checked."""
    a, la = engine_simpy.run(spec, config, d, command_log=True)
    b, lb = engine_fast.run(spec, config, d, command_log=True)
    assert a.differences(b) == [] and np.array_equal(la, lb)
    assert check_log(lb, spec, config, requests=d, counters=b) == []
    return b, [(int(r["cycle"]), COMMAND_NAMES[r["command"]], int(r["rank"]), int(r["bank"]), int(r["request"]))
               for r in lb]


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    engine_fast.warmup()


def test_d1_read_then_write_on_another_rank():
    """r0 reads rank 0, r1 writes rank 1 (accepted at cycles 0 and 1).
    0: ACT r0 (read mode). 1: r1 queued; the read queue is empty -> write mode, ACT r1 (another
    rank: no nRRD). 11: RD r0 (nRCD). r1's WR: nRCD gives 12; the read on the other rank gives
    r2.1 11 + nBL + nCS = 17, r2.0-conservative 11 + nCL + nBL + nRTRS - nCWL = 20."""
    d = decoded(SPEC2R, [(0, 0, 5, 0), (1, 0, 5, 0)], [False, True])
    c21, log21 = run(SPEC2R, R21, d)
    c20, log20 = run(SPEC2R, R20, d)
    assert log21 == [(0, "ACT", 0, 0, 0), (1, "ACT", 1, 0, 1), (11, "RD", 0, 0, 0), (17, "WR", 1, 0, 1)]
    assert log20 == log21[:3] + [(20, "WR", 1, 0, 1)]
    assert (c21.total_cycles, c20.total_cycles) == (17 + 8 + 4, 20 + 8 + 4)
    # Ramulator 2.1's rule lets the write burst (17 + nCWL = 25 .. 28) overlap the read's
    # (11 + nCL = 22 .. 25) by one cycle: the r2.1 checker accepts it, r2.0-conservative's does not
    raw = engine_fast.run(SPEC2R, R21, d, command_log=True)[1]
    assert "data bus" in {v.constraint for v in check_log(raw, SPEC2R, R20)}


def test_d1_write_then_write_on_another_rank():
    """Two writes, ranks 0 and 1: ACTs at 0 and 1, WR at 11; the other rank's WR needs
    nRCD (12) and then r2.1 only the channel's nBL (15), r2.0-conservative nBL + nRTRS (17)."""
    d = decoded(SPEC2R, [(0, 0, 5, 0), (1, 0, 5, 0)], [True, True])
    _, log21 = run(SPEC2R, R21, d)
    _, log20 = run(SPEC2R, R20, d)
    assert [x[:2] for x in log21] == [(0, "ACT"), (1, "ACT"), (11, "WR"), (15, "WR")]
    assert [x[:2] for x in log20] == [(0, "ACT"), (1, "ACT"), (11, "WR"), (17, "WR")]


def test_d2_a_request_that_would_close_a_held_bank_is_no_candidate():
    """Writes r0 (bank 0 row 9), r1 (bank 1 row 9), r2 (bank 0 row 5), r3 (bank 2 row 5), read
    r4 (bank 1 row 5), accepted at cycles 0..4.
     0: write mode (no reads): ACT b0 for r0.      4: r4 arrives; W=3 < 0.2*32 -> read mode.
     5: ACT b1 for r4 (nRRD).                       6: no reads left -> write mode.
    10: ACT b2 for r3 (nRRD).                      11: WR r0 (nRCD).   21: WR r3 (ACT + nRCD).
    r4's RD waits for WR->RD = nCWL + nBL + nWTR = 18 after 21: 39; until then r4 holds bank 1.
    In the write queue r1 needs PRE b1 (ready at 5 + nRAS = 33, but bank 1 is held) and r2
    needs PRE b0 (ready at WR 11 + nCWL + nBL + nWR = 35).
    r2.1: r1 is filtered out before FR-FCFS picks, so at 35 r2's PRE b0 issues.
    r2.0-conservative: r1 is the oldest ready request; it is picked and dropped at 33..38, and
    r2's PRE waits for the cycle after r4's RD (40).
    Then (r2.1): PRE b1 at RD + nRTP = 45, ACT b0 at 35 + nRP = 46, ACT b1 at 45 + nRP = 56,
    WRs at 46 + 11 = 57 and 56 + 11 = 67. (r2.0: ACT b0 at 40 + 11 = 51, WR at 62.)"""
    d = decoded(SPEC, [(0, 0, 9, 0), (0, 1, 9, 1), (0, 0, 5, 2), (0, 2, 5, 3), (0, 1, 5, 4)],
                [True, True, True, True, False])
    _, log21 = run(SPEC, R21, d)
    _, log20 = run(SPEC, R20, d)
    head = [(0, "ACT", 0, 0, 0), (5, "ACT", 0, 1, 4), (10, "ACT", 0, 2, 3), (11, "WR", 0, 0, 0),
            (21, "WR", 0, 2, 3)]
    assert log21 == head + [(35, "PRE", 0, 0, 2), (39, "RD", 0, 1, 4), (45, "PRE", 0, 1, 1),
                            (46, "ACT", 0, 0, 2), (56, "ACT", 0, 1, 1), (57, "WR", 0, 0, 2),
                            (67, "WR", 0, 1, 1)]
    assert log20 == head + [(39, "RD", 0, 1, 4), (40, "PRE", 0, 0, 2), (45, "PRE", 0, 1, 1),
                            (51, "ACT", 0, 0, 2), (56, "ACT", 0, 1, 1), (62, "WR", 0, 0, 2),
                            (67, "WR", 0, 1, 1)]


def test_d3_a_write_to_a_queued_address_is_coalesced():
    """r0 reads bank 1; r1 and r2 write the same line of bank 0 (accepted at 0, 1, 2).
    0: ACT b1 for r0. 1: r1 queued, no reads left -> write mode; its ACT waits for nRRD (5).
    2: r2's address is in the write queue: r2.1 absorbs it (Ramulator 2.1's send()), r2.0 queues it.
    5: ACT b0 for r1. 11: RD r0. r1's WR: RD->WR nCL + nBL + 2 - nCWL = 9 -> 20.
    r2.0 also writes r2 (a row hit) nCCD later, at 24."""
    d = decoded(SPEC, [(0, 1, 3, 0), (0, 0, 5, 7), (0, 0, 5, 7)], [False, True, True])
    c21, log21 = run(SPEC, R21, d)
    c20, log20 = run(SPEC, R20, d)
    assert log21 == [(0, "ACT", 0, 1, 0), (5, "ACT", 0, 0, 1), (11, "RD", 0, 1, 0), (20, "WR", 0, 0, 1)]
    assert log20 == log21 + [(24, "WR", 0, 0, 2)]
    assert (int(c21.coalesced_writes.sum()), int(c21.writes.sum())) == (1, 1)
    assert (int(c20.coalesced_writes.sum()), int(c20.writes.sum())) == (0, 2)
    assert (c21.total_cycles, c20.total_cycles) == (20 + 12, 24 + 12)
    assert summarize(SPEC, R21, c21)["totals"]["requests"] == 3


def test_d4_refresh_is_raised_one_cycle_earlier():
    """One read arriving at 6300. Ramulator 2.1 increments its clock before AllBankRefresh checks
    clk == nREFI, so its first REF is in our cycle nREFI - 1 = 6239 (r2.0-conservative: 6240);
    the read's ACT waits nRFC: 6239 + 208 = 6447 (6448)."""
    d = decoded(SPEC, [(0, 0, 5, 0)], [False], arrive=[6300])
    _, log21 = run(SPEC, ControllerConfig(), d)
    _, log20 = run(SPEC, ControllerConfig(controller="r2.0-conservative"), d)
    assert log21 == [(6239, "REF", 0, -1, -1), (6447, "ACT", 0, 0, 0), (6458, "RD", 0, 0, 0)]
    assert log20 == [(6240, "REF", 0, -1, -1), (6448, "ACT", 0, 0, 0), (6459, "RD", 0, 0, 0)]


def test_refresh_interval_option_moves_the_ticks():
    d = decoded(SPEC, [(0, 0, 5, 0)], [False], arrive=[2500])
    _, log = run(SPEC, ControllerConfig(refresh_interval=1000), d)
    assert [x[:2] for x in log if x[1] == "REF"] == [(999, "REF"), (1999, "REF")]


def test_read_latency_and_run_length_in_ramulator_terms():
    """A lone read: ACT 0, RD 11, data to 26. Ours: latency 26 (from acceptance at 0), run 26.
    Ramulator 2.1 stamps arrive one clock before the command clock: latency 27; its callback
    fires at RD's clock (12) + nCL + nBL = 27. A lone write: WR 11, run 11 + nCWL + nBL = 23 for
    us; Ramulator's write callback fires at WR's clock: 12."""
    c, _ = run(SPEC, R21, decoded(SPEC, [(0, 0, 5, 0)], [False]))
    s = summarize(SPEC, R21, c)["totals"]
    assert (s["read_latency"]["mean_cycles"], s["cycles_to_drain"]) == (26, 26)
    assert s["ramulator2"] == {"mean_read_latency_cycles": 27, "cycles_drained": 27}
    c, _ = run(SPEC, R21, decoded(SPEC, [(0, 0, 5, 0)], [True]))
    s = summarize(SPEC, R21, c)["totals"]
    assert s["cycles_to_drain"] == 23 and s["ramulator2"]["cycles_drained"] == 12
