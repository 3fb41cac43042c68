"""numba kernel of the command-log checker (dramsim/checker.py drives it; it imports no engine).

``check_rows`` replays a block of command-log rows (int64 [n, 10], columns as
COMMAND_LOG_DTYPE, command as its code) against the rules of docs/controller.md and updates the
checker state in place: the last cycle of every command per unit / bank group / rank, the four
most recent ACTs per rank, open rows, the request holding each unit, refresh flags, power
states, recent data bursts per channel, per-request bookkeeping and the counters a log
determines. Every violation found is appended to ``viol`` as (code, cycle, row, a, b, c, d);
checker.py turns the codes into messages. The state is plain arrays, so a log of any length is
checked in bounded memory, block after block.
"""
from __future__ import annotations

from numba import njit

# command codes (dramsim.commands; checker.py asserts they agree)
ACT, PRE, PREA, RD, WR, RDA, WRA, REF, PDE, PDX, SRE, SRX = range(12)
N_CMD = 12
NEG = -(1 << 60)          # "never issued"

# rule scopes
SC_UNIT, SC_RANK, SC_GROUP, SC_OTHER, SC_CHANNEL = 0, 1, 2, 3, 4

# parameters (prm)
(Q_CH, Q_RK, Q_BG, Q_BPG, Q_SA, Q_ROWS, Q_COLS, Q_RPS, Q_MASA, Q_CLOSED, Q_REFRESH, Q_NREFI, Q_TICK0,
 Q_NCL, Q_NCWL, Q_NBL, Q_NFAW, Q_NRFC, Q_PM, Q_PDI, Q_SRI, Q_R21, Q_GAP_RR, Q_GAP_RW, Q_GAP_WR,
 Q_GAP_WW, Q_NREQ, Q_HAVE_REQ) = range(28)
N_PRM = 28

# scalar state (st)
S_PREV, S_TICK, S_NV, S_END, S_ROW0, S_UNORDERED = range(6)
N_ST = 6

# per-rank state (rk_st columns)
K_PEND, K_PS, K_PSINCE, K_IDLE, K_SROK, K_OPEN, K_OPENSINCE, K_FAWN = range(8)
N_KST = 8
PS_STBY, PS_PDA, PS_PDP, PS_SR = 0, 1, 2, 3

# per-rank counters (rk_cnt columns): commands 0..11, then
RC_ACTIVE, RC_PREA_UNITS, RC_PDA, RC_PDP, RC_SR = 12, 13, 14, 15, 16
N_RC = 17
# per-bank counters
BC_READS, BC_WRITES, BC_HITS, BC_MISSES, BC_CONFL = range(5)
N_BC = 5
# per-channel counters
CC_READS, CC_LASTR, CC_LASTW, CC_BUS, CC_BUSROW, CC_RING = range(6)
N_CC = 6
RING = 64                 # recent data bursts kept per channel

# violation codes
(V_TIMING, V_FAW, V_BUS, V_ACT_OPEN, V_PRE_CLOSED, V_COL_CLOSED, V_COL_ROW, V_PAGE, V_PREA_CLOSED,
 V_REF_OPEN, V_NOT_PENDING, V_ACTIVE_LIST, V_DATA_BUS, V_LOG_COMMAND, V_LOG_ADDRESS, V_LOG_SUBARRAY,
 V_LOG_CYCLE, V_LOG_ORDER, V_REQ_MISSING, V_REQ_REFRESH, V_REQ_INDEX, V_REQ_TWICE, V_REQ_AFTER,
 V_REQ_EARLY, V_REQ_ADDRESS, V_REQ_NEEDLESS, V_REQ_TYPE, V_PW_STATE, V_PW_ASLEEP, V_PW_DISABLED,
 V_PW_EARLY, V_PW_SR_OPEN, V_PW_SR_NOREF, V_REQ_PRE_MISSING) = range(34)


@njit(cache=True)
def _flag(viol, st, code, cyc, row, a, b, c, d):
    n = st[S_NV]
    if n < viol.shape[0]:
        viol[n, 0] = code
        viol[n, 1] = cyc
        viol[n, 2] = row
        viol[n, 3] = a
        viol[n, 4] = b
        viol[n, 5] = c
        viol[n, 6] = d
    st[S_NV] = n + 1


@njit(cache=True)
def _rank_command(cmd):
    return cmd == PREA or cmd == REF or cmd >= PDE


@njit(cache=True)
def _close(prm, unit_open, unit_holder, rk_st, rk_cnt, viol, st, u, k, c, row, rq):
    """Close unit u of flat rank k at cycle c (PRE / PREA / RDA / WRA of request rq)."""
    h = unit_holder[u]
    if h >= 0 and h != rq:
        _flag(viol, st, V_ACTIVE_LIST, c, row, h, u, 0, 0)
    unit_holder[u] = -1
    if unit_open[u] >= 0:
        unit_open[u] = -1
        rk_st[k, K_OPEN] -= 1
        if rk_st[k, K_OPEN] == 0:
            rk_cnt[k, RC_ACTIVE] += c - rk_st[k, K_OPENSINCE]


@njit(cache=True)
def _leave(prm, rk_st, rk_cnt, k, end):
    ps = rk_st[k, K_PS]
    d = end - rk_st[k, K_PSINCE]
    if ps == PS_PDA:
        rk_cnt[k, RC_PDA] += d if d > 0 else 0
    elif ps == PS_PDP:
        rk_cnt[k, RC_PDP] += d if d > 0 else 0
    elif ps == PS_SR:
        d -= prm[Q_NRFC]
        rk_cnt[k, RC_SR] += d if d > 0 else 0


@njit(cache=True)
def check_rows(prm, rules, by_next, rows, st, unit_last, group_last, rank_last, faw, unit_open, unit_holder,
               rk_st, rk_cnt, bank_cnt, sa_cnt, ch_cnt, ring, viol,
               r_ch, r_rk, r_bg, r_ba, r_sa, r_row, r_col, r_w, r_arr, served, classified):
    """Check rows (int64 [n, 10]); see the module docstring. ``rules``: [r, 4] (previous
    command, scope, latency, following command) sorted by following command, ``by_next``:
    [13] start offsets. Request arrays (r_*) are used when prm[Q_HAVE_REQ]; ``served`` (cycle
    of each request's column command, -1) and ``classified`` are indexed by request."""
    nch, nrk, nbg, nbpg, nsa = prm[Q_CH], prm[Q_RK], prm[Q_BG], prm[Q_BPG], prm[Q_SA]
    masa = prm[Q_MASA] != 0
    upb = nsa if masa else 1
    have_req = prm[Q_HAVE_REQ] != 0
    nreq = prm[Q_NREQ]
    pm = prm[Q_PM] != 0
    for i in range(rows.shape[0]):
        rid = st[S_ROW0] + i
        c = rows[i, 0]
        ch = rows[i, 1]
        rk = rows[i, 2]
        bg = rows[i, 3]
        ba = rows[i, 4]
        sa = rows[i, 5]
        row = rows[i, 6]
        col = rows[i, 7]
        cmd = rows[i, 8]
        rq = rows[i, 9]
        if c < 0:
            _flag(viol, st, V_LOG_CYCLE, c, rid, 0, 0, 0, 0)
            continue
        if c < st[S_PREV]:
            _flag(viol, st, V_LOG_ORDER, c, rid, st[S_PREV], 0, 0, 0)
        else:
            st[S_PREV] = c
        if cmd < 0 or cmd >= N_CMD:
            _flag(viol, st, V_LOG_COMMAND, c, rid, cmd, 0, 0, 0)
            continue
        if ch < 0 or ch >= nch or rk < 0 or rk >= nrk:
            _flag(viol, st, V_LOG_ADDRESS, c, rid, 0, ch, rk, 0)
            continue
        rankcmd = _rank_command(cmd)
        if not rankcmd:
            if bg < 0 or bg >= nbg or ba < 0 or ba >= nbpg:
                _flag(viol, st, V_LOG_ADDRESS, c, rid, 1, bg, ba, 0)
                continue
            if cmd == PRE:
                if masa and (sa < 0 or sa >= nsa):
                    _flag(viol, st, V_LOG_ADDRESS, c, rid, 2, sa, 0, 0)
                    continue
            else:
                if row < 0 or row >= prm[Q_ROWS]:
                    _flag(viol, st, V_LOG_ADDRESS, c, rid, 3, row, 0, 0)
                    continue
                if sa != row // prm[Q_RPS]:
                    _flag(viol, st, V_LOG_SUBARRAY, c, rid, row, sa, row // prm[Q_RPS], 0)
                    sa = row // prm[Q_RPS]           # (go on with the row's subarray)
                if cmd >= RD and cmd <= WRA and (col < 0 or col >= prm[Q_COLS]):
                    _flag(viol, st, V_LOG_ADDRESS, c, rid, 4, col, 0, 0)
                    continue
        # refresh ticks up to this cycle (they precede the commands of their cycle)
        if prm[Q_REFRESH]:
            while st[S_TICK] <= c:
                for k in range(nch * nrk):
                    if rk_st[k, K_PS] != PS_SR:
                        rk_st[k, K_PEND] = 1
                st[S_TICK] += prm[Q_NREFI]
        k = ch * nrk + rk
        g = k * nbg + bg
        fb = g * nbpg + ba
        u = -1
        if not rankcmd:
            u = fb * upb + (sa if masa else 0)
        # command bus
        if ch_cnt[ch, CC_BUS] == c:
            _flag(viol, st, V_BUS, c, rid, ch, ch_cnt[ch, CC_BUSROW], 0, 0)
        ch_cnt[ch, CC_BUS] = c
        ch_cnt[ch, CC_BUSROW] = rid
        # timing
        for j in range(by_next[cmd], by_next[cmd + 1]):
            p = rules[j, 0]
            scope = rules[j, 1]
            lat = rules[j, 2]
            if scope == SC_UNIT:
                if u >= 0:
                    t = unit_last[u, p]
                    if t > NEG and c < t + lat:
                        _flag(viol, st, V_TIMING, c, rid, j, t, 0, 0)
            elif scope == SC_RANK:
                t = rank_last[k, p]
                if t > NEG and c < t + lat:
                    _flag(viol, st, V_TIMING, c, rid, j, t, 0, 0)
            elif scope == SC_GROUP:
                if not rankcmd:
                    t = group_last[g, p]
                    if t > NEG and c < t + lat:
                        _flag(viol, st, V_TIMING, c, rid, j, t, 0, 0)
            else:
                for k2 in range(ch * nrk, ch * nrk + nrk):
                    if k2 == k and scope == SC_OTHER:
                        continue
                    t = rank_last[k2, p]
                    if t > NEG and c < t + lat:
                        _flag(viol, st, V_TIMING, c, rid, j, t, k2 - ch * nrk, 0)
        if cmd == ACT and rk_st[k, K_FAWN] >= 4:
            t4 = faw[k, (rk_st[k, K_FAWN] - 4) & 3]
            if c < t4 + prm[Q_NFAW]:
                _flag(viol, st, V_FAW, c, rid, t4, 0, 0, 0)
        # requests
        if rq < 0:
            if not rankcmd:
                _flag(viol, st, V_REQ_PRE_MISSING if cmd == PRE else V_REQ_MISSING, c, rid, 0, 0, 0, 0)
        elif rankcmd:
            _flag(viol, st, V_REQ_REFRESH, c, rid, rq, 0, 0, 0)
        elif rq >= served.shape[0]:
            _flag(viol, st, V_REQ_INDEX, c, rid, rq, nreq, 0, 0)
            rq = -2                          # (not a usable index below)
        elif have_req:
            if served[rq] >= 0:
                _flag(viol, st, V_REQ_TWICE if cmd >= RD and cmd <= WRA else V_REQ_AFTER, c, rid, rq,
                      served[rq], 0, 0)
            early = rq if rq > r_arr[rq] else r_arr[rq]
            if c < early:
                _flag(viol, st, V_REQ_EARLY, c, rid, rq, early, 0, 0)
            if r_ch[rq] != ch or r_rk[rq] != rk or r_bg[rq] != bg or r_ba[rq] != ba:
                _flag(viol, st, V_REQ_ADDRESS, c, rid, rq, 0, 0, 0)
            elif cmd == PRE:
                if masa and r_sa[rq] != sa:
                    _flag(viol, st, V_REQ_ADDRESS, c, rid, rq, 1, r_sa[rq], 0)
                if u >= 0 and unit_open[u] == r_row[rq]:
                    _flag(viol, st, V_REQ_NEEDLESS, c, rid, rq, 0, 0, 0)
            else:
                if r_row[rq] != row:
                    _flag(viol, st, V_REQ_ADDRESS, c, rid, rq, 2, r_row[rq], 0)
                if cmd >= RD and cmd <= WRA:
                    if r_col[rq] != col:
                        _flag(viol, st, V_REQ_ADDRESS, c, rid, rq, 3, r_col[rq], 0)
                    is_w = cmd == WR or cmd == WRA
                    if is_w != (r_w[rq] != 0):
                        _flag(viol, st, V_REQ_TYPE, c, rid, rq, r_w[rq], 0, 0)
        elif cmd >= RD and cmd <= WRA and served[rq] >= 0:
            _flag(viol, st, V_REQ_TWICE, c, rid, rq, served[rq], 0, 0)
        # power state
        ps = rk_st[k, K_PS]
        if rankcmd and cmd >= PDE:
            if not pm:
                _flag(viol, st, V_PW_DISABLED, c, rid, cmd, 0, 0, 0)
            if cmd == PDE or cmd == SRE:
                if ps != PS_STBY:
                    _flag(viol, st, V_PW_STATE, c, rid, cmd, ps, 0, 0)
                thr = prm[Q_PDI] if cmd == PDE else prm[Q_SRI]
                if pm and (thr < 0 or c < rk_st[k, K_IDLE] + thr):
                    _flag(viol, st, V_PW_EARLY, c, rid, cmd, rk_st[k, K_IDLE], thr, 0)
                if cmd == SRE:
                    if rk_st[k, K_OPEN] > 0:
                        _flag(viol, st, V_PW_SR_OPEN, c, rid, rk_st[k, K_OPEN], 0, 0, 0)
                    if rk_st[k, K_SROK] == 0:
                        _flag(viol, st, V_PW_SR_NOREF, c, rid, 0, 0, 0, 0)
                    if rk_st[k, K_PEND]:
                        _flag(viol, st, V_PW_STATE, c, rid, cmd, 9, 0, 0)
                    rk_st[k, K_PS] = PS_SR
                else:
                    rk_st[k, K_PS] = PS_PDA if rk_st[k, K_OPEN] > 0 else PS_PDP
                rk_st[k, K_PSINCE] = c
            else:                            # PDX, SRX
                want_sr = cmd == SRX
                if (want_sr and ps != PS_SR) or (not want_sr and ps != PS_PDA and ps != PS_PDP):
                    _flag(viol, st, V_PW_STATE, c, rid, cmd, ps, 0, 0)
                else:
                    _leave(prm, rk_st, rk_cnt, k, c)
                rk_st[k, K_PS] = PS_STBY
                if want_sr:
                    rk_st[k, K_SROK] = 0
        elif ps != PS_STBY:
            _flag(viol, st, V_PW_ASLEEP, c, rid, cmd, ps, 0, 0)
        if not (rankcmd and cmd >= PDE):
            rk_st[k, K_IDLE] = c + 1
        # unit state and counters
        rk_cnt[k, cmd] += 1
        if rq >= 0 and not rankcmd and rq < classified.shape[0] and classified[rq] == 0:
            classified[rq] = 1
            if cmd == ACT:
                bank_cnt[fb, BC_MISSES] += 1
            elif cmd == PRE:
                bank_cnt[fb, BC_CONFL] += 1
            else:
                bank_cnt[fb, BC_HITS] += 1
        if cmd == ACT:
            if unit_open[u] >= 0:
                _flag(viol, st, V_ACT_OPEN, c, rid, unit_open[u], 0, 0, 0)
            else:
                if rk_st[k, K_OPEN] == 0:
                    rk_st[k, K_OPENSINCE] = c
                rk_st[k, K_OPEN] += 1
            unit_open[u] = row
            if rq >= 0:
                unit_holder[u] = rq
            sa_cnt[fb * nsa + sa, 1] += 1
            faw[k, rk_st[k, K_FAWN] & 3] = c
            rk_st[k, K_FAWN] += 1
        elif cmd == PRE:
            if unit_open[u] < 0:
                _flag(viol, st, V_PRE_CLOSED, c, rid, 0, 0, 0, 0)
            _close(prm, unit_open, unit_holder, rk_st, rk_cnt, viol, st, u, k, c, rid, rq)
        elif cmd >= RD and cmd <= WRA:
            if unit_open[u] < 0:
                _flag(viol, st, V_COL_CLOSED, c, rid, 0, 0, 0, 0)
            elif unit_open[u] != row:
                _flag(viol, st, V_COL_ROW, c, rid, unit_open[u], 0, 0, 0)
            auto = cmd == RDA or cmd == WRA
            if (prm[Q_CLOSED] != 0) != auto:
                _flag(viol, st, V_PAGE, c, rid, prm[Q_CLOSED], 0, 0, 0)
            if rq >= 0 and unit_holder[u] == rq:
                unit_holder[u] = -1
            if auto:
                _close(prm, unit_open, unit_holder, rk_st, rk_cnt, viol, st, u, k, c, rid, rq)
            is_r = cmd == RD or cmd == RDA
            start = c + (prm[Q_NCL] if is_r else prm[Q_NCWL])
            end = start + prm[Q_NBL]
            if end > st[S_END]:
                st[S_END] = end
            sa_cnt[fb * nsa + sa, 0] += 1
            if is_r:
                bank_cnt[fb, BC_READS] += 1
                ch_cnt[ch, CC_READS] += 1
                ch_cnt[ch, CC_LASTR] = c
            else:
                bank_cnt[fb, BC_WRITES] += 1
                ch_cnt[ch, CC_LASTW] = c
            if rq >= 0 and rq < served.shape[0] and served[rq] < 0:
                served[rq] = c
            # data bus: against the channel's recent bursts
            nring = ch_cnt[ch, CC_RING]
            lo = nring - RING if nring > RING else 0
            for jj in range(lo, nring):
                e = jj % RING
                s0 = ring[ch, e, 0]
                e0 = ring[ch, e, 1]
                k0 = ring[ch, e, 2]
                r0 = ring[ch, e, 3] != 0
                if k0 == k:
                    g01 = 0
                    g10 = 0
                elif prm[Q_R21] != 0:
                    g01 = prm[Q_GAP_RR] if (r0 and is_r) else (prm[Q_GAP_RW] if r0 else (
                        prm[Q_GAP_WR] if is_r else prm[Q_GAP_WW]))
                    g10 = prm[Q_GAP_RR] if (r0 and is_r) else (prm[Q_GAP_RW] if is_r else (
                        prm[Q_GAP_WR] if r0 else prm[Q_GAP_WW]))
                else:
                    g01 = prm[Q_GAP_RR]
                    g10 = prm[Q_GAP_RR]
                if not (start >= e0 + g01 or s0 >= end + g10):
                    _flag(viol, st, V_DATA_BUS, c, rid, ring[ch, e, 4], s0, e0, g01)
            e = nring % RING
            ring[ch, e, 0] = start
            ring[ch, e, 1] = end
            ring[ch, e, 2] = k
            ring[ch, e, 3] = 1 if is_r else 0
            ring[ch, e, 4] = c
            ch_cnt[ch, CC_RING] = nring + 1
        elif cmd == PREA:
            if not rk_st[k, K_PEND]:
                _flag(viol, st, V_NOT_PENDING, c, rid, 0, 0, 0, 0)
            if rk_st[k, K_OPEN] == 0:
                _flag(viol, st, V_PREA_CLOSED, c, rid, 0, 0, 0, 0)
            base = k * nbg * nbpg * upb
            for uu in range(base, base + nbg * nbpg * upb):
                if unit_open[uu] >= 0:
                    rk_cnt[k, RC_PREA_UNITS] += 1
                    _close(prm, unit_open, unit_holder, rk_st, rk_cnt, viol, st, uu, k, c, rid, -1)
        elif cmd == REF:
            if not rk_st[k, K_PEND]:
                _flag(viol, st, V_NOT_PENDING, c, rid, 1, 0, 0, 0)
            if rk_st[k, K_OPEN] > 0:
                _flag(viol, st, V_REF_OPEN, c, rid, rk_st[k, K_OPEN], 0, 0, 0)
            rk_st[k, K_PEND] = 0
            rk_st[k, K_SROK] = 1
        # record
        if u >= 0:
            unit_last[u, cmd] = c
            group_last[g, cmd] = c
        rank_last[k, cmd] = c
    st[S_ROW0] += rows.shape[0]


@njit(cache=True)
def forward_sources(req_addr, req_w, accept, served, order, out_ok):
    """For every request i not served by a command (served[i] < 0): out_ok[i] = 1 if an earlier
    write j < i to the same address has its column command at a cycle >= accept[i] (i could have
    been forwarded from / coalesced into it while j waited in the write queue). ``order``: request
    indices sorted by (address, index)."""
    n = order.shape[0]
    i = 0
    while i < n:
        j = i
        a = req_addr[order[i]]
        best = -1
        while j < n and req_addr[order[j]] == a:
            q = order[j]
            if served[q] < 0 and best >= accept[q]:
                out_ok[q] = 1
            if req_w[q] and served[q] > best:
                best = served[q]
            j += 1
        i = j
