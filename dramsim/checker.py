"""Independent checker of DRAM command logs against docs/controller.md (imports no engine).

``check_log(log, spec, config, requests=None, counters=None)`` replays a command log
(``COMMAND_LOG_DTYPE`` records, in issue order) and returns every ``Violation`` it finds:

* command bus: at most one command per channel per cycle;
* unit state (the unit is the bank, or the subarray with salp ``masa``): no ACT to an open
  unit, no column command to a closed unit or to another row, no PRE to a closed unit, PREA
  only with some unit of the rank open, REF only with every unit of the rank closed; column
  commands are RD/WR with the open-page policy and RDA/WRA with the closed-page policy; log
  fields consistent (subarray = row's top bits, coordinates in range);
* timing: every same-unit, same-rank (tFAW included), same-bank-group, other-rank and refresh
  constraint of docs/controller.md with its "Clarifications" (RD/WR in rank and channel rules
  include RDA/WRA; RD->PRE, WR->PRE, RD->PREA, WR->PREA mean plain RD/WR; ACT->REF nRC);
* data bus: bursts of one channel never overlap (read data ends at cycle + nCL + nBL, write
  data at cycle + nCWL + nBL);
* refresh: REF/PREA only while the rank's refresh flag is pending (raised at every multiple of
  nREFI, cleared by REF) and never with refresh disabled; a PRE or PREA never closes the unit of
  a request that has issued its ACT but not its column command;
* with ``requests`` (DecodedRequests): every command issued for request i targets i's
  coordinates (ACT at its row, PRE to its unit while open at another row), no command before
  cycle max(i, arrive_i) (one request accepted per cycle) or after its column command, each
  request served exactly once by a column command of the right type (a read with no command must
  have an earlier write to the same address whose column command is not earlier than the read's
  earliest acceptance, i.e. it may have been forwarded); refresh commands carry request -1;
* with ``counters`` (RawCounters) too: every counter derivable from the log equals the log's
  value (commands, reads/writes per bank, row hit/miss/conflict classification, subarray
  accesses/ACTs, active cycles, total_cycles, read-latency count).

``write_command_log_csv``/``read_command_log_csv`` store logs as CSV (command names);
``write_drampower_trace`` writes one rank's commands as DRAMPower command-trace lines
``cycle,CMD,bank``. CLI: ``python -m dramsim.checker LOG.csv --spec NAME [--trace FILE]``.
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np

from dramsim.commands import (ACT, COLUMN_COMMANDS, COMMAND_LOG_DTYPE, COMMAND_NAMES, PRE, PREA, RD, RDA,
                              READ_COMMANDS, REF, WR, WRA, WRITE_COMMANDS, command_code)
from dramsim.config import ControllerConfig
from dramsim.counters import RawCounters
from dramsim.requests import DecodedRequests
from dramsim.spec import DramSpec

LOG_FIELDS = COMMAND_LOG_DTYPE.names
_RDS, _WRS = frozenset(READ_COMMANDS), frozenset(WRITE_COMMANDS)
_COLS = frozenset(COLUMN_COMMANDS)


@dataclass(frozen=True)
class Violation:
    cycle: int
    constraint: str
    detail: str

    def __str__(self) -> str:
        return f"cycle {self.cycle}: {self.constraint}: {self.detail}"


class CommandLogError(ValueError):
    """A command-log CSV is malformed (message: ``file:line: field: problem``)."""


# ------------------------------------------------------------------------------------------
# Timing rules
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    name: str          # e.g. "ACT->RD nRCD"
    prev: frozenset
    nxt: frozenset
    scope: str         # "unit", "rank", "bankgroup", "other_rank"
    delay: int


def timing_rules(spec: DramSpec) -> list[_Rule]:
    """The constraints of docs/controller.md as (previous, next, scope, delay) rules."""
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
        # other rank, same channel
        _Rule("RD->RD(other rank) nBL+nRTRS", rd, rd, "other_rank", t.nBL + t.nRTRS),
        _Rule("WR->WR(other rank) nBL+nRTRS", wr, wr, "other_rank", t.nBL + t.nRTRS),
        _Rule("RD->WR(other rank) nCL+nBL+nRTRS-nCWL", rd, wr, "other_rank",
              t.nCL + t.nBL + t.nRTRS - t.nCWL),
        _Rule("WR->RD(other rank) nCWL+nBL+nRTRS-nCL", wr, rd, "other_rank",
              t.nCWL + t.nBL + t.nRTRS - t.nCL),
    ]
    return rules


# ------------------------------------------------------------------------------------------
# The checker
# ------------------------------------------------------------------------------------------

def _name(code: int) -> str:
    return COMMAND_NAMES[code] if 0 <= code < len(COMMAND_NAMES) else f"#{code}"


class _Checker:
    def __init__(self, spec: DramSpec, config: ControllerConfig, requests: DecodedRequests | None):
        self.spec, self.config, self.req = spec, config, requests
        self.masa = config.salp == "masa"
        self.closed_page = config.page_policy == "closed"
        self.out: list[Violation] = []
        self.rules_by_next: dict[int, list[_Rule]] = defaultdict(list)
        for r in timing_rules(spec):
            for c in r.nxt:
                self.rules_by_next[c].append(r)
        self.last: dict = {}                   # (scope key, command) -> last cycle
        self.rank_cmds: dict = defaultdict(set)  # (ch, rk) -> commands seen (for other_rank lookups)
        self.acts = defaultdict(lambda: deque(maxlen=4))  # (ch, rk) -> last 4 ACT cycles
        self.open: dict = {}                   # unit key -> open row
        self.bus_cycle: dict = {}              # (ch, cycle) -> index of the command that used it
        self.last_ref: dict = {}               # (ch, rk) -> cycle of last REF
        self.activated: dict = defaultdict(set)  # unit key -> requests in the active list
        self.bursts: dict = defaultdict(list)  # ch -> [(start, end, rank, cycle, name)]

    def flag(self, cycle, constraint, detail):
        self.out.append(Violation(int(cycle), constraint, detail))

    # -- keys -----------------------------------------------------------------------------
    def unit_key(self, ch, rk, bg, ba, sa):
        return (ch, rk, bg, ba, sa if self.masa else -1)

    def where(self, r) -> str:
        if r["command"] in (PREA, REF):
            return f"ch{r['channel']} rk{r['rank']}"
        return (f"ch{r['channel']} rk{r['rank']} bg{r['bankgroup']} ba{r['bank']}"
                + (f" sa{r['subarray']}" if self.masa else "")
                + (f" row {r['row']}" if r["row"] >= 0 else ""))

    # -- checks ---------------------------------------------------------------------------
    def check_fields(self, r, cmd) -> bool:
        o = self.spec.org
        c = int(r["cycle"])
        if not 0 <= cmd < len(COMMAND_NAMES):
            self.flag(c, "log.command", f"unknown command code {cmd}")
            return False
        if not (0 <= r["channel"] < o.channels and 0 <= r["rank"] < o.ranks):
            self.flag(c, "log.address", f"{_name(cmd)} to channel {r['channel']} rank {r['rank']} "
                                        "outside the device")
            return False
        if cmd in (PREA, REF):
            return True
        if not (0 <= r["bankgroup"] < o.bankgroups and 0 <= r["bank"] < o.banks_per_group):
            self.flag(c, "log.address", f"{_name(cmd)} to bankgroup {r['bankgroup']} bank {r['bank']} "
                                        "outside the device")
            return False
        if cmd == PRE:
            if self.masa and not 0 <= r["subarray"] < o.subarrays:
                self.flag(c, "log.address", f"PRE with masa needs a subarray, got {r['subarray']}")
                return False
            return True
        if not 0 <= r["row"] < o.rows:
            self.flag(c, "log.address", f"{_name(cmd)} to row {r['row']} outside 0..{o.rows - 1}")
            return False
        if r["subarray"] != r["row"] // o.rows_per_subarray:
            self.flag(c, "log.subarray", f"{_name(cmd)} row {r['row']} is in subarray "
                                         f"{r['row'] // o.rows_per_subarray}, log says {r['subarray']}")
        if cmd in _COLS and not 0 <= r["column"] < o.columns_per_row_bursts:
            self.flag(c, "log.address", f"{_name(cmd)} to column {r['column']} "
                                        f"outside 0..{o.columns_per_row_bursts - 1}")
            return False
        return True

    def check_timing(self, c, cmd, ch, rk, bg, ukey, text):
        for rule in self.rules_by_next[cmd]:
            if rule.scope == "other_rank":
                keys = [("rank", ch, r2) for (ch2, r2) in list(self.rank_cmds) if ch2 == ch and r2 != rk]
            else:
                keys = [{"unit": ("unit",) + ukey if ukey else None, "rank": ("rank", ch, rk),
                         "bankgroup": ("bg", ch, rk, bg)}[rule.scope]]
            for key in keys:
                if key is None:
                    continue
                for p in rule.prev:
                    prev = self.last.get((key, p))
                    if prev is not None and c < prev + rule.delay:
                        self.flag(c, rule.name, f"{text} needs cycle >= {prev + rule.delay} "
                                                f"({_name(p)} at {prev}, delay {rule.delay})")
        if cmd == ACT:
            window = self.acts[(ch, rk)]
            if len(window) == 4 and c < window[0] + self.spec.timing.nFAW:
                self.flag(c, "nFAW", f"{text}: 5th ACT within nFAW={self.spec.timing.nFAW} of the rank "
                                     f"(ACTs at {', '.join(map(str, window))})")

    def record(self, c, cmd, ch, rk, bg, ukey):
        for key in (("rank", ch, rk), ("bg", ch, rk, bg)) + ((("unit",) + ukey,) if ukey else ()):
            self.last[(key, cmd)] = c
        self.rank_cmds[(ch, rk)].add(cmd)
        if cmd == ACT:
            self.acts[(ch, rk)].append(c)

    def refresh_pending(self, ch, rk, c) -> bool:
        n = self.spec.timing.nREFI
        if not self.config.refresh or c < n:
            return False
        return self.last_ref.get((ch, rk), -1) < (c // n) * n

    def rank_units(self, ch, rk):
        return [k for k in self.open if k[0] == ch and k[1] == rk]

    def run(self, log: np.ndarray) -> None:
        order = np.argsort(log["cycle"], kind="stable")
        if not np.array_equal(order, np.arange(len(log))):
            i = int(np.argmax(order != np.arange(len(log))))
            self.flag(int(log["cycle"][order[i]]), "log.order",
                      f"records are not in cycle order (record {i})")
        t = self.spec.timing
        req = self.req
        served = {}         # request -> cycle of its column command
        for idx in order:
            r = log[idx]
            c, cmd = int(r["cycle"]), int(r["command"])
            if c < 0:
                self.flag(c, "log.cycle", f"negative cycle in record {idx}")
                continue
            if not self.check_fields(r, cmd):
                continue
            ch, rk, bg, ba = int(r["channel"]), int(r["rank"]), int(r["bankgroup"]), int(r["bank"])
            sa, row = int(r["subarray"]), int(r["row"])
            name = _name(cmd)
            text = f"{name} {self.where(r)}"
            # command bus
            if (ch, c) in self.bus_cycle:
                self.flag(c, "command bus", f"{text}: channel {ch} already issued a command this cycle "
                                            f"(record {self.bus_cycle[(ch, c)]})")
            self.bus_cycle[(ch, c)] = int(idx)
            ukey = None if cmd in (PREA, REF) else self.unit_key(ch, rk, bg, ba, sa)
            self.check_timing(c, cmd, ch, rk, bg, ukey, text)
            rq = int(r["request"])
            self.check_request(c, cmd, rq, r, ukey, text, served)
            # state
            if cmd == ACT:
                if ukey in self.open:
                    self.flag(c, "state.ACT_open", f"{text}: unit already open at row {self.open[ukey]}")
                self.open[ukey] = row
                if rq >= 0:
                    self.activated[ukey].add(rq)
            elif cmd == PRE:
                if ukey not in self.open:
                    self.flag(c, "state.PRE_closed", f"{text}: unit is not open")
                self.close(c, ukey, text)
            elif cmd in _COLS:
                if ukey not in self.open:
                    self.flag(c, "state.column_closed", f"{text}: unit is closed")
                elif self.open[ukey] != row:
                    self.flag(c, "state.column_wrong_row", f"{text}: unit is open at row {self.open[ukey]}")
                if self.closed_page != (cmd in (RDA, WRA)):
                    self.flag(c, "state.page_policy", f"{text}: {self.config.page_policy} page uses "
                                                      f"{'RDA/WRA' if self.closed_page else 'RD/WR'}")
                self.activated[ukey].discard(rq)
                if cmd in (RDA, WRA):
                    self.open.pop(ukey, None)  # auto-precharge: requests left in A just see it closed
                start = c + (t.nCL if cmd in _RDS else t.nCWL)
                self.bursts[ch].append((start, start + t.nBL, rk, c, name))
            elif cmd == PREA:
                if not self.refresh_pending(ch, rk, c):
                    self.flag(c, "refresh.not_pending", f"{text}: PREA without a pending refresh")
                units = self.rank_units(ch, rk)
                if not units:
                    self.flag(c, "state.PREA_all_closed", f"PREA ch{ch} rk{rk}: no unit of the rank is open")
                for u in units:
                    self.close(c, u, text)
            elif cmd == REF:
                if not self.refresh_pending(ch, rk, c):
                    self.flag(c, "refresh.not_pending", f"REF ch{ch} rk{rk}: no pending refresh")
                units = self.rank_units(ch, rk)
                if units:
                    u = units[0]
                    self.flag(c, "state.REF_open", f"REF ch{ch} rk{rk}: {len(units)} unit(s) still open "
                                                   f"(e.g. bg{u[2]} ba{u[3]} row {self.open[u]})")
                self.last_ref[(ch, rk)] = c
            self.record(c, cmd, ch, rk, bg, ukey)
        self.check_data_bus()
        if req is not None:
            self.check_all_served(log, served)

    def close(self, c, ukey, text):
        pending = self.activated.pop(ukey, set())
        if pending:
            self.flag(c, "active_list", f"{text} closes the row of request(s) {sorted(pending)[:5]} "
                                        "that issued their ACT but not their column command")
        self.open.pop(ukey, None)

    def check_data_bus(self):
        t = self.spec.timing
        for ch, bursts in self.bursts.items():
            bursts.sort()
            for (s0, e0, r0, c0, n0), (s1, e1, r1, c1, n1) in zip(bursts, bursts[1:]):
                gap = 0 if r0 == r1 else t.nRTRS
                if s1 < e0 + gap:
                    self.flag(c1, "data bus", f"{n1} at {c1} (ch{ch} rk{r1}) puts data on cycles "
                                              f"{s1}..{e1 - 1}, overlapping {n0} at {c0} "
                                              f"(rk{r0}, data {s0}..{e0 - 1}"
                                              f"{', plus nRTRS' if gap else ''})")

    # -- requests -------------------------------------------------------------------------
    def check_request(self, c, cmd, rq, r, ukey, text, served):
        req = self.req
        if rq < 0:
            if cmd not in (PREA, REF, PRE):
                self.flag(c, "request.missing", f"{text} carries no request")
            elif cmd == PRE:
                self.flag(c, "request.missing", f"{text}: PRE without a request (refresh uses PREA)")
            return
        if cmd in (PREA, REF):
            self.flag(c, "request.refresh", f"{text} carries request {rq}; refresh commands carry -1")
            return
        if req is None:
            if cmd in _COLS:
                if rq in served:
                    self.flag(c, "request.served_twice",
                              f"{text}: request {rq} already served at {served[rq]}")
                served[rq] = c
            return
        if rq >= len(req):
            self.flag(c, "request.index", f"{text}: request {rq} does not exist ({len(req)} requests)")
            return
        if rq in served:
            what = "served_twice" if cmd in _COLS else "after_served"
            self.flag(c, f"request.{what}", f"{text}: request {rq} was already served at cycle {served[rq]}")
        earliest = max(rq, int(req.arrive[rq]))
        if c < earliest:
            self.flag(c, "request.early", f"{text}: request {rq} cannot be accepted before cycle {earliest}")
        coords = (int(req.channel[rq]), int(req.rank[rq]), int(req.bankgroup[rq]), int(req.bank[rq]))
        if (int(r["channel"]), int(r["rank"]), int(r["bankgroup"]), int(r["bank"])) != coords:
            self.flag(c, "request.address", f"{text}: request {rq} is at ch{coords[0]} rk{coords[1]} "
                                            f"bg{coords[2]} ba{coords[3]}")
            return
        if cmd == PRE:
            if self.masa and int(r["subarray"]) != int(req.subarray[rq]):
                self.flag(c, "request.address",
                          f"{text}: request {rq} is in subarray {int(req.subarray[rq])}")
            if self.open.get(ukey) == int(req.row[rq]):
                self.flag(c, "request.needless_PRE", f"{text}: unit already open at request {rq}'s row")
            return
        if int(r["row"]) != int(req.row[rq]):
            self.flag(c, "request.address", f"{text}: request {rq} is at row {int(req.row[rq])}")
        if cmd in _COLS:
            if int(r["column"]) != int(req.column[rq]):
                self.flag(c, "request.address", f"{text}: request {rq} is at column {int(req.column[rq])}")
            want = _WRS if req.is_write[rq] else _RDS
            if cmd not in want:
                kind = "write" if req.is_write[rq] else "read"
                self.flag(c, "request.type", f"{text}: request {rq} is a {kind}")
            served.setdefault(rq, c)

    def check_all_served(self, log, served):
        req = self.req
        t_col = {}
        col_mask = np.isin(log["command"], list(COLUMN_COMMANDS))
        for cyc, rq in zip(log["cycle"][col_mask], log["request"][col_mask]):
            t_col.setdefault(int(rq), int(cyc))
        writes_by_addr = defaultdict(list)
        for j in np.flatnonzero(req.is_write):
            writes_by_addr[int(req.addr[j])].append(int(j))
        for i in range(len(req)):
            if i in served:
                continue
            if req.is_write[i]:
                self.flag(-1, "request.never_served", f"write request {i} has no WR/WRA")
                continue
            accept = max(i, int(req.arrive[i]))
            fwd = [j for j in writes_by_addr.get(int(req.addr[i]), ())
                   if j < i and t_col.get(j, -1) >= accept]
            if not fwd:
                self.flag(-1, "request.never_served",
                          f"read request {i} has no RD/RDA and no earlier write to address "
                          f"{int(req.addr[i]):#x} pending at cycle >= {accept} to forward from")


def check_log(log: np.ndarray, spec: DramSpec, config: ControllerConfig | None = None,
              requests: DecodedRequests | None = None,
              counters: RawCounters | None = None) -> list[Violation]:
    """All violations of docs/controller.md found in ``log`` (empty list: the log is legal)."""
    config = config or ControllerConfig()
    log = np.asarray(log)
    if log.dtype != COMMAND_LOG_DTYPE:
        log = log.astype(COMMAND_LOG_DTYPE)
    ck = _Checker(spec, config, requests)
    ck.run(log)
    if counters is not None:
        ck.out.extend(check_counters(log, spec, config, counters, requests))
    return sorted(ck.out, key=lambda v: v.cycle)


# ------------------------------------------------------------------------------------------
# Counters derivable from the log
# ------------------------------------------------------------------------------------------

def counters_from_log(log: np.ndarray, spec: DramSpec, config: ControllerConfig,
                      requests: DecodedRequests | None = None) -> RawCounters:
    """The RawCounters fields a command log determines (latency/occupancy/forwarding excepted:
    they need acceptance cycles the log does not hold; ``read_latency_hist`` holds only the
    number of reads in its first bin)."""
    o, t = spec.org, spec.timing
    masa = config.salp == "masa"
    c = RawCounters.zeros(o.channels, o.ranks, o.banks, o.subarrays)
    log = log[np.argsort(log["cycle"], kind="stable")]
    opened: dict = {}                        # unit -> ACT cycle
    open_intervals = defaultdict(list)       # rank index -> [(start, end)]
    classified = set()
    end = 0

    def close(u, cyc):
        start = opened.pop(u, None)
        if start is not None:
            open_intervals[u[0] * o.ranks + u[1]].append((start, cyc))

    for r in log:
        cmd, cyc = int(r["command"]), int(r["cycle"])
        ch, rk = int(r["channel"]), int(r["rank"])
        rank_i = ch * o.ranks + rk
        c.commands[rank_i, cmd] += 1
        if cmd in (PREA, REF):
            if cmd == PREA:
                for u in [u for u in opened if u[0] == ch and u[1] == rk]:
                    close(u, cyc)
            continue
        bg, ba, sa = int(r["bankgroup"]), int(r["bank"]), int(r["subarray"])
        fb = ((ch * o.ranks + rk) * o.bankgroups + bg) * o.banks_per_group + ba
        u = (ch, rk, bg, ba, sa if masa else -1)
        rq = int(r["request"])
        if rq >= 0 and rq not in classified:
            classified.add(rq)
            target = c.row_hits if cmd in _COLS else c.row_misses if cmd == ACT else c.row_conflicts
            target[fb] += 1
        if cmd == ACT:
            opened.setdefault(u, cyc)
            c.subarray_acts[fb * o.subarrays + sa] += 1
        elif cmd == PRE:
            close(u, cyc)
        elif cmd in _COLS:
            c.subarray_accesses[fb * o.subarrays + sa] += 1
            if cmd in _RDS:
                c.reads[fb] += 1
                c.read_latency_hist[ch, 0] += 1
                end = max(end, cyc + t.nCL + t.nBL)
            else:
                c.writes[fb] += 1
                end = max(end, cyc + t.nCWL + t.nBL)
            if cmd in (RDA, WRA):
                close(u, cyc)
    for u in list(opened):
        close(u, end)
    c.total_cycles = end
    for rank_i, iv in open_intervals.items():
        marks = np.zeros(end + 1, dtype=np.int64)
        for s, e in iv:
            s, e = min(s, end), min(e, end)
            if e > s:
                marks[s] += 1
                marks[e] -= 1
        c.active_cycles[rank_i] = int(np.count_nonzero(np.cumsum(marks)[:end]))
    return c


def check_counters(log, spec, config, counters: RawCounters, requests=None) -> list[Violation]:
    """Differences between ``counters`` and what the log implies (one Violation per field)."""
    want = counters_from_log(np.asarray(log), spec, config, requests)
    out = []
    for name in ("commands", "reads", "writes", "row_hits", "row_misses", "row_conflicts",
                 "subarray_accesses", "subarray_acts", "active_cycles"):
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


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------

def write_command_log_csv(path, log: np.ndarray) -> None:
    """CSV with a header of COMMAND_LOG_DTYPE's fields; ``command`` as its name (ACT, RD, ...)."""
    from traces.atomic import atomic_output
    with atomic_output(path, "w") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(LOG_FIELDS)
        for r in log:
            w.writerow([COMMAND_NAMES[int(r[f])] if f == "command" else int(r[f]) for f in LOG_FIELDS])


def read_command_log_csv(path) -> np.ndarray:
    """Inverse of ``write_command_log_csv``; CommandLogError names file, line and field."""
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise CommandLogError(f"{path}:0: cannot read: {exc.strerror or exc}") from None
    with fh:
        rows = list(csv.reader(fh))
    if not rows or [h.strip() for h in rows[0]] != list(LOG_FIELDS):
        raise CommandLogError(f"{path}:1: header: expected {','.join(LOG_FIELDS)}")
    out = np.zeros(len(rows) - 1, dtype=COMMAND_LOG_DTYPE)
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) != len(LOG_FIELDS):
            raise CommandLogError(f"{path}:{line}: expected {len(LOG_FIELDS)} fields, got {len(row)}")
        for f, v in zip(LOG_FIELDS, row):
            try:
                out[i][f] = command_code(v.strip()) if f == "command" else int(v)
            except (ValueError, OverflowError) as exc:
                raise CommandLogError(f"{path}:{line}: {f}: {exc}") from None
    return out


def write_drampower_trace(path, log: np.ndarray, spec: DramSpec, channel: int = 0, rank: int = 0) -> int:
    """One rank's commands as DRAMPower command-trace lines ``cycle,CMD,bank`` (bank flat within
    the rank, 0 for PREA/REF). Returns the number of lines written."""
    from traces.atomic import atomic_output
    sel = log[(log["channel"] == channel) & (log["rank"] == rank)]
    sel = sel[np.argsort(sel["cycle"], kind="stable")]
    bpg = spec.org.banks_per_group
    with atomic_output(path, "w") as fh:
        for r in sel:
            cmd = int(r["command"])
            bank = 0 if cmd in (PREA, REF) else int(r["bankgroup"]) * bpg + int(r["bank"])
            fh.write(f"{int(r['cycle'])},{COMMAND_NAMES[cmd]},{bank}\n")
    return len(sel)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    from dramsim.address import DEFAULT_SCHEME, AddressMapper
    from dramsim.spec import load_spec
    p = argparse.ArgumentParser(
        prog="python -m dramsim.checker",
        description="Check a DRAM command log (CSV from write_command_log_csv) against the timing, state "
                    "and refresh rules of docs/controller.md. Prints every violation; exit 1 if any, 2 on "
                    "bad input.",
        epilog="examples:\n  python -m dramsim.checker run.log.csv --spec DDR3L-1600K\n"
               "  python -m dramsim.checker low.log.csv --spec DDR3L-1600K --vdd 1.1   # a reduced-VDD run\n"
               "  python -m dramsim.checker run.log.csv --spec DDR4-2400R --channels 2 --trace req.csv "
               "--page-policy closed",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", help="command log CSV")
    p.add_argument("--spec", default="DDR3L-1600K",
                   help="bundled spec name or TOML path (default DDR3L-1600K)")
    p.add_argument("--channels", type=int, help="override the spec's channel count")
    p.add_argument("--ranks", type=int, help="override the spec's ranks per channel")
    p.add_argument("--trace", help="request trace the log was produced from (checks every request is served "
                                   "exactly once at the right address)")
    p.add_argument("--scheme", default=DEFAULT_SCHEME,
                   help=f"address mapping of the trace (default {DEFAULT_SCHEME})")
    p.add_argument("--page-policy", choices=("open", "closed"), default="open")
    p.add_argument("--salp", choices=("none", "masa"), default="none")
    p.add_argument("--no-refresh", action="store_true", help="the run had refresh disabled")
    p.add_argument("--vdd", type=float, help="supply voltage of the run (its reduced-VDD timings; "
                                            "default: the spec's nominal VDD)")
    p.add_argument("--max-print", type=int, default=50,
                   help="print at most this many violations (default 50)")
    a = p.parse_args(argv)
    try:
        spec = load_spec(a.spec, channels=a.channels, ranks=a.ranks)
        if a.vdd is not None:
            spec = spec.at_vdd(a.vdd)
        config = ControllerConfig(page_policy=a.page_policy, salp=a.salp, refresh=not a.no_refresh)
        log = read_command_log_csv(a.log)
        requests = None
        if a.trace:
            from traces.reader import read_trace
            requests = AddressMapper(spec, a.scheme).decode_records(read_trace(a.trace))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    violations = check_log(log, spec, config, requests)
    for v in violations[:a.max_print]:
        print(v)
    if len(violations) > a.max_print:
        print(f"... and {len(violations) - a.max_print} more")
    print(f"{len(log)} commands checked, {len(violations)} violation(s)", file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
