"""Decoded requests: what an engine consumes (one array per address field, trace order)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DecodedRequests:
    """Requests in trace order with their decoded DRAM coordinates.

    ``row`` includes the subarray bits (``subarray == row // rows_per_subarray``); ``column`` is
    in bursts. ``arrive`` is -1 for "offer as soon as possible". ``addr`` is the burst-aligned
    byte address (used for read-after-write forwarding). All arrays have equal length.
    """
    addr: np.ndarray       # uint64
    is_write: np.ndarray   # bool
    arrive: np.ndarray     # int64
    channel: np.ndarray    # int32
    rank: np.ndarray       # int32
    bankgroup: np.ndarray  # int32
    bank: np.ndarray       # int32, within its bank group
    subarray: np.ndarray   # int32
    row: np.ndarray        # int32
    column: np.ndarray     # int32

    def __len__(self) -> int:
        return len(self.addr)

    def flat_bank(self, ranks_per_channel: int, bankgroups: int, banks_per_group: int) -> np.ndarray:
        """Flat bank index as defined in dramsim/counters.py."""
        return (((self.channel.astype(np.int64) * ranks_per_channel + self.rank) * bankgroups
                 + self.bankgroup) * banks_per_group + self.bank)

    def slice(self, start: int, stop: int) -> "DecodedRequests":
        return DecodedRequests(**{k: getattr(self, k)[start:stop] for k in self.__dataclass_fields__})
