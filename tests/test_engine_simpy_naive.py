"""A literal, cycle-by-cycle model of docs/controller.md: the oracle for the simpy engine.

It shares no code with dramsim/engine_simpy.py: every cycle it runs the document's steps in
order, scans whole queues, and checks timing by replaying the constraint table below against
the history of issued commands ("Y may issue at c >= c_X + n for every earlier X"). Slow
(fine for a few hundred requests) and meant to be obviously right. Both controller variants
(r2.1, r2.0-conservative) and power management are modelled.
"""
from __future__ import annotations

import numpy as np

from dramsim.commands import (ACT, COMMAND_LOG_DTYPE, PDE, PDX, PRE, PREA, RD, RDA, REF, SRE, SRX, WR,
                              WRA)
from dramsim.counters import LATENCY_HIST_BINS, RawCounters

READS, WRITES = (RD, RDA), (WR, WRA)
COLS = READS + WRITES
STBY, PDA, PDP, SR = 0, 1, 2, 3


def constraint_table(t, config):
    """(scope, preceding commands, following commands, latency) -- the document's list.
    Scopes: unit, rank, group (same bank group), other (another rank of the channel), channel
    (any rank of the channel)."""
    wr_pre = t.nCWL + t.nBL + t.nWR
    rules = [
        # same unit (bank, or subarray with masa)
        ("unit", (ACT,), (ACT,), t.nRC),
        ("unit", (ACT,), COLS, t.nRCD),
        ("unit", (ACT,), (PRE,), t.nRAS),
        ("unit", (PRE,), (ACT,), t.nRP),
        ("unit", (RD,), (PRE,), t.nRTP),
        ("unit", (WR,), (PRE,), wr_pre),
        ("unit", (RDA,), (ACT,), t.nRTP + t.nRP),
        ("unit", (WRA,), (ACT,), wr_pre + t.nRP),
        # same rank
        ("rank", (ACT,), (ACT,), t.nRRD_S),
        ("group", (ACT,), (ACT,), t.nRRD_L),
        ("rank", READS, READS, t.nCCD_S),
        ("group", READS, READS, t.nCCD_L),
        ("rank", WRITES, WRITES, t.nCCD_S),
        ("group", WRITES, WRITES, t.nCCD_L),
        ("rank", READS, WRITES, t.nCL + t.nBL + 2 - t.nCWL),
        ("rank", WRITES, READS, t.nCWL + t.nBL + t.nWTR_S),
        ("group", WRITES, READS, t.nCWL + t.nBL + t.nWTR_L),
        ("rank", (ACT,), (PREA,), t.nRAS),
        ("rank", (RD,), (PREA,), t.nRTP),
        ("rank", (WR,), (PREA,), wr_pre),
        ("rank", (PRE, PREA), (REF,), t.nRP),
        ("rank", (RDA,), (REF,), t.nRTP + t.nRP),
        ("rank", (WRA,), (REF,), wr_pre + t.nRP),
        ("rank", (ACT,), (REF,), t.nRC),
        ("rank", (REF,), (ACT,), t.nRFC),
        ("rank", (REF,), (REF,), t.nRFC),
        ("rank", (PREA,), (ACT,), t.nRP),
    ]
    if config.controller == "r2.1":
        rules += [
            ("channel", READS, READS, t.nBL),
            ("channel", WRITES, WRITES, t.nBL),
            ("other", READS, COLS, t.nBL + t.nRTRS),
            ("other", WRITES, READS, t.nCWL + t.nBL + t.nRTRS - t.nCL),
        ]
    else:
        rules += [
            ("other", READS, READS, t.nBL + t.nRTRS),
            ("other", WRITES, WRITES, t.nBL + t.nRTRS),
            ("other", READS, WRITES, t.nCL + t.nBL + t.nRTRS - t.nCWL),
            ("other", WRITES, READS, t.nCWL + t.nBL + t.nRTRS - t.nCL),
        ]
    if config.powerdown_idle is not None or config.self_refresh_idle is not None:
        low = (PDE, SRE)
        rules += [
            ("rank", (ACT,), low, t.nRC),
            ("rank", (PRE, PREA), low, t.nRP),
            ("rank", (RD,), low, t.nCL + t.nBL + 1),
            ("rank", (RDA,), low, max(t.nCL + t.nBL + 1, t.nRTP + t.nRP)),
            ("rank", (WR,), low, wr_pre),
            ("rank", (WRA,), low, wr_pre + t.nRP),
            ("rank", (REF,), low, t.nRFC),
            ("rank", (PDE,), (PDX,), t.nCKE),
            ("rank", (PDX,), (ACT, PRE, PREA, REF, PDE, SRE) + COLS, t.nXP),
        ]
        if config.self_refresh_idle is not None:
            rules += [
                ("rank", (SRX,), low, t.nXS),
                ("rank", (SRE,), (SRX,), t.nCKESR),
                ("rank", (SRX,), (ACT, PRE, PREA, REF), t.nXS),
                ("rank", (SRX,), COLS, t.nXSDLL),
            ]
    return rules


class NaiveController:
    def __init__(self, spec, config, d):
        self.spec, self.cfg, self.t = spec, config, spec.timing
        org = spec.org
        self.org = org
        self.masa = config.salp == "masa"
        self.r21 = config.controller == "r2.1"
        self.rules = {}           # (preceding, following) -> [(scope, latency)]
        for scope, prev, foll, lat in constraint_table(spec.timing, config):
            for a in prev:
                for b in foll:
                    self.rules.setdefault((a, b), []).append((scope, lat))
        self.n = len(d)
        self.req = [dict(addr=int(d.addr[i]), w=bool(d.is_write[i]), arrive=int(d.arrive[i]),
                         ch=int(d.channel[i]), rk=int(d.rank[i]), bg=int(d.bankgroup[i]),
                         ba=int(d.bank[i]), sa=int(d.subarray[i]), row=int(d.row[i]),
                         col=int(d.column[i])) for i in range(self.n)]
        self.counters = RawCounters.zeros(org.channels, org.ranks, org.banks, org.subarrays)
        self.log = []
        nch, nrk = org.channels, org.ranks
        self.R = [[] for _ in range(nch)]
        self.W = [[] for _ in range(nch)]
        self.A = [[] for _ in range(nch)]
        self.write_mode = [False] * nch
        self.open = {}            # (ch, rk, bg, ba, sa-or-0) -> row
        self.history = [[] for _ in range(nch)]   # issued (cycle, cmd, rk, bg, unit key)
        self.ref_pending = [[False] * nrk for _ in range(nch)]
        self.cap_count = {}       # (ch, rk, bg, ba) -> column commands since ACT
        self.classified = [False] * self.n
        self.accepted = [0] * self.n
        self.active_per_cycle = {}  # (ch, rk) -> cycles at whose end a unit of the rank was open
        # power management
        self.ps = [[STBY] * nrk for _ in range(nch)]
        self.ps_since = [[0] * nrk for _ in range(nch)]
        self.idle_since = [[0] * nrk for _ in range(nch)]
        self.sr_ref_ok = [[True] * nrk for _ in range(nch)]
        t = spec.timing
        self.window = max(t.nRFC, t.nFAW, t.nRC, t.nCWL + t.nBL + t.nWR + t.nRP, t.nCL + t.nBL + 2,
                          t.nXS or 0, t.nXSDLL or 0, t.nXP or 0, t.nCKESR or 0) + 1

    # -- helpers
    def unit(self, r):
        return (r["ch"], r["rk"], r["bg"], r["ba"], r["sa"] if self.masa else 0)

    def flat_bank(self, r):
        o = self.org
        return ((r["ch"] * o.ranks + r["rk"]) * o.bankgroups + r["bg"]) * o.banks_per_group + r["ba"]

    def rank_open(self, ch, rk):
        return any(k[0] == ch and k[1] == rk for k in self.open)

    def next_cmd(self, i):
        r = self.req[i]
        o = self.open.get(self.unit(r))
        if o is None:
            return ACT
        if o != r["row"]:
            return PRE
        closed = self.cfg.page_policy == "closed"
        if r["w"]:
            return WRA if closed else WR
        return RDA if closed else RD

    def timing_ok(self, c, ch, cmd, rk, bg=None, unit=None):
        for (hc, hcmd, hrk, hbg, hunit) in self.history[ch]:
            for scope, lat in self.rules.get((hcmd, cmd), ()):
                if c >= hc + lat:
                    continue
                if scope == "channel":
                    return False
                if scope == "unit" and unit is not None and hunit == unit:
                    return False
                if scope == "rank" and hrk == rk:
                    return False
                if scope == "group" and hrk == rk and bg is not None and hbg == bg:
                    return False
                if scope == "other" and hrk != rk:
                    return False
        if cmd == ACT:
            acts = [hc for (hc, hcmd, hrk, _, _) in self.history[ch] if hcmd == ACT and hrk == rk]
            if len(acts) >= 4 and c < acts[-4] + self.t.nFAW:
                return False
        return True

    def ready(self, c, i, cmd):
        r = self.req[i]
        if self.ps[r["ch"]][r["rk"]] != STBY:        # its rank sleeps: only the exit may issue
            return False
        return self.timing_ok(c, r["ch"], cmd, r["rk"], r["bg"], self.unit(r))

    def capped(self, i, cmd):
        if self.cfg.scheduler != "frfcfs_cap" or cmd not in COLS:
            return False
        r = self.req[i]
        return self.cap_count.get((r["ch"], r["rk"], r["bg"], r["ba"]), 0) >= self.cfg.row_hit_cap

    def held(self, ch, i):
        """Another request of A holds i's unit."""
        u = self.unit(self.req[i])
        return any(self.unit(self.req[j]) == u for j in self.A[ch] if j != i)

    def closing(self, i):
        return self.next_cmd(i) in (PRE, RDA, WRA)

    def best(self, c, X):
        if not X:
            return None
        if self.cfg.scheduler != "fcfs":
            for i in X:
                cmd = self.next_cmd(i)
                if self.ready(c, i, cmd) and not self.capped(i, cmd):
                    return i
        return X[0]

    def refresh_tick(self, c):
        cfg = self.cfg
        if not cfg.refresh:
            return False
        n = cfg.refresh_interval or self.t.nREFI
        return (c + 1) % n == 0 if self.r21 else (c > 0 and c % n == 0)

    # -- the cycle
    def run(self):
        t, org, cfg = self.t, self.org, self.cfg
        cnt = self.counters
        nxt = 0
        c = 0
        while True:
            if self.refresh_tick(c):
                for ch in range(org.channels):
                    for rk in range(org.ranks):
                        if self.ps[ch][rk] != SR:
                            self.ref_pending[ch][rk] = True
            if nxt < self.n:
                r = self.req[nxt]
                if r["arrive"] <= c:
                    ch = r["ch"]
                    queued = any(self.req[j]["addr"] == r["addr"] for j in self.W[ch])
                    if not r["w"] and queued:
                        cnt.forwarded_reads[ch] += 1
                        nxt += 1
                    elif r["w"] and queued and self.r21:
                        cnt.coalesced_writes[ch] += 1
                        nxt += 1
                    else:
                        q, cap = (self.W[ch], cfg.write_queue) if r["w"] else (self.R[ch], cfg.read_queue)
                        if len(q) < cap:
                            q.append(nxt)
                            self.accepted[nxt] = c
                            nxt += 1
            for ch in range(org.channels):
                self.channel_cycle(c, ch)
            for ch in range(org.channels):
                cnt.queue_occupancy_sum[ch] += len(self.R[ch]) + len(self.W[ch]) + len(self.A[ch])
            for ch in range(org.channels):
                for rk in range(org.ranks):
                    if self.rank_open(ch, rk):
                        self.active_per_cycle.setdefault((ch, rk), []).append(c)
            busy = any(self.R[ch] or self.W[ch] or self.A[ch] for ch in range(org.channels))
            if nxt == self.n and not busy:
                break
            c += 1
        end = c
        total = cnt.total_cycles
        for (ch, rk), cycles in self.active_per_cycle.items():
            n_active = sum(1 for x in cycles if x < total)
            if self.rank_open(ch, rk):
                n_active += max(0, total - (end + 1))
            cnt.active_cycles[ch * org.ranks + rk] = n_active
        for ch in range(org.channels):
            for rk in range(org.ranks):
                self.leave_state(total, ch, rk)      # (states still held at the end, clipped)
        log = np.array(self.log, dtype=COMMAND_LOG_DTYPE) if self.log else np.zeros(0, COMMAND_LOG_DTYPE)
        return cnt, log

    def leave_state(self, end, ch, rk):
        """Account the power state rank rk leaves at cycle ``end`` (a PDX/SRX, or total_cycles)."""
        cnt, ps = self.counters, self.ps[ch][rk]
        if ps == STBY:
            return
        k = ch * self.org.ranks + rk
        since = self.ps_since[ch][rk]
        if ps == PDA:
            cnt.pd_active_cycles[k] += max(0, end - since)
        elif ps == PDP:
            cnt.pd_precharged_cycles[k] += max(0, end - since)
        else:
            cnt.sr_cycles[k] += max(0, end - since - self.t.nRFC)

    def demand(self, ch, rk, queues):
        return any(self.req[j]["rk"] == rk for q in queues for j in q)

    def power_command(self, c, ch, rk):
        """Step 6: the power-management command rank rk wants at c (or None)."""
        cfg = self.cfg
        P, S = cfg.powerdown_idle, cfg.self_refresh_idle
        ps = self.ps[ch][rk]
        if self.ref_pending[ch][rk] or self.demand(ch, rk, (self.R[ch], self.W[ch], self.A[ch])):
            return None
        idle = self.idle_since[ch][rk]
        if ps == STBY:
            if (S is not None and not self.rank_open(ch, rk) and self.sr_ref_ok[ch][rk]
                    and c >= idle + S):
                return SRE
            if P is not None and c >= idle + P:
                return PDE
        elif ps == PDP and S is not None and self.sr_ref_ok[ch][rk] and c >= idle + S:
            return PDX
        return None

    def channel_cycle(self, c, ch):
        hist = self.history[ch]
        while hist and hist[0][0] + self.window < c:    # older commands constrain nothing
            hist.pop(0)
        A, R, W = self.A[ch], self.R[ch], self.W[ch]
        cand = None    # (kind, request or rank, cmd)
        # 1. the active list
        if A:
            q = self.best(c, A)
            cmd = self.next_cmd(q)
            if self.ready(c, q, cmd):
                cand = ("req", q, cmd)
        # 2. refresh
        if cand is None and any(self.ref_pending[ch]):
            rk = self.ref_pending[ch].index(True)
            if self.ps[ch][rk] != STBY:
                cmd = PDX
            else:
                cmd = PREA if self.rank_open(ch, rk) else REF
            if not self.timing_ok(c, ch, cmd, rk):
                return
            if cmd == PREA and any(self.req[j]["rk"] == rk for j in A):
                return
            cand = ("rank", rk, cmd)
        # 3. wake a sleeping rank that has requests waiting
        if cand is None:
            for rk in range(self.org.ranks):
                ps = self.ps[ch][rk]
                if ps != STBY and self.demand(ch, rk, (R, W)):
                    cmd = SRX if ps == SR else PDX
                    if self.timing_ok(c, ch, cmd, rk):
                        cand = ("rank", rk, cmd)
                        break
        # 4. the read or write queue
        if cand is None:
            nw, nr = len(W), len(R)
            cfg = self.cfg
            hi, lo = cfg.write_high_watermark * cfg.write_queue, cfg.write_low_watermark * cfg.write_queue
            if not self.write_mode[ch]:
                if nw > hi or (nr == 0 and nw > 0):
                    self.write_mode[ch] = True
            elif (nw < lo and nr > 0) or nw == 0:
                self.write_mode[ch] = False
            X = W if self.write_mode[ch] else R
            if self.r21:          # Ramulator 2.1: requests that would close a held unit are not candidates
                X = [i for i in X if not (self.closing(i) and self.held(ch, i))]
            q = self.best(c, X)
            if q is not None:
                cmd = self.next_cmd(q)
                if self.ready(c, q, cmd):
                    cand = ("req", q, cmd)
            # 5. (r2.0-conservative) never close a unit that a request of A is waiting on
            if cand is not None and not self.r21 and cmd in (PRE, RDA, WRA) and self.held(ch, q):
                return
        # 6. power management when nothing else issues
        if cand is None:
            if self.cfg.powerdown_idle is None and self.cfg.self_refresh_idle is None:
                return
            for rk in range(self.org.ranks):
                cmd = self.power_command(c, ch, rk)
                if cmd is not None and self.timing_ok(c, ch, cmd, rk):
                    cand = ("rank", rk, cmd)
                    break
            if cand is None:
                return
        self.issue(c, ch, *cand)

    def issue(self, c, ch, kind, who, cmd):
        org, t, cnt = self.org, self.t, self.counters
        if kind == "rank":
            rk = who
            k = ch * org.ranks + rk
            cnt.commands[k, cmd] += 1
            self.history[ch].append((c, cmd, rk, None, None))
            if cmd == PREA:
                units = [u for u in self.open if u[0] == ch and u[1] == rk]
                cnt.prea_closed_units[k] += len(units)
                for u in units:
                    del self.open[u]
                self.idle_since[ch][rk] = c + 1
            elif cmd == REF:
                self.ref_pending[ch][rk] = False
                self.sr_ref_ok[ch][rk] = True
                self.idle_since[ch][rk] = c + 1
            elif cmd == PDE:
                self.ps[ch][rk] = PDA if self.rank_open(ch, rk) else PDP
                self.ps_since[ch][rk] = c
            elif cmd == SRE:
                self.ps[ch][rk] = SR
                self.ps_since[ch][rk] = c
            else:                                        # PDX, SRX
                self.leave_state(c, ch, rk)
                if cmd == SRX:
                    self.sr_ref_ok[ch][rk] = False
                self.ps[ch][rk] = STBY
            self.log.append((c, ch, rk, -1, -1, -1, -1, -1, cmd, -1))
            return
        q = who
        r = self.req[q]
        u = self.unit(r)
        fb = self.flat_bank(r)
        fsub = fb * org.subarrays + r["sa"]
        cnt.commands[ch * org.ranks + r["rk"], cmd] += 1
        self.history[ch].append((c, cmd, r["rk"], r["bg"], u))
        self.idle_since[ch][r["rk"]] = c + 1
        if not self.classified[q]:
            self.classified[q] = True
            if cmd in COLS:
                cnt.row_hits[fb] += 1
            elif cmd == ACT:
                cnt.row_misses[fb] += 1
            else:
                cnt.row_conflicts[fb] += 1
        bank_key = (r["ch"], r["rk"], r["bg"], r["ba"])
        if cmd == ACT:
            self.open[u] = r["row"]
            cnt.subarray_acts[fsub] += 1
            self.cap_count[bank_key] = 0
            X = self.W[ch] if r["w"] else self.R[ch]
            if q in X:
                X.remove(q)
                self.A[ch].append(q)
                self.A[ch].sort()
            self.log.append((c, ch, r["rk"], r["bg"], r["ba"], r["sa"], r["row"], -1, cmd, q))
        elif cmd == PRE:
            del self.open[u]
            self.log.append((c, ch, r["rk"], r["bg"], r["ba"], r["sa"] if self.masa else -1, -1, -1, cmd, q))
        else:
            self.cap_count[bank_key] = self.cap_count.get(bank_key, 0) + 1
            cnt.subarray_accesses[fsub] += 1
            if r["w"]:
                cnt.writes[fb] += 1
                end = c + t.nCWL + t.nBL
                cnt.last_column[ch, 1] = c
            else:
                cnt.reads[fb] += 1
                end = c + t.nCL + t.nBL
                lat = end - self.accepted[q]
                cnt.read_latency_sum[ch] += lat
                cnt.read_latency_hist[ch, min(lat, LATENCY_HIST_BINS - 1)] += 1
                cnt.last_column[ch, 0] = c
            cnt.total_cycles = max(cnt.total_cycles, end)
            if cmd in (RDA, WRA):
                del self.open[u]
            for lst in (self.A[ch], self.R[ch], self.W[ch]):
                if q in lst:
                    lst.remove(q)
            self.log.append((c, ch, r["rk"], r["bg"], r["ba"], r["sa"], r["row"], r["col"], cmd, q))


def naive_run(spec, config, decoded):
    """(RawCounters, command log) of the literal model."""
    return NaiveController(spec, config, decoded).run()


# -------------------------------------------------------------------------------------------
# Differential tests: the simpy engine equals the literal model, counters and command logs
# -------------------------------------------------------------------------------------------

import dataclasses  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from dramsim import engine_simpy  # noqa: E402
from dramsim.address import AddressMapper  # noqa: E402
from dramsim.config import ControllerConfig  # noqa: E402
from dramsim.spec import load_spec  # noqa: E402
from test_engine_simpy import small_runs  # noqa: E402


def assert_same(spec, config, d):
    a, la = engine_simpy.run(spec, config, d, command_log=True)
    b, lb = naive_run(spec, config, d)
    assert a.differences(b) == []
    assert len(la) == len(lb)
    if len(la):
        bad = np.flatnonzero(la != lb)
        assert bad.size == 0, (f"first differing command #{bad[0]}: engine {la[bad[0]]}, "
                               f"model {lb[bad[0]]}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_runs())
def test_engine_equals_literal_model(case):
    assert_same(*case)


@pytest.mark.parametrize("scheduler", ["fcfs", "frfcfs", "frfcfs_cap"])
@pytest.mark.parametrize("page", ["open", "closed"])
def test_engine_equals_literal_model_saturated_with_refresh(scheduler, page):
    """Full queues, writes and reads mixed over two ranks and few rows, short refresh interval:
    stalls, watermarks, forwarding and refresh all interleave."""
    spec = load_spec("DDR4-2400R", ranks=2)
    spec = dataclasses.replace(spec, timing=dataclasses.replace(spec.timing, nREFI=700))
    rng = np.random.default_rng(11)
    n = 160
    m = AddressMapper(spec)
    addr = m.encode(0, rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 2, n),
                    rng.integers(0, 3, n) * 4096, rng.integers(0, 3, n))
    d = m.decode(addr, rng.random(n) < 0.4)
    config = ControllerConfig(scheduler=scheduler, page_policy=page, read_queue=6, write_queue=5,
                              row_hit_cap=2)
    assert_same(spec, config, d)
