"""Physical address <-> DRAM coordinates, by bit slicing (as Ramulator's address mappings).

A scheme names the address fields from the most significant bit down, e.g. ``RoBaRaCoCh``
(the default): row bits on top, channel bits just above the burst offset. Fields:
``Ch`` channel, ``Ra`` rank, ``Bg`` bank group, ``Ba`` bank (within its group), ``Ro`` row,
``Co`` column (in bursts). The lowest ``log2(burst_bytes)`` bits are the byte offset inside one
burst and are ignored. The subarray is the top ``log2(subarrays)`` bits of the row.

``Bg`` may be left out of a scheme: for devices with one bank group it is then always 0; for
devices with bank groups (DDR4) its bits are placed just below ``Ba``'s.
Every field's width is ``log2`` of its count (all counts are powers of two, checked by the spec
loader), so the mapping is a bijection between ``[0, capacity)`` and the coordinates.
"""
from __future__ import annotations

import re

import numpy as np

from dramsim.requests import DecodedRequests
from dramsim.spec import DramSpec

FIELDS = ("Ch", "Ra", "Bg", "Ba", "Ro", "Co")
DEFAULT_SCHEME = "RoBaRaCoCh"
#: DecodedRequests attribute of each field.
_ATTR = {"Ch": "channel", "Ra": "rank", "Bg": "bankgroup", "Ba": "bank", "Ro": "row", "Co": "column"}


class AddressError(ValueError):
    """An address (or coordinate) cannot be mapped; the message names the first bad index."""


def parse_scheme(scheme: str) -> tuple[str, ...]:
    """Field order of ``scheme``, most significant first, with ``Bg`` inserted if omitted.

    ValueError for an unknown field, a repeated field or a missing one.
    """
    tokens = re.findall(r"[A-Z][a-z]", scheme)
    if "".join(tokens) != scheme or not tokens:
        raise ValueError(f"address scheme {scheme!r}: expected a sequence of the fields "
                         f"{', '.join(FIELDS)} (e.g. {DEFAULT_SCHEME})")
    unknown = [t for t in tokens if t not in FIELDS]
    if unknown:
        raise ValueError(f"address scheme {scheme!r}: unknown field {unknown[0]!r}; "
                         f"fields are {', '.join(FIELDS)}")
    repeated = sorted({t for t in tokens if tokens.count(t) > 1})
    if repeated:
        raise ValueError(f"address scheme {scheme!r}: field {repeated[0]} appears twice")
    missing = [f for f in FIELDS if f != "Bg" and f not in tokens]
    if missing:
        raise ValueError(f"address scheme {scheme!r}: missing field(s) {', '.join(missing)}")
    if "Bg" not in tokens:
        # Just below Ba (Ba's bits are more significant); for 1 bank group Bg has 0 bits anyway.
        tokens.insert(tokens.index("Ba") + 1, "Bg")
    return tuple(tokens)


class AddressMapper:
    """Vectorised bit-slice mapping for one device spec and scheme.

    ``decode`` turns byte addresses into ``DecodedRequests``; ``encode`` is its exact inverse
    (returning burst-aligned addresses).
    """

    def __init__(self, spec: DramSpec, scheme: str = DEFAULT_SCHEME):
        org = spec.org
        self.spec = spec
        self.scheme = scheme
        self.order = parse_scheme(scheme)
        counts = {"Ch": org.channels, "Ra": org.ranks, "Bg": org.bankgroups, "Ba": org.banks_per_group,
                  "Ro": org.rows, "Co": org.columns_per_row_bursts}
        self.counts = counts
        self.widths = {f: int(c).bit_length() - 1 for f, c in counts.items()}
        self.offset_bits = int(org.burst_bytes).bit_length() - 1
        # Shift of each field: walk from the least significant field upwards.
        shifts, pos = {}, self.offset_bits
        for f in reversed(self.order):
            shifts[f] = pos
            pos += self.widths[f]
        self.shifts = shifts
        self.address_bits = pos
        self.capacity_bytes = 1 << pos
        assert self.capacity_bytes == org.capacity_bytes, "address bits must cover the capacity"
        self.row_subarray_shift = self.widths["Ro"] - (int(org.subarrays).bit_length() - 1)

    def describe(self) -> str:
        """Human-readable bit layout, most significant field first, e.g. ``Ro[33:18] ...``."""
        parts = []
        for f in self.order:
            w, s = self.widths[f], self.shifts[f]
            parts.append(f"{f}[{s + w - 1}:{s}]" if w else f"{f}[-]")
        return " ".join(parts) + f" offset[{self.offset_bits - 1}:0]"

    def decode(self, addr, is_write=None, arrive=None) -> DecodedRequests:
        """Decode byte addresses; ``is_write`` defaults to all reads, ``arrive`` to -1 (ASAP).

        AddressError if an address is at or beyond the capacity (naming the first such index).
        """
        a = np.asarray(addr)
        if a.ndim != 1:
            a = a.reshape(-1)
        if a.dtype.kind == "i" and a.size and int(a.min()) < 0:
            i = int(np.argmax(a < 0))
            raise AddressError(f"request {i}: negative address {int(a[i])}")
        if a.dtype.kind not in "iu":
            raise AddressError(f"addresses must be integers, got dtype {a.dtype}")
        a = a.astype(np.uint64, copy=False)
        n = a.size
        bad = a >= np.uint64(self.capacity_bytes)
        if bad.any():
            i = int(np.argmax(bad))
            raise AddressError(f"request {i}: address {int(a[i]):#x} is beyond the capacity "
                               f"{self.capacity_bytes:#x} ({self.capacity_bytes} bytes) of {self.spec.name}")
        out = {}
        for f in FIELDS:
            mask = np.uint64((1 << self.widths[f]) - 1)
            out[_ATTR[f]] = ((a >> np.uint64(self.shifts[f])) & mask).astype(np.int32)
        w = np.zeros(n, dtype=bool) if is_write is None else np.asarray(is_write, dtype=bool).reshape(-1)
        t = (np.full(n, -1, dtype=np.int64) if arrive is None
             else np.asarray(arrive, dtype=np.int64).reshape(-1))
        if w.size != n or t.size != n:
            raise AddressError(f"is_write ({w.size}) and arrive ({t.size}) must have one entry per "
                               f"address ({n})")
        aligned = a & ~np.uint64((1 << self.offset_bits) - 1)
        subarray = (out["row"] >> self.row_subarray_shift).astype(np.int32)
        return DecodedRequests(addr=aligned, is_write=w, arrive=t,
                               channel=out["channel"], rank=out["rank"], bankgroup=out["bankgroup"],
                               bank=out["bank"], subarray=subarray, row=out["row"], column=out["column"])

    def decode_records(self, records: np.ndarray) -> DecodedRequests:
        """Decode a ``traces.records.REQUEST_DTYPE`` array (fields addr, is_write, arrive)."""
        return self.decode(records["addr"], records["is_write"], records["arrive"])

    def encode(self, channel, rank, bankgroup, bank, row, column) -> np.ndarray:
        """Burst-aligned byte addresses of the given coordinates (arrays broadcast together).

        AddressError if a coordinate is outside its range (naming the first bad index).
        """
        given = [np.asarray(x) for x in (channel, rank, bankgroup, bank, row, column)]
        shape = np.broadcast_shapes(*(v.shape for v in given))
        addr = np.zeros(shape, dtype=np.uint64)
        for f, v in zip(FIELDS, given):        # one field at a time: one temporary, not six
            if v.size and (v.min() < 0 or v.max() >= self.counts[f]):
                v = np.broadcast_to(v, shape).astype(np.int64)
                bad = (v < 0) | (v >= self.counts[f])
                i = int(np.argmax(bad.reshape(-1)))
                raise AddressError(f"index {i}: {_ATTR[f]} {int(v.reshape(-1)[i])} "
                                   f"outside 0..{self.counts[f] - 1}")
            field = np.broadcast_to(v, shape).astype(np.uint64)
            field <<= np.uint64(self.shifts[f])
            addr |= field
        return addr
