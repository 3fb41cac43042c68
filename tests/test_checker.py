"""Timing checker: hand-built legal logs pass, deliberately corrupted ones are caught.

DDR3L-1600K in cycles: nRCD 11, nCL 11, nCWL 8, nBL 4, nRAS 28, nRC 39, nRP 11, nRTP 6, nWR 12,
nRRD 5, nFAW 24, nCCD 4, nWTR 6, nRTRS 2, nRFC 208, nREFI 6240.
"""
import numpy as np
import pytest

from dramsim.address import AddressMapper
from dramsim.checker import (CommandLogError, check_log, counters_from_log, main, read_command_log_csv,
                             write_command_log_csv, write_drampower_trace)
from dramsim.commands import ACT, COMMAND_LOG_DTYPE, PRE, PREA, RD, RDA, REF, WR, WRA
from dramsim.config import ControllerConfig
from dramsim.spec import load_spec

SPEC = load_spec("DDR3L-1600K")
SPEC2R = load_spec("DDR3L-1600K", ranks=2)
RPS = SPEC.org.rows_per_subarray  # 8192


def log_of(rows):
    """rows: (cycle, command, bank, row, column, request[, rank]) -> COMMAND_LOG_DTYPE array."""
    out = np.zeros(len(rows), dtype=COMMAND_LOG_DTYPE)
    for i, r in enumerate(rows):
        cyc, cmd, bank, row, col, req = r[:6]
        rank = r[6] if len(r) > 6 else 0
        refresh = cmd in (PREA, REF)
        out[i] = (cyc, 0, rank, -1 if refresh else 0, -1 if refresh else bank,
                  -1 if refresh or cmd == PRE or row < 0 else row // RPS,
                  -1 if refresh or cmd == PRE else row, col, cmd, req)
    return out


def requests_of(spec, coords, writes):
    """coords: (rank, bank, row, column) per request."""
    m = AddressMapper(spec)
    rk, ba, ro, co = (np.array(x) for x in zip(*coords))
    addr = m.encode(0, rk, 0, ba, ro, co)
    return m.decode(addr, np.array(writes, dtype=bool))


# r0 read b0 row5 col0 (miss), r1 read b0 row5 col1 (hit), r2 write b1 row7 col3 (miss),
# r3 read b0 row9 col2 (conflict)
REQS = requests_of(SPEC, [(0, 0, 5, 0), (0, 0, 5, 1), (0, 1, 7, 3), (0, 0, 9, 2)], [0, 0, 1, 0])
LEGAL = [
    (0, ACT, 0, 5, -1, 0),
    (5, ACT, 1, 7, -1, 2),    # nRRD 5
    (11, RD, 0, 5, 0, 0),     # nRCD 11
    (15, RD, 0, 5, 1, 1),     # nCCD 4
    (24, WR, 1, 7, 3, 2),     # RD->WR nCL+nBL+2-nCWL = 9
    (28, PRE, 0, -1, -1, 3),  # nRAS 28 (RD->PRE needs 21)
    (39, ACT, 0, 9, -1, 3),   # nRP 11, nRC 39
    (50, RD, 0, 9, 2, 3),     # nRCD 11; WR->RD 8+4+6 = 18 after 24
]


def constraints(violations):
    return {v.constraint for v in violations}


def test_legal_log_passes():
    assert check_log(log_of(LEGAL), SPEC, ControllerConfig(), REQS) == []


def test_counters_from_log_by_hand():
    c = counters_from_log(log_of(LEGAL), SPEC, ControllerConfig())
    assert [c.commands[0, x] for x in (ACT, RD, WR, PRE, RDA, WRA, PREA, REF)] == [3, 3, 1, 1, 0, 0, 0, 0]
    assert c.reads[0] == 3 and c.writes[1] == 1
    assert (c.row_hits[0], c.row_misses[0], c.row_conflicts[0], c.row_misses[1]) == (1, 1, 1, 1)
    assert c.total_cycles == 50 + 11 + 4
    assert c.active_cycles[0] == 65  # bank 1 open from 5 to the end covers bank 0's gap [28, 39)
    assert c.subarray_acts[0] == 2 and c.subarray_accesses[8] == 1  # bank 1, subarray 0
    # the counters check accepts them and rejects a wrong one
    assert check_log(log_of(LEGAL), SPEC, ControllerConfig(), REQS, counters=c) == []
    c.active_cycles[0] = 64
    assert constraints(check_log(log_of(LEGAL), SPEC, ControllerConfig(), REQS, counters=c)) == {
        "counters.active_cycles"}


def _mutate(drop=None, shift=None, add=()):
    rows = [list(r) for r in LEGAL]
    if shift:
        rows[shift[0]][0] += shift[1]
    if drop is not None:
        del rows[drop]
    rows += [list(a) for a in add]
    rows.sort(key=lambda r: r[0])
    return log_of([tuple(r) for r in rows])


def test_removed_pre_is_caught():
    v = constraints(check_log(_mutate(drop=5), SPEC, ControllerConfig(), REQS))
    assert "state.ACT_open" in v


def test_act_one_cycle_early_is_caught():
    v = constraints(check_log(_mutate(shift=(6, -1)), SPEC, ControllerConfig(), REQS))
    assert {"ACT->ACT nRC", "PRE->ACT nRP"} <= v


def test_rd_before_nrcd_is_caught():
    v = check_log(_mutate(shift=(2, -1)), SPEC, ControllerConfig(), REQS)
    assert "ACT->column nRCD" in constraints(v)
    assert any("needs cycle >= 11" in x.detail for x in v)


def test_five_acts_in_faw():
    rows = [(5 * i, ACT, i, 1, -1, i) for i in range(5)]  # banks 0..4 at 0, 5, 10, 15, 20
    v = check_log(log_of(rows), SPEC, ControllerConfig())
    assert [(x.cycle, x.constraint) for x in v] == [(20, "nFAW")]
    legal = [(5 * i, ACT, i, 1, -1, i) for i in range(4)] + [(24, ACT, 4, 1, -1, 4)]
    assert check_log(log_of(legal), SPEC, ControllerConfig()) == []


def test_two_commands_same_cycle():
    log = _mutate(add=[(39, ACT, 2, 3, -1, -1)])  # a second command at cycle 39 on channel 0
    assert "command bus" in constraints(check_log(log, SPEC, ControllerConfig()))


def test_request_served_twice_and_never():
    v = constraints(check_log(_mutate(add=[(19, RD, 0, 5, 1, 1)]), SPEC, ControllerConfig(), REQS))
    assert "request.served_twice" in v
    v = check_log(_mutate(drop=3), SPEC, ControllerConfig(), REQS)
    assert constraints(v) == {"request.never_served"}
    assert "read request 1" in v[0].detail


def test_wrong_address_and_type():
    rows = list(LEGAL)
    rows[3] = (15, RD, 0, 5, 2, 1)  # r1 is at column 1
    assert "request.address" in constraints(check_log(log_of(rows), SPEC, ControllerConfig(), REQS))
    rows = list(LEGAL)
    rows[4] = (24, RD, 1, 7, 3, 2)  # r2 is a write
    assert "request.type" in constraints(check_log(log_of(rows), SPEC, ControllerConfig(), REQS))


def test_forwarded_read_accepted():
    """r1 reads the address r0 writes while r0 is still queued: no command needed for r1."""
    reqs = requests_of(SPEC, [(0, 0, 5, 0), (0, 0, 5, 0)], [1, 0])
    rows = [(0, ACT, 0, 5, -1, 0), (11, WR, 0, 5, 0, 0)]
    assert check_log(log_of(rows), SPEC, ControllerConfig(), reqs) == []
    reqs = requests_of(SPEC, [(0, 0, 5, 0), (0, 0, 5, 1)], [1, 0])  # different address: must be served
    assert constraints(check_log(log_of(rows), SPEC, ControllerConfig(), reqs)) == {"request.never_served"}


def test_closed_page():
    cfg = ControllerConfig(page_policy="closed")
    reqs = requests_of(SPEC, [(0, 0, 5, 0), (0, 0, 5, 1)], [0, 1])
    rows = [(0, ACT, 0, 5, -1, 0), (11, RDA, 0, 5, 0, 0),
            (39, ACT, 0, 5, -1, 1),   # max(nRC 39, RDA->ACT nRTP+nRP = 11 + 17 = 28)
            (50, WRA, 0, 5, 1, 1)]
    assert check_log(log_of(rows), SPEC, cfg, reqs) == []
    assert "state.page_policy" in constraints(check_log(log_of(rows), SPEC, ControllerConfig(), reqs))
    early = [r if r[1] != ACT or r[0] == 0 else (38, ACT, 0, 5, -1, 1) for r in rows]
    assert "ACT->ACT nRC" in constraints(check_log(log_of(early), SPEC, cfg, reqs))
    no_act = [rows[0], rows[1], (50, WRA, 0, 5, 1, 1)]  # RDA closed the bank: WRA needs an ACT
    assert "state.column_closed" in constraints(check_log(log_of(no_act), SPEC, cfg, reqs))


def test_masa_subarrays():
    cfg = ControllerConfig(salp="masa")
    other = 3 * RPS + 2  # a row in subarray 3 of the same bank
    rows = [(0, ACT, 0, 5, -1, 0), (5, ACT, 0, other, -1, 1),  # nRRD_L, not nRC, between subarrays
            (16, RD, 0, other, 0, 1), (20, RD, 0, 5, 0, 0)]
    log = log_of(rows)
    assert check_log(log, SPEC, cfg) == []
    assert "state.ACT_open" in constraints(check_log(log, SPEC, ControllerConfig()))  # one row per bank
    rows[1] = (4, ACT, 0, other, -1, 1)
    assert "ACT->ACT nRRD_L" in constraints(check_log(log_of(rows), SPEC, cfg))  # (= nRRD_S on DDR3)
    # PRE of subarray 0 only: subarray 3 (request 1 still in the active list) stays open
    pre = rows[:1] + [(5, ACT, 0, other, -1, 1), (11, RD, 0, 5, 0, 0), (28, PRE, 0, -1, -1, 2),
                      (39, ACT, 0, 7, -1, 2), (50, RD, 0, other, 1, 1)]
    log = log_of(pre)
    log["subarray"][3] = 0
    assert check_log(log, SPEC, cfg) == []
    log["subarray"][3] = 3  # closing subarray 3 instead hits request 1's open row
    assert {"active_list", "state.ACT_open"} <= constraints(check_log(log, SPEC, cfg))


def test_refresh_sequence():
    n = 6240
    rows = [(0, ACT, 0, 5, -1, 0), (11, RD, 0, 5, 0, 0), (n, PREA, -1, -1, -1, -1),
            (n + 11, REF, -1, -1, -1, -1), (n + 11 + 208, ACT, 0, 5, -1, 1)]
    assert check_log(log_of(rows), SPEC, ControllerConfig()) == []
    no_rd = [r for r in rows if r[1] != RD]  # PREA closes the row request 0 activated
    assert constraints(check_log(log_of(no_rd), SPEC, ControllerConfig())) == {"active_list"}
    early = rows[:4] + [(n + 11 + 207, ACT, 0, 5, -1, 1)]
    assert constraints(check_log(log_of(early), SPEC, ControllerConfig())) == {"REF->ACT nRFC"}
    ref_open = [(0, ACT, 0, 5, -1, 0), (n, REF, -1, -1, -1, -1)]
    assert "state.REF_open" in constraints(check_log(log_of(ref_open), SPEC, ControllerConfig()))
    not_pending = [(100, REF, -1, -1, -1, -1)]
    assert "refresh.not_pending" in constraints(check_log(log_of(not_pending), SPEC, ControllerConfig()))
    no_refresh = ControllerConfig(refresh=False)
    assert "refresh.not_pending" in constraints(check_log(log_of(rows), SPEC, no_refresh))


def test_rank_to_rank_read_gap():
    rows = [(0, ACT, 0, 5, -1, 0, 0), (5, ACT, 0, 5, -1, 1, 1),
            (16, RD, 0, 5, 0, 1, 1), (22, RD, 0, 5, 0, 0, 0)]  # 16 + nBL + nRTRS = 22
    assert check_log(log_of(rows), SPEC2R, ControllerConfig()) == []
    rows[3] = (21, RD, 0, 5, 0, 0, 0)
    v = constraints(check_log(log_of(rows), SPEC2R, ControllerConfig()))
    assert {"RD->column(other rank) nBL+nRTRS", "data bus"} <= v          # r2.1 (Ramulator 2.1's name)
    v = constraints(check_log(log_of(rows), SPEC2R, ControllerConfig(controller="r2.0-conservative")))
    assert {"RD->RD(other rank) nBL+nRTRS", "data bus"} <= v


def test_csv_roundtrip_and_cli(tmp_path, capsys):
    p = tmp_path / "log.csv"
    write_command_log_csv(p, log_of(LEGAL))
    back = read_command_log_csv(p)
    assert np.array_equal(back, log_of(LEGAL))
    assert p.read_text().splitlines()[1].split(",")[8] == "ACT"
    assert main([str(p), "--spec", "DDR3L-1600K"]) == 0
    bad = tmp_path / "bad.csv"
    write_command_log_csv(bad, _mutate(shift=(2, -1)))
    capsys.readouterr()
    assert main([str(bad)]) == 1
    assert "ACT->column nRCD" in capsys.readouterr().out
    broken = tmp_path / "broken.csv"
    broken.write_text(p.read_text().replace(",RD,", ",XX,", 1))
    assert main([str(broken)]) == 2
    assert "broken.csv:4: command" in capsys.readouterr().err
    with pytest.raises(CommandLogError, match="header"):
        (tmp_path / "h.csv").write_text("a,b\n")
        read_command_log_csv(tmp_path / "h.csv")


def test_drampower_trace(tmp_path):
    p = tmp_path / "rank0.trace"
    n = write_drampower_trace(p, log_of(LEGAL), SPEC)
    lines = p.read_text().splitlines()
    assert n == len(LEGAL) and lines[0] == "0,ACT,0" and lines[4] == "24,WR,1" and lines[5] == "28,PRE,0"


@pytest.mark.parametrize("cfg", [ControllerConfig(), ControllerConfig(page_policy="closed", salp="masa",
                                                                       scheduler="frfcfs_cap")],
                         ids=["open", "closed-masa-cap"])
@pytest.mark.parametrize("engine_name", ["dramsim.engine_fast", "dramsim.engine_simpy"])
def test_engine_log_is_legal_and_corruptions_are_caught(cfg, engine_name):
    """Independent implementations as truth: each engine's log passes; mutated copies do not."""
    engine = pytest.importorskip(engine_name)
    spec = load_spec("DDR4-2400R", ranks=2)
    m = AddressMapper(spec)
    rng = np.random.default_rng(7)
    n = 1500
    rows = rng.integers(0, 4, n) * RPS + rng.integers(0, 3, n)
    addr = m.encode(0, rng.integers(0, 2, n), rng.integers(0, 4, n), rng.integers(0, 2, n), rows,
                    rng.integers(0, 128, n))
    arrive = np.where(rng.random(n) < 0.5, -1, np.sort(rng.integers(0, 20000, n)))
    reqs = m.decode(addr, rng.random(n) < 0.3, arrive)
    counters, log = engine.run(spec, cfg, reqs, command_log=True)
    assert (log["command"] == REF).any()  # the run crosses nREFI, so refresh is exercised
    assert check_log(log, spec, cfg, reqs, counters) == []
    for k in rng.choice(len(log), 10, replace=False):
        assert check_log(np.delete(log, k), spec, cfg, reqs, counters), f"deleting record {k} went unnoticed"


def test_cli_checks_against_the_reduced_vdd_timings(tmp_path, capsys):
    """The legal nominal-VDD log breaks the longer tRCD of 1.025 V; --vdd makes the checker see it."""
    p = tmp_path / "log.csv"
    write_command_log_csv(p, log_of(LEGAL))
    assert main([str(p), "--spec", "DDR3L-1600K"]) == 0
    capsys.readouterr()
    assert main([str(p), "--spec", "DDR3L-1600K", "--vdd", "1.025"]) == 1
    assert "nRCD" in capsys.readouterr().out
    assert main([str(p), "--spec", "DDR3L-1600K", "--vdd", "0.5"]) == 2


def test_streaming_in_small_blocks_equals_one_pass(tmp_path):
    """The CLI checks a file block by block (bounded memory): any block size gives the same
    violations and counters as the whole log at once; a header does not shift line numbers."""
    from dramsim import engine_fast
    from dramsim.checker import _Replay
    from dramsim.cmdlog import iter_command_log, make_header
    spec = load_spec("DDR4-2400R", ranks=2)
    cfg = ControllerConfig(powerdown_idle=30)
    m = AddressMapper(spec)
    rng = np.random.default_rng(3)
    n = 400
    addr = m.encode(0, rng.integers(0, 2, n), rng.integers(0, 4, n), rng.integers(0, 2, n),
                    rng.integers(0, 3, n) * RPS, rng.integers(0, 8, n))
    reqs = m.decode(addr, rng.random(n) < 0.3, np.sort(rng.integers(0, 30000, n)))
    counters, log = engine_fast.run(spec, cfg, reqs, command_log=True)
    bad = log.copy()
    bad["cycle"][len(bad) // 2] += 1                       # one command a cycle late: some violation
    p = tmp_path / "bad.log.csv"
    write_command_log_csv(p, bad, make_header(spec, cfg, "RoBaRaCoCh", None, n))
    whole = check_log(bad, spec, cfg, reqs, counters)
    assert whole
    for block in (1, 7, 1000):
        run = _Replay(spec, cfg, reqs)
        for rows in iter_command_log(p, chunk_rows=block):
            run.feed(rows)
        run.finish()
        assert [str(v) for v in run.violations()] == [str(v) for v in whole if not v.constraint.startswith("counters")]
    broken = tmp_path / "broken.log.csv"
    lines = p.read_text().splitlines()
    header_lines = sum(1 for x in lines if x.startswith("#")) + 1
    lines[header_lines + 4] = lines[header_lines + 4].replace(",", ";", 1)   # the 5th row
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandLogError, match=rf"broken.log.csv:{header_lines + 5}: cycle: not an integer"):
        list(iter_command_log(broken))
