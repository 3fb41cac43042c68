"""Raw counters every DRAM engine fills in; ``dramsim.stats`` turns them into statistics.

Both engines (simpy reference, numba fast path) produce exactly this structure, so
"identical statistics" means these arrays are equal element for element (and the optional
command logs are equal). Everything is plain numpy so the numba engine can fill it in place.

Index conventions: a *bank* index is flat over (channel, rank, bankgroup, bank-in-group),
``((ch * ranks + rk) * bankgroups + bg) * banks_per_group + ba``; a *rank* index is
``ch * ranks + rk``; a subarray index is ``bank_index * subarrays + sa``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from dramsim.commands import N_COMMANDS

#: Read latencies are histogrammed in cycles; the last bin counts every latency >= its index.
LATENCY_HIST_BINS = 4096


@dataclass
class RawCounters:
    n_channels: int
    n_ranks_total: int
    n_banks_total: int
    n_subarrays_total: int
    reads: np.ndarray             # [bank] int64, requests served (forwarded reads excluded)
    writes: np.ndarray            # [bank] int64
    row_hits: np.ndarray          # [bank] int64, classified at each request's first command
    row_misses: np.ndarray        # [bank] int64
    row_conflicts: np.ndarray     # [bank] int64
    subarray_accesses: np.ndarray  # [subarray] int64, column commands per subarray
    subarray_acts: np.ndarray     # [subarray] int64, ACTs per subarray
    commands: np.ndarray          # [rank, N_COMMANDS] int64, issued commands by type
    active_cycles: np.ndarray     # [rank] int64, cycles during which at least one bank was open
    forwarded_reads: np.ndarray   # [channel] int64, reads served from the write queue
    read_latency_sum: np.ndarray  # [channel] int64, cycles, arrival -> end of data burst
    read_latency_hist: np.ndarray  # [channel, LATENCY_HIST_BINS] int64
    queue_occupancy_sum: np.ndarray  # [channel] int64, sum over cycles of (read+write queue length)
    coalesced_writes: np.ndarray  # [channel] int64, writes absorbed by a queued write (r2.1)
    prea_closed_units: np.ndarray  # [rank] int64, units (banks; subarrays with masa) closed by PREAs
    pd_active_cycles: np.ndarray  # [rank] int64, cycles in active power-down (PDE..PDX, a unit open)
    pd_precharged_cycles: np.ndarray  # [rank] int64, cycles in precharge power-down
    sr_cycles: np.ndarray         # [rank] int64, self-refresh cycles after each stay's first nRFC
    last_column: np.ndarray       # [channel, 2] int64, cycle of the last read / write column command
    total_cycles: int = 0         # cycle at which the last request finished (== cycles to drain)

    @classmethod
    def zeros(cls, n_channels: int, ranks_per_channel: int, banks_per_rank: int, subarrays: int) -> "RawCounters":
        nr = n_channels * ranks_per_channel
        nb = nr * banks_per_rank
        ns = nb * subarrays
        z = lambda *shape: np.zeros(shape, dtype=np.int64)  # noqa: E731
        return cls(n_channels, nr, nb, ns,
                   reads=z(nb), writes=z(nb), row_hits=z(nb), row_misses=z(nb), row_conflicts=z(nb),
                   subarray_accesses=z(ns), subarray_acts=z(ns), commands=z(nr, N_COMMANDS),
                   active_cycles=z(nr), forwarded_reads=z(n_channels), read_latency_sum=z(n_channels),
                   read_latency_hist=z(n_channels, LATENCY_HIST_BINS), queue_occupancy_sum=z(n_channels),
                   coalesced_writes=z(n_channels), prea_closed_units=z(nr), pd_active_cycles=z(nr),
                   pd_precharged_cycles=z(nr), sr_cycles=z(nr),
                   last_column=np.full((n_channels, 2), -1, dtype=np.int64))

    def array_fields(self):
        return [f.name for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)]

    def equals(self, other: "RawCounters") -> bool:
        if self.total_cycles != other.total_cycles:
            return False
        return all(np.array_equal(getattr(self, n), getattr(other, n)) for n in self.array_fields())

    def differences(self, other: "RawCounters") -> list[str]:
        """Names of the fields that differ (for test failure messages)."""
        out = [] if self.total_cycles == other.total_cycles else [
            f"total_cycles {self.total_cycles} != {other.total_cycles}"]
        for n in self.array_fields():
            a, b = getattr(self, n), getattr(other, n)
            if not np.array_equal(a, b):
                idx = np.argwhere(a != b)[:3].tolist() if a.shape == b.shape else "shape"
                out.append(f"{n} differs at {idx}")
        return out
