"""Fast DRAM engine: numba kernels implementing docs/controller.md exactly, streaming-capable.

``run(spec, config, requests, command_log)`` has the same signature and results as
``dramsim.engine_simpy.run``: identical ``RawCounters`` and command logs (tests/test_engine_diff.py).
For traces that do not fit in memory, feed chunks to a :class:`FastEngine`::

    eng = FastEngine(spec, config)            # command_log=True to also get the log
    for chunk in chunks:                      # DecodedRequests, in trace order
        eng.feed(chunk)
    counters, log = eng.finish()

or ``run_chunks(spec, config, iterable_of_chunks)``. State persists across chunks, so any
chunking gives the same result as one call. Memory is fixed (queues, banks, counters) plus the
chunk being fed, plus the command log if asked for. Work goes to numba one chunk at a time.

The kernels (dramsim/_fast_kernel.py) are compiled on first use and cached on disk by numba;
:func:`warmup` does that ahead of time and returns the seconds it took (about half a minute
the first time on one core, well under a second from the cache).
"""
from __future__ import annotations

import time
from typing import Iterable

import numpy as np

from dramsim import _fast_kernel as K
from dramsim import commands as C
from dramsim.commands import COMMAND_LOG_DTYPE
from dramsim.config import ControllerConfig, check_config
from dramsim.counters import LATENCY_HIST_BINS, RawCounters
from dramsim.requests import DecodedRequests
from dramsim.spec import DramSpec

assert (C.ACT, C.PRE, C.PREA, C.RD, C.WR, C.RDA, C.WRA, C.REF, C.PDE, C.PDX, C.SRE, C.SRX, C.N_COMMANDS) == \
    (K.ACT, K.PRE, K.PREA, K.RD, K.WR, K.RDA, K.WRA, K.REF, K.PDE, K.PDX, K.SRE, K.SRX, K.N_COMMANDS)

_SCHED = {"fcfs": K.SCHED_FCFS, "frfcfs": K.SCHED_FRFCFS, "frfcfs_cap": K.SCHED_CAP}



def sparse_constraints(lat: np.ndarray) -> np.ndarray:
    """cons[level, cmd] = (count, kind, latency, kind, latency, ...) of ``lat``'s real entries."""
    # the kernel reads a PRE's readiness from the unit level only
    assert np.all(lat[K.LV_UNIT + 1:, :, K.K_PRE] == K.NO_CONSTRAINT), "PRE constrained above the unit level"
    cons = np.zeros(lat.shape[:2] + (1 + 2 * K.N_KINDS,), dtype=np.int64)
    for level in range(lat.shape[0]):
        for cmd in range(lat.shape[1]):
            kinds = [f for f in range(K.N_KINDS) if lat[level, cmd, f] != K.NO_CONSTRAINT]
            cons[level, cmd, 0] = len(kinds)
            for j, f in enumerate(kinds):
                cons[level, cmd, 1 + 2 * j], cons[level, cmd, 2 + 2 * j] = f, lat[level, cmd, f]
    return cons


def constraint_table(spec: DramSpec, config: ControllerConfig = ControllerConfig()) -> np.ndarray:
    """lat[level, preceding command, following kind] in cycles (docs/controller.md, "Timing
    constraints", read as its Clarifications 1 and 8 say), for ``config``'s controller variant
    and power management.

    Levels: same unit (bank, or subarray with MASA), same bank group, same rank, other rank of
    the same channel (a channel-wide rule is entered at the rank and the other-rank level).
    Missing entries are ``NO_CONSTRAINT``. nFAW is handled separately; the PRE latency after a
    power-down / self-refresh exit is applied by the kernel when the rank wakes (PRE is only
    constrained at the unit level).
    """
    t = spec.timing
    lat = np.full((K.N_LEVELS, C.N_COMMANDS, K.N_KINDS), K.NO_CONSTRAINT, dtype=np.int64)
    rd, wr = (C.RD, C.RDA), (C.WR, C.WRA)

    def add(level, preceding, following, n):
        for p in preceding:
            for f in following:
                lat[level, p, f] = max(lat[level, p, f], n)

    wr_to_pre = t.nCWL + t.nBL + t.nWR
    # same unit
    add(K.LV_UNIT, [C.ACT], [K.K_ACT], t.nRC)
    add(K.LV_UNIT, [C.ACT], [K.K_RD, K.K_WR], t.nRCD)
    add(K.LV_UNIT, [C.ACT], [K.K_PRE], t.nRAS)
    add(K.LV_UNIT, [C.PRE], [K.K_ACT], t.nRP)
    add(K.LV_UNIT, [C.RD], [K.K_PRE], t.nRTP)
    add(K.LV_UNIT, [C.WR], [K.K_PRE], wr_to_pre)
    add(K.LV_UNIT, [C.RDA], [K.K_ACT], t.nRTP + t.nRP)
    add(K.LV_UNIT, [C.WRA], [K.K_ACT], wr_to_pre + t.nRP)
    # same rank (every bank group)
    add(K.LV_RANK, [C.ACT], [K.K_ACT], t.nRRD_S)
    add(K.LV_RANK, rd, [K.K_RD], t.nCCD_S)
    add(K.LV_RANK, wr, [K.K_WR], t.nCCD_S)
    add(K.LV_RANK, rd, [K.K_WR], t.nCL + t.nBL + 2 - t.nCWL)
    add(K.LV_RANK, wr, [K.K_RD], t.nCWL + t.nBL + t.nWTR_S)
    add(K.LV_RANK, [C.ACT], [K.K_PREA], t.nRAS)
    add(K.LV_RANK, [C.RD], [K.K_PREA], t.nRTP)
    add(K.LV_RANK, [C.WR], [K.K_PREA], wr_to_pre)
    add(K.LV_RANK, [C.PRE, C.PREA], [K.K_REF], t.nRP)
    add(K.LV_RANK, [C.RDA], [K.K_REF], t.nRTP + t.nRP)
    add(K.LV_RANK, [C.WRA], [K.K_REF], wr_to_pre + t.nRP)
    add(K.LV_RANK, [C.ACT], [K.K_REF], t.nRC)        # Clarifications, item 8
    add(K.LV_RANK, [C.REF], [K.K_ACT, K.K_REF], t.nRFC)
    add(K.LV_RANK, [C.PREA], [K.K_ACT], t.nRP)
    # same bank group
    add(K.LV_BG, [C.ACT], [K.K_ACT], t.nRRD_L)
    add(K.LV_BG, rd, [K.K_RD], t.nCCD_L)
    add(K.LV_BG, wr, [K.K_WR], t.nCCD_L)
    add(K.LV_BG, wr, [K.K_RD], t.nCWL + t.nBL + t.nWTR_L)
    # other rank, same channel
    if config.r21:
        # Ramulator 2.1 (python/ramulator/dram/ddr3.py, ddr4.py): channel RD->RD, WR->WR nBL;
        # sibling rank RD->RD/WR nBL + nCS, WR->RD nCWL + nBL + nCS - nCL (nCS = our nRTRS)
        for level in (K.LV_RANK, K.LV_SIB):
            add(level, rd, [K.K_RD], t.nBL)
            add(level, wr, [K.K_WR], t.nBL)
        add(K.LV_SIB, rd, [K.K_RD, K.K_WR], t.nBL + t.nRTRS)
        add(K.LV_SIB, wr, [K.K_RD], t.nCWL + t.nBL + t.nRTRS - t.nCL)
    else:
        add(K.LV_SIB, rd, [K.K_RD], t.nBL + t.nRTRS)
        add(K.LV_SIB, wr, [K.K_WR], t.nBL + t.nRTRS)
        add(K.LV_SIB, rd, [K.K_WR], t.nCL + t.nBL + t.nRTRS - t.nCWL)
        add(K.LV_SIB, wr, [K.K_RD], t.nCWL + t.nBL + t.nRTRS - t.nCL)
    if config.power_management:
        # power-down / self-refresh entry waits for the rank's operations (docs/controller.md)
        low = [K.K_PDE, K.K_SRE]
        add(K.LV_RANK, [C.ACT], low, t.nRC)
        add(K.LV_RANK, [C.PRE, C.PREA], low, t.nRP)
        add(K.LV_RANK, [C.RD], low, t.nCL + t.nBL + 1)
        add(K.LV_RANK, [C.RDA], low, max(t.nCL + t.nBL + 1, t.nRTP + t.nRP))
        add(K.LV_RANK, [C.WR], low, wr_to_pre)
        add(K.LV_RANK, [C.WRA], low, wr_to_pre + t.nRP)
        add(K.LV_RANK, [C.REF], low, t.nRFC)
        add(K.LV_RANK, [C.PDE], [K.K_PDX], t.nCKE)
        add(K.LV_RANK, [C.PDX], [K.K_ACT, K.K_RD, K.K_WR, K.K_PREA, K.K_REF] + low, t.nXP)
        if config.self_refresh_idle is not None:
            add(K.LV_RANK, [C.SRE], [K.K_SRX], t.nCKESR)
            add(K.LV_RANK, [C.SRX], [K.K_ACT, K.K_PREA, K.K_REF] + low, t.nXS)
            add(K.LV_RANK, [C.SRX], [K.K_RD, K.K_WR], t.nXSDLL)
    return lat


_COORDS = ("channel", "rank", "bankgroup", "bank", "subarray", "row", "column")


def _coordinate_limits(spec: DramSpec) -> np.ndarray:
    """Exclusive upper bound of each coordinate, in _COORDS order."""
    o = spec.org
    return np.array([o.channels, o.ranks, o.bankgroups, o.banks_per_group, o.subarrays, o.rows,
                     o.columns_per_row_bursts], dtype=np.int64)


class _Chunk:
    """The request arrays of one DecodedRequests in the dtypes the kernel is compiled for, and
    each request's unit (flat bank, or flat subarray with MASA).

    The kernel does no bounds checking, so every coordinate is range-checked here first
    (ValueError naming the first bad request, by trace index, and field).
    """

    def __init__(self, requests: DecodedRequests | None = None, spec: DramSpec | None = None, base: int = 0,
                 masa: bool = False):
        if requests is None:
            z = np.zeros(0, dtype=np.int32)
            self.arrays = (np.zeros(0, np.int64), np.zeros(0, np.bool_), np.zeros(0, np.int64), z,
                           np.zeros(0, np.int64), z, z, z)
            return
        n = len(requests)
        limits = _coordinate_limits(spec)
        cols = []
        for name, limit in zip(_COORDS, limits):
            a = np.asarray(getattr(requests, name))
            if a.shape != (n,):
                raise ValueError(f"requests.{name}: expected {n} values, got shape {a.shape}")
            if a.dtype != np.int32 and n:
                if a.dtype.kind not in "iu":
                    raise ValueError(f"requests.{name}: integers expected, got dtype {a.dtype}")
                bad = (a < 0) | (a >= limit)        # before a narrowing cast could hide them
                if bad.any():
                    self._fail(spec, base, int(np.argmax(bad)), name, a)
            cols.append(np.ascontiguousarray(a, dtype=np.int32))
        for name in ("addr", "is_write", "arrive"):
            shape = np.shape(getattr(requests, name))
            if shape != (n,):
                raise ValueError(f"requests.{name}: expected {n} values, got shape {shape}")
        unit = np.empty(n, dtype=np.int64)
        where = K.prepare_chunk(*cols, limits, masa, unit)
        if where >= 0:
            i, f = divmod(int(where), 8)
            self._fail(spec, base, i, _COORDS[f], cols[f])
        # addresses are < 2**63: the kernel compares them as int64
        addr = np.ascontiguousarray(requests.addr, dtype=np.uint64).view(np.int64)
        self.arrays = (addr, np.ascontiguousarray(requests.is_write, dtype=np.bool_),
                       np.ascontiguousarray(requests.arrive, dtype=np.int64), cols[0], unit, cols[4], cols[5],
                       cols[6])

    @staticmethod
    def _fail(spec: DramSpec, base: int, i: int, name: str, values: np.ndarray):
        limit = _coordinate_limits(spec)[_COORDS.index(name)]
        raise ValueError(f"request {base + i}: {name} {int(values[i])} outside 0..{limit - 1} "
                         f"for {spec.name}")


def _state_tables(spec: DramSpec, config: ControllerConfig, capacity: int | None) -> list[np.ndarray]:
    """The kernel's state and counter arguments (everything but the chunk and ``final``),
    in run_kernel's order; see the table layouts in dramsim/_fast_kernel.py."""
    o, t = spec.org, spec.timing
    upb = o.subarrays if config.salp == "masa" else 1
    n_ranks = o.channels * o.ranks
    n_banks = n_ranks * o.banks
    n_units = n_banks * upb
    units_per_channel = n_units // o.channels
    # Slots: at most read_queue + write_queue + one per unit (A) per channel are in flight.
    if capacity is None:
        pool = o.channels * (config.read_queue + config.write_queue + units_per_channel) + 8
        acap = config.read_queue + config.write_queue + units_per_channel + 4
    else:                                 # tests: start tiny to exercise FastEngine._grow
        pool, acap = capacity, capacity
    i64 = lambda *shape, fill=0: np.full(shape, fill, dtype=np.int64)  # noqa: E731

    prm = i64(K.N_PARAMS)
    prm[K.P_CHANNELS], prm[K.P_RANKS], prm[K.P_BGS], prm[K.P_BPG] = o.channels, o.ranks, o.bankgroups, \
        o.banks_per_group
    prm[K.P_UPB], prm[K.P_SUBARRAYS], prm[K.P_MASA] = upb, o.subarrays, int(config.salp == "masa")
    prm[K.P_RQ], prm[K.P_WQ] = config.read_queue, config.write_queue
    prm[K.P_SCHED], prm[K.P_CAP] = _SCHED[config.scheduler], config.row_hit_cap
    prm[K.P_CLOSED] = int(config.page_policy == "closed")
    nrefi = config.nrefi(spec)
    prm[K.P_REFRESH], prm[K.P_NREFI] = int(config.refresh), nrefi
    prm[K.P_NCL], prm[K.P_NBL], prm[K.P_NCWL], prm[K.P_NFAW] = t.nCL, t.nBL, t.nCWL, t.nFAW
    prm[K.P_HIST] = LATENCY_HIST_BINS
    # No request waits this long for a command unless the controller is stuck (a bug): every
    # wait is bounded by a few refresh intervals and the longest timing constraint.
    prm[K.P_STALL] = 1000 * (nrefi + t.nRFC + t.nRC + t.nFAW + (t.nXSDLL or 0)) + (1 << 20)
    prm[K.P_R21], prm[K.P_PM] = int(config.r21), int(config.power_management)
    prm[K.P_PDI] = -1 if config.powerdown_idle is None else config.powerdown_idle
    prm[K.P_SRI] = -1 if config.self_refresh_idle is None else config.self_refresh_idle
    prm[K.P_NRFC], prm[K.P_NXP] = t.nRFC, t.nXP or 0
    prm[K.P_NXS], prm[K.P_NXSDLL] = t.nXS or 0, t.nXSDLL or 0
    fprm = np.array([config.write_high_watermark * config.write_queue,
                     config.write_low_watermark * config.write_queue], dtype=np.float64)

    sc = i64(K.N_SCALARS)
    sc[K.S_NEXT_REFI] = config.first_refresh_cycle(spec)
    sc[K.S_NFREE] = pool
    ut = i64(n_units, K.N_UF)
    ut[:, K.U_OPEN] = -1
    bank_of_unit = np.arange(n_units) // upb
    ut[:, K.U_RANK] = bank_of_unit // o.banks
    ut[:, K.U_BG] = bank_of_unit // o.banks_per_group
    ut[:, K.U_BANK] = bank_of_unit
    for q in range(2):
        for f in (K.QH, K.QT, K.QFH, K.QFN):
            ut[:, K.UQ + q * K.QSTRIDE + f] = -1
        for f in (K.QHI, K.QFHI, K.QFNI):
            ut[:, K.UQ + q * K.QSTRIDE + f] = K.INF
    ct = i64(o.channels, K.N_CF)
    ct[:, K.C_LQ] = -1
    rt = i64(n_ranks, K.N_RF)
    rt[:, K.R_SROK] = 1
    chc = i64(o.channels, K.N_CHF)
    chc[:, K.CH_LASTR] = chc[:, K.CH_LASTW] = -1
    return [sc, prm, fprm, sparse_constraints(constraint_table(spec, config)), ut,
            i64(n_ranks * o.bankgroups, K.N_KINDS),          # gt
            rt,                                              # rt
            i64(n_banks),                                    # bt (cap counters)
            ct, i64(o.channels, 2, units_per_channel),       # ct, actu
            i64(o.channels, 3 * acap),                       # aq
            i64(pool, K.N_SF), np.arange(pool - 1, -1, -1, dtype=np.int64),   # slt, free
            i64(K.MAX_RECORDED, 2),                          # rbuf
            i64(n_banks, K.N_BF), i64(n_banks * o.subarrays, 2), i64(n_ranks, K.N_RKF),
            chc, i64(o.channels, LATENCY_HIST_BINS)]


class FastEngine:
    """One simulation, fed in chunks (see the module docstring).

    ``log_block``: records per command-log buffer (drained to Python when full).
    """

    # positions in self._args
    _A_SC, _A_PRM, _A_RT, _A_AQ, _A_SLT, _A_FREE = 0, 1, 6, 10, 11, 12
    _A_BC, _A_SAC, _A_RKC, _A_CHC, _A_HIST, _A_LOG = 14, 15, 16, 17, 18, 19

    def __init__(self, spec: DramSpec, config: ControllerConfig, command_log: bool = False, *,
                 log_block: int = 1 << 16, _capacity: int | None = None):
        check_config(spec, config)
        self.spec, self.config, self.command_log = spec, config, command_log
        self._args = _state_tables(spec, config, _capacity)
        self._args[self._A_PRM][K.P_LOG] = int(command_log)
        log_rows = max(int(log_block), 1) if command_log else 1
        self._args.append(np.zeros((log_rows, K.LOG_COLUMNS), dtype=np.int64))
        self._sc = self._args[self._A_SC]
        self._log_parts: list[np.ndarray] = []
        self._counters: RawCounters | None = None
        self.n_fed = 0

    # -- buffers --------------------------------------------------------------------------
    def _grow(self) -> None:
        """Double the slot pool and the active-list capacity (only when started tiny)."""
        a = self._args
        slt, free, aq = a[self._A_SLT], a[self._A_FREE], a[self._A_AQ]
        old, new = len(free), 2 * len(free)
        slt2 = np.zeros((new, K.N_SF), dtype=np.int64)
        slt2[:old] = slt
        nfree = int(self._sc[K.S_NFREE])
        free2 = np.zeros(new, dtype=np.int64)
        free2[:nfree] = free[:nfree]
        free2[nfree:nfree + new - old] = np.arange(new - 1, old - 1, -1)
        self._sc[K.S_NFREE] = nfree + new - old
        aq2 = np.zeros((aq.shape[0], 2 * aq.shape[1]), dtype=np.int64)
        aq2[:, :aq.shape[1]] = aq
        a[self._A_SLT], a[self._A_FREE], a[self._A_AQ] = slt2, free2, aq2

    def _drain_log(self) -> None:
        n = int(self._sc[K.S_LOGN])
        if n:
            self._log_parts.append(self._args[self._A_LOG][:n].copy())
            self._sc[K.S_LOGN] = 0

    def _run(self, chunk: _Chunk, final: bool) -> None:
        while True:
            status = K.run_kernel(*self._args, *chunk.arrays, final)
            if status == K.ST_GROW:
                self._grow()
            elif status == K.ST_LOG_FULL:
                self._drain_log()
            elif status == K.ST_DEADLOCK:
                raise RuntimeError(f"fast engine: requests wait but no command can issue at cycle "
                                   f"{int(self._sc[K.S_CYCLE])} (controller deadlock; this is a bug)")
            else:
                return

    # -- public API -----------------------------------------------------------------------
    @property
    def evaluated_cycles(self) -> int:
        """Cycles the kernel actually evaluated (the others were jumped over)."""
        return int(self._sc[K.S_EVALS])

    def feed(self, requests: DecodedRequests) -> "FastEngine":
        """Simulate until the front end needs a request beyond this chunk (the next chunk
        continues the trace: its first request has trace index ``n_fed``)."""
        if self._counters is not None:
            raise RuntimeError("FastEngine.feed after finish()")
        n = len(requests)
        if n == 0:
            return self
        chunk = _Chunk(requests, self.spec, self.n_fed, self.config.salp == "masa")
        self._sc[K.S_FE] = 0
        self._run(chunk, False)
        self._sc[K.S_BASE] += n
        self.n_fed += n
        return self

    def finish(self) -> tuple[RawCounters, np.ndarray | None]:
        """Serve everything still queued; return (counters, command log or None)."""
        if self._counters is None:
            self._sc[K.S_FE] = 0
            self._run(_Chunk(), True)
            self._drain_log()
            self._counters = self._raw_counters()
        return self._counters, (self._log() if self.command_log else None)

    def _raw_counters(self) -> RawCounters:
        o, a = self.spec.org, self._args
        sc, rt = a[self._A_SC], a[self._A_RT]
        bc, sac, rkc, chc = a[self._A_BC], a[self._A_SAC], a[self._A_RKC], a[self._A_CHC]
        rc = RawCounters.zeros(o.channels, o.ranks, o.banks, o.subarrays)
        rc.reads[:], rc.writes[:] = bc[:, K.B_READS], bc[:, K.B_WRITES]
        rc.row_hits[:], rc.row_misses[:] = bc[:, K.B_HITS], bc[:, K.B_MISSES]
        rc.row_conflicts[:] = bc[:, K.B_CONFL]
        rc.subarray_accesses[:], rc.subarray_acts[:] = sac[:, K.SA_ACC], sac[:, K.SA_ACT]
        rc.commands[:] = rkc[:, :K.N_COMMANDS]
        rc.total_cycles = int(sc[K.S_TOTAL])
        # a unit still open at the end is open up to total_cycles
        still_open = rt[:, K.R_OPEN] > 0
        rc.active_cycles[:] = rkc[:, K.RK_ACTIVE] + np.where(still_open, rc.total_cycles - rt[:, K.R_SINCE],
                                                             0)
        rc.forwarded_reads[:], rc.read_latency_sum[:] = chc[:, K.CH_FWD], chc[:, K.CH_LAT]
        rc.queue_occupancy_sum[:] = chc[:, K.CH_OCC]
        rc.coalesced_writes[:] = chc[:, K.CH_COAL]
        rc.last_column[:, 0], rc.last_column[:, 1] = chc[:, K.CH_LASTR], chc[:, K.CH_LASTW]
        rc.prea_closed_units[:] = rkc[:, K.RK_PREA_UNITS]
        # a power-down / self-refresh state held at the end lasts up to total_cycles
        rest = np.maximum(rc.total_cycles - rt[:, K.R_PSINCE], 0)
        ps = rt[:, K.R_PSTATE]
        rc.pd_active_cycles[:] = rkc[:, K.RK_PDA] + np.where(ps == K.PS_PDA, rest, 0)
        rc.pd_precharged_cycles[:] = rkc[:, K.RK_PDP] + np.where(ps == K.PS_PDP, rest, 0)
        rc.sr_cycles[:] = rkc[:, K.RK_SR] + np.where(ps == K.PS_SR, np.maximum(rest - self.spec.timing.nRFC, 0), 0)
        rc.read_latency_hist[:] = a[self._A_HIST]
        return rc

    def _log(self) -> np.ndarray:
        raw = np.concatenate(self._log_parts) if self._log_parts else np.zeros((0, K.LOG_COLUMNS), np.int64)
        log = np.empty(len(raw), dtype=COMMAND_LOG_DTYPE)
        for i, name in enumerate(COMMAND_LOG_DTYPE.names):
            log[name] = raw[:, i]
        return log


_PROGRESS_PIECE = 1 << 20


def run(spec: DramSpec, config: ControllerConfig, requests: DecodedRequests,
        command_log: bool = False, progress=None) -> tuple[RawCounters, np.ndarray | None]:
    """Simulate ``requests`` and return (RawCounters, command log or None).

    ``progress``, if given, is called with the number of requests fed since its last call
    (the trace is then fed in pieces of 2**20 requests; the result is the same).
    """
    eng = FastEngine(spec, config, command_log)
    if progress is None:
        return eng.feed(requests).finish()
    for start in range(0, len(requests), _PROGRESS_PIECE):
        piece = requests.slice(start, start + _PROGRESS_PIECE)
        eng.feed(piece)
        progress(len(piece))
    return eng.finish()


def run_chunks(spec: DramSpec, config: ControllerConfig, chunks: Iterable[DecodedRequests],
               command_log: bool = False) -> tuple[RawCounters, np.ndarray | None]:
    """Simulate a trace given as an iterable of DecodedRequests chunks (in trace order)."""
    eng = FastEngine(spec, config, command_log)
    for chunk in chunks:
        eng.feed(chunk)
    return eng.finish()


def warmup() -> float:
    """Compile (or load from numba's cache) every kernel specialisation; returns seconds."""
    from dramsim.spec import Currents, Organization, Timing
    t0 = time.perf_counter()
    org = Organization(channels=1, ranks=2, bankgroups=2, banks_per_group=2, subarrays=2, rows=64, columns=64,
                       device_width=8, devices_per_rank=8, burst_length=8)
    timing = Timing(nBL=4, nCL=5, nCWL=4, nRCD=5, nRP=5, nRAS=12, nRC=17, nRTP=4, nWR=5, nRRD_S=3, nRRD_L=4,
                    nFAW=16, nCCD_S=4, nCCD_L=5, nWTR_S=3, nWTR_L=4, nRTRS=2, nRFC=40, nREFI=200)
    spec = DramSpec(name="warmup", org=org, timing=timing, tck_ns=1.0,
                    currents=Currents(1, 1, 1, 1, 1, 1), vdd_nominal=1.0, vdd=1.0)
    rng = np.random.default_rng(0)
    n = 64
    z = lambda hi: rng.integers(0, hi, n).astype(np.int32)  # noqa: E731
    row = z(64)
    req = DecodedRequests(addr=rng.integers(0, 8, n).astype(np.uint64) * 64, is_write=rng.random(n) < 0.3,
                          arrive=np.full(n, -1, np.int64), channel=np.zeros(n, np.int32), rank=z(2),
                          bankgroup=z(2), bank=z(2), subarray=(row // 32).astype(np.int32), row=row,
                          column=z(8))
    run(spec, ControllerConfig(salp="masa"), req, command_log=True)
    return time.perf_counter() - t0
