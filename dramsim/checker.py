"""Independent checker of DRAM command logs against docs/controller.md (imports no engine).

``check_log(log, spec, config, requests=None, counters=None)`` replays a command log
(``COMMAND_LOG_DTYPE`` records, in issue order) and returns every ``Violation`` it finds:

* command bus: at most one command per channel per cycle; records in cycle order;
* unit state (the unit is the bank, or the subarray with salp ``masa``): no ACT to an open
  unit, no column command to a closed unit or to another row, no PRE to a closed unit, PREA
  only with some unit of the rank open, REF only with every unit of the rank closed; column
  commands are RD/WR with the open-page policy and RDA/WRA with the closed-page policy; log
  fields consistent (subarray = row's top bits, coordinates in range);
* timing: every same-unit, same-rank (tFAW included), same-bank-group, other-rank, channel,
  refresh and power-management constraint of docs/controller.md for the config's controller
  variant (``timing_rules``);
* data bus: bursts of one channel never overlap (read data at cycle + nCL, write data at cycle
  + nCWL, nBL cycles each; other ranks nRTRS apart; with r2.1 the gaps Ramulator 2.1's table
  implies, see docs/controller.md);
* refresh: REF/PREA only while the rank's refresh flag is pending (raised at every refresh tick,
  r2.1: cycles k*nREFI - 1, r2.0-conservative: k*nREFI, except for ranks in self-refresh;
  cleared by REF) and never with refresh disabled; a PRE or PREA never closes the unit of a
  request that has issued its ACT but not its column command;
* power management: PDE/SRE only in standby and only after the rank was idle (no command but
  power-management ones) for the configured time, SRE only with every unit closed, not while
  refresh is pending and not twice without a REF in between; PDX only in power-down, SRX only in
  self-refresh; no other command to a sleeping rank; none at all with power management off;
* with ``requests`` (DecodedRequests): every command issued for request i targets i's
  coordinates (ACT at its row, PRE to its unit while open at another row), no command before
  cycle max(i, arrive_i) (one request accepted per cycle) or after its column command, each
  request served exactly once by a column command of the right type (a read -- with r2.1 also a
  write -- with no command must have an earlier write to the same address whose column command
  is not earlier than its earliest acceptance: it may have been forwarded / coalesced);
  refresh and power commands carry request -1;
* with ``counters`` (RawCounters) too: every counter derivable from the log equals the log's
  value (commands, reads/writes per bank, row hit/miss/conflict classification, subarray
  accesses/ACTs, active cycles, units closed by PREAs, power-state cycles, total_cycles, last
  column commands, read-latency count).

The replay is a numba kernel (dramsim/_check_kernel.py) over blocks of rows, so the CLI checks a
log file of any length in bounded memory. Files: dramsim/cmdlog.py (header and CSV);
``write_drampower_trace`` writes one rank's commands as DRAMPower command-trace lines
``cycle,CMD,bank``. CLI: ``python -m dramsim.checker LOG.csv [--trace FILE]`` (the header
supplies the rest).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np

from dramsim import _check_kernel as KC
from dramsim.cmdlog import (LOG_FIELDS, CommandLogError, config_from_header, iter_command_log,  # noqa: F401
                            read_command_log_csv, read_header, records, write_command_log_csv)
from dramsim.commands import (ACT, COLUMN_COMMANDS, COMMAND_LOG_DTYPE, COMMAND_NAMES, N_COMMANDS, PDE, PDX, PRE,
                              PREA, RD, RDA, READ_COMMANDS, REF, SRE, SRX, WR, WRA, WRITE_COMMANDS)
from dramsim.config import ControllerConfig
from dramsim.counters import RawCounters
from dramsim.requests import DecodedRequests
from dramsim.spec import DramSpec

assert (ACT, PRE, PREA, RD, WR, RDA, WRA, REF, PDE, PDX, SRE, SRX, N_COMMANDS) == (
    KC.ACT, KC.PRE, KC.PREA, KC.RD, KC.WR, KC.RDA, KC.WRA, KC.REF, KC.PDE, KC.PDX, KC.SRE, KC.SRX, KC.N_CMD)


@dataclass(frozen=True)
class Violation:
    cycle: int
    constraint: str
    detail: str

    def __str__(self) -> str:
        return f"cycle {self.cycle}: {self.constraint}: {self.detail}"


# ------------------------------------------------------------------------------------------
# Timing rules
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    name: str          # e.g. "ACT->RD nRCD"
    prev: frozenset
    nxt: frozenset
    scope: str         # "unit", "rank", "bankgroup", "other_rank", "channel"
    delay: int


_SCOPES = {"unit": KC.SC_UNIT, "rank": KC.SC_RANK, "bankgroup": KC.SC_GROUP, "other_rank": KC.SC_OTHER,
           "channel": KC.SC_CHANNEL}


def timing_rules(spec: DramSpec, config: ControllerConfig | None = None) -> list[_Rule]:
    """The constraints of docs/controller.md as (previous, next, scope, delay) rules, for
    ``config``'s controller variant and power management."""
    config = config or ControllerConfig()
    t = spec.timing
    f = frozenset
    rd, wr, col = f(READ_COMMANDS), f(WRITE_COMMANDS), f(COLUMN_COMMANDS)
    wr_rec = t.nCWL + t.nBL + t.nWR
    rules = [
        # same unit (bank; subarray with masa)
        _Rule("ACT->ACT nRC", f({ACT}), f({ACT}), "unit", t.nRC),
        _Rule("ACT->column nRCD", f({ACT}), col, "unit", t.nRCD),
        _Rule("ACT->PRE nRAS", f({ACT}), f({PRE}), "unit", t.nRAS),
        _Rule("PRE->ACT nRP", f({PRE}), f({ACT}), "unit", t.nRP),
        _Rule("RD->PRE nRTP", f({RD}), f({PRE}), "unit", t.nRTP),
        _Rule("WR->PRE nCWL+nBL+nWR", f({WR}), f({PRE}), "unit", wr_rec),
        _Rule("RDA->ACT nRTP+nRP", f({RDA}), f({ACT}), "unit", t.nRTP + t.nRP),
        _Rule("WRA->ACT nCWL+nBL+nWR+nRP", f({WRA}), f({ACT}), "unit", wr_rec + t.nRP),
        # same rank, any bank group
        _Rule("ACT->ACT nRRD_S", f({ACT}), f({ACT}), "rank", t.nRRD_S),
        _Rule("RD->RD nCCD_S", rd, rd, "rank", t.nCCD_S),
        _Rule("WR->WR nCCD_S", wr, wr, "rank", t.nCCD_S),
        _Rule("RD->WR nCL+nBL+2-nCWL", rd, wr, "rank", t.nCL + t.nBL + 2 - t.nCWL),
        _Rule("WR->RD nCWL+nBL+nWTR_S", wr, rd, "rank", t.nCWL + t.nBL + t.nWTR_S),
        _Rule("ACT->PREA nRAS", f({ACT}), f({PREA}), "rank", t.nRAS),
        _Rule("RD->PREA nRTP", f({RD}), f({PREA}), "rank", t.nRTP),
        _Rule("WR->PREA nCWL+nBL+nWR", f({WR}), f({PREA}), "rank", wr_rec),
        _Rule("PRE/PREA->REF nRP", f({PRE, PREA}), f({REF}), "rank", t.nRP),
        _Rule("RDA->REF nRTP+nRP", f({RDA}), f({REF}), "rank", t.nRTP + t.nRP),
        _Rule("WRA->REF nCWL+nBL+nWR+nRP", f({WRA}), f({REF}), "rank", wr_rec + t.nRP),
        _Rule("ACT->REF nRC", f({ACT}), f({REF}), "rank", t.nRC),
        _Rule("REF->ACT nRFC", f({REF}), f({ACT}), "rank", t.nRFC),
        _Rule("REF->REF nRFC", f({REF}), f({REF}), "rank", t.nRFC),
        _Rule("PREA->ACT nRP", f({PREA}), f({ACT}), "rank", t.nRP),
        # same rank, same bank group
        _Rule("ACT->ACT nRRD_L", f({ACT}), f({ACT}), "bankgroup", t.nRRD_L),
        _Rule("RD->RD nCCD_L", rd, rd, "bankgroup", t.nCCD_L),
        _Rule("WR->WR nCCD_L", wr, wr, "bankgroup", t.nCCD_L),
        _Rule("WR->RD nCWL+nBL+nWTR_L", wr, rd, "bankgroup", t.nCWL + t.nBL + t.nWTR_L),
    ]
    if config.r21:
        # Ramulator 2.1's DDR3/DDR4 tables (python/ramulator/dram/ddr3.py, ddr4.py; nCS = nRTRS)
        rules += [
            _Rule("RD->RD(channel) nBL", rd, rd, "channel", t.nBL),
            _Rule("WR->WR(channel) nBL", wr, wr, "channel", t.nBL),
            _Rule("RD->column(other rank) nBL+nRTRS", rd, col, "other_rank", t.nBL + t.nRTRS),
            _Rule("WR->RD(other rank) nCWL+nBL+nRTRS-nCL", wr, rd, "other_rank",
                  t.nCWL + t.nBL + t.nRTRS - t.nCL),
        ]
    else:
        rules += [
            _Rule("RD->RD(other rank) nBL+nRTRS", rd, rd, "other_rank", t.nBL + t.nRTRS),
            _Rule("WR->WR(other rank) nBL+nRTRS", wr, wr, "other_rank", t.nBL + t.nRTRS),
            _Rule("RD->WR(other rank) nCL+nBL+nRTRS-nCWL", rd, wr, "other_rank",
                  t.nCL + t.nBL + t.nRTRS - t.nCWL),
            _Rule("WR->RD(other rank) nCWL+nBL+nRTRS-nCL", wr, rd, "other_rank",
                  t.nCWL + t.nBL + t.nRTRS - t.nCL),
        ]
    if config.power_management:
        low = f({PDE, SRE})
        rules += [
            _Rule("ACT->PDE/SRE nRC", f({ACT}), low, "rank", t.nRC),
            _Rule("PRE/PREA->PDE/SRE nRP", f({PRE, PREA}), low, "rank", t.nRP),
            _Rule("RD->PDE/SRE nCL+nBL+1", f({RD}), low, "rank", t.nCL + t.nBL + 1),
            _Rule("RDA->PDE/SRE max(nCL+nBL+1,nRTP+nRP)", f({RDA}), low, "rank",
                  max(t.nCL + t.nBL + 1, t.nRTP + t.nRP)),
            _Rule("WR->PDE/SRE nCWL+nBL+nWR", f({WR}), low, "rank", wr_rec),
            _Rule("WRA->PDE/SRE nCWL+nBL+nWR+nRP", f({WRA}), low, "rank", wr_rec + t.nRP),
            _Rule("REF->PDE/SRE nRFC", f({REF}), low, "rank", t.nRFC),
            _Rule("PDE->PDX nCKE", f({PDE}), f({PDX}), "rank", t.nCKE),
            _Rule("PDX->any nXP", f({PDX}), f({ACT, PRE, PREA, REF, PDE, SRE}) | col, "rank", t.nXP),
        ]
        if config.self_refresh_idle is not None:
            rules += [
                _Rule("SRE->SRX nCKESR", f({SRE}), f({SRX}), "rank", t.nCKESR),
                _Rule("SRX->ACT/PRE/PREA/REF/PDE/SRE nXS", f({SRX}), f({ACT, PRE, PREA, REF}) | low, "rank",
                      t.nXS),
                _Rule("SRX->column nXSDLL", f({SRX}), col, "rank", t.nXSDLL),
            ]
    return rules


def _rule_table(rules: list[_Rule]):
    """(int64 [r, 4] rows (previous, scope, latency, next) sorted by next, start offsets [13],
    the rule of each row)."""
    rows = sorted(((n, p, _SCOPES[r.scope], r.delay, r) for r in rules for p in r.prev for n in r.nxt),
                  key=lambda x: x[0])
    table = np.array([(p, s, d, n) for n, p, s, d, _ in rows], dtype=np.int64).reshape(-1, 4)
    starts = np.searchsorted(table[:, 3], np.arange(N_COMMANDS + 1)).astype(np.int64)
    return table, starts, [x[4] for x in rows]


# ------------------------------------------------------------------------------------------
# The checker
# ------------------------------------------------------------------------------------------

def _name(code: int) -> str:
    return COMMAND_NAMES[code] if 0 <= code < len(COMMAND_NAMES) else f"#{code}"


_PS_NAMES = ("standby", "active power-down", "precharge power-down", "self-refresh")
_VIOLATION_BUFFER = 1 << 12


class _Replay:
    """One replay of a log, fed row blocks (int64 [n, 10]) in order; ``limit`` caps the
    violations kept (the others are counted by constraint)."""

    def __init__(self, spec: DramSpec, config: ControllerConfig, requests: DecodedRequests | None,
                 limit: int | None = None):
        self.spec, self.config, self.req, self.limit = spec, config, requests, limit
        o, t = spec.org, spec.timing
        self.masa = config.salp == "masa"
        self.rules, self.starts, self.rule_of = _rule_table(timing_rules(spec, config))
        p = np.zeros(KC.N_PRM, dtype=np.int64)
        p[KC.Q_CH], p[KC.Q_RK], p[KC.Q_BG], p[KC.Q_BPG], p[KC.Q_SA] = (o.channels, o.ranks, o.bankgroups,
                                                                       o.banks_per_group, o.subarrays)
        p[KC.Q_ROWS], p[KC.Q_COLS], p[KC.Q_RPS] = o.rows, o.columns_per_row_bursts, o.rows_per_subarray
        p[KC.Q_MASA], p[KC.Q_CLOSED] = int(self.masa), int(config.page_policy == "closed")
        p[KC.Q_REFRESH], p[KC.Q_NREFI] = int(config.refresh), config.nrefi(spec)
        p[KC.Q_TICK0] = config.first_refresh_cycle(spec)
        p[KC.Q_NCL], p[KC.Q_NCWL], p[KC.Q_NBL], p[KC.Q_NFAW], p[KC.Q_NRFC] = t.nCL, t.nCWL, t.nBL, t.nFAW, t.nRFC
        p[KC.Q_PM] = int(config.power_management)
        p[KC.Q_PDI] = -1 if config.powerdown_idle is None else config.powerdown_idle
        p[KC.Q_SRI] = -1 if config.self_refresh_idle is None else config.self_refresh_idle
        p[KC.Q_R21] = int(config.r21)
        # data bus: the gap a burst must leave after a burst of another rank (read/write pairs)
        p[KC.Q_GAP_RR] = t.nRTRS
        p[KC.Q_GAP_WR] = t.nRTRS
        p[KC.Q_GAP_RW] = t.nRTRS + t.nCWL - t.nCL if config.r21 else t.nRTRS
        p[KC.Q_GAP_WW] = 0 if config.r21 else t.nRTRS
        n_req = len(requests) if requests is not None else 0
        p[KC.Q_NREQ], p[KC.Q_HAVE_REQ] = n_req, int(requests is not None)
        self.prm = p
        nr = o.channels * o.ranks
        ng = nr * o.bankgroups
        nb = ng * o.banks_per_group
        nu = nb * (o.subarrays if self.masa else 1)
        neg = lambda *shape: np.full(shape, KC.NEG, dtype=np.int64)  # noqa: E731
        z = lambda *shape: np.zeros(shape, dtype=np.int64)  # noqa: E731
        self.st = z(KC.N_ST)
        self.st[KC.S_PREV] = KC.NEG
        self.st[KC.S_TICK] = p[KC.Q_TICK0]
        self.unit_last, self.group_last, self.rank_last = neg(nu, N_COMMANDS), neg(ng, N_COMMANDS), neg(nr, N_COMMANDS)
        self.faw = z(nr, 4)
        self.unit_open = np.full(nu, -1, dtype=np.int64)
        self.unit_holder = np.full(nu, -1, dtype=np.int64)
        self.rk_st = z(nr, KC.N_KST)
        self.rk_st[:, KC.K_SROK] = 1
        self.rk_cnt = z(nr, KC.N_RC)
        self.bank_cnt = z(nb, KC.N_BC)
        self.sa_cnt = z(nb * o.subarrays, 2)
        self.ch_cnt = z(o.channels, KC.N_CC)
        self.ch_cnt[:, KC.CC_BUS] = KC.NEG
        self.ch_cnt[:, KC.CC_LASTR] = self.ch_cnt[:, KC.CC_LASTW] = -1
        self.ring = z(o.channels, KC.RING, 5)
        self.viol = z(_VIOLATION_BUFFER, 7)
        if requests is not None:              # (int32 coordinates: a million requests cost 40 MB)
            a = lambda x: np.ascontiguousarray(x, dtype=np.int32)  # noqa: E731
            self.r = (a(requests.channel), a(requests.rank), a(requests.bankgroup), a(requests.bank),
                      a(requests.subarray), a(requests.row), a(requests.column),
                      np.ascontiguousarray(requests.is_write, dtype=np.int8),
                      np.ascontiguousarray(requests.arrive, dtype=np.int64))
        else:
            e = np.zeros(0, dtype=np.int32)
            self.r = (e,) * 7 + (np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int64))
        self.served = np.full(n_req, -1, dtype=np.int64)
        self.classified = np.zeros(n_req, dtype=np.int8)
        self.out: list[Violation] = []
        self.overflow: Counter = Counter()
        self.n_rows = 0

    # -- feeding ------------------------------------------------------------------------------
    def feed(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if not len(rows):
            return
        if self.req is None:                  # no trace: request bookkeeping grows with the log
            need = int(rows[:, 9].max()) + 1
            if need > len(self.served):
                size = max(need, 2 * len(self.served))
                self.served = np.concatenate([self.served, np.full(size - len(self.served), -1, np.int64)])
                self.classified = np.concatenate([self.classified, np.zeros(size - len(self.classified), np.int8)])
        # keep the violation buffer from overflowing: feed in pieces, draining in between
        step = max(1, _VIOLATION_BUFFER // 8)
        for start in range(0, len(rows), 1 << 16):
            piece = rows[start:start + (1 << 16)]
            if self.st[KC.S_NV] + 8 * len(piece) > _VIOLATION_BUFFER:
                for s in range(0, len(piece), step):
                    self._kernel(piece[s:s + step])
            else:
                self._kernel(piece)
        self.n_rows += len(rows)

    def _kernel(self, rows):
        KC.check_rows(self.prm, self.rules, self.starts, rows, self.st, self.unit_last, self.group_last,
                      self.rank_last, self.faw, self.unit_open, self.unit_holder, self.rk_st, self.rk_cnt,
                      self.bank_cnt, self.sa_cnt, self.ch_cnt, self.ring, self.viol, *self.r, self.served,
                      self.classified)
        if self.st[KC.S_NV]:
            self._drain()

    def _drain(self):
        n = int(self.st[KC.S_NV])
        kept = min(n, _VIOLATION_BUFFER)
        for row in self.viol[:kept]:
            self._keep(self._violation(*(int(x) for x in row)))
        if n > kept:                          # (only if a single row produced > 512 violations)
            self.overflow["(more)"] += n - kept
        self.st[KC.S_NV] = 0

    def _keep(self, v: Violation) -> None:
        if self.limit is None or len(self.out) < self.limit:
            self.out.append(v)
        else:
            self.overflow[v.constraint] += 1

    # -- messages -----------------------------------------------------------------------------
    def _violation(self, code, cyc, rid, a, b, c, d) -> Violation:
        """The Violation of kernel record (code, cycle, row id, a, b, c, d)."""
        t = self.spec.timing
        at = f"record {rid}"
        if code == KC.V_TIMING:
            rule = self.rule_of[a]
            prev = COMMAND_NAMES[int(self.rules[a, 0])]
            nxt = COMMAND_NAMES[int(self.rules[a, 3])]
            rank = f" (rank {c})" if rule.scope in ("other_rank", "channel") else ""
            return Violation(cyc, rule.name, f"{nxt} ({at}) needs cycle >= {b + rule.delay} ({prev} at {b}{rank}, "
                                             f"delay {rule.delay})")
        simple = {
            KC.V_FAW: lambda: ("nFAW", f"{at}: 5th ACT within nFAW={t.nFAW} of the rank (4th previous ACT at {a})"),
            KC.V_BUS: lambda: ("command bus", f"{at}: channel {a} already issued a command this cycle (record {b})"),
            KC.V_ACT_OPEN: lambda: ("state.ACT_open", f"{at}: unit already open at row {a}"),
            KC.V_PRE_CLOSED: lambda: ("state.PRE_closed", f"{at}: unit is not open"),
            KC.V_COL_CLOSED: lambda: ("state.column_closed", f"{at}: unit is closed"),
            KC.V_COL_ROW: lambda: ("state.column_wrong_row", f"{at}: unit is open at row {a}"),
            KC.V_PAGE: lambda: ("state.page_policy", f"{at}: {self.config.page_policy} page uses "
                                             f"{'RDA/WRA' if a else 'RD/WR'}"),
            KC.V_PREA_CLOSED: lambda: ("state.PREA_all_closed", f"{at}: no unit of the rank is open"),
            KC.V_REF_OPEN: lambda: ("state.REF_open", f"{at}: {a} unit(s) of the rank still open"),
            KC.V_NOT_PENDING: lambda: ("refresh.not_pending", f"{at}: {'REF' if a else 'PREA'} without a pending refresh"),
            KC.V_ACTIVE_LIST: lambda: ("active_list", f"{at} closes the row of request {a} that issued its ACT but not "
                                              "its column command"),
            KC.V_DATA_BUS: lambda: ("data bus", f"{at} puts data on the bus too close to the burst of the command at "
                                        f"cycle {a} (data {b}..{c - 1}; required gap {d})"),
            KC.V_LOG_COMMAND: lambda: ("log.command", f"unknown command code {a} in {at}"),
            KC.V_LOG_SUBARRAY: lambda: ("log.subarray", f"{at}: row {a} is in subarray {c}, log says {b}"),
            KC.V_LOG_CYCLE: lambda: ("log.cycle", f"negative cycle in {at}"),
            KC.V_LOG_ORDER: lambda: ("log.order", f"{at}: records are not in cycle order (previous at {a})"),
            KC.V_REQ_MISSING: lambda: ("request.missing", f"{at} carries no request"),
            KC.V_REQ_PRE_MISSING: lambda: ("request.missing", f"{at}: PRE without a request (refresh uses PREA)"),
            KC.V_REQ_REFRESH: lambda: ("request.refresh", f"{at} carries request {a}; rank commands carry -1"),
            KC.V_REQ_INDEX: lambda: ("request.index", f"{at}: request {a} does not exist ({b} requests)"),
            KC.V_REQ_TWICE: lambda: ("request.served_twice", f"{at}: request {a} already served at {b}"),
            KC.V_REQ_AFTER: lambda: ("request.after_served", f"{at}: request {a} was already served at cycle {b}"),
            KC.V_REQ_EARLY: lambda: ("request.early", f"{at}: request {a} cannot be accepted before cycle {b}"),
            KC.V_REQ_NEEDLESS: lambda: ("request.needless_PRE", f"{at}: unit already open at request {a}'s row"),
            KC.V_REQ_TYPE: lambda: ("request.type", f"{at}: request {a} is a {'write' if b else 'read'}"),
            KC.V_PW_DISABLED: lambda: ("power.disabled", f"{at}: {_name(a)} but power management is off"),
            KC.V_PW_ASLEEP: lambda: ("power.asleep", f"{at}: {_name(a)} to a rank in {_PS_NAMES[b]}"),
            KC.V_PW_SR_OPEN: lambda: ("power.SRE_open", f"{at}: SRE with {a} unit(s) open"),
            KC.V_PW_SR_NOREF: lambda: ("power.SRE_without_REF", f"{at}: SRE again without a REF since the last SRX"),
        }
        if code in simple:
            name, detail = simple[code]()
            return Violation(cyc, name, detail)
        if code == KC.V_LOG_ADDRESS:
            what = ("channel/rank", "bankgroup/bank", "subarray", "row", "column")[a]
            return Violation(cyc, "log.address", f"{at}: {what} {b}{'/' + str(c) if a < 2 else ''} outside the device")
        if code == KC.V_REQ_ADDRESS:
            what = ("channel/rank/bankgroup/bank", "subarray", "row", "column")[b]
            return Violation(cyc, "request.address", f"{at}: request {a} has another {what}"
                                                     f"{'' if b == 0 else f' ({c})'}")
        if code == KC.V_PW_STATE:
            state = "a pending refresh" if b == 9 else _PS_NAMES[b]
            return Violation(cyc, "power.state", f"{at}: {_name(a)} with the rank in {state}")
        if code == KC.V_PW_EARLY:
            setting = "powerdown_idle" if a == PDE else "self_refresh_idle"
            if c < 0:
                return Violation(cyc, "power.policy", f"{at}: {_name(a)} but {setting} is off")
            return Violation(cyc, "power.policy", f"{at}: {_name(a)} before the rank was idle for {setting}={c} "
                                                  f"cycles (idle since {b})")
        return Violation(cyc, f"#{code}", f"{at}")

    # -- end ------------------------------------------------------------------------------------
    def finish(self) -> None:
        self._final_counters()
        if self.req is not None:
            self._check_all_served()

    def _final_counters(self) -> None:
        end = int(self.st[KC.S_END])
        for k in range(len(self.rk_st)):
            if self.rk_st[k, KC.K_OPEN] > 0:
                self.rk_cnt[k, KC.RC_ACTIVE] += max(0, end - int(self.rk_st[k, KC.K_OPENSINCE]))
            d = end - int(self.rk_st[k, KC.K_PSINCE])
            ps = int(self.rk_st[k, KC.K_PS])
            if ps == KC.PS_PDA:
                self.rk_cnt[k, KC.RC_PDA] += max(0, d)
            elif ps == KC.PS_PDP:
                self.rk_cnt[k, KC.RC_PDP] += max(0, d)
            elif ps == KC.PS_SR:
                self.rk_cnt[k, KC.RC_SR] += max(0, d - self.spec.timing.nRFC)
            self.rk_st[k, KC.K_OPEN] = 0
            self.rk_st[k, KC.K_PS] = KC.PS_STBY

    def _check_all_served(self) -> None:
        req = self.req
        n = len(req)
        accept = np.maximum(np.arange(n, dtype=np.int64), np.asarray(req.arrive, dtype=np.int64))
        addr = np.asarray(req.addr, dtype=np.uint64).view(np.int64)
        order = np.lexsort((np.arange(n), addr)).astype(np.int64)
        ok = np.zeros(n, dtype=np.int8)
        is_w = np.asarray(req.is_write, dtype=np.int8)
        KC.forward_sources(addr, is_w, accept, self.served, order, ok)
        for i in np.flatnonzero(self.served < 0):
            i = int(i)
            if ok[i] and (not is_w[i] or self.config.r21):
                continue
            if is_w[i]:
                why = ("no WR/WRA and no earlier write to the same address pending to coalesce into"
                       if self.config.r21 else "no WR/WRA")
                self._keep(Violation(-1, "request.never_served", f"write request {i} has {why}"))
            else:
                self._keep(Violation(-1, "request.never_served",
                                     f"read request {i} has no RD/RDA and no earlier write to address "
                                     f"{int(req.addr[i]):#x} pending at cycle >= {int(accept[i])} to forward from"))

    def violations(self) -> list[Violation]:
        return sorted(self.out, key=lambda v: v.cycle)

    def counters(self) -> RawCounters:
        """The RawCounters fields a command log determines (latency/occupancy/forwarding
        excepted: they need acceptance cycles the log does not hold; ``read_latency_hist``
        holds only the number of reads in its first bin)."""
        o = self.spec.org
        c = RawCounters.zeros(o.channels, o.ranks, o.banks, o.subarrays)
        c.commands[:] = self.rk_cnt[:, :N_COMMANDS]
        c.active_cycles[:] = self.rk_cnt[:, KC.RC_ACTIVE]
        c.prea_closed_units[:] = self.rk_cnt[:, KC.RC_PREA_UNITS]
        c.pd_active_cycles[:] = self.rk_cnt[:, KC.RC_PDA]
        c.pd_precharged_cycles[:] = self.rk_cnt[:, KC.RC_PDP]
        c.sr_cycles[:] = self.rk_cnt[:, KC.RC_SR]
        c.reads[:], c.writes[:] = self.bank_cnt[:, KC.BC_READS], self.bank_cnt[:, KC.BC_WRITES]
        c.row_hits[:], c.row_misses[:] = self.bank_cnt[:, KC.BC_HITS], self.bank_cnt[:, KC.BC_MISSES]
        c.row_conflicts[:] = self.bank_cnt[:, KC.BC_CONFL]
        c.subarray_accesses[:], c.subarray_acts[:] = self.sa_cnt[:, 0], self.sa_cnt[:, 1]
        c.read_latency_hist[:, 0] = self.ch_cnt[:, KC.CC_READS]
        c.last_column[:, 0], c.last_column[:, 1] = self.ch_cnt[:, KC.CC_LASTR], self.ch_cnt[:, KC.CC_LASTW]
        c.total_cycles = int(self.st[KC.S_END])
        return c


def _rows(log: np.ndarray) -> np.ndarray:
    log = np.asarray(log)
    if log.dtype != COMMAND_LOG_DTYPE:
        log = log.astype(COMMAND_LOG_DTYPE)
    cols = np.empty((len(log), len(LOG_FIELDS)), dtype=np.int64)
    for i, name in enumerate(LOG_FIELDS):
        cols[:, i] = log[name]
    return cols


def check_log(log: np.ndarray, spec: DramSpec, config: ControllerConfig | None = None,
              requests: DecodedRequests | None = None,
              counters: RawCounters | None = None) -> list[Violation]:
    """All violations of docs/controller.md found in ``log`` (empty list: the log is legal)."""
    run = _Replay(spec, config or ControllerConfig(), requests)
    run.feed(_rows(log))
    run.finish()
    out = run.out
    if counters is not None:
        out = out + _compare_counters(run.counters(), counters)
    return sorted(out, key=lambda v: v.cycle)


# ------------------------------------------------------------------------------------------
# Counters derivable from the log
# ------------------------------------------------------------------------------------------

def counters_from_log(log: np.ndarray, spec: DramSpec, config: ControllerConfig,
                      requests: DecodedRequests | None = None) -> RawCounters:
    """The RawCounters fields a command log determines (see ``_Replay.counters``)."""
    run = _Replay(spec, config, requests, limit=0)
    run.feed(_rows(log))
    run.finish()
    return run.counters()


_DERIVED = ("commands", "reads", "writes", "row_hits", "row_misses", "row_conflicts", "subarray_accesses",
            "subarray_acts", "active_cycles", "prea_closed_units", "pd_active_cycles", "pd_precharged_cycles",
            "sr_cycles", "last_column")


def _compare_counters(want: RawCounters, counters: RawCounters) -> list[Violation]:
    out = []
    for name in _DERIVED:
        a, b = getattr(counters, name), getattr(want, name)
        if a.shape != b.shape or not np.array_equal(a, b):
            idx = np.argwhere(a != b)[:3].tolist() if a.shape == b.shape else "shape"
            out.append(Violation(-1, f"counters.{name}", f"differs from the log at {idx}"))
    if counters.total_cycles != want.total_cycles:
        out.append(Violation(-1, "counters.total_cycles",
                             f"{counters.total_cycles}, but the last data burst ends at {want.total_cycles}"))
    n_lat = counters.read_latency_hist.sum(axis=1)
    if not np.array_equal(n_lat, want.read_latency_hist[:, 0]):
        out.append(Violation(-1, "counters.read_latency_hist",
                             f"{n_lat.tolist()} latency samples per channel, the log has "
                             f"{want.read_latency_hist[:, 0].tolist()} reads"))
    return out


def check_counters(log, spec, config, counters: RawCounters, requests=None) -> list[Violation]:
    """Differences between ``counters`` and what the log implies (one Violation per field)."""
    return _compare_counters(counters_from_log(np.asarray(log), spec, config, requests), counters)


# ------------------------------------------------------------------------------------------
# DRAMPower traces
# ------------------------------------------------------------------------------------------

#: DRAMPower command names (its command-trace format); power-down entry/exit depend on whether a
#: bank of the rank is open.
_DRAMPOWER = {ACT: "ACT", PRE: "PRE", PREA: "PREA", RD: "RD", WR: "WR", RDA: "RDA", WRA: "WRA", REF: "REF",
              SRE: "SREN", SRX: "SREX"}


def write_drampower_trace(path, log: np.ndarray, spec: DramSpec, channel: int = 0, rank: int = 0) -> int:
    """One rank's commands as DRAMPower command-trace lines ``cycle,CMD,bank`` (bank flat within
    the rank, 0 for rank commands; PDE/PDX as PDN_F_ACT/PDN_F_PRE and PUP_ACT/PUP_PRE by the
    rank's state, SRE/SRX as SREN/SREX). Returns the number of lines written."""
    from traces.atomic import atomic_output
    sel = log[(log["channel"] == channel) & (log["rank"] == rank)]
    sel = sel[np.argsort(sel["cycle"], kind="stable")]
    bpg = spec.org.banks_per_group
    open_rows: set = set()                   # (bankgroup, bank, subarray) with a row open
    pd_active = False
    with atomic_output(path, "w") as fh:
        for r in sel:
            cmd = int(r["command"])
            bank, sa = (int(r["bankgroup"]), int(r["bank"])), int(r["subarray"])
            if cmd == ACT:
                open_rows.add(bank + (sa,))
            elif cmd == PREA:
                open_rows.clear()
            elif cmd in (PRE, RDA, WRA):      # (a PRE without masa carries subarray -1: whole bank)
                open_rows = {u for u in open_rows if u[:2] != bank or (cmd == PRE and sa >= 0 and u[2] != sa)}
            if cmd == PDE:
                pd_active = bool(open_rows)
                name = "PDN_F_ACT" if pd_active else "PDN_F_PRE"
            elif cmd == PDX:
                name = "PUP_ACT" if pd_active else "PUP_PRE"
            else:
                name = _DRAMPOWER[cmd]
            bank = 0 if cmd in (PREA, REF, PDE, PDX, SRE, SRX) else int(r["bankgroup"]) * bpg + int(r["bank"])
            fh.write(f"{int(r['cycle'])},{name},{bank}\n")
    return len(sel)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

PROG = "python -m dramsim.checker"


def _input_error(text):
    from traces.cli import CliError
    return CliError(text)


#: checker option -> header key, for comparing what the user says with what the log says (the
#: device itself is compared by its digest, whatever file or name it is given by)
_FLAG_KEYS = (("channels", "channels"), ("ranks", "ranks"), ("mapping", "mapping"), ("page_policy", "page_policy"),
              ("salp", "salp"), ("refresh", "refresh"), ("vdd", "vdd"), ("controller", "controller"),
              ("refresh_interval", "refresh_interval"), ("powerdown_idle", "powerdown_idle"),
              ("self_refresh_idle", "self_refresh_idle"))
_CHECKED_FIELDS = ("page_policy", "salp", "refresh", "controller", "refresh_interval", "powerdown_idle",
                   "self_refresh_idle")


def _settings(a, header, log_path):
    """(spec, config, mapping, warnings) from the log's header and the command-line flags."""
    from dramsim.address import DEFAULT_SCHEME
    from dramsim.config import ControllerConfig
    from dramsim.spec import load_spec, spec_digest
    flags = {"channels": a.channels, "ranks": a.ranks, "mapping": a.mapping, "page_policy": a.page_policy,
             "salp": a.salp, "refresh": False if a.no_refresh else None, "vdd": a.vdd, "controller": a.controller,
             "refresh_interval": a.refresh_interval, "powerdown_idle": a.powerdown_idle,
             "self_refresh_idle": a.self_refresh_idle}
    warnings = []
    if header is None:
        values = {k: v for k, v in flags.items() if v is not None}
        warnings.append(f"note: {log_path}: no header (an older log): checking against the options and defaults")
    else:
        values = {flag: header[key] for flag, key in _FLAG_KEYS}
        for flag, key in _FLAG_KEYS:
            v = flags[flag]
            if v is None or v == header[key] or (flag == "vdd" and abs(v - header[key]) < 1e-9):
                continue
            option = "--no-refresh" if flag == "refresh" else "--" + flag.replace("_", "-")
            what = f"{log_path}: header.{key}: the log says {header[key]!r}, {option} says {v!r}"
            if not a.override:
                raise _input_error(what + " (pass --override to check against the option)")
            warnings.append("warning: " + what + "; checking against the option (--override)")
            values[flag] = v
    source = a.spec if a.spec is not None else (header["spec.source"] if header is not None else "DDR3L-1600K")
    try:
        spec = load_spec(source, channels=values.get("channels"), ranks=values.get("ranks"))
    except ValueError as exc:
        where = "--spec" if a.spec is not None or header is None else f"{log_path}: header.spec.source"
        raise _input_error(f"{where}: {exc} (pass --spec)" if where != "--spec" else f"--spec: {exc}") from None
    vdd = values.get("vdd")
    if vdd is not None and abs(vdd - spec.vdd) > 1e-12:
        try:
            scaled = spec.at_vdd(vdd)
        except ValueError as exc:
            if a.vdd is not None:
                raise _input_error(f"--vdd: {exc}") from None
            raise _input_error(f"{log_path}: header.vdd: {exc}: {spec.name} is not the device of the run") from None
        if header is not None and spec_digest(scaled) != header["spec.sha256"]:
            scaled = _other_vdd_timing(spec, vdd, header["spec.sha256"]) or scaled
        spec = scaled
    if header is not None and spec_digest(spec) != header["spec.sha256"]:
        what = (f"{log_path}: header.spec.sha256: {spec.name} as loaded from {spec.source} (at {spec.vdd:g} V, "
                f"{spec.org.channels} channel(s) x {spec.org.ranks} rank(s)) is not the device of the run")
        if not a.override:
            raise _input_error(what + " (pass --override to check against it anyway)")
        warnings.append("warning: " + what + "; checking against it anyway (--override)")
    fields = {f: values[f] for f in _CHECKED_FIELDS if f in values}
    try:
        base = config_from_header(header).__dict__ if header is not None else {}
        config = ControllerConfig(**{**base, **fields})
    except ValueError as exc:
        field, _, rest = str(exc).partition(": ")
        where = f"{log_path}: header.{field}" if header is not None else "--" + field.replace("_", "-")
        raise _input_error(f"{where}: {rest}") from None
    if config.refresh_interval == spec.timing.nREFI:
        config = ControllerConfig(**{**config.__dict__, "refresh_interval": None})
    return spec, config, values.get("mapping", DEFAULT_SCHEME), warnings


def _other_vdd_timing(spec, vdd, digest):
    """``spec`` at ``vdd`` under whichever reduced-VDD timing model (dramsim.vdd) gives the run's
    digest, or None: a log records the timings it ran with only through the digest."""
    import dramsim.vdd as vdd_mod
    from dramsim.spec import spec_digest
    for model in getattr(vdd_mod, "TIMING_MODELS", ())[1:]:
        try:
            candidate = vdd_mod.spec_at_vdd(spec, vdd, timing=model)
        except (TypeError, ValueError):
            continue
        if spec_digest(candidate) == digest:
            return candidate
    return None


def build_parser():
    from dramsim.cliargs import MAX_CHANNELS, MAX_CYCLES, MAX_RANKS, power_of_two, volts
    from dramsim.config import CONTROLLERS
    from traces.cli import Parser, int_in
    from traces.formats import FORMATS
    cycles = int_in(1, MAX_CYCLES)
    p = Parser(
        prog=PROG,
        description="Check a DRAM command log (python -m dramsim --command-log) against the timing, state, "
                    "refresh and power-management rules of docs/controller.md. The log's header names the "
                    "device, mapping and controller settings of the run; options given here must agree with it "
                    "(--override: check against the options instead). Prints every violation; exit 1 if any, "
                    "2 on bad input (one line, docs/cli.md), 130 if interrupted.",
        epilog="examples:\n  python -m dramsim.checker run.log.csv\n"
               "  python -m dramsim.checker run.log.csv --trace run.trace     # every request served once\n"
               "  python -m dramsim.checker old.log.csv --spec DDR4-2400R --channels 2 --controller "
               "r2.0-conservative   # a log without header",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", help="command log CSV")
    p.add_argument("--trace", help="request trace the log was produced from (checks every request is served "
                                   "exactly once at the right address)")
    p.add_argument("--trace-format", choices=FORMATS, metavar="FORMAT",
                   help=f"format of --trace: {' | '.join(FORMATS)} (default: detect)")
    p.add_argument("--spec", help="bundled spec name or TOML path (default: the header's; DDR3L-1600K)")
    p.add_argument("--channels", type=power_of_two(MAX_CHANNELS),
                   help=f"the spec's channel count, a power of two 1..{MAX_CHANNELS} (default: the header's)")
    p.add_argument("--ranks", type=power_of_two(MAX_RANKS),
                   help=f"the spec's ranks per channel, a power of two 1..{MAX_RANKS} (default: the header's)")
    p.add_argument("--mapping", help="address mapping of --trace (default: the header's; RoBaRaCoCh)")
    p.add_argument("--scheme", help="deprecated alias of --mapping")
    p.add_argument("--page-policy", choices=("open", "closed"))
    p.add_argument("--salp", choices=("none", "masa"))
    p.add_argument("--controller", choices=CONTROLLERS)
    p.add_argument("--no-refresh", action="store_true", help="the run had refresh disabled")
    p.add_argument("--refresh-interval", type=cycles, metavar="CYCLES", help="1..2^40")
    p.add_argument("--powerdown-idle", type=cycles, metavar="CYCLES", help="1..2^40")
    p.add_argument("--self-refresh-idle", type=cycles, metavar="CYCLES", help="1..2^40")
    p.add_argument("--vdd", type=volts, help="supply voltage of the run (its reduced-VDD timings)")
    p.add_argument("--override", action="store_true",
                   help="options that disagree with the header (or a spec whose digest differs) win, with a "
                        "warning, instead of being an error")
    p.add_argument("--max-print", type=int_in(0, 1 << 40), default=50,
                   help="print at most this many violations, >= 0 (default 50)")
    return p


def _main(argv) -> int:
    import time

    from traces.cli import note
    a = build_parser().parse_args(argv)
    if a.scheme is not None:
        if a.mapping is not None and a.mapping != a.scheme:
            raise _input_error(f"--scheme {a.scheme}: disagrees with --mapping {a.mapping} (--scheme is the "
                               "deprecated name of --mapping)")
        note(PROG, "--scheme is deprecated; use --mapping")
        a.mapping = a.scheme
    t0 = time.perf_counter()
    try:
        header, _ = read_header(a.log)
        spec, config, mapping, warnings = _settings(a, header, a.log)
        requests = None
        if a.trace:
            from dramsim.address import AddressMapper
            from traces.reader import read_trace
            try:
                requests = AddressMapper(spec, mapping).decode_records(read_trace(a.trace, a.trace_format))
            except ValueError as exc:
                raise _input_error(str(exc) if str(exc).startswith(str(a.trace)) else f"{a.trace}: {exc}") from None
            if header is not None and header.get("requests") not in (None, len(requests)):
                raise _input_error(f"{a.log}: header.requests: the log is of {header['requests']} requests, "
                                   f"{a.trace} has {len(requests)}")
        for w in warnings:
            print(f"{PROG}: {w}", file=sys.stderr)
        run = _Replay(spec, config, requests, limit=a.max_print)
        for rows in iter_command_log(a.log):
            run.feed(rows)
        run.finish()
    except CommandLogError as exc:
        raise _input_error(str(exc)) from None
    violations = run.violations()
    n_more = sum(run.overflow.values())
    for v in violations[:a.max_print]:
        print(v)
    if n_more or len(violations) > a.max_print:
        extra = n_more + max(0, len(violations) - a.max_print)
        top = ", ".join(f"{k} {n}" for k, n in run.overflow.most_common(5))
        print(f"... and {extra} more" + (f" ({top})" if top else ""))
    total = len(violations) + n_more
    wall = time.perf_counter() - t0
    print(f"{run.n_rows} commands checked ({config.controller}, {spec.name} at {spec.vdd:g} V, "
          f"{spec.org.channels} channel(s) x {spec.org.ranks} rank(s)) in {wall:.1f} s, {total} violation(s)",
          file=sys.stderr)
    return 1 if total else 0


def main(argv=None) -> int:
    """The command line: exit status 0 clean, 1 violations, 2 bad input, 130 interrupted."""
    from traces.cli import run
    return run(PROG, _main, argv, interrupted="the check did not finish; nothing was written")


if __name__ == "__main__":
    sys.exit(main())
