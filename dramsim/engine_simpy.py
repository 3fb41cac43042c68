"""Reference DRAM engine: docs/controller.md on a simpy event loop, readable first.

Results equal a cycle-by-cycle run of the document exactly (tests/test_engine_simpy_naive.py
holds such a literal model and compares counters and command logs); the engine just avoids
looking at cycles in which nothing can happen.

Structure (one ``simpy.Environment``):

* one **controller process per channel** (``_Channel.process``). A controller never ticks every
  cycle: after handling cycle ``c`` it sleeps until the next cycle at which something can
  happen to it -- a command may become ready (``t_eval``), a request arrives, the refresh timer
  fires. After issuing a command it looks again at ``c + 1``, except under FR-FCFS where it
  computes a lower bound for the next ready candidate from what it already knows (ready cycles
  only grow when a command issues; only the candidates the command or an arrival created are
  re-timed): see ``_step``, ``_after_issue`` and ``arrival_bound``. When no other process has
  an event before that cycle (``env.peek()``), the controller carries on without yielding: a
  one-channel run costs almost no simpy events, while several channels still interleave in
  exact (cycle, phase) order.
* one **front-end process** (``_FrontEnd``) that accepts requests in trace order, one per cycle
  for the whole memory system. It decides the acceptance of a request at cycle ``f`` from the
  state of the request's channel at the end of ``f - 1``. When that state is already fixed (the
  channel sleeps past ``f - 1``) the request is enqueued at once, stamped ``f``; when the outcome
  cannot depend on it (the queue has room even if the channel frees nothing, and no queued write
  has the read's address) it goes to the channel's *incoming* list, moved in when the channel
  reaches ``f``. Otherwise the front end waits for that channel, which resumes it synchronously
  (``pump``) as soon as its end-of-cycle state is known. After cycle 0 the front end costs no
  events of its own.

Simulated time in simpy is ``cycle * phases + phase`` with phase 0 the front end and phase
``1 + k`` channel ``k``, so that within a cycle the front end goes first and channels follow in
channel order, as in the document. Queue occupancy and active cycles are accumulated over the
skipped cycles; refresh flags are raised at the skipped multiples of nREFI (a controller always
wakes at them).

Per-unit bookkeeping makes readiness O(1): for every unit (bank, or subarray with masa) the
earliest cycle of ACT / PRE / RD / WR, for every bank group the earliest ACT / RD / WR from the
rank-, bank-group- and other-rank constraints, per rank the earliest PREA and REF. Queued
requests are grouped by unit and row, so FR-FCFS looks at one or two candidates per unit instead
of every queue entry.
"""
from __future__ import annotations

import bisect
from collections import deque

import numpy as np
import simpy

from dramsim.commands import (ACT, COMMAND_LOG_DTYPE, N_COMMANDS, PDE, PDX, PRE, PREA, RD, RDA, REF, SRE, SRX,
                              WR, WRA)
from dramsim.config import ControllerConfig, check_config
from dramsim.counters import LATENCY_HIST_BINS, RawCounters
from dramsim.requests import DecodedRequests
from dramsim.spec import DramSpec

NEVER = 1 << 62          # "no such cycle"
_END_UNKNOWN = 1 << 63   # end_cycle before the run's last cycle is known (> NEVER)
_NO_REQUEST = 1 << 62    # larger than any trace index
PROGRESS_EVERY = 1 << 14
STBY, PDA, PDP, SR = 0, 1, 2, 3     # rank power states (standby, active / precharge power-down, SR)


class _Latencies:
    """The constraint latencies of docs/controller.md, named after the command pair."""

    def __init__(self, spec: DramSpec, config: ControllerConfig):
        t = spec.timing
        self.nRC, self.nRCD, self.nRAS, self.nRP = t.nRC, t.nRCD, t.nRAS, t.nRP
        self.nRTP = t.nRTP
        self.nCL, self.nCWL, self.nBL = t.nCL, t.nCWL, t.nBL
        self.wr_to_pre = t.nCWL + t.nBL + t.nWR
        self.rda_to_act = t.nRTP + t.nRP
        self.wra_to_act = self.wr_to_pre + t.nRP
        self.nRRD_S, self.nRRD_L, self.nFAW = t.nRRD_S, t.nRRD_L, t.nFAW
        self.nCCD_S, self.nCCD_L = t.nCCD_S, t.nCCD_L
        self.rd_to_wr = t.nCL + t.nBL + 2 - t.nCWL
        self.wr_to_rd_S = t.nCWL + t.nBL + t.nWTR_S
        self.wr_to_rd_L = t.nCWL + t.nBL + t.nWTR_L
        if config.r21:
            # Ramulator 2.1 (python/ramulator/dram/ddr3.py, ddr4.py): channel RD->RD and WR->WR
            # nBL (any rank), sibling rank RD->RD/WR nBL+nCS, WR->RD nCWL+nBL+nCS-nCL.
            self.rd_to_rd_same = max(t.nCCD_S, t.nBL)
            self.wr_to_wr_same = max(t.nCCD_S, t.nBL)
            self.rd_to_rd_rank = t.nBL + t.nRTRS
            self.wr_to_wr_rank = t.nBL
            self.rd_to_wr_rank = t.nBL + t.nRTRS
        else:
            self.rd_to_rd_same = self.wr_to_wr_same = t.nCCD_S
            self.rd_to_rd_rank = t.nBL + t.nRTRS                # other rank, same channel
            self.wr_to_wr_rank = t.nBL + t.nRTRS
            self.rd_to_wr_rank = t.nCL + t.nBL + t.nRTRS - t.nCWL
        self.wr_to_rd_rank = t.nCWL + t.nBL + t.nRTRS - t.nCL
        self.nRFC = t.nRFC
        self.nREFI = config.nrefi(spec)
        self.read_data = t.nCL + t.nBL                          # column command -> end of data
        self.write_data = t.nCWL + t.nBL
        if config.power_management:                            # docs/controller.md, power rules
            self.act_to_low = t.nRC
            self.rd_to_low = t.nCL + t.nBL + 1
            self.rda_to_low = max(t.nCL + t.nBL + 1, t.nRTP + t.nRP)
            self.wr_to_low = self.wr_to_pre
            self.wra_to_low = self.wra_to_act
            self.nXP, self.nCKE = t.nXP, t.nCKE
            self.nCKESR, self.nXS, self.nXSDLL = t.nCKESR, t.nXS, t.nXSDLL


class _Queue:
    """A read or write queue: per unit its requests in trace order and by row, and a count.

    ``units[u] = (ids, rows)``: ``ids`` the unit's requests in trace order, ``rows`` maps a row
    to its requests in trace order. FR-FCFS needs per unit only the oldest request, the oldest
    request of the open row and the oldest request of another row, all found at list heads.
    """

    __slots__ = ("n", "units", "is_write", "capacity", "col_cmd")

    def __init__(self, is_write: bool, capacity: int, col_cmd: int):
        self.n = 0                                 # requests in the queue
        self.units: dict[int, tuple[list[int], dict[int, list[int]]]] = {}
        self.is_write = is_write
        self.capacity = capacity
        self.col_cmd = col_cmd                     # RD/WR (open page) or RDA/WRA (closed page)

    def oldest(self) -> int:
        """The first request of the queue in arrival (= trace) order (FCFS)."""
        return min(ids[0] for ids, _ in self.units.values())

    def add(self, q: int, u: int, row: int) -> None:
        self.n += 1
        entry = self.units.get(u)
        if entry is None:
            self.units[u] = ([q], {row: [q]})
            return
        entry[0].append(q)
        lst = entry[1].get(row)
        if lst is None:
            entry[1][row] = [q]
        else:
            lst.append(q)

    def remove(self, q: int, u: int, row: int) -> None:
        """Remove ``q``, which is always the oldest request of its (unit, row)."""
        self.n -= 1
        ids, rows = self.units[u]
        if len(ids) == 1:
            del self.units[u]
            return
        if ids[0] == q:
            del ids[0]
        else:
            ids.remove(q)
        lst = rows[row]
        if len(lst) == 1:
            del rows[row]
        else:
            del lst[0]


class _Requests:
    """Per-request fields as Python lists (fast scalar access), channel-local indices. The
    fields only the command log needs are made only with a log (memory: ~200 MB per million
    requests without)."""

    def __init__(self, spec: DramSpec, config: ControllerConfig, d: DecodedRequests, logging: bool):
        org = spec.org
        ch = np.asarray(d.channel, dtype=np.int64)
        rk = np.asarray(d.rank, dtype=np.int64)
        bg = np.asarray(d.bankgroup, dtype=np.int64)
        ba = np.asarray(d.bank, dtype=np.int64)
        sa = np.asarray(d.subarray, dtype=np.int64)
        bank_local = (rk * org.bankgroups + bg) * org.banks_per_group + ba
        masa = config.salp == "masa"
        units_per_bank = org.subarrays if masa else 1
        flat_bank = ch * (org.ranks * org.banks) + bank_local
        self.n = len(d)
        self.channel = ch.tolist()
        self.row = np.asarray(d.row, dtype=np.int64).tolist()
        if logging:
            self.rank, self.bankgroup, self.bank = rk.tolist(), bg.tolist(), ba.tolist()
            self.subarray = sa.tolist()
            self.column = np.asarray(d.column, dtype=np.int64).tolist()
        self.is_write = np.asarray(d.is_write, dtype=bool).tolist()
        self.addr = np.asarray(d.addr, dtype=np.uint64).tolist()
        self.arrive = np.asarray(d.arrive, dtype=np.int64).tolist()
        self.unit = (bank_local * units_per_bank + (sa if masa else 0)).tolist()
        self.bank_local = bank_local.tolist()
        self.group = (rk * org.bankgroups + bg).tolist()     # bank group index within the channel
        self.flat_bank = flat_bank.tolist()
        self.flat_sub = (flat_bank * org.subarrays + sa).tolist()
        self.flat_rank = (ch * org.ranks + rk).tolist()
        self.accepted: dict[int, int] = {}         # cycle a queued read entered its queue
        self.classified = bytearray(self.n)        # first command seen (hit/miss/conflict counted)


class _Counters:
    """RawCounters as Python lists while running (numpy scalar updates are slow)."""

    def __init__(self, spec: DramSpec):
        org = spec.org
        nch, nr = org.channels, org.channels * org.ranks
        nb = nr * org.banks
        ns = nb * org.subarrays
        self.reads, self.writes = [0] * nb, [0] * nb
        self.row_hits, self.row_misses, self.row_conflicts = [0] * nb, [0] * nb, [0] * nb
        self.subarray_accesses, self.subarray_acts = [0] * ns, [0] * ns
        self.commands = [[0] * N_COMMANDS for _ in range(nr)]
        self.active_cycles = [0] * nr
        self.forwarded_reads = [0] * nch
        self.read_latency_sum = [0] * nch
        self.read_latency_hist = [[0] * LATENCY_HIST_BINS for _ in range(nch)]
        self.queue_occupancy_sum = [0] * nch
        self.coalesced_writes = [0] * nch
        self.prea_closed_units = [0] * nr
        self.pd_active_cycles = [0] * nr
        self.pd_precharged_cycles = [0] * nr
        self.sr_cycles = [0] * nr
        self.last_column = [[-1, -1] for _ in range(nch)]
        self.total_cycles = 0

    def to_raw(self, spec: DramSpec) -> RawCounters:
        org = spec.org
        raw = RawCounters.zeros(org.channels, org.ranks, org.banks, org.subarrays)
        for name in raw.array_fields():
            getattr(raw, name)[...] = np.asarray(getattr(self, name), dtype=np.int64)
        raw.total_cycles = int(self.total_cycles)
        return raw


class _Channel:
    """One channel's controller: queues, active list, bank state, timing, refresh."""

    def __init__(self, sim: "_Simulation", ch: int):
        self.sim = sim
        self.rq = sim.rq
        self.ch = ch
        self.phase = 1 + ch
        spec, cfg = sim.spec, sim.config
        org = spec.org
        self.L = L = sim.L
        self.ranks = org.ranks
        self.banks = org.ranks * org.banks                      # banks in this channel
        self.units_per_bank = org.subarrays if cfg.salp == "masa" else 1
        self.n_units = n_units = self.banks * self.units_per_bank
        n_groups = org.ranks * org.bankgroups
        self.unit_group = [(u // self.units_per_bank) // org.banks_per_group for u in range(n_units)]
        self.unit_rank = [g // org.bankgroups for g in self.unit_group]
        self.unit_bank = [u // self.units_per_bank for u in range(n_units)]
        units_per_rank = org.banks * self.units_per_bank
        self.rank_units = [range(k * units_per_rank, (k + 1) * units_per_rank) for k in range(org.ranks)]
        bgs = org.bankgroups
        self.rank_groups = [tuple(range(k * bgs, (k + 1) * bgs)) for k in range(org.ranks)]
        self.rank_flat = [ch * org.ranks + k for k in range(org.ranks)]
        closed = cfg.page_policy == "closed"
        self.closed_page = closed
        self.R = _Queue(False, cfg.read_queue, RDA if closed else RD)
        self.W = _Queue(True, cfg.write_queue, WRA if closed else WR)
        self.A: list[int] = []                                  # active list, trace order
        self.write_mode = False
        self.high_mark = cfg.write_high_watermark * cfg.write_queue
        self.low_mark = cfg.write_low_watermark * cfg.write_queue
        self.fcfs = cfg.scheduler == "fcfs"
        self.cap = cfg.row_hit_cap if cfg.scheduler == "frfcfs_cap" else 0
        # Ramulator 2.1: a request whose next command would close a unit held by a request of A
        # is no candidate (filtered before the scheduler picks); r2.0: picked, then dropped.
        self.r21 = cfg.r21
        # (closed page: every command closes its unit but ACT, so a held unit has no candidate)
        self.filter_hits = cfg.r21 and closed
        # Power management (docs/controller.md, "Power-down and self-refresh").
        self.pm = cfg.power_management
        self.pd_idle, self.sr_idle = cfg.powerdown_idle, cfg.self_refresh_idle
        self.pstate = [STBY] * org.ranks
        self.pstate_since = [0] * org.ranks
        self.idle_since = [0] * org.ranks                       # cycle after the last non-power command
        self.sr_ref_ok = [True] * org.ranks                     # a REF since the last SRX
        self.rank_queued = [0] * org.ranks                      # requests of the rank in R and W
        self.r_pde = [0] * org.ranks                            # earliest PDE / PDX / SRE / SRX
        self.r_pdx = [0] * org.ranks
        self.r_sre = [0] * org.ranks
        self.r_srx = [0] * org.ranks
        self.saved = {}                                         # unit -> timing saved while asleep
        # Bank state.
        self.open_row = [-1] * n_units
        self.held_by = [-1] * n_units                           # request of A holding the unit
        self.rank_open_units = [0] * org.ranks
        self.rank_open_since = [0] * org.ranks
        self.rank_active = [0] * org.ranks                      # requests of A in the rank
        self.col_since_act = [0] * self.banks                   # frfcfs_cap counter per bank
        # Timing: earliest issue cycle per unit and per bank group; rank-wide and other-rank
        # constraints are pushed into every bank group they concern, so that readiness is
        # max(unit value, group value).
        self.u_act = [0] * n_units
        self.u_pre = [0] * n_units
        self.u_rd = [0] * n_units
        self.u_wr = [0] * n_units
        self.g_act = [0] * n_groups
        self.g_rd = [0] * n_groups
        self.g_wr = [0] * n_groups
        self.r_prea = [0] * org.ranks
        self.r_ref = [0] * org.ranks
        self.recent_acts = [deque(maxlen=4) for _ in range(org.ranks)]
        # Bank groups of the other ranks of the channel, per rank (column-command pushes).
        self.other_rank_groups = [tuple(g for kk in range(org.ranks) if kk != k for g in self.rank_groups[kk])
                                  for k in range(org.ranks)]
        self.one_group = n_groups == 1
        # Refresh.
        # next refresh tick: nREFI-1, 2nREFI-1, ... (r2.1) or nREFI, 2nREFI, ... (r2.0-conservative)
        self.next_refresh = cfg.first_refresh_cycle(spec) if cfg.refresh else NEVER
        self.refresh_pending = [False] * org.ranks
        self.n_refresh_pending = 0
        # Requests the front end decided to accept at a future cycle: (arrive cycle, id).
        self.incoming: deque = deque()
        self.incoming_reads = 0
        self.incoming_writes = 0
        self.write_addrs: dict[int, int] = {}                   # addr -> writes in W or incoming
        # Occupancy, accumulated lazily: occ_len = len(R)+len(W)+len(A) since cycle occ_since.
        self.occ_len = 0
        self.occ_since = 0
        self.occ_sum = 0
        # Scheduling of this process.
        # see arrival_bound and _step (power management: every issue is followed by a full look)
        self.incremental = cfg.scheduler == "frfcfs" and not self.pm
        self.t_eval = 0 if self.pm else NEVER                   # next cycle to run steps 1-6
        # (power management: idle ranks power down on their own, so look at cycle 0 already)
        self.x_bound = -1                                       # see _step
        self.a_bound = -1                                       # see _best_active
        self.wake = min(self.next_refresh, self.t_eval)         # next cycle to handle at all
        self.horizon = self.wake - 1                            # state is final through this cycle
        self.running = False
        self.proc = None
        cnt = sim.cnt
        self.cnt = cnt
        self.latency_hist = cnt.read_latency_hist[ch]
        self.logging = sim.logging

    # ------------------------------------------------------------------ process
    def process(self):
        """The simpy process: sleep until ``wake`` (or run on inline), handle that cycle, repeat."""
        sim, env = self.sim, self.sim.env
        phases, phase, peek = sim.phases, self.phase, env.peek
        while True:
            c = self.wake
            if c >= sim.end_cycle:                              # the run is over
                return
            if c >= NEVER:
                try:
                    yield env.event()                           # idle until the front end pokes
                except simpy.Interrupt:
                    pass
                continue
            if peek() <= c * phases + phase:                    # someone acts earlier: yield
                try:
                    yield env.timeout(c * phases + phase - env.now)
                except simpy.Interrupt:
                    continue
                if self.wake != c or c >= sim.end_cycle:        # rescheduled, or the run ended
                    continue
            self.running = True
            self.handle_cycle(c)
            c = self.wake                                       # go on without yielding while
            while c < sim.end_cycle and c < NEVER and peek() > c * phases + phase:  # nobody else
                self.handle_cycle(c)                            # has an earlier event
                c = self.wake
            self.running = False

    def poke(self, cycle: int, evaluate: bool) -> None:
        """Something happens at ``cycle`` (an arrival to move in; with ``evaluate``, one that
        may let a command issue): make sure this controller handles that cycle."""
        if evaluate and cycle < self.t_eval:
            self.t_eval = cycle
        if cycle < self.wake:
            self.wake = cycle
            self.horizon = cycle - 1
            if not self.running and self.proc is not None and self.proc.is_alive:
                self.proc.interrupt()

    # ------------------------------------------------------------------ one cycle
    def handle_cycle(self, c: int) -> None:
        """Cycle ``c``: arrivals, refresh timer, steps 1-5 (unless provably nothing can issue);
        then when to look again."""
        sim = self.sim
        self.horizon = c - 1
        evaluate = c >= self.t_eval
        incoming = self.incoming
        while incoming and incoming[0][0] <= c:
            q = incoming.popleft()[1]
            if self.rq.is_write[q]:
                self.incoming_writes -= 1
            else:
                self.incoming_reads -= 1
            self.enqueue(c, q)
            bound = self.arrival_bound(c, q)                    # (also keeps x_bound valid)
            if bound <= c:
                evaluate = True
            elif bound < self.t_eval:
                self.t_eval = bound
        if c >= self.next_refresh:                              # the refresh timer fired at c
            self.next_refresh += self.L.nREFI
            for k in range(self.ranks):
                if not self.refresh_pending[k] and self.pstate[k] != SR:   # (SR refreshes itself)
                    self.refresh_pending[k] = True
                    self.n_refresh_pending += 1
            evaluate = True
        if evaluate:
            t = self._step(c)
            self.t_eval = t if t > c else c + 1                 # (never the same cycle twice)
        wake = self.t_eval
        if incoming and incoming[0][0] < wake:
            wake = incoming[0][0]
        if self.next_refresh < wake:
            wake = self.next_refresh
        self.wake = wake
        self.horizon = wake - 1
        front = sim.front
        if front.waiting_for is self and wake > front.need:
            full = front.full_queue
            if full is not None and full.n >= full.capacity:
                front.earliest, front.need = wake + 1, wake     # still full: stalled on
            else:
                front.pump()
        if sim.outstanding == 0 and sim.end_cycle > c:
            sim.finish(c)

    def enqueue(self, c: int, q: int) -> None:
        """Request ``q`` enters its queue at cycle ``c`` (it is visible from cycle ``c`` on)."""
        rq = self.rq
        if rq.is_write[q]:
            self.W.add(q, rq.unit[q], rq.row[q])
        else:
            rq.accepted[q] = c
            self.R.add(q, rq.unit[q], rq.row[q])
        if self.pm:
            self.rank_queued[self.unit_rank[rq.unit[q]]] += 1
        self.occ_sum += self.occ_len * (c - self.occ_since)
        self.occ_since = c
        self.occ_len += 1

    def _mode_for(self, n_w: int, n_r: int) -> bool:
        """The write mode step 3 would set with these queue lengths."""
        if not self.write_mode:
            return n_w > self.high_mark or (n_w > 0 and n_r == 0)
        return not (n_w == 0 or (n_w < self.low_mark and n_r > 0))

    def arrival_bound(self, f: int, q: int) -> int:
        """Request ``q`` (just enqueued, visible from cycle ``f``) can make a command issue no
        earlier than the returned cycle (NEVER: it cannot before something else happens).

        Under FR-FCFS a new request matters only if it flips the write mode or is the first
        request of its kind (oldest for ACT, oldest hit, oldest other row) in its unit -- every
        other candidate is already known to the controller. Other schedulers: ``f``.
        """
        if not self.incremental:
            return f
        if self.n_refresh_pending:                              # step 3 is not reached
            return NEVER
        rq = self.rq
        w = rq.is_write[q]
        n_w, n_r = self.W.n, self.R.n
        if w or n_w or self.write_mode:                         # (a read never flips read mode
            mode = self._mode_for(n_w, n_r)                     # while no write is queued)
            if mode != self._mode_for(n_w - w, n_r - (not w)):
                return self._lower_x_bound(f)
            if mode != w:                                       # its queue is not served now
                return NEVER
        X = self.W if w else self.R
        u = rq.unit[q]
        ids, rows = X.units[u]
        o = self.open_row[u]
        g = self.unit_group[u]
        if o < 0:
            if len(ids) > 1:
                return NEVER
            t, tg = self.u_act[u], self.g_act[g]
        elif o == rq.row[q]:
            if len(rows[o]) > 1 or (self.filter_hits and self.held_by[u] >= 0):
                return NEVER
            t, tg = (self.u_wr[u], self.g_wr[g]) if w else (self.u_rd[u], self.g_rd[g])
        else:
            hits = rows.get(o)
            if len(ids) - (len(hits) if hits else 0) > 1 or (self.r21 and self.held_by[u] >= 0):
                return NEVER                                    # (r2.1: a PRE of a held unit is no candidate)
            t, tg = self.u_pre[u], 0
        if tg > t:
            t = tg
        return self._lower_x_bound(t if t > f else f)

    def _lower_x_bound(self, t: int) -> int:
        if t < self.x_bound:
            self.x_bound = t
        return t

    # ------------------------------------------------------------------ readiness
    def _ready(self, q: int):
        """(next command of request ``q``, earliest cycle it may issue)."""
        rq = self.rq
        u = rq.unit[q]
        o = self.open_row[u]
        g = self.unit_group[u]
        if o < 0:
            t, tg = self.u_act[u], self.g_act[g]
            return ACT, (t if t > tg else tg)
        if o != rq.row[q]:
            return PRE, self.u_pre[u]
        if rq.is_write[q]:
            t, tg = self.u_wr[u], self.g_wr[g]
            return self.W.col_cmd, (t if t > tg else tg)
        t, tg = self.u_rd[u], self.g_rd[g]
        return self.R.col_cmd, (t if t > tg else tg)

    def _unit_ready(self, X: _Queue, u: int) -> int:
        """Earliest cycle at which a candidate of unit ``u`` in queue ``X`` is ready (r2.1:
        candidates that would close a held unit are none)."""
        if u not in X.units:
            return NEVER
        o = self.open_row[u]
        g = self.unit_group[u]
        if o < 0:
            t, tg = self.u_act[u], self.g_act[g]
            return t if t > tg else tg
        rows = X.units[u][1]
        pre = self.u_pre[u] if not (self.r21 and self.held_by[u] >= 0) else NEVER
        if o not in rows:                                       # only other rows: PRE
            return pre
        if self.filter_hits and self.held_by[u] >= 0:
            return NEVER
        t, tg = (self.u_wr[u], self.g_wr[g]) if X.is_write else (self.u_rd[u], self.g_rd[g])
        if tg > t:
            t = tg
        if len(rows) > 1 and pre < t:                           # and other rows too
            t = pre
        return t

    def _oldest_eligible(self, X: _Queue) -> int:
        """The oldest request of X that is a candidate (r2.1: whose next command would not
        close a unit held by a request of A); _NO_REQUEST if none."""
        best = _NO_REQUEST
        held_by, open_row = self.held_by, self.open_row
        for u, (ids, rows) in X.units.items():
            if held_by[u] < 0:
                q = ids[0]
            elif self.filter_hits:
                continue
            else:
                hits = rows.get(open_row[u])
                if not hits:
                    continue
                q = hits[0]
            if q < best:
                best = q
        return best

    # ------------------------------------------------------------------ steps 1-5
    def _step(self, c: int) -> int:
        """Steps 1-6 of cycle ``c``. Returns the next cycle (> c) at which a command may issue
        (a lower bound; NEVER if nothing can issue before something arrives).

        Under FR-FCFS the bound is tight enough that the controller rarely looks at a cycle in
        which nothing issues; ``x_bound`` keeps the part of it that concerns the served queue
        (a lower bound for its next ready candidate; <= the current cycle: unknown)."""
        t_active = NEVER
        # 1. The active list first (while ``a_bound`` is in the future, nothing of A is ready).
        if self.A:
            if self.a_bound > c:
                t_active = self.a_bound
            else:
                q, t_active = self._best_active(c)
                if q >= 0:
                    self._issue_column(c, q, True)
                    return self._after_active_issue(q, c) if self.incremental else c + 1
        # 2. Refresh of the lowest pending rank blocks the queues.
        if self.n_refresh_pending:
            self.x_bound = -1
            k = self.refresh_pending.index(True)
            if self.pstate[k] != STBY:                          # power-down (never SR): exit first
                t = self.r_pdx[k]
                if t <= c:
                    self._issue_pdx(c, k)
                    return c + 1
            elif self.rank_open_units[k]:
                t = self.r_prea[k]
                if t <= c:
                    if self.rank_active[k] == 0:
                        self._issue_prea(c, k)
                        return c + 1
                    return t_active                             # dropped (step 4)
            else:
                t = self.r_ref[k]
                if t <= c:
                    self._issue_ref(c, k)
                    return c + 1
            return t if t < t_active else t_active
        # 3. Wake a sleeping rank that requests wait for.
        if self.pm:
            for k in range(self.ranks):
                if self.pstate[k] != STBY and self.rank_queued[k]:
                    sr = self.pstate[k] == SR
                    t = self.r_srx[k] if sr else self.r_pdx[k]
                    if t <= c:
                        if sr:
                            self._issue_srx(c, k)
                        else:
                            self._issue_pdx(c, k)
                        return c + 1
                    if t < t_active:
                        t_active = t
        # 4. Write mode, then the selected queue.
        W, R = self.W, self.R
        n_w = W.n
        if not self.write_mode:
            mode = self.write_mode = n_w > self.high_mark or (n_w > 0 and not R.n)
        else:
            mode = self.write_mode = not (n_w == 0 or (n_w < self.low_mark and R.n))
        X = W if mode else R
        if not X.n:
            self.x_bound = NEVER
            return self._power_step(c, t_active) if self.pm else t_active
        if self.x_bound > c and self.incremental:               # no candidate can be ready yet
            return self.x_bound if self.x_bound < t_active else t_active
        q, cmd, t_kind, ready = self._best_queued(X, c)
        if q < 0:
            t = min(t_kind)
            self.x_bound = t if not ready else c
            t = t if t < t_active else t_active
            return self._power_step(c, t) if self.pm else t
        # 5. (r2.0-conservative) Never close a unit that a request of A is waiting on. (r2.1
        # filtered such requests out in _best_queued.)
        u = self.rq.unit[q]
        if cmd == ACT:
            t_col = self._issue_act(c, q, X)                    # q now waits in A
            if t_col < t_active:
                t_active = t_col
        elif self.held_by[u] >= 0 and (cmd == PRE or cmd == RDA or cmd == WRA):
            self.x_bound = c                                    # ready, but blocked for now
            t = min(t_kind)
            return t if t < t_active else t_active
        # Issue.
        elif cmd == PRE:
            self._issue_pre(c, q)
        else:
            self._issue_column(c, q, False)
        if not self.incremental:
            return c + 1
        self.x_bound = x = self._after_issue(X, u, cmd, t_kind, ready, c)
        t = x if x < t_active else t_active
        return t if t > c else c + 1

    def _power_step(self, c: int, t_next: int) -> int:
        """Step 6 (nothing else issued at ``c``, no refresh pending): the first rank, in rank
        order, whose power-management command is due and ready issues it. Returns the next cycle
        to look at: ``c + 1`` after an issue, else min(``t_next``, the earliest cycle at which a
        power-management command may become due and ready)."""
        issue = {PDE: self._issue_pde, SRE: self._issue_sre, PDX: self._issue_pdx}
        for k in range(self.ranks):
            if self.rank_queued[k] or self.rank_active[k]:
                continue
            cmd, t = self._power_due(k, c)
            if t <= c:
                issue[cmd](c, k)
                return c + 1
            if t < t_next:
                t_next = t
        return t_next

    def _power_due(self, k: int, c: int):
        """(command, earliest cycle) of idle rank ``k``'s next power-management command, or
        (None, NEVER). PDE and SRE always share their timing (every rule constrains both), and
        the power-down threshold is the shorter one, so before self-refresh is due the
        power-down (if enabled) is the earlier of the two."""
        P, S = self.pd_idle, self.sr_idle
        ps, idle = self.pstate[k], self.idle_since[k]
        sr_ok = S is not None and self.sr_ref_ok[k]
        if ps == STBY:
            if sr_ok and not self.rank_open_units[k] and (P is None or c >= idle + S):
                return SRE, max(self.r_sre[k], idle + S)
            if P is not None:
                return PDE, max(self.r_pde[k], idle + P)
        elif ps == PDP and sr_ok:                               # deeper: exit, then SRE
            return PDX, max(self.r_pdx[k], idle + S)
        return None, NEVER

    def _after_active_issue(self, q: int, c: int) -> int:
        """FR-FCFS, after the column command of ``q`` (from A) at ``c``: a lower bound for the
        next cycle a command may issue. The other requests of A are re-timed; the served
        queue keeps ``x_bound`` (ready cycles only grow, and with r2.0-conservative being held
        by ``q`` never kept a candidate out of it), except for ``q``'s unit: after an RDA/WRA it
        closed, so its requests now wait for an ACT; with r2.1 its PRE (and closed-page column)
        candidates were filtered out while ``q`` held it. Those are timed here."""
        if self.n_refresh_pending or self.x_bound <= c:
            return c + 1
        rq = self.rq
        unit, group, is_write = rq.unit, rq.group, rq.is_write
        t_next = NEVER
        for q2 in self.A:                                       # (column commands, see above)
            if is_write[q2]:
                t, tg = self.u_wr[unit[q2]], self.g_wr[group[q2]]
            else:
                t, tg = self.u_rd[unit[q2]], self.g_rd[group[q2]]
            if tg > t:
                t = tg
            if t < t_next:
                t_next = t
        self.a_bound = t_next
        if self.closed_page or self.r21:                        # new candidates of q's unit
            X = self.W if self.write_mode else self.R
            u = self.rq.unit[q]
            if u in X.units:
                t = self._unit_ready(X, u)
                if t < self.x_bound:
                    self.x_bound = t
        if self.x_bound < t_next:
            t_next = self.x_bound
        return t_next if t_next > c else c + 1

    def _best_active(self, c: int):
        """best(A): (request whose column command issues now or -1, earliest cycle > c at
        which a request of A may be ready). The next command of a request in A is always its
        column command (docs/controller.md, clarification 4). ``a_bound`` is a lower bound for
        the ready cycles of A (they only grow; an ACT lowers it for its request): while it is
        in the future, A need not be looked at (the caller checks)."""
        A = self.A
        if self.fcfs:
            _, t = self._ready(A[0])
            return (A[0], t) if t <= c else (-1, t)
        rq = self.rq
        unit, group, is_write = rq.unit, rq.group, rq.is_write
        u_rd, u_wr, g_rd, g_wr = self.u_rd, self.u_wr, self.g_rd, self.g_wr
        cap = self.cap
        t_next = NEVER
        for q in A:
            if is_write[q]:
                t, tg = u_wr[unit[q]], g_wr[group[q]]
            else:
                t, tg = u_rd[unit[q]], g_rd[group[q]]
            if tg > t:
                t = tg
            if t <= c:
                if not cap or self.col_since_act[rq.bank_local[q]] < cap:
                    self.a_bound = c                            # (not all of A was looked at)
                    return q, t
            elif t < t_next:
                t_next = t
        if cap:                                                 # all ready ones capped: fallback
            _, t = self._ready(A[0])
            if t <= c:
                self.a_bound = c
                return A[0], t
        self.a_bound = c if self.cap else t_next                # (capped ones may still be ready)
        return -1, t_next

    def _best_queued(self, X: _Queue, c: int):
        """best(X) under the scheduler: (request or -1, its next command, the earliest cycles
        > c at which a not-ready ACT / column / PRE candidate becomes ready, the candidates ready
        at c as (unit, command)).

        FR-FCFS looks at no more than two candidates per unit: for a closed unit its oldest
        request (ACT); for an open unit its oldest hit (column command) and its oldest request
        to another row (PRE). The answer is the oldest candidate that is ready. With r2.1 a
        candidate that would close a unit held by a request of A is left out (Ramulator 2.1's
        ``would_close_active`` filter), also from the FCFS / cap fallback "first request".
        """
        if self.fcfs:
            q = self._oldest_eligible(X) if self.r21 else X.oldest()
            if q == _NO_REQUEST:
                return -1, -1, (NEVER, NEVER, NEVER), ()
            cmd, t = self._ready(q)
            if t <= c:
                return q, cmd, (NEVER, NEVER, NEVER), [(self.rq.unit[q], cmd)]
            return -1, -1, (t, t, t), ()
        open_row = self.open_row
        u_act, u_pre, g_act, unit_group = self.u_act, self.u_pre, self.g_act, self.unit_group
        if X.is_write:
            u_col, g_col = self.u_wr, self.g_wr
        else:
            u_col, g_col = self.u_rd, self.g_rd
        col_cmd = X.col_cmd
        cap = self.cap
        row_of = self.rq.row
        held_by = self.held_by if self.r21 else None
        filter_hits = self.filter_hits
        best, best_cmd, ready = _NO_REQUEST, -1, []
        t_act = t_col = t_pre = NEVER                           # earliest not-ready, by kind
        for u, (ids, rows) in X.units.items():
            o = open_row[u]
            if o < 0:                                           # closed unit: ACT for the oldest
                t = u_act[u]
                tg = g_act[unit_group[u]]
                if tg > t:
                    t = tg
                if t <= c:
                    ready.append((u, ACT))
                    if ids[0] < best:
                        best, best_cmd = ids[0], ACT
                elif t < t_act:
                    t_act = t
                continue
            only_hits = False
            if held_by is not None and held_by[u] >= 0:        # r2.1: held, so no PRE candidate
                if filter_hits or o not in rows:                # (nor, closed page, RDA/WRA)
                    continue
                only_hits = True
            if o in rows:                                       # hit: column command
                t = u_col[u]
                tg = g_col[unit_group[u]]
                if tg > t:
                    t = tg
                if t <= c:
                    ready.append((u, col_cmd))
                    q = rows[o][0]
                    if q < best and not (cap and self.col_since_act[self.unit_bank[u]] >= cap):
                        best, best_cmd = q, col_cmd
                elif t < t_col:
                    t_col = t
                if len(rows) == 1 or only_hits:
                    continue
            t = u_pre[u]                                        # conflict: PRE for the oldest
            if t <= c:
                ready.append((u, PRE))
                q = ids[0]
                if row_of[q] == o:
                    q = min([lst[0] for r, lst in rows.items() if r != o])
                if q < best:
                    best, best_cmd = q, PRE
            elif t < t_pre:
                t_pre = t
        t_next = (t_act, t_col, t_pre)
        if best == _NO_REQUEST:
            if cap:                                             # fallback: first of X, timing only
                q = self._oldest_eligible(X) if self.r21 else X.oldest()
                if q == _NO_REQUEST:
                    return -1, -1, t_next, ready
                cmd, t = self._ready(q)
                if t <= c:
                    return q, cmd, t_next, ready
            return -1, -1, t_next, ready
        return best, best_cmd, t_next, ready

    def _after_issue(self, X: _Queue, u: int, cmd: int, t_kind, ready, c: int) -> int:
        """FR-FCFS, after issuing ``cmd`` (unit ``u``) from ``X`` at ``c``: a lower bound for
        the next cycle a candidate of X may be ready, so that the controller need not look at
        every cycle. Ready cycles only grow when a command issues (constraints accumulate):
        X's candidates that were not ready keep their by-kind minimum ``t_kind``, raised to the
        smallest bank-group value of that kind; those that were ready at ``c`` in other units
        are re-timed; unit ``u``'s candidates are new. A write-mode flip means another queue:
        look again at c + 1."""
        if cmd != PRE and self._mode_for(self.W.n, self.R.n) != X.is_write:   # (PRE: same lengths)
            return c + 1
        t_act, t_col, t_next = t_kind
        g_col = self.g_wr if X.is_write else self.g_rd
        floor = self.g_act[0] if self.one_group else min(self.g_act)
        if t_act < floor:
            t_act = floor
        floor = g_col[0] if self.one_group else min(g_col)
        if t_col < floor:
            t_col = floor
        if t_act < t_next:
            t_next = t_act
        if t_col < t_next:
            t_next = t_col
        ug = self.unit_group
        for u2, kind in ready:
            if u2 == u:
                continue
            if kind == ACT:
                t, tg = self.u_act[u2], self.g_act[ug[u2]]
            elif kind == PRE:
                t, tg = self.u_pre[u2], 0
            elif X.is_write:
                t, tg = self.u_wr[u2], self.g_wr[ug[u2]]
            else:
                t, tg = self.u_rd[u2], self.g_rd[ug[u2]]
            if tg > t:
                t = tg
            if t <= c:
                return c + 1
            if t < t_next:
                t_next = t
        t = self._unit_ready(X, u)
        if t < t_next:
            t_next = t
        return t_next if t_next > c else c + 1

    # ------------------------------------------------------------------ issuing
    def _log(self, c, k, bg, ba, sa, row, col, cmd, q) -> None:
        self.sim.log.append((c, self.ch, k, bg, ba, sa, row, col, cmd, q))

    def _close(self, c: int, u: int) -> None:
        k = self.unit_rank[u]
        self.open_row[u] = -1
        self.rank_open_units[k] -= 1
        if self.rank_open_units[k] == 0:
            self.cnt.active_cycles[self.rank_flat[k]] += c - self.rank_open_since[k]

    def _issue_act(self, c: int, q: int, X: _Queue) -> int:
        """ACT for ``q`` (which moves to A); returns the cycle its column command is ready."""
        rq, L, cnt = self.rq, self.L, self.cnt
        u, row = rq.unit[q], rq.row[q]
        k, g = self.unit_rank[u], self.unit_group[u]
        self.open_row[u] = row
        if self.rank_open_units[k] == 0:                        # (active_cycles)
            self.rank_open_since[k] = c
        self.rank_open_units[k] += 1
        # Same unit: ACT->ACT nRC, ACT->column nRCD, ACT->PRE nRAS (the unit was closed and
        # ready for this ACT, so these only move forward).
        self.u_act[u] = c + L.nRC
        self.u_rd[u] = self.u_wr[u] = c + L.nRCD
        self.u_pre[u] = ras = c + L.nRAS
        # Same rank: nRRD_S and nFAW for every bank group, nRRD_L for this one.
        acts = self.recent_acts[k]
        acts.append(c)
        rank_act = c + L.nRRD_S
        if len(acts) == 4 and acts[0] + L.nFAW > rank_act:
            rank_act = acts[0] + L.nFAW
        g_act = self.g_act
        for gg in self.rank_groups[k]:
            if g_act[gg] < rank_act:
                g_act[gg] = rank_act
        if g_act[g] < c + L.nRRD_L:
            g_act[g] = c + L.nRRD_L
        if self.r_prea[k] < ras:
            self.r_prea[k] = ras
        if self.r_ref[k] < c + L.nRC:
            self.r_ref[k] = c + L.nRC
        self.col_since_act[self.unit_bank[u]] = 0
        if self.pm:
            self._power_timing(k, c, c + L.act_to_low)
            self.rank_queued[k] -= 1
        cnt.commands[rq.flat_rank[q]][ACT] += 1
        cnt.subarray_acts[rq.flat_sub[q]] += 1
        if not rq.classified[q]:
            rq.classified[q] = 1
            cnt.row_misses[rq.flat_bank[q]] += 1
        # The request leaves its queue for the active list (its place by trace index).
        X.remove(q, u, row)
        if X.is_write:
            self._forget_write(q)
        A = self.A
        if not A or A[-1] < q:
            A.append(q)
        else:
            bisect.insort(A, q)
        t = c + L.nRCD                                          # its column command is ready at t
        tg = (self.g_wr if X.is_write else self.g_rd)[g]
        if tg > t:
            t = tg
        if t < self.a_bound:
            self.a_bound = t
        self.held_by[u] = q
        self.rank_active[k] += 1
        if self.logging:
            self._log(c, rq.rank[q], rq.bankgroup[q], rq.bank[q], rq.subarray[q], row, -1, ACT, q)
        return t

    def _issue_pre(self, c: int, q: int) -> None:
        rq, L, cnt = self.rq, self.L, self.cnt
        u = rq.unit[q]
        k = self.unit_rank[u]
        self._close(c, u)
        if self.u_act[u] < c + L.nRP:
            self.u_act[u] = c + L.nRP
        if self.r_ref[k] < c + L.nRP:
            self.r_ref[k] = c + L.nRP
        if self.pm:
            self._power_timing(k, c, c + L.nRP)
        cnt.commands[rq.flat_rank[q]][PRE] += 1
        if not rq.classified[q]:
            rq.classified[q] = 1
            cnt.row_conflicts[rq.flat_bank[q]] += 1
        if self.logging:
            sa = rq.subarray[q] if self.units_per_bank > 1 else -1
            self._log(c, rq.rank[q], rq.bankgroup[q], rq.bank[q], sa, -1, -1, PRE, q)

    def _issue_column(self, c: int, q: int, from_active: bool) -> None:
        rq, L, cnt = self.rq, self.L, self.cnt
        u = rq.unit[q]
        k, g = self.unit_rank[u], self.unit_group[u]
        is_write = rq.is_write[q]
        # Column-to-column constraints: same bank group, same rank, other ranks.
        if is_write:
            cmd = WRA if self.closed_page else WR
            g_same, g_other = self.g_wr, self.g_rd
            same_g, same_g_other = c + L.nCCD_L, c + L.wr_to_rd_L
            same_r, same_r_other = c + L.wr_to_wr_same, c + L.wr_to_rd_S
            other_r, other_r_other = c + L.wr_to_wr_rank, c + L.wr_to_rd_rank
        else:
            cmd = RDA if self.closed_page else RD
            g_same, g_other = self.g_rd, self.g_wr
            same_g, same_g_other = c + L.nCCD_L, c + L.rd_to_wr
            same_r, same_r_other = c + L.rd_to_rd_same, c + L.rd_to_wr
            other_r, other_r_other = c + L.rd_to_rd_rank, c + L.rd_to_wr_rank
        for gg in self.rank_groups[k]:
            if g_same[gg] < same_r:
                g_same[gg] = same_r
            if g_other[gg] < same_r_other:
                g_other[gg] = same_r_other
        for gg in self.other_rank_groups[k]:
            if g_same[gg] < other_r:
                g_same[gg] = other_r
            if g_other[gg] < other_r_other:
                g_other[gg] = other_r_other
        if g_same[g] < same_g:
            g_same[g] = same_g
        if g_other[g] < same_g_other:
            g_other[g] = same_g_other
        if self.closed_page:                                    # RDA/WRA: auto-precharge
            to_act = c + (L.wra_to_act if is_write else L.rda_to_act)
            if self.u_act[u] < to_act:
                self.u_act[u] = to_act
            if self.r_ref[k] < to_act:
                self.r_ref[k] = to_act
            self._close(c, u)
        else:
            to_pre = c + (L.wr_to_pre if is_write else L.nRTP)
            if self.u_pre[u] < to_pre:
                self.u_pre[u] = to_pre
            if self.r_prea[k] < to_pre:
                self.r_prea[k] = to_pre
        self.col_since_act[self.unit_bank[u]] += 1
        if self.pm:
            if is_write:
                self._power_timing(k, c, c + (L.wra_to_low if self.closed_page else L.wr_to_low))
            else:
                self._power_timing(k, c, c + (L.rda_to_low if self.closed_page else L.rd_to_low))
            if not from_active:
                self.rank_queued[k] -= 1
        # Statistics.
        fb = rq.flat_bank[q]
        cnt.commands[rq.flat_rank[q]][cmd] += 1
        cnt.subarray_accesses[rq.flat_sub[q]] += 1
        if not rq.classified[q]:
            rq.classified[q] = 1
            cnt.row_hits[fb] += 1
        if is_write:
            cnt.writes[fb] += 1
            end = c + L.write_data
            cnt.last_column[self.ch][1] = c
        else:
            cnt.reads[fb] += 1
            end = c + L.read_data
            cnt.last_column[self.ch][0] = c
            latency = end - rq.accepted.pop(q)
            cnt.read_latency_sum[self.ch] += latency
            self.latency_hist[latency if latency < LATENCY_HIST_BINS else LATENCY_HIST_BINS - 1] += 1
        if end > cnt.total_cycles:
            cnt.total_cycles = end
        # The request is done.
        if from_active:
            self.A.remove(q)
            self.held_by[u] = -1
            self.rank_active[k] -= 1
        elif is_write:
            self.W.remove(q, u, rq.row[q])
            self._forget_write(q)
        else:
            self.R.remove(q, u, rq.row[q])
        self.occ_sum += self.occ_len * (c - self.occ_since)
        self.occ_since = c
        self.occ_len -= 1
        if self.logging:
            self._log(c, rq.rank[q], rq.bankgroup[q], rq.bank[q], rq.subarray[q], rq.row[q],
                      rq.column[q], cmd, q)
        self.sim.request_done()

    def _issue_prea(self, c: int, k: int) -> None:
        L = self.L
        t = c + L.nRP
        closed = 0
        for u in self.rank_units[k]:
            if self.open_row[u] >= 0:
                self._close(c, u)
                closed += 1
            if self.u_act[u] < t:                               # PREA->ACT nRP
                self.u_act[u] = t
        if self.r_ref[k] < t:
            self.r_ref[k] = t
        if self.pm:
            self._power_timing(k, c, t)
        self.cnt.prea_closed_units[self.rank_flat[k]] += closed
        self.cnt.commands[self.rank_flat[k]][PREA] += 1
        if self.logging:
            self._log(c, k, -1, -1, -1, -1, -1, PREA, -1)

    def _issue_ref(self, c: int, k: int) -> None:
        t = c + self.L.nRFC
        for gg in self.rank_groups[k]:                          # REF->ACT nRFC
            if self.g_act[gg] < t:
                self.g_act[gg] = t
        if self.r_ref[k] < t:
            self.r_ref[k] = t
        self.refresh_pending[k] = False
        self.n_refresh_pending -= 1
        if self.pm:
            self._power_timing(k, c, t)
            self.sr_ref_ok[k] = True
        self.cnt.commands[self.rank_flat[k]][REF] += 1
        if self.logging:
            self._log(c, k, -1, -1, -1, -1, -1, REF, -1)

    # -- power management (only with cfg.powerdown_idle / self_refresh_idle)
    def _power_timing(self, k: int, c: int, t: int) -> None:
        """A non-power command to rank ``k`` at ``c``: PDE/SRE wait until ``t``; the rank is
        idle from ``c + 1`` on."""
        if self.r_pde[k] < t:
            self.r_pde[k] = t
        if self.r_sre[k] < t:
            self.r_sre[k] = t
        self.idle_since[k] = c + 1

    def _sleep(self, c: int, k: int, state: int, cmd: int) -> None:
        """PDE/SRE: nothing but the exit may issue to the rank; its units' timing is kept aside
        (no command can reach them while asleep, so it is restored unchanged)."""
        u_act, u_pre, u_rd, u_wr = self.u_act, self.u_pre, self.u_rd, self.u_wr
        for u in self.rank_units[k]:
            self.saved[u] = (u_act[u], u_pre[u], u_rd[u], u_wr[u])
            u_act[u] = u_pre[u] = u_rd[u] = u_wr[u] = NEVER
        self.pstate[k] = state
        self.pstate_since[k] = c
        self.cnt.commands[self.rank_flat[k]][cmd] += 1
        if self.logging:
            self._log(c, k, -1, -1, -1, -1, -1, cmd, -1)

    def _wake(self, c: int, k: int, t_row: int, t_col: int, cmd: int) -> None:
        """PDX/SRX at ``c``: the rank's units may take ACT/PRE from ``t_row``, column commands
        from ``t_col``; PREA/REF from ``t_row``; PDE/SRE from ``t_row`` too."""
        u_act, u_pre, u_rd, u_wr = self.u_act, self.u_pre, self.u_rd, self.u_wr
        for u in self.rank_units[k]:
            a, p, r, w = self.saved.pop(u)
            u_act[u] = a if a > t_row else t_row
            u_pre[u] = p if p > t_row else t_row
            u_rd[u] = r if r > t_col else t_col
            u_wr[u] = w if w > t_col else t_col
        for tbl in (self.r_prea, self.r_ref, self.r_pde, self.r_sre):
            if tbl[k] < t_row:
                tbl[k] = t_row
        for g in self.rank_groups[k]:                           # (an ACT resets the unit's column
            for tbl, t in ((self.g_act, t_row), (self.g_rd, t_col), (self.g_wr, t_col)):   # timing)
                if tbl[g] < t:
                    tbl[g] = t
        cnt, flat = self.cnt, self.rank_flat[k]
        state, since = self.pstate[k], self.pstate_since[k]
        if state == PDA:
            cnt.pd_active_cycles[flat] += c - since
        elif state == PDP:
            cnt.pd_precharged_cycles[flat] += c - since
        else:
            cnt.sr_cycles[flat] += max(0, c - since - self.L.nRFC)
        self.pstate[k] = STBY
        cnt.commands[flat][cmd] += 1
        if self.logging:
            self._log(c, k, -1, -1, -1, -1, -1, cmd, -1)
        self.x_bound = -1                                       # readiness went down: look again
        self.a_bound = -1

    def _issue_pde(self, c: int, k: int) -> None:
        if self.r_pdx[k] < c + self.L.nCKE:
            self.r_pdx[k] = c + self.L.nCKE
        self._sleep(c, k, PDA if self.rank_open_units[k] else PDP, PDE)

    def _issue_sre(self, c: int, k: int) -> None:
        if self.r_srx[k] < c + self.L.nCKESR:
            self.r_srx[k] = c + self.L.nCKESR
        self._sleep(c, k, SR, SRE)

    def _issue_pdx(self, c: int, k: int) -> None:
        t = c + self.L.nXP
        self._wake(c, k, t, t, PDX)

    def _issue_srx(self, c: int, k: int) -> None:
        self.sr_ref_ok[k] = False
        self._wake(c, k, c + self.L.nXS, c + self.L.nXSDLL, SRX)

    def _forget_write(self, q: int) -> None:
        """A write left W (ACT or column command): it no longer forwards."""
        addr = self.rq.addr[q]
        n = self.write_addrs[addr]
        if n == 1:
            del self.write_addrs[addr]
        else:
            self.write_addrs[addr] = n - 1


class _FrontEnd:
    """Accepts requests in trace order, one per cycle (docs/controller.md, step 2)."""

    def __init__(self, sim: "_Simulation"):
        self.sim = sim
        self.next = 0              # next request not yet accepted
        self.earliest = 0          # first cycle at which it may be accepted (one per cycle)
        self.waiting_for = None    # channel whose end-of-cycle state the next decision needs...
        self.need = 0              # ...through this cycle (its horizon must reach it)
        self.full_queue = None     # the full queue the next request waits on

    def process(self):
        """The simpy process: decide what can be decided at cycle 0; channels do the rest."""
        self.pump()
        yield self.sim.env.timeout(0)

    def pump(self) -> None:
        """Accept requests while each decision is certain (see the module docstring).

        Request ``q`` is offered at cycle ``f``; the decision needs its channel's state at the
        end of ``f - 1``. If the channel's horizon covers ``f - 1`` the decision is exact;
        otherwise it is still certain when the queue has room even counting requests the
        channel has not yet seen, and (for a read) no write with its address is queued.
        """
        sim, rq = self.sim, self.sim.rq
        channels = sim.channels
        arrive, chan, is_write, addr = rq.arrive, rq.channel, rq.is_write, rq.addr
        coalesce = sim.config.r21
        n = rq.n
        self.waiting_for = self.full_queue = None
        q = self.next
        while q < n:
            f = arrive[q]
            if f < self.earliest:
                f = self.earliest
            ctl = channels[chan[q]]
            exact = ctl.horizon >= f - 1         # (then nothing of ctl is still incoming)
            w = is_write[q]
            a = addr[q]
            if (coalesce or not w) and a in ctl.write_addrs:
                if not exact:                    # the write may leave W before f: wait and see
                    self.waiting_for, self.need = ctl, f - 1
                    break
                # a read is forwarded from the queued write; (r2.1) a write is coalesced into it
                (sim.cnt.coalesced_writes if w else sim.cnt.forwarded_reads)[ctl.ch] += 1
                q += 1
                self.next, self.earliest = q, f + 1
                sim.request_done(f)
                continue
            if w:
                room = ctl.W.n + ctl.incoming_writes < ctl.W.capacity
            else:
                room = ctl.R.n + ctl.incoming_reads < ctl.R.capacity
            if room:
                if w:
                    ctl.write_addrs[a] = ctl.write_addrs.get(a, 0) + 1
                if exact:                        # ctl handles nothing before f: enqueue now
                    ctl.enqueue(f, q)
                    bound = ctl.arrival_bound(f, q)
                    if bound < NEVER:
                        ctl.poke(bound, True)
                else:                            # ctl moves it in when it reaches cycle f
                    if w:
                        ctl.incoming_writes += 1
                    else:
                        ctl.incoming_reads += 1
                    ctl.incoming.append((f, q))
                    ctl.poke(f, False)
                q += 1
                self.next, self.earliest = q, f + 1
                continue
            if exact:                            # full at the end of f-1, and until the horizon
                self.earliest = ctl.horizon + 2
                self.waiting_for, self.need = ctl, ctl.horizon + 1
                self.full_queue = ctl.W if w else ctl.R
            else:                                # full now; whether still at f-1, ctl will say
                self.waiting_for, self.need = ctl, f - 1
                self.full_queue = ctl.W if w else ctl.R
            break


class _Simulation:
    def __init__(self, spec: DramSpec, config: ControllerConfig, requests: DecodedRequests,
                 command_log: bool, progress=None):
        check_config(spec, config)
        self.spec, self.config = spec, config
        self.L = _Latencies(spec, config)
        self.rq = _Requests(spec, config, requests, command_log)
        self.cnt = _Counters(spec)
        self.logging = command_log
        self.log: list[tuple] = []
        self.env = simpy.Environment()
        self.phases = spec.org.channels + 1
        self.outstanding = self.rq.n             # requests not yet done (served or forwarded)
        self.end_cycle = _END_UNKNOWN            # first cycle after the run, once known
        self.progress = progress
        self._progress_left = PROGRESS_EVERY
        self.channels = [_Channel(self, ch) for ch in range(spec.org.channels)]
        self.front = _FrontEnd(self)

    def request_done(self, cycle: int | None = None) -> None:
        self.outstanding -= 1
        self._progress_left -= 1
        if self._progress_left == 0:
            self._progress_left = PROGRESS_EVERY
            if self.progress is not None:
                self.progress(PROGRESS_EVERY)
        if self.outstanding == 0 and cycle is not None:
            self.finish(cycle)                   # a forwarded read was the very last request

    def finish(self, cycle: int) -> None:
        """Everything is accepted and every queue is empty after ``cycle``: the run ends."""
        # Channels later in channel order still handle this very cycle; nothing after it.
        self.end_cycle = cycle + 1

    def run(self):
        env = self.env
        for ctl in self.channels:                # channels first: they must wait before pokes
            ctl.proc = env.process(ctl.process())
        env.process(self.front.process())
        # A sentinel event after every real one: the controllers call env.peek() every cycle
        # they handle, and simpy's peek raises and catches IndexError on an empty event queue
        # (that cost ~7% of a one-channel run). It fires after the run and changes nothing.
        env.timeout(NEVER * self.phases)
        if self.rq.n == 0:
            self.end_cycle = 0
        env.run()
        if self.outstanding:
            raise RuntimeError(f"simulation stalled with {self.outstanding} requests not served "
                               "(controller deadlock: please report with the trace)")
        return self._finalize()

    def _finalize(self):
        cnt = self.cnt
        for ctl in self.channels:
            cnt.queue_occupancy_sum[ctl.ch] = ctl.occ_sum + ctl.occ_len * (self.end_cycle - ctl.occ_since)
            for k in range(ctl.ranks):
                flat = ctl.rank_flat[k]
                if ctl.rank_open_units[k]:
                    cnt.active_cycles[flat] += max(0, cnt.total_cycles - ctl.rank_open_since[k])
                state, since = ctl.pstate[k], ctl.pstate_since[k]     # a low-power state held at the end
                if state == PDA:
                    cnt.pd_active_cycles[flat] += max(0, cnt.total_cycles - since)
                elif state == PDP:
                    cnt.pd_precharged_cycles[flat] += max(0, cnt.total_cycles - since)
                elif state == SR:
                    cnt.sr_cycles[flat] += max(0, cnt.total_cycles - since - self.L.nRFC)
        if self.progress is not None and PROGRESS_EVERY - self._progress_left:
            self.progress(PROGRESS_EVERY - self._progress_left)
        counters = cnt.to_raw(self.spec)
        log = None
        if self.logging:
            log = np.array(self.log, dtype=COMMAND_LOG_DTYPE) if self.log else np.zeros(0, COMMAND_LOG_DTYPE)
        return counters, log


def run(spec: DramSpec, config: ControllerConfig, requests: DecodedRequests, command_log: bool = False,
        progress=None):
    """Simulate ``requests`` (decoded, trace order) on ``spec`` under ``config``.

    Returns ``(RawCounters, command log array or None)``. ``progress``, if given, is called with
    the number of requests completed since its last call (for a progress bar).
    """
    return _Simulation(spec, config, requests, command_log, progress).run()
