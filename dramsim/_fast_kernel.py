"""numba kernels of the fast DRAM engine (docs/controller.md, cycle-exact, event-skipping).

State lives in a few 2D int64 tables (one row per unit, bank group, rank, channel, request
slot...; the column indices are the constants below) passed as plain array arguments, and the
kernels are compiled without numba's reference counting (they never allocate).
``engine_fast`` builds the tables and drives :func:`run_kernel` chunk by chunk.

How the engine stays fast while equal to a cycle-by-cycle run:

* Timing constraints are folded, at each issue, into "earliest cycle" tables per unit (bank,
  or subarray with MASA), per bank group (which also receives the rank-level and other-rank
  constraints) and per rank, one column per *kind* of following command (ACT, PRE, RD/RDA,
  WR/WRA, PREA, REF). Readiness of a command is the max of two table entries.
* Read and write queues are kept as per-unit linked lists (in arrival order) plus, per unit,
  the number of row hits and the first hit / first non-hit with their trace indices. All
  requests of one unit with the same next command share the same readiness, so FR-FCFS
  ("first ready request in arrival order") only looks at two candidates per unit holding
  requests. Requests of the active list always have their column command next
  (docs/controller.md, Clarifications, item 4): that list stores (slot, unit, kind).
* Jumping: after every evaluated cycle each channel keeps a lower bound (C_NEXT) of the next
  cycle at which it can issue anything, and the kernel jumps to the earliest of those bounds,
  the next arrival and the next refresh tick, adding queue occupancy for the skipped cycles.
  State only changes at evaluated cycles, and readiness only turns from "not ready" to
  "ready" as time passes (constraints only grow), so the skipped cycles are idle ones. After a
  command the bound is updated without a new scan where possible: bounds of candidates the
  command did not touch stay valid, the touched ones (its unit, the candidates that were ready,
  the active list) are re-evaluated, and each kind's bound is raised to the rank-level earliest
  cycle of that kind. An accepted request only lowers its channel's bound (or forces a scan if
  it would switch the write mode).
"""
from __future__ import annotations

import numpy as np
from numba import njit

# Command codes: identical to dramsim.commands (literals so numba sees constants; engine_fast
# asserts they agree).
ACT, PRE, PREA, RD, WR, RDA, WRA, REF, PDE, PDX, SRE, SRX = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
N_COMMANDS = 12

# Kinds of *following* command in the earliest-cycle tables.
K_ACT, K_PRE, K_RD, K_WR, K_PREA, K_REF, K_PDE, K_PDX, K_SRE, K_SRX = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
N_KINDS = 10
N_UNIT_KINDS = 6         # the unit table holds kinds 0..5 (only ACT/PRE/RD/WR are constrained there)
# Levels of the constraint table lat[level, preceding command, following kind].
LV_UNIT, LV_BG, LV_RANK, LV_SIB = 0, 1, 2, 3
N_LEVELS = 4
NO_CONSTRAINT = -(1 << 40)   # c + NO_CONSTRAINT never wins a max
INF = 1 << 62

SCHED_FCFS, SCHED_FRFCFS, SCHED_CAP = 0, 1, 2

# prm: int64 parameters.
# P_R21: Ramulator 2.1 variant (write coalescing, candidates that would close a held unit are
# filtered before the pick); P_PM: power management on; P_PDI / P_SRI: power-down / self-refresh
# idle thresholds (-1: off); P_NRFC, P_NXP, P_NXS, P_NXSDLL: latencies the wake-up and the
# self-refresh accounting need directly.
(P_CHANNELS, P_RANKS, P_BGS, P_BPG, P_UPB, P_SUBARRAYS, P_RQ, P_WQ, P_SCHED, P_CLOSED, P_CAP,
 P_REFRESH, P_NREFI, P_NCL, P_NBL, P_NCWL, P_LOG, P_HIST, P_MASA, P_NFAW, P_STALL,
 P_R21, P_PM, P_PDI, P_SRI, P_NRFC, P_NXP, P_NXS, P_NXSDLL) = range(29)
N_PARAMS = 29

# sc: int64 scalar state.
# S_PROGRESS: cycle of the last accepted request or column command (deadlock guard, P_STALL)
S_CYCLE, S_FE, S_NEXT_REFI, S_TOTAL, S_LOGN, S_INFLIGHT, S_NFREE, S_BASE, S_EVALS, S_PROGRESS = range(10)
N_SCALARS = 10

# ut: one row per unit. Columns 0..5: earliest cycle per kind; then state; then per queue
# (q = 0 read, 1 write) a block of QSTRIDE columns at UQ + q * QSTRIDE; then U_SAVE..U_SAVE+3,
# the unit's ACT/PRE/RD/WR columns kept aside while its rank sleeps (they are INF meanwhile).
U_OPEN, U_AQ, U_RANK, U_BG, U_BANK = 6, 7, 8, 9, 10
UQ, QSTRIDE = 11, 10
# count, hits, head, first hit, first non-hit (each slot followed by its trace index, INF if
# none, so that the FR-FCFS scan never has to touch the slot table), tail, position in actu
QC, QN, QH, QHI, QFH, QFHI, QFN, QFNI, QT, QP = range(10)
U_SAVE = UQ + 2 * QSTRIDE
N_UF = U_SAVE + 4

# rt: one row per rank. Columns 0..N_KINDS-1 earliest per kind; R_FAW..R_FAW+3 the last four
# ACTs; power management: R_PSTATE (PS_*), R_PSINCE (cycle the state was entered), R_IDLE (cycle
# after the last non-power command), R_SROK (a REF since the last SRX), R_NQ (requests of the
# rank in the read and write queues); R_IDLE and R_NQ are kept only with power management.
R_FAW, R_FAWN, R_OPEN, R_SINCE, R_PEND, R_AQ = 10, 14, 15, 16, 17, 18
R_PSTATE, R_PSINCE, R_IDLE, R_SROK, R_NQ = 19, 20, 21, 22, 23
N_RF = 24
PS_STBY, PS_PDA, PS_PDP, PS_SR = 0, 1, 2, 3

# ct: one row per channel.
# write mode, qlen[2], active length, act_n[2], next cycle the channel may issue (lower bound)
# C_LQ + (0 ACT, 1 PRE, 2 column): lower bound of the cycle at which any candidate of the
# write-mode queue whose next command is of that kind is ready (kept valid between scans;
# -1 = unknown)
C_WM, C_QL, C_AL, C_AN, C_NEXT, C_LQ = 0, 1, 3, 4, 6, 7
N_CF = 10
MAX_RECORDED = 16   # ready candidates remembered by one scan (rbuf rows)

# slt: one row per request slot: trace index, unit, flat rank, flat bank, channel, subarray
# (within the bank), flat subarray, row, column, is-write, address, acceptance cycle,
# classified flag, queue (0 read, 1 write, 2 active list), list links.
(F_IDX, F_UNIT, F_RANK, F_BANK, F_CH, F_SA, F_SAFLAT, F_ROW, F_COL, F_WRITE,
 F_ADDR, F_ARR, F_CLS, F_Q, F_NEXT, F_PREV) = range(16)
N_SF = 16

# Counter tables: bc[bank], sac[subarray], rkc[rank] (commands 0..11, then active cycles, units
# closed by PREAs, cycles in active / precharge power-down, IDD6 self-refresh cycles),
# chc[channel] (forwarded reads, latency sum, occupancy, coalesced writes, last read / write
# column command), hist[channel, bin].
B_READS, B_WRITES, B_HITS, B_MISSES, B_CONFL = range(5)
N_BF = 5
SA_ACC, SA_ACT = 0, 1
RK_ACTIVE, RK_PREA_UNITS, RK_PDA, RK_PDP, RK_SR = range(N_COMMANDS, N_COMMANDS + 5)
N_RKF = N_COMMANDS + 5
CH_FWD, CH_LAT, CH_OCC, CH_COAL, CH_LASTR, CH_LASTW = range(6)
N_CHF = 6

ST_DONE, ST_NEED_INPUT, ST_GROW, ST_LOG_FULL, ST_DEADLOCK = 0, 1, 2, 3, 4
LOG_COLUMNS = 10

# The kernels never allocate, so they are compiled without numba's reference counting
# (``_nrt=False``): with it every call increfs/decrefs each array argument atomically, which
# cost several times the simulation work itself.
_kernel = njit(cache=True, _nrt=False)
_inline_kernel = njit(cache=True, _nrt=False, inline="always")


# Table indices are cast to uint64 (_ix). They are never negative, and numba emits negative-
# index wraparound code for signed indices only: skipping it makes the kernels ~20% faster.
# (An alias rather than a function: numba-level inlining of its ~300 uses would add ~15 s of
# compile time, and a plain function is not always inlined by LLVM.)
_ix = np.uint64


# ------------------------------------------------------------------------------------------
# Readiness
# ------------------------------------------------------------------------------------------

@_inline_kernel
def _ready_at(ut, gt, u, kind):
    """Earliest cycle a command of ``kind`` to unit u may issue (gt holds the bank-group and
    the rank-level constraints, see _apply_timing). No bank-group, rank or other-rank
    constraint has PRE as its later command (engine_fast.sparse_constraints checks it), so a
    PRE needs the unit's entry only."""
    t = ut[_ix(u), _ix(kind)]
    if kind == K_PRE:
        return t
    x = gt[_ix(ut[_ix(u), U_BG]), _ix(kind)]
    return x if x > t else t


@_inline_kernel
def _slot_kind(ut, slt, s):
    """Kind of the next command of the request in slot s (depends on its unit's state)."""
    orow = ut[_ix(slt[_ix(s), F_UNIT]), U_OPEN]
    if orow < 0:
        return K_ACT
    if orow == slt[_ix(s), F_ROW]:
        return K_WR if slt[_ix(s), F_WRITE] else K_RD
    return K_PRE


# ------------------------------------------------------------------------------------------
# Per-unit queue lists
# ------------------------------------------------------------------------------------------

@_inline_kernel
def _set_ref(ut, slt, u, col, s):
    """ut[_ix(u), _ix(col)] = slot s and ut[_ix(u), _ix(col + 1)] = its trace index (INF for no slot)."""
    ut[_ix(u), _ix(col)] = s
    ut[_ix(u), _ix(col + 1)] = slt[_ix(s), F_IDX] if s >= 0 else INF


@_inline_kernel
def _scan_hit(slt, s, orow):
    """First slot from s on (list order) whose row is orow, -1 if none."""
    while s >= 0 and slt[_ix(s), F_ROW] != orow:
        s = slt[_ix(s), F_NEXT]
    return s


@_inline_kernel
def _scan_nonhit(slt, s, orow):
    """First slot from s on whose next command is not a column command (all when closed)."""
    if orow < 0:
        return s
    while s >= 0 and slt[_ix(s), F_ROW] == orow:
        s = slt[_ix(s), F_NEXT]
    return s


@_kernel
def _recount_hits(ut, slt, qb, u):
    """Recompute hit count and first hit / non-hit of the queue list at column block qb."""
    orow = ut[_ix(u), U_OPEN]
    s = ut[_ix(u), _ix(qb + QH)]
    if orow < 0:
        ut[_ix(u), _ix(qb + QN)] = 0
        _set_ref(ut, slt, u, qb + QFH, -1)
        _set_ref(ut, slt, u, qb + QFN, s)
        return
    n = 0
    fh = -1
    fn = -1
    while s >= 0:
        if slt[_ix(s), F_ROW] == orow:
            n += 1
            if fh < 0:
                fh = s
        elif fn < 0:
            fn = s
        s = slt[_ix(s), F_NEXT]
    ut[_ix(u), _ix(qb + QN)] = n
    _set_ref(ut, slt, u, qb + QFH, fh)
    _set_ref(ut, slt, u, qb + QFN, fn)


@_inline_kernel
def _q_insert(ut, ct, actu, slt, q, s, ch, u):
    """Append slot s to queue q (0 read, 1 write) of channel ch, unit u."""
    qb = UQ + q * QSTRIDE
    t = ut[_ix(u), _ix(qb + QT)]
    slt[_ix(s), F_PREV] = t
    slt[_ix(s), F_NEXT] = -1
    if t >= 0:
        slt[_ix(t), F_NEXT] = s
    else:
        _set_ref(ut, slt, u, qb + QH, s)
        n = ct[_ix(ch), _ix(C_AN + q)]
        actu[_ix(ch), _ix(q), _ix(n)] = u
        ut[_ix(u), _ix(qb + QP)] = n
        ct[_ix(ch), _ix(C_AN + q)] = n + 1
        _set_ref(ut, slt, u, qb + QFH, -1)
        _set_ref(ut, slt, u, qb + QFN, -1)
        ut[_ix(u), _ix(qb + QN)] = 0
    ut[_ix(u), _ix(qb + QT)] = s
    ut[_ix(u), _ix(qb + QC)] += 1
    orow = ut[_ix(u), U_OPEN]
    if orow >= 0 and slt[_ix(s), F_ROW] == orow:
        ut[_ix(u), _ix(qb + QN)] += 1
        if ut[_ix(u), _ix(qb + QFH)] < 0:
            _set_ref(ut, slt, u, qb + QFH, s)
    elif ut[_ix(u), _ix(qb + QFN)] < 0:
        _set_ref(ut, slt, u, qb + QFN, s)
    ct[_ix(ch), _ix(C_QL + q)] += 1
    slt[_ix(s), F_Q] = q


@_inline_kernel
def _q_remove(ut, ct, actu, slt, s):
    """Unlink slot s from its read/write queue list, keeping the hit bookkeeping exact."""
    q = slt[_ix(s), F_Q]
    qb = UQ + q * QSTRIDE
    u = slt[_ix(s), F_UNIT]
    ch = slt[_ix(s), F_CH]
    orow = ut[_ix(u), U_OPEN]
    nx = slt[_ix(s), F_NEXT]
    pv = slt[_ix(s), F_PREV]
    if pv >= 0:
        slt[_ix(pv), F_NEXT] = nx
    else:
        _set_ref(ut, slt, u, qb + QH, nx)
    if nx >= 0:
        slt[_ix(nx), F_PREV] = pv
    else:
        ut[_ix(u), _ix(qb + QT)] = pv
    ut[_ix(u), _ix(qb + QC)] -= 1
    if orow >= 0 and slt[_ix(s), F_ROW] == orow:
        ut[_ix(u), _ix(qb + QN)] -= 1
        if ut[_ix(u), _ix(qb + QFH)] == s:
            _set_ref(ut, slt, u, qb + QFH, _scan_hit(slt, nx, orow))
    elif ut[_ix(u), _ix(qb + QFN)] == s:
        _set_ref(ut, slt, u, qb + QFN, _scan_nonhit(slt, nx, orow))
    if ut[_ix(u), _ix(qb + QC)] == 0:
        pos = ut[_ix(u), _ix(qb + QP)]
        last = ct[_ix(ch), _ix(C_AN + q)] - 1
        w = actu[_ix(ch), _ix(q), _ix(last)]
        actu[_ix(ch), _ix(q), _ix(pos)] = w
        ut[_ix(w), _ix(qb + QP)] = pos
        ct[_ix(ch), _ix(C_AN + q)] = last
        _set_ref(ut, slt, u, qb + QFH, -1)
        _set_ref(ut, slt, u, qb + QFN, -1)
        ut[_ix(u), _ix(qb + QN)] = 0
    ct[_ix(ch), _ix(C_QL + q)] -= 1


@_inline_kernel
def _a_insert(ct, aq, slt, s, ch):
    """Insert slot s into channel ch's active list, keeping trace order. Entries are triples
    (slot, unit, kind of its column command) at aq[_ix(ch), _ix(3j:3j+3)]: the next command of a
    request of A is always its column command (docs/controller.md, Clarifications, item 4)."""
    n = ct[_ix(ch), C_AL]
    idx = slt[_ix(s), F_IDX]
    j = n
    while j > 0 and slt[_ix(aq[_ix(ch), _ix(3 * j - 3)]), F_IDX] > idx:
        aq[_ix(ch), _ix(3 * j)] = aq[_ix(ch), _ix(3 * j - 3)]
        aq[_ix(ch), _ix(3 * j + 1)] = aq[_ix(ch), _ix(3 * j - 2)]
        aq[_ix(ch), _ix(3 * j + 2)] = aq[_ix(ch), _ix(3 * j - 1)]
        j -= 1
    aq[_ix(ch), _ix(3 * j)] = s
    aq[_ix(ch), _ix(3 * j + 1)] = slt[_ix(s), F_UNIT]
    aq[_ix(ch), _ix(3 * j + 2)] = K_WR if slt[_ix(s), F_WRITE] else K_RD
    ct[_ix(ch), C_AL] = n + 1
    slt[_ix(s), F_Q] = 2


@_inline_kernel
def _a_remove(ct, aq, s, ch):
    n = ct[_ix(ch), C_AL]
    j = 0
    while aq[_ix(ch), _ix(3 * j)] != s:
        j += 1
    while j < n - 1:
        aq[_ix(ch), _ix(3 * j)] = aq[_ix(ch), _ix(3 * j + 3)]
        aq[_ix(ch), _ix(3 * j + 1)] = aq[_ix(ch), _ix(3 * j + 4)]
        aq[_ix(ch), _ix(3 * j + 2)] = aq[_ix(ch), _ix(3 * j + 5)]
        j += 1
    ct[_ix(ch), C_AL] = n - 1


# ------------------------------------------------------------------------------------------
# Unit state changes, timing, logging
# ------------------------------------------------------------------------------------------

@_inline_kernel
def _open_unit(ut, rt, slt, u, row, c):
    ut[_ix(u), U_OPEN] = row
    k = ut[_ix(u), U_RANK]
    if rt[_ix(k), R_OPEN] == 0:
        rt[_ix(k), R_SINCE] = c
    rt[_ix(k), R_OPEN] += 1
    for q in range(2):
        qb = UQ + q * QSTRIDE
        if ut[_ix(u), _ix(qb + QC)] > 0:
            _recount_hits(ut, slt, qb, u)


@_inline_kernel
def _close_unit(ut, rt, rkc, u, c):
    ut[_ix(u), U_OPEN] = -1
    k = ut[_ix(u), U_RANK]
    rt[_ix(k), R_OPEN] -= 1
    if rt[_ix(k), R_OPEN] == 0:
        rkc[_ix(k), RK_ACTIVE] += c - rt[_ix(k), R_SINCE]
    for q in range(2):
        qb = UQ + q * QSTRIDE
        if ut[_ix(u), _ix(qb + QC)] > 0:
            ut[_ix(u), _ix(qb + QN)] = 0
            ut[_ix(u), _ix(qb + QFH)] = -1
            ut[_ix(u), _ix(qb + QFHI)] = INF
            ut[_ix(u), _ix(qb + QFN)] = ut[_ix(u), _ix(qb + QH)]
            ut[_ix(u), _ix(qb + QFNI)] = ut[_ix(u), _ix(qb + QHI)]


@_inline_kernel
def _raise(tbl, row, cons, level, cmd, c):
    """tbl[row, kind] = max(tbl[row, kind], c + latency) for every constraint of ``level``
    that ``cmd`` (issued at cycle c) puts on a following command of that kind."""
    for j in range(cons[_ix(level), _ix(cmd), 0]):
        f = cons[_ix(level), _ix(cmd), _ix(1 + 2 * j)]
        v = c + cons[_ix(level), _ix(cmd), _ix(2 + 2 * j)]
        if v > tbl[_ix(row), _ix(f)]:
            tbl[_ix(row), _ix(f)] = v


@_inline_kernel
def _apply_timing(prm, cons, ut, gt, rt, cmd, c, u, k, ch):
    """Fold the constraints of ``cmd`` issued at cycle c (unit u or -1, rank k) into the tables.

    cons[_ix(level), _ix(cmd)] = (count, kind, latency, kind, latency, ...): only existing constraints.
    """
    if u >= 0:
        _raise(ut, u, cons, LV_UNIT, cmd, c)
        _raise(gt, ut[_ix(u), U_BG], cons, LV_BG, cmd, c)
    nbg = prm[P_BGS]
    _raise(rt, k, cons, LV_RANK, cmd, c)
    for g2 in range(k * nbg, k * nbg + nbg):
        _raise(gt, g2, cons, LV_RANK, cmd, c)
    nr = prm[P_RANKS]
    if nr > 1:
        for k2 in range(ch * nr, ch * nr + nr):
            if k2 != k:
                _raise(rt, k2, cons, LV_SIB, cmd, c)
                for g2 in range(k2 * nbg, k2 * nbg + nbg):
                    _raise(gt, g2, cons, LV_SIB, cmd, c)
    if cmd == ACT:
        # nFAW: the next ACT waits for the 4th most recent ACT (this one included) + nFAW.
        n = rt[_ix(k), R_FAWN]
        rt[_ix(k), _ix(R_FAW + (n & 3))] = c
        n += 1
        rt[_ix(k), R_FAWN] = n
        if n >= 4:
            v = rt[_ix(k), _ix(R_FAW + (n & 3))] + prm[P_NFAW]
            if v > rt[_ix(k), K_ACT]:
                rt[_ix(k), K_ACT] = v
            for g2 in range(k * nbg, k * nbg + nbg):
                if v > gt[_ix(g2), K_ACT]:
                    gt[_ix(g2), K_ACT] = v


@_kernel
def _log(prm, sc, logbuf, c, ch, k, b, sa, row, col, cmd, req):
    """Append a record; b is the flat bank (-1 for rank commands)."""
    n = sc[S_LOGN]
    logbuf[_ix(n), 0] = c
    logbuf[_ix(n), 1] = ch
    logbuf[_ix(n), 2] = k - ch * prm[P_RANKS]
    logbuf[_ix(n), 3] = (b // prm[P_BPG]) % prm[P_BGS] if b >= 0 else -1
    logbuf[_ix(n), 4] = b % prm[P_BPG] if b >= 0 else -1
    logbuf[_ix(n), 5] = sa
    logbuf[_ix(n), 6] = row
    logbuf[_ix(n), 7] = col
    logbuf[_ix(n), 8] = cmd
    logbuf[_ix(n), 9] = req
    sc[S_LOGN] = n + 1


# ------------------------------------------------------------------------------------------
# Issuing (docs/controller.md, "Issuing")
# ------------------------------------------------------------------------------------------

@_inline_kernel
def _issue_slot(sc, prm, cons, ut, gt, rt, bt, ct, actu, aq, slt, free, bc, sac, rkc, chc, hist, logbuf,
                s, kind, c):
    """Issue the next command (of ``kind``) of the request in slot s at cycle c."""
    u = slt[_ix(s), F_UNIT]
    k = slt[_ix(s), F_RANK]
    ch = slt[_ix(s), F_CH]
    b = slt[_ix(s), F_BANK]
    if kind == K_ACT:
        if prm[P_LOG]:
            _log(prm, sc, logbuf, c, ch, k, b, slt[_ix(s), F_SA], slt[_ix(s), F_ROW], -1,
                 ACT, slt[_ix(s), F_IDX])
        rkc[_ix(k), ACT] += 1
        if slt[_ix(s), F_CLS] == 0:
            slt[_ix(s), F_CLS] = 1
            bc[_ix(b), B_MISSES] += 1
        if slt[_ix(s), F_Q] != 2:
            _q_remove(ut, ct, actu, slt, s)
            _a_insert(ct, aq, slt, s, ch)
            ut[_ix(u), U_AQ] += 1
            rt[_ix(k), R_AQ] += 1
            if prm[P_PM]:
                rt[_ix(k), R_NQ] -= 1
        if prm[P_PM]:
            rt[_ix(k), R_IDLE] = c + 1
        _open_unit(ut, rt, slt, u, slt[_ix(s), F_ROW], c)
        bt[_ix(b)] = 0
        sac[_ix(slt[_ix(s), F_SAFLAT]), SA_ACT] += 1
        _apply_timing(prm, cons, ut, gt, rt, ACT, c, u, k, ch)
        return
    if kind == K_PRE:
        sa = slt[_ix(s), F_SA] if prm[P_MASA] else -1
        if prm[P_LOG]:
            _log(prm, sc, logbuf, c, ch, k, b, sa, -1, -1, PRE, slt[_ix(s), F_IDX])
        rkc[_ix(k), PRE] += 1
        if slt[_ix(s), F_CLS] == 0:
            slt[_ix(s), F_CLS] = 1
            bc[_ix(b), B_CONFL] += 1
        _close_unit(ut, rt, rkc, u, c)
        if prm[P_PM]:
            rt[_ix(k), R_IDLE] = c + 1
        _apply_timing(prm, cons, ut, gt, rt, PRE, c, u, k, ch)
        return
    # column command: the request is done
    w = slt[_ix(s), F_WRITE]
    closed = prm[P_CLOSED]
    if w:
        cmd = WRA if closed else WR
    else:
        cmd = RDA if closed else RD
    if prm[P_LOG]:
        _log(prm, sc, logbuf, c, ch, k, b, slt[_ix(s), F_SA], slt[_ix(s), F_ROW],
             slt[_ix(s), F_COL], cmd, slt[_ix(s), F_IDX])
    rkc[_ix(k), _ix(cmd)] += 1
    if slt[_ix(s), F_CLS] == 0:
        slt[_ix(s), F_CLS] = 1
        bc[_ix(b), B_HITS] += 1
    if slt[_ix(s), F_Q] == 2:
        _a_remove(ct, aq, s, ch)
        ut[_ix(u), U_AQ] -= 1
        rt[_ix(k), R_AQ] -= 1
    else:
        _q_remove(ut, ct, actu, slt, s)
        if prm[P_PM]:
            rt[_ix(k), R_NQ] -= 1
    if prm[P_PM]:
        rt[_ix(k), R_IDLE] = c + 1
    bt[_ix(b)] += 1
    sac[_ix(slt[_ix(s), F_SAFLAT]), SA_ACC] += 1
    if w:
        bc[_ix(b), B_WRITES] += 1
        end = c + prm[P_NCWL] + prm[P_NBL]
        chc[_ix(ch), CH_LASTW] = c
    else:
        bc[_ix(b), B_READS] += 1
        end = c + prm[P_NCL] + prm[P_NBL]
        chc[_ix(ch), CH_LASTR] = c
        latency = end - slt[_ix(s), F_ARR]
        chc[_ix(ch), CH_LAT] += latency
        hb = prm[P_HIST] - 1
        hist[_ix(ch), _ix(latency if latency < hb else hb)] += 1
    if end > sc[S_TOTAL]:
        sc[S_TOTAL] = end
    sc[S_PROGRESS] = c
    _apply_timing(prm, cons, ut, gt, rt, cmd, c, u, k, ch)
    if closed:
        _close_unit(ut, rt, rkc, u, c)
    n = sc[S_NFREE]
    free[_ix(n)] = s
    sc[S_NFREE] = n + 1
    sc[S_INFLIGHT] -= 1


@_kernel
def _issue_rank(sc, prm, cons, ut, gt, rt, rkc, logbuf, kind, k, ch, c):
    """A rank command of rank k: PREA (closes every unit), REF (clears the refresh flag), or
    power management: PDE / SRE (the rank sleeps: its units' ACT/PRE/RD/WR columns are kept aside
    and set to INF, so nothing but the exit is ever ready), PDX / SRX (restores them; the exit's
    rank-level latencies reach ACT/RD/WR through the constraint table, PRE's is applied here)."""
    cmd = PREA if kind == K_PREA else (REF if kind == K_REF else (PDE if kind == K_PDE else (
        PDX if kind == K_PDX else (SRE if kind == K_SRE else SRX))))
    if prm[P_LOG]:
        _log(prm, sc, logbuf, c, ch, k, -1, -1, -1, -1, cmd, -1)
    rkc[_ix(k), _ix(cmd)] += 1
    upr = prm[P_BGS] * prm[P_BPG] * prm[P_UPB]
    if cmd == PREA:
        for u in range(k * upr, k * upr + upr):
            if ut[_ix(u), U_OPEN] >= 0:
                _close_unit(ut, rt, rkc, u, c)
                rkc[_ix(k), RK_PREA_UNITS] += 1
        rt[_ix(k), R_IDLE] = c + 1
    elif cmd == REF:
        rt[_ix(k), R_PEND] = 0
        rt[_ix(k), R_SROK] = 1
        rt[_ix(k), R_IDLE] = c + 1
    elif cmd == PDE or cmd == SRE:
        for u in range(k * upr, k * upr + upr):
            for f in range(4):
                ut[_ix(u), _ix(U_SAVE + f)] = ut[_ix(u), _ix(f)]
                ut[_ix(u), _ix(f)] = INF
        if cmd == SRE:
            rt[_ix(k), R_PSTATE] = PS_SR
        else:
            rt[_ix(k), R_PSTATE] = PS_PDA if rt[_ix(k), R_OPEN] > 0 else PS_PDP
        rt[_ix(k), R_PSINCE] = c
    else:                                   # PDX, SRX
        t_pre = c + (prm[P_NXP] if cmd == PDX else prm[P_NXS])
        for u in range(k * upr, k * upr + upr):
            for f in range(4):
                ut[_ix(u), _ix(f)] = ut[_ix(u), _ix(U_SAVE + f)]
            if ut[_ix(u), K_PRE] < t_pre:
                ut[_ix(u), K_PRE] = t_pre
        _leave_power_state(prm, rt, rkc, k, c)
        rt[_ix(k), R_PSTATE] = PS_STBY
        if cmd == SRX:
            rt[_ix(k), R_SROK] = 0
    _apply_timing(prm, cons, ut, gt, rt, cmd, c, -1, k, ch)


@_inline_kernel
def _leave_power_state(prm, rt, rkc, k, end):
    """Count the cycles rank k spent in its power-down or self-refresh state, up to ``end``
    (self-refresh: IDD6 from the stay's (nRFC+1)-th cycle on, DRAMPower 5)."""
    ps = rt[_ix(k), R_PSTATE]
    d = end - rt[_ix(k), R_PSINCE]
    if ps == PS_PDA:
        rkc[_ix(k), RK_PDA] += d if d > 0 else 0
    elif ps == PS_PDP:
        rkc[_ix(k), RK_PDP] += d if d > 0 else 0
    elif ps == PS_SR:
        d -= prm[P_NRFC]
        rkc[_ix(k), RK_SR] += d if d > 0 else 0


# ------------------------------------------------------------------------------------------
# Selection (docs/controller.md, "Channel command selection")
# ------------------------------------------------------------------------------------------

@_inline_kernel
def _best_active(prm, ut, gt, bt, ct, aq, ch, c):
    """best(A): (slot, kind, ready, tmin, n_ready), tmin = the earliest cycle > c at which an
    item of A gets ready, n_ready = items of A ready at c (capped or not)."""
    sched = prm[P_SCHED]
    if sched == SCHED_FCFS:
        kind = aq[_ix(ch), 2]
        t = _ready_at(ut, gt, aq[_ix(ch), 1], kind)
        if t <= c:
            return aq[_ix(ch), 0], kind, True, INF, 1
        return aq[_ix(ch), 0], kind, False, t, 0
    tmin = INF
    best = -1
    bkind = 0
    n_ready = 0
    capmode = sched == SCHED_CAP
    for j in range(ct[_ix(ch), C_AL]):
        u = aq[_ix(ch), _ix(3 * j + 1)]
        kind = aq[_ix(ch), _ix(3 * j + 2)]
        t = _ready_at(ut, gt, u, kind)
        if t <= c:
            n_ready += 1
            if best < 0 and not (capmode and bt[_ix(ut[_ix(u), U_BANK])] >= prm[P_CAP]):
                best = aq[_ix(ch), _ix(3 * j)]
                bkind = kind
        elif t < tmin:
            tmin = t
    if best >= 0:
        return best, bkind, True, tmin, n_ready
    kind = aq[_ix(ch), 2]
    t = _ready_at(ut, gt, aq[_ix(ch), 1], kind)
    return aq[_ix(ch), 0], kind, t <= c, tmin, n_ready


@_inline_kernel
def _best_queue(prm, ut, gt, rt, bt, ct, actu, slt, rbuf, ch, q, c):
    """best(R) (q=0) or best(W) (q=1).

    Returns (slot, kind, ready, tmin, n_ready, ta, tp, tc, ra, rp, rc): slot -1 if the queue is
    empty (or, r2.1, holds no candidate); tmin the earliest cycle > c at which a candidate gets
    ready; n_ready the candidates ready at c (capped or not; the first MAX_RECORDED are written
    to rbuf as (unit, kind)); ta/tp/tc the earliest such cycle > c per kind of command (ACT, PRE,
    column) and ra/rp/rc the earliest ready cycle (<= c) per kind among the ready ones (INF if
    none).

    Requests of one unit whose next command is the same share its readiness, so only the
    first hit and the first non-hit of each unit holding requests are candidates. r2.1
    (Ramulator 2.1's would_close_active filter): a unit held by a request of the active list
    has no PRE candidate, nor, closed page, a column (RDA/WRA) candidate; the "first request"
    of FCFS and of the fallback is the first such candidate.
    """
    if ct[_ix(ch), _ix(C_QL + q)] == 0:
        return -1, 0, False, INF, 0, INF, INF, INF, INF, INF, INF
    sched = prm[P_SCHED]
    qb = UQ + q * QSTRIDE
    first = -1
    fidx = INF
    best = -1
    bidx = INF
    bkind = 0
    n_ready = 0
    ta = INF
    tp = INF
    tc = INF
    ra = INF
    rp = INF
    rc = INF
    colkind = K_WR if q == 1 else K_RD
    capmode = sched == SCHED_CAP
    cap = prm[P_CAP]
    r21 = prm[P_R21] != 0
    closed = prm[P_CLOSED] != 0
    # FR-FCFS needs no "first request": if no candidate is ready, neither is the oldest request
    # (it is one of its unit's candidates), and its readiness is already in ta/tp/tc
    need_first = sched != SCHED_FRFCFS
    for j in range(ct[_ix(ch), _ix(C_AN + q)]):
        u = actu[_ix(ch), _ix(q), _ix(j)]
        held = False
        if r21:
            held = ut[_ix(u), U_AQ] > 0              # (a unit held by A is open at its row)
        if need_first:
            if not held:
                hi = ut[_ix(u), _ix(qb + QHI)]
                if hi < fidx:
                    fidx = hi
                    first = ut[_ix(u), _ix(qb + QH)]
            elif not closed:
                hi = ut[_ix(u), _ix(qb + QFHI)]      # (INF if no hit)
                if hi < fidx:
                    fidx = hi
                    first = ut[_ix(u), _ix(qb + QFH)]
            if sched == SCHED_FCFS:
                continue
        if ut[_ix(u), U_OPEN] < 0:
            t = _ready_at(ut, gt, u, K_ACT)
            if t <= c:
                if n_ready < MAX_RECORDED:
                    rbuf[_ix(n_ready), 0] = u
                    rbuf[_ix(n_ready), 1] = K_ACT
                n_ready += 1
                if t < ra:
                    ra = t
                hi = ut[_ix(u), _ix(qb + QHI)]
                if hi < bidx:
                    bidx = hi
                    best = ut[_ix(u), _ix(qb + QH)]
                    bkind = K_ACT
            elif t < ta:
                ta = t
            continue
        if held and closed:
            continue
        if ut[_ix(u), _ix(qb + QN)] > 0:
            t = _ready_at(ut, gt, u, colkind)
            if t <= c:
                if n_ready < MAX_RECORDED:
                    rbuf[_ix(n_ready), 0] = u
                    rbuf[_ix(n_ready), 1] = colkind
                n_ready += 1
                if t < rc:
                    rc = t
                if not (capmode and bt[_ix(ut[_ix(u), U_BANK])] >= cap):
                    si = ut[_ix(u), _ix(qb + QFHI)]
                    if si < bidx:
                        bidx = si
                        best = ut[_ix(u), _ix(qb + QFH)]
                        bkind = colkind
            elif t < tc:
                tc = t
        if not held and ut[_ix(u), _ix(qb + QN)] < ut[_ix(u), _ix(qb + QC)]:
            t = _ready_at(ut, gt, u, K_PRE)
            if t <= c:
                if n_ready < MAX_RECORDED:
                    rbuf[_ix(n_ready), 0] = u
                    rbuf[_ix(n_ready), 1] = K_PRE
                n_ready += 1
                if t < rp:
                    rp = t
                si = ut[_ix(u), _ix(qb + QFNI)]
                if si < bidx:
                    bidx = si
                    best = ut[_ix(u), _ix(qb + QFN)]
                    bkind = K_PRE
            elif t < tp:
                tp = t
    tmin = ta
    if tp < tmin:
        tmin = tp
    if tc < tmin:
        tmin = tc
    if best >= 0:
        return best, bkind, True, tmin, n_ready, ta, tp, tc, ra, rp, rc
    if first < 0:                      # FR-FCFS, or (r2.1) no candidate at all
        return -1, 0, False, tmin, n_ready, ta, tp, tc, ra, rp, rc
    # none ready (FCFS: not looked at): the first request of the queue (a candidate too)
    kind = _slot_kind(ut, slt, first)
    t = _ready_at(ut, gt, slt[_ix(first), F_UNIT], kind)
    if t <= c:
        return first, kind, True, tmin, n_ready, ta, tp, tc, ra, rp, rc
    if t < tmin:
        tmin = t
    return first, kind, False, tmin, n_ready, ta, tp, tc, ra, rp, rc


@_inline_kernel
def _unit_next(prm, ut, gt, u, q):
    """Earliest cycle a candidate of unit u in queue q (its first hit / first non-hit) is
    ready; INF if the unit holds no request of q (or, r2.1, no candidate: see _best_queue)."""
    qb = UQ + q * QSTRIDE
    if ut[_ix(u), _ix(qb + QC)] == 0:
        return INF
    if ut[_ix(u), U_OPEN] < 0:
        return _ready_at(ut, gt, u, K_ACT)
    held = prm[P_R21] != 0 and ut[_ix(u), U_AQ] > 0
    if held and prm[P_CLOSED]:
        return INF
    t = INF
    if ut[_ix(u), _ix(qb + QN)] > 0:
        t = _ready_at(ut, gt, u, K_WR if q == 1 else K_RD)
    if not held and ut[_ix(u), _ix(qb + QN)] < ut[_ix(u), _ix(qb + QC)]:
        x = _ready_at(ut, gt, u, K_PRE)
        if x < t:
            t = x
    return t


@_inline_kernel
def _mode_update(fprm, ct, ch):
    """The write mode step 3 sets from the current queue lengths (idempotent)."""
    lr = ct[_ix(ch), C_QL]
    lw = ct[_ix(ch), C_QL + 1]
    if ct[_ix(ch), C_WM] == 0:
        if lw > fprm[0] or (lr == 0 and lw > 0):
            return 1
        return 0
    if (lw < fprm[1] and lr > 0) or lw == 0:
        return 0
    return 1


@_inline_kernel
def _channel_select(prm, fprm, ut, gt, rt, bt, ct, actu, aq, slt, rbuf, ch, c):
    """The command channel ch issues at cycle c, if any.

    Returns (what, who, kind, t_next, scanned, n_ready, ta, tp, tc, ra, rp, rc): what = 0
    nothing, 1 the next command (``kind``) of the request in slot ``who``, 2 the refresh
    command ``kind`` of rank ``who``; t_next the earliest cycle > c at which an item that was
    looked at gets ready; scanned: step 3 was reached, and the rest is _best_queue's answer.
    """
    t_a = INF
    # 1. the active list
    if ct[_ix(ch), C_AL] > 0:
        s, kind, ready, t, a_ready = _best_active(prm, ut, gt, bt, ct, aq, ch, c)
        t_a = t
        if ready:
            # A request of A always finds its unit open at its row (Clarifications, item 4),
            # so this is its column command: step 4 never drops it.
            return 1, s, kind, t_a, False, 0, INF, INF, INF, INF, INF, INF
    # 2. refresh (a rank in power-down exits first)
    nr = prm[P_RANKS]
    for k in range(ch * nr, ch * nr + nr):
        if rt[_ix(k), R_PEND]:
            if rt[_ix(k), R_PSTATE] != PS_STBY:
                kind = K_PDX
            else:
                kind = K_PREA if rt[_ix(k), R_OPEN] > 0 else K_REF
            t = rt[_ix(k), _ix(kind)]
            if t > c:
                if t < t_a:
                    t_a = t
                return 0, -1, 0, t_a, False, 0, INF, INF, INF, INF, INF, INF
            if kind == K_PREA and rt[_ix(k), R_AQ] > 0:      # 4. the rank holds requests of A
                return 0, -1, 0, t_a, False, 0, INF, INF, INF, INF, INF, INF
            return 2, k, kind, t_a, False, 0, INF, INF, INF, INF, INF, INF
    pm = prm[P_PM] != 0
    # 3. wake a sleeping rank that requests wait for
    if pm:
        for k in range(ch * nr, ch * nr + nr):
            ps = rt[_ix(k), R_PSTATE]
            if ps != PS_STBY and rt[_ix(k), R_NQ] > 0:
                kind = K_SRX if ps == PS_SR else K_PDX
                t = rt[_ix(k), _ix(kind)]
                if t <= c:
                    return 2, k, kind, t_a, False, 0, INF, INF, INF, INF, INF, INF
                if t < t_a:
                    t_a = t
    # 4. write mode, then the read or write queue
    ct[_ix(ch), C_WM] = _mode_update(fprm, ct, ch)
    s, kind, ready, t, n_ready, ta, tp, tc, ra, rp, rc = _best_queue(prm, ut, gt, rt, bt, ct, actu, slt, rbuf,
                                                                     ch, ct[_ix(ch), C_WM], c)
    if t < t_a:
        t_a = t
    if s < 0 or not ready:
        if pm:                         # 6. power management when nothing else issues
            k, kind, t = _power_select(prm, rt, ch, c)
            if k >= 0:
                return 2, k, kind, t_a, True, n_ready, ta, tp, tc, ra, rp, rc
            if t < t_a:
                t_a = t
        return 0, -1, 0, t_a, True, n_ready, ta, tp, tc, ra, rp, rc
    # 5. (r2.0-conservative) a PRE, or (closed page) an RDA/WRA, would close the unit of a
    # request of A: nothing issues. (r2.1 never gets here: _best_queue filtered them out.)
    if (kind == K_PRE or prm[P_CLOSED]) and ut[_ix(slt[_ix(s), F_UNIT]), U_AQ] > 0:
        return 0, -1, 0, t_a, True, n_ready, ta, tp, tc, ra, rp, rc
    return 1, s, kind, t_a, True, n_ready, ta, tp, tc, ra, rp, rc


@_inline_kernel
def _power_select(prm, rt, ch, c):
    """Step 6 of channel ch at cycle c (nothing else issues, no refresh pending): (rank, kind,
    INF) of the first rank whose power-management command is due and ready, else (-1, 0, the
    earliest later cycle at which one may be). K_PDE and K_SRE always hold the same cycle (every
    rule constrains both), and the power-down threshold is the shorter one, so before
    self-refresh is due the power-down (if enabled) is the earlier of the two."""
    pdi = prm[P_PDI]
    sri = prm[P_SRI]
    tn = INF
    nr = prm[P_RANKS]
    for k in range(ch * nr, ch * nr + nr):
        if rt[_ix(k), R_NQ] > 0 or rt[_ix(k), R_AQ] > 0:
            continue
        ps = rt[_ix(k), R_PSTATE]
        idle = rt[_ix(k), R_IDLE]
        sr_ok = sri >= 0 and rt[_ix(k), R_SROK] != 0
        kind = -1
        due = 0
        if ps == PS_STBY:
            if sr_ok and rt[_ix(k), R_OPEN] == 0 and (pdi < 0 or c >= idle + sri):
                kind = K_SRE
                due = idle + sri
            elif pdi >= 0:
                kind = K_PDE
                due = idle + pdi
        elif ps == PS_PDP and sr_ok:          # deeper: exit, then SRE
            kind = K_PDX
            due = idle + sri
        if kind < 0:
            continue
        t = rt[_ix(k), _ix(kind)]
        if t < due:
            t = due
        if t <= c:
            return k, kind, INF
        if t < tn:
            tn = t
    return -1, 0, tn


@_inline_kernel
def _active_bound(ut, gt, ct, aq, ch):
    """Earliest cycle any request of channel ch's active list is ready (INF if empty)."""
    t = INF
    for j in range(ct[_ix(ch), C_AL]):
        x = _ready_at(ut, gt, aq[_ix(ch), _ix(3 * j + 1)], aq[_ix(ch), _ix(3 * j + 2)])
        if x < t:
            t = x
    return t


@_inline_kernel
def _fold_unit(prm, ut, gt, rt, ct, ch, u, q):
    """Lower the C_LQ bounds of channel ch by unit u's candidates in queue q."""
    qb = UQ + q * QSTRIDE
    if ut[_ix(u), _ix(qb + QC)] == 0:
        return
    if ut[_ix(u), U_OPEN] < 0:
        x = _ready_at(ut, gt, u, K_ACT)
        if x < ct[_ix(ch), C_LQ]:
            ct[_ix(ch), C_LQ] = x
        return
    held = prm[P_R21] != 0 and ut[_ix(u), U_AQ] > 0
    if held and prm[P_CLOSED]:
        return
    if ut[_ix(u), _ix(qb + QN)] > 0:
        x = _ready_at(ut, gt, u, K_WR if q == 1 else K_RD)
        if x < ct[_ix(ch), C_LQ + 2]:
            ct[_ix(ch), C_LQ + 2] = x
    if not held and ut[_ix(u), _ix(qb + QN)] < ut[_ix(u), _ix(qb + QC)]:
        x = _ready_at(ut, gt, u, K_PRE)
        if x < ct[_ix(ch), C_LQ + 1]:
            ct[_ix(ch), C_LQ + 1] = x


@_inline_kernel
def _bound_after_issue(prm, fprm, ut, gt, rt, ct, aq, slt, rbuf, ch, u, scanned, n_ready, ta, tp, tc, ra, rp,
                       rc, c):
    """Lower bound of the next cycle channel ch can issue after issuing, at cycle c, a command
    to unit u (FR-FCFS; no refresh pending in the channel). Also updates C_LQ.

    Constraints only grow, so a bound computed before the issue stays a bound afterwards for
    every candidate the issue did not change; the ones it changed are re-evaluated (unit u's
    candidates, the queue candidates that were ready at c, every request of A), and each
    kind's bound is raised to the rank-level earliest cycle of that kind (a floor for every
    candidate of the kind).
    """
    q = ct[_ix(ch), C_WM]
    if _mode_update(fprm, ct, ch) != q:
        ct[_ix(ch), C_LQ] = -1
        return c + 1
    if scanned:                        # step 3 looked at the queue in this cycle
        if n_ready > MAX_RECORDED:
            ta = ra if ra < ta else ta
            tp = rp if rp < tp else tp
            tc = rc if rc < tc else tc
        else:
            for i in range(n_ready):
                v = rbuf[_ix(i), 0]
                if v != u:
                    f = rbuf[_ix(i), 1]
                    x = _ready_at(ut, gt, v, f)
                    if f == K_ACT:
                        ta = x if x < ta else ta
                    elif f == K_PRE:
                        tp = x if x < tp else tp
                    else:
                        tc = x if x < tc else tc
        ct[_ix(ch), C_LQ] = ta
        ct[_ix(ch), C_LQ + 1] = tp
        ct[_ix(ch), C_LQ + 2] = tc
    elif ct[_ix(ch), C_LQ] < 0:
        return c + 1
    _fold_unit(prm, ut, gt, rt, ct, ch, u, q)
    # floors: the rank-level earliest cycle of each kind (min over the channel's ranks)
    nr = prm[P_RANKS]
    colkind = K_WR if q == 1 else K_RD
    fa = INF
    fp = INF
    fc = INF
    for k in range(ch * nr, ch * nr + nr):
        fa = rt[_ix(k), K_ACT] if rt[_ix(k), K_ACT] < fa else fa
        fp = rt[_ix(k), K_PRE] if rt[_ix(k), K_PRE] < fp else fp
        fc = rt[_ix(k), _ix(colkind)] if rt[_ix(k), _ix(colkind)] < fc else fc
    t = INF
    for i in range(3):
        x = ct[_ix(ch), _ix(C_LQ + i)]
        fl = fa if i == 0 else (fp if i == 1 else fc)
        if fl > x:
            x = fl
            ct[_ix(ch), _ix(C_LQ + i)] = x
        if x < t:
            t = x
    x = _active_bound(ut, gt, ct, aq, ch)
    if x < t:
        t = x
    return t if t > c else c + 1


# ------------------------------------------------------------------------------------------
# Front end
# ------------------------------------------------------------------------------------------

@_inline_kernel
def _forward_match(ut, slt, u, addr):
    """True if a write to ``addr`` waits in the write queue (its list for unit u)."""
    s = ut[_ix(u), UQ + QSTRIDE + QH]
    while s >= 0:
        if slt[_ix(s), F_ADDR] == addr:
            return True
        s = slt[_ix(s), F_NEXT]
    return False


@_inline_kernel
def _front_end(sc, prm, fprm, ut, gt, rt, ct, actu, slt, free, chc, r_addr, r_write, r_arrive, r_ch, r_unit,
               r_sa, r_row, r_col, j, c):
    """Offer request j of the chunk at cycle c; True if accepted (enqueued, forwarded or, r2.1,
    coalesced into a queued write to the same address)."""
    if r_arrive[_ix(j)] > c:
        return False
    ch = np.int64(r_ch[_ix(j)])
    u = r_unit[_ix(j)]
    w = r_write[_ix(j)]
    if (not w or prm[P_R21]) and ut[_ix(u), UQ + QSTRIDE + QC] > 0 and _forward_match(ut, slt, u, r_addr[_ix(j)]):
        chc[_ix(ch), CH_COAL if w else CH_FWD] += 1
        return True
    q = 1 if w else 0
    if ct[_ix(ch), _ix(C_QL + q)] >= (prm[P_WQ] if w else prm[P_RQ]):
        return False
    n = sc[S_NFREE] - 1
    s = free[_ix(n)]
    sc[S_NFREE] = n
    sc[S_INFLIGHT] += 1
    b = ut[_ix(u), U_BANK]
    sa = np.int64(r_sa[_ix(j)])
    slt[_ix(s), F_IDX] = sc[S_BASE] + j
    slt[_ix(s), F_UNIT] = u
    slt[_ix(s), F_RANK] = ut[_ix(u), U_RANK]
    slt[_ix(s), F_BANK] = b
    slt[_ix(s), F_CH] = ch
    slt[_ix(s), F_SA] = sa
    slt[_ix(s), F_SAFLAT] = b * prm[P_SUBARRAYS] + sa
    slt[_ix(s), F_ROW] = r_row[_ix(j)]
    slt[_ix(s), F_COL] = r_col[_ix(j)]
    slt[_ix(s), F_WRITE] = 1 if w else 0
    slt[_ix(s), F_ADDR] = r_addr[_ix(j)]
    slt[_ix(s), F_ARR] = c
    slt[_ix(s), F_CLS] = 0
    _q_insert(ut, ct, actu, slt, q, s, ch, u)
    # The channel skips its scan while c < C_NEXT: keep that bound valid for the new request
    # (its candidate class, and a write-mode switch its arrival may cause).
    if ct[_ix(ch), C_LQ] >= 0:
        _fold_unit(prm, ut, gt, rt, ct, ch, u, q)
    if prm[P_PM]:                      # (its rank may have to wake, or not power down): look now
        rt[_ix(ut[_ix(u), U_RANK]), R_NQ] += 1
        if ct[_ix(ch), C_NEXT] > c:
            ct[_ix(ch), C_NEXT] = c
    elif ct[_ix(ch), C_NEXT] > c and not _refresh_pending(prm, rt, ch):
        if _mode_update(fprm, ct, ch) != ct[_ix(ch), C_WM]:
            ct[_ix(ch), C_NEXT] = c
        else:
            t = _unit_next(prm, ut, gt, u, q)
            if t < ct[_ix(ch), C_NEXT]:
                ct[_ix(ch), C_NEXT] = t if t > c else c
    return True


@_inline_kernel
def _front_end_next(prm, ut, ct, slt, r_addr, r_write, r_arrive, r_ch, r_unit, j, c):
    """Earliest cycle after c at which the front end could accept request j; INF if it is
    blocked on a full queue (only an issued command frees one, and that forces an evaluation)."""
    a = r_arrive[_ix(j)]
    t = c + 1 if a <= c + 1 else a
    w = r_write[_ix(j)]
    if ct[_ix(np.int64(r_ch[_ix(j)])), _ix(C_QL + (1 if w else 0))] < (prm[P_WQ] if w else prm[P_RQ]):
        return t
    if not w or prm[P_R21]:            # forwarded / coalesced without needing room
        u = r_unit[_ix(j)]
        if ut[_ix(u), UQ + QSTRIDE + QC] > 0 and _forward_match(ut, slt, u, r_addr[_ix(j)]):
            return t
    return INF


@_kernel
def prepare_chunk(channel, rank, bankgroup, bank, subarray, row, column, limits, masa, unit):
    """Range-check a chunk's coordinates and compute each request's unit (into ``unit``).

    limits = (channels, ranks, bank groups, banks per group, subarrays, rows, columns): the
    fields in this order. Returns -1, or 8 * i + field of the first value out of range (the
    kernels do no bounds checking, so nothing unchecked may reach them).
    """
    nr = limits[1]
    nbg = limits[2]
    nbpg = limits[3]
    nsa = limits[4]
    for i in range(len(channel)):
        ch = np.int64(channel[i])
        rk = np.int64(rank[i])
        bg = np.int64(bankgroup[i])
        ba = np.int64(bank[i])
        sa = np.int64(subarray[i])
        ro = np.int64(row[i])
        co = np.int64(column[i])
        if ch < 0 or ch >= limits[0]:
            return 8 * i
        if rk < 0 or rk >= nr:
            return 8 * i + 1
        if bg < 0 or bg >= nbg:
            return 8 * i + 2
        if ba < 0 or ba >= nbpg:
            return 8 * i + 3
        if sa < 0 or sa >= nsa:
            return 8 * i + 4
        if ro < 0 or ro >= limits[5]:
            return 8 * i + 5
        if co < 0 or co >= limits[6]:
            return 8 * i + 6
        b = ((ch * nr + rk) * nbg + bg) * nbpg + ba      # flat bank (dramsim/counters.py)
        unit[i] = b * nsa + sa if masa else b
    return -1


# ------------------------------------------------------------------------------------------
# Main loop
# ------------------------------------------------------------------------------------------

@_inline_kernel
def _refresh_pending(prm, rt, ch):
    nr = prm[P_RANKS]
    for k in range(ch * nr, ch * nr + nr):
        if rt[_ix(k), R_PEND]:
            return True
    return False


@_kernel
def run_kernel(sc, prm, fprm, cons, ut, gt, rt, bt, ct, actu, aq, slt, free, rbuf, bc, sac, rkc, chc, hist,
               logbuf, r_addr, r_write, r_arrive, r_ch, r_unit, r_sa, r_row, r_col, final):
    """Advance the simulation over the chunk (requests S_BASE + 0 .. len-1 of the trace).

    Returns ST_NEED_INPUT when the front end wants a request beyond the chunk (state is that
    of the start of the current cycle), ST_DONE when ``final`` and everything is served,
    ST_GROW / ST_LOG_FULL when a buffer must be enlarged / drained first, ST_DEADLOCK if no
    event can ever happen again (a bug).
    """
    n = len(r_addr)
    nch = prm[P_CHANNELS]
    refresh = prm[P_REFRESH] != 0
    nrefi = prm[P_NREFI]
    acap = aq.shape[1] // 3
    logcap = logbuf.shape[0]
    logging = prm[P_LOG] != 0
    c = sc[S_CYCLE]
    while True:
        j = sc[S_FE]
        if j >= n:
            if not final:
                sc[S_CYCLE] = c
                return ST_NEED_INPUT
            if sc[S_INFLIGHT] == 0:
                sc[S_CYCLE] = c
                return ST_DONE
        if sc[S_NFREE] < 2:
            sc[S_CYCLE] = c
            return ST_GROW
        for ch in range(nch):
            if ct[_ix(ch), C_AL] + 2 > acap:
                sc[S_CYCLE] = c
                return ST_GROW
        if logging and sc[S_LOGN] + nch > logcap:
            sc[S_CYCLE] = c
            return ST_LOG_FULL
        sc[S_EVALS] += 1
        # 1. refresh timer (c never jumps past S_NEXT_REFI)
        if refresh and c == sc[S_NEXT_REFI]:
            for k in range(rt.shape[0]):
                if rt[_ix(k), R_PSTATE] != PS_SR:          # (self-refresh refreshes itself)
                    rt[_ix(k), R_PEND] = 1
            for ch in range(nch):
                ct[_ix(ch), C_NEXT] = c
            sc[S_NEXT_REFI] = c + nrefi
        # 2. front end
        if j < n:
            if _front_end(sc, prm, fprm, ut, gt, rt, ct, actu, slt, free, chc, r_addr, r_write, r_arrive,
                          r_ch, r_unit, r_sa, r_row, r_col, j, c):
                j += 1
                sc[S_FE] = j
                sc[S_PROGRESS] = c
        # 3. channels; one whose C_NEXT lies ahead can issue nothing now (and its write mode
        # would not change), so it is skipped.
        nxt = INF
        for ch in range(nch):
            if ct[_ix(ch), C_NEXT] <= c:
                what, who, kind, t, scanned, n_ready, ta, tp, tc, ra, rp, rc = _channel_select(
                    prm, fprm, ut, gt, rt, bt, ct, actu, aq, slt, rbuf, ch, c)
                if what == 1:
                    u = slt[_ix(who), F_UNIT]
                    _issue_slot(sc, prm, cons, ut, gt, rt, bt, ct, actu, aq, slt, free, bc, sac, rkc, chc,
                                hist, logbuf, who, kind, c)
                    if prm[P_SCHED] != SCHED_FCFS and not prm[P_PM] and not _refresh_pending(prm, rt, ch):
                        t = _bound_after_issue(prm, fprm, ut, gt, rt, ct, aq, slt, rbuf, ch, u, scanned,
                                               n_ready, ta, tp, tc, ra, rp, rc, c)
                    else:
                        ct[_ix(ch), C_LQ] = -1
                        t = c + 1
                elif what == 2:
                    _issue_rank(sc, prm, cons, ut, gt, rt, rkc, logbuf, kind, who, ch, c)
                    ct[_ix(ch), C_LQ] = -1
                    t = c + 1
                elif scanned:
                    ct[_ix(ch), C_LQ] = ra if ra < ta else ta
                    ct[_ix(ch), C_LQ + 1] = rp if rp < tp else tp
                    ct[_ix(ch), C_LQ + 2] = rc if rc < tc else tc
                ct[_ix(ch), C_NEXT] = t
            if ct[_ix(ch), C_NEXT] < nxt:
                nxt = ct[_ix(ch), C_NEXT]
        # next event
        if j < n:
            t = _front_end_next(prm, ut, ct, slt, r_addr, r_write, r_arrive, r_ch, r_unit, j, c)
            if t < nxt:
                nxt = t
        elif not final:
            nxt = c + 1
        if refresh and sc[S_NEXT_REFI] < nxt:
            nxt = sc[S_NEXT_REFI]
        if nxt <= c:
            nxt = c + 1
        if nxt >= INF:
            if j >= n and final and sc[S_INFLIGHT] == 0:
                nxt = c + 1
            else:
                sc[S_CYCLE] = c
                return ST_DEADLOCK
        if sc[S_INFLIGHT] > 0 and nxt - sc[S_PROGRESS] > prm[P_STALL]:
            sc[S_CYCLE] = c                # requests wait, yet nothing but refresh happens
            return ST_DEADLOCK
        # 4. occupancy of cycles c .. nxt-1 (nothing changes in between)
        dt = nxt - c
        for ch in range(nch):
            occ = ct[_ix(ch), C_QL] + ct[_ix(ch), C_QL + 1] + ct[_ix(ch), C_AL]
            if occ:
                chc[_ix(ch), CH_OCC] += occ * dt
        c = nxt
