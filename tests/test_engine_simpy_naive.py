"""A literal, cycle-by-cycle model of docs/controller.md: the oracle for the simpy engine.

It shares no code with dramsim/engine_simpy.py: every cycle it runs the document's steps in
order, scans whole queues, and checks timing by replaying the constraint table below against
the history of issued commands ("Y may issue at c >= c_X + n for every earlier X"). Slow
(fine for a few hundred requests) and meant to be obviously right.
"""
from __future__ import annotations

import numpy as np

from dramsim.commands import ACT, COMMAND_LOG_DTYPE, PRE, PREA, RD, RDA, REF, WR, WRA
from dramsim.counters import LATENCY_HIST_BINS, RawCounters

READS, WRITES = (RD, RDA), (WR, WRA)
COLS = READS + WRITES


def constraint_table(t):
    """(scope, preceding commands, following commands, latency) -- the document's list."""
    wr_pre = t.nCWL + t.nBL + t.nWR
    return [
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
        # other rank, same channel
        ("other", READS, READS, t.nBL + t.nRTRS),
        ("other", WRITES, WRITES, t.nBL + t.nRTRS),
        ("other", READS, WRITES, t.nCL + t.nBL + t.nRTRS - t.nCWL),
        ("other", WRITES, READS, t.nCWL + t.nBL + t.nRTRS - t.nCL),
    ]


class NaiveController:
    def __init__(self, spec, config, d):
        self.spec, self.cfg, self.t = spec, config, spec.timing
        org = spec.org
        self.org = org
        self.masa = config.salp == "masa"
        self.rules = {}           # (preceding, following) -> [(scope, latency)]
        for scope, prev, foll, lat in constraint_table(spec.timing):
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
        nch = org.channels
        self.R = [[] for _ in range(nch)]
        self.W = [[] for _ in range(nch)]
        self.A = [[] for _ in range(nch)]
        self.write_mode = [False] * nch
        self.open = {}            # (ch, rk, bg, ba, sa-or-0) -> row
        self.history = [[] for _ in range(nch)]   # issued (cycle, cmd, rk, bg, ba, unit key)
        self.ref_pending = [[False] * org.ranks for _ in range(nch)]
        self.cap_count = {}       # (ch, rk, bg, ba) -> column commands since ACT
        self.classified = [False] * self.n
        self.accepted = [0] * self.n
        self.active_per_cycle = {}  # (ch, rk) -> cycles at whose end a unit of the rank was open
        t = spec.timing
        self.window = max(t.nRFC, t.nFAW, t.nRC, t.nCWL + t.nBL + t.nWR + t.nRP, t.nCL + t.nBL + 2) + 1

    # -- helpers
    def unit(self, r):
        return (r["ch"], r["rk"], r["bg"], r["ba"], r["sa"] if self.masa else 0)

    def flat_bank(self, r):
        o = self.org
        return ((r["ch"] * o.ranks + r["rk"]) * o.bankgroups + r["bg"]) * o.banks_per_group + r["ba"]

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
        return self.timing_ok(c, r["ch"], cmd, r["rk"], r["bg"], self.unit(r))

    def capped(self, i, cmd):
        if self.cfg.scheduler != "frfcfs_cap" or cmd not in COLS:
            return False
        r = self.req[i]
        return self.cap_count.get((r["ch"], r["rk"], r["bg"], r["ba"]), 0) >= self.cfg.row_hit_cap

    def best(self, c, X):
        if not X:
            return None
        if self.cfg.scheduler != "fcfs":
            for i in X:
                cmd = self.next_cmd(i)
                if self.ready(c, i, cmd) and not self.capped(i, cmd):
                    return i
        return X[0]

    # -- the cycle
    def run(self):
        t, org, cfg = self.t, self.org, self.cfg
        cnt = self.counters
        nxt = 0
        c = 0
        while True:
            if cfg.refresh and c > 0 and c % t.nREFI == 0:
                for ch in range(org.channels):
                    self.ref_pending[ch] = [True] * org.ranks
            if nxt < self.n:
                r = self.req[nxt]
                if r["arrive"] <= c:
                    ch = r["ch"]
                    if not r["w"] and any(self.req[j]["addr"] == r["addr"] for j in self.W[ch]):
                        cnt.forwarded_reads[ch] += 1
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
                    if any(k[0] == ch and k[1] == rk for k in self.open):
                        self.active_per_cycle.setdefault((ch, rk), []).append(c)
            busy = any(self.R[ch] or self.W[ch] or self.A[ch] for ch in range(org.channels))
            if nxt == self.n and not busy:
                break
            c += 1
        end = c
        total = cnt.total_cycles
        for (ch, rk), cycles in self.active_per_cycle.items():
            n_active = sum(1 for x in cycles if x < total)
            if any(k[0] == ch and k[1] == rk for k in self.open):
                n_active += max(0, total - (end + 1))
            cnt.active_cycles[ch * org.ranks + rk] = n_active
        log = np.array(self.log, dtype=COMMAND_LOG_DTYPE) if self.log else np.zeros(0, COMMAND_LOG_DTYPE)
        return cnt, log

    def channel_cycle(self, c, ch):
        hist = self.history[ch]
        while hist and hist[0][0] + self.window < c:    # older commands constrain nothing
            hist.pop(0)
        A, R, W = self.A[ch], self.R[ch], self.W[ch]
        cand = None    # (kind, request or rank, cmd)
        if A:
            q = self.best(c, A)
            cmd = self.next_cmd(q)
            if self.ready(c, q, cmd):
                cand = ("req", q, cmd)
        if cand is None and any(self.ref_pending[ch]):
            rk = self.ref_pending[ch].index(True)
            any_open = any(k[0] == ch and k[1] == rk for k in self.open)
            cmd = PREA if any_open else REF
            if not self.timing_ok(c, ch, cmd, rk):
                return
            cand = ("ref", rk, cmd)
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
            q = self.best(c, X)
            if q is None:
                return
            cmd = self.next_cmd(q)
            if not self.ready(c, q, cmd):
                return
            cand = ("req", q, cmd)
        kind, who, cmd = cand
        # step 4
        if kind == "ref":
            if cmd == PREA and any(self.req[j]["rk"] == who for j in A):
                return
        else:
            u = self.unit(self.req[who])
            held = [j for j in A if self.unit(self.req[j]) == u and j != who]
            if held and cmd in (PRE, RDA, WRA):
                return
        self.issue(c, ch, kind, who, cmd)

    def issue(self, c, ch, kind, who, cmd):
        org, t, cnt = self.org, self.t, self.counters
        if kind == "ref":
            rk = who
            cnt.commands[ch * org.ranks + rk, cmd] += 1
            self.history[ch].append((c, cmd, rk, None, None))
            if cmd == PREA:
                for k in [k for k in self.open if k[0] == ch and k[1] == rk]:
                    del self.open[k]
            else:
                self.ref_pending[ch][rk] = False
            self.log.append((c, ch, rk, -1, -1, -1, -1, -1, cmd, -1))
            return
        q = who
        r = self.req[q]
        u = self.unit(r)
        fb = self.flat_bank(r)
        fsub = fb * org.subarrays + r["sa"]
        cnt.commands[ch * org.ranks + r["rk"], cmd] += 1
        self.history[ch].append((c, cmd, r["rk"], r["bg"], u))
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
            else:
                cnt.reads[fb] += 1
                end = c + t.nCL + t.nBL
                lat = end - self.accepted[q]
                cnt.read_latency_sum[ch] += lat
                cnt.read_latency_hist[ch, min(lat, LATENCY_HIST_BINS - 1)] += 1
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
