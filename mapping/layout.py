"""Where every stored weight word lives in DRAM.

A *layout* gives each stored weight word (word ``i`` of the flattened weight matrix, row-major
``[input][neuron]``) a DRAM location: channel, rank, bank group, bank (within its group),
subarray, row (within the bank, subarray bits included, as in ``dramsim.requests``), column
(burst index within the row) and ``bit_offset`` (position of the word's least-significant bit
inside the 512-bit burst; word ``k`` of a burst starts at bit ``k * word_bits``). Several words
share one burst (16 float32 words, 32 16-bit words or 64 8-bit words per 64-byte burst).

The per-word arrays are what ``mapping.inject`` uses to flip bits region by region, and what
``mapping.physical`` uses to turn a logical weight-access stream into physical requests.
Placement policies (``mapping.policies``) build layouts with ``layout_from_slots``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dramsim.spec import DramSpec

#: Coordinate arrays every layout carries, one entry per stored word.
COORD_FIELDS = ("channel", "rank", "bankgroup", "bank", "subarray", "row", "column")


class CapacityError(ValueError):
    """The weights do not fit in the DRAM (or in the part of it a policy may use)."""


def burst_bits(spec: DramSpec) -> int:
    return spec.org.burst_bytes * 8


def words_per_burst(spec: DramSpec, word_bits: int) -> int:
    """Words stored in one burst; the word size must divide the burst so no word straddles two."""
    bits = burst_bits(spec)
    if word_bits < 1 or bits % word_bits:
        raise ValueError(f"word size {word_bits} bits does not divide the {bits}-bit burst of {spec.name}")
    return bits // word_bits


def total_bursts(spec: DramSpec) -> int:
    """Burst slots in the whole memory (channels x ranks x banks x rows x bursts per row)."""
    o = spec.org
    return o.channels * o.ranks * o.banks * o.rows * o.columns_per_row_bursts


def bursts_needed(n_words: int, word_bits: int, spec: DramSpec) -> int:
    wpb = words_per_burst(spec, word_bits)
    return -(-int(n_words) // wpb)


@dataclass
class Layout:
    """Per-word DRAM locations of a stored weight array (see the module docstring)."""
    policy: str
    word_bits: int
    n_words: int
    shape: tuple[int, int]        # (rows, columns) of the weight matrix; n_words == rows * cols
    channel: np.ndarray           # int32 [n_words]
    rank: np.ndarray
    bankgroup: np.ndarray
    bank: np.ndarray              # within its bank group
    subarray: np.ndarray
    row: np.ndarray               # within the bank, subarray bits included
    column: np.ndarray            # burst index within the row
    bit_offset: np.ndarray        # int32, LSB position of the word within its 512-bit burst
    info: dict = field(default_factory=dict)  # policy report: capacity used/excluded, tolerable BER...

    def __post_init__(self):
        for name in COORD_FIELDS + ("bit_offset",):
            arr = getattr(self, name)
            if len(arr) != self.n_words:
                raise ValueError(f"layout field {name} has {len(arr)} entries for {self.n_words} words")

    def addresses(self, mapper) -> np.ndarray:
        """Burst-aligned byte address of each word's burst (uint64) through ``mapper.encode``."""
        return np.asarray(mapper.encode(self.channel, self.rank, self.bankgroup, self.bank,
                                        self.row, self.column), dtype=np.uint64)

    def burst_ids(self, spec: DramSpec) -> np.ndarray:
        """A dense integer naming each word's burst slot (equal id <=> same burst); int64."""
        o = spec.org
        fb = ((self.channel.astype(np.int64) * o.ranks + self.rank) * o.bankgroups
              + self.bankgroup) * o.banks_per_group + self.bank
        return (fb * o.rows + self.row) * o.columns_per_row_bursts + self.column

    def flat_bank(self, spec: DramSpec) -> np.ndarray:
        """Flat bank index as in dramsim/counters.py."""
        o = spec.org
        return (((self.channel.astype(np.int64) * o.ranks + self.rank) * o.bankgroups
                 + self.bankgroup) * o.banks_per_group + self.bank)

    def flat_subarray(self, spec: DramSpec) -> np.ndarray:
        """Flat subarray index as in dramsim/counters.py (bank_index * subarrays + sa)."""
        return self.flat_bank(spec) * spec.org.subarrays + self.subarray

    def bursts_used(self, spec: DramSpec) -> int:
        return int(np.unique(self.burst_ids(spec)).size)


def _check_shape(n_words: int, shape) -> tuple[int, int]:
    if shape is None:
        return (1, int(n_words))
    rows, cols = (int(shape[0]), int(shape[1]))
    if rows * cols != n_words:
        raise ValueError(f"weight shape {rows}x{cols} does not hold {n_words} words")
    return rows, cols


def layout_from_slots(spec: DramSpec, policy: str, n_words: int, word_bits: int, slots: dict,
                      shape=None, info: dict | None = None) -> Layout:
    """Fill burst slots in the given order: word ``i`` goes to slot ``i // words_per_burst``.

    ``slots`` maps each of channel, rank, bankgroup, bank, row, column to an integer array of
    at least ``bursts_needed`` entries (extra slots are left empty); subarray is derived from
    the row. Raises ``CapacityError`` when there are too few slots.
    """
    shape = _check_shape(n_words, shape)
    wpb = words_per_burst(spec, word_bits)
    need = bursts_needed(n_words, word_bits, spec)
    have = len(slots["row"])
    if need > have:
        raise CapacityError(
            f"{policy}: {n_words} words of {word_bits} bits need {need} bursts "
            f"({need * spec.org.burst_bytes} B) but only {have} bursts "
            f"({have * spec.org.burst_bytes} B) are available in {spec.name}")
    w = np.arange(n_words, dtype=np.int64)
    slot = w // wpb
    coords = {k: np.asarray(slots[k])[:need].astype(np.int32)[slot]
              for k in ("channel", "rank", "bankgroup", "bank", "row", "column")}
    coords["subarray"] = (coords["row"] // spec.org.rows_per_subarray).astype(np.int32)
    bit_offset = ((w % wpb) * word_bits).astype(np.int32)
    info = dict(info or {})
    info.setdefault("bursts_used", need)
    info.setdefault("bytes_used", need * spec.org.burst_bytes)
    return Layout(policy=policy, word_bits=int(word_bits), n_words=int(n_words), shape=shape,
                  bit_offset=bit_offset, info=info, **coords)


def linear(spec: DramSpec, n_words: int, word_bits: int, mapper, shape=None, base_addr: int = 0) -> Layout:
    """The baseline: words stored contiguously from ``base_addr`` in natural order.

    Byte address of word ``i`` is ``base_addr + i * word_bits / 8``; its DRAM location is
    whatever the address mapping (``mapper.decode``) makes of that address.
    """
    need = bursts_needed(n_words, word_bits, spec)  # also validates the word size
    bb = spec.org.burst_bytes
    if base_addr % bb:
        raise ValueError(f"base address {base_addr} is not aligned to the {bb}-byte burst")
    if base_addr // bb + need > total_bursts(spec):
        raise CapacityError(
            f"linear: {n_words} words of {word_bits} bits ({need * bb} B from address {base_addr}) "
            f"exceed the {spec.org.capacity_bytes} B of {spec.name}")
    addr = (np.uint64(base_addr) + np.arange(need, dtype=np.uint64) * np.uint64(bb))
    d = mapper.decode(addr, np.zeros(need, dtype=np.bool_), np.full(need, -1, dtype=np.int64))
    slots = {k: getattr(d, k) for k in ("channel", "rank", "bankgroup", "bank", "row", "column")}
    return layout_from_slots(spec, "linear", n_words, word_bits, slots, shape=shape,
                             info={"base_addr": int(base_addr)})
