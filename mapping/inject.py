"""Bit-error injection into stored weight words, bit-exact.

Given the stored words (the integer arrays produced by ``snn.formats.WeightFormat.encode``),
their DRAM locations (a ``mapping.layout.Layout``: per word channel, rank, bank group, bank,
subarray, row, burst column and bit offset in the 512-bit burst) and a
``dramsim.errors.FaultMap``, :func:`inject` returns the words as they read back: each word XOR the
mask of its failing bits. The per-bit decisions are made in numba by the fault map (hash per
cell, so only the cells that hold weights are ever evaluated); model 3 looks at the stored bit
values. Same fault map (seed) and, for transient maps, same ``read_index`` -> same result.

:func:`default_layout` is the contiguous baseline placement (word ``i`` at byte ``i * bytes``
from address 0, decoded with the ``RoBaRaCoCh`` address mapping) used when no policy layout is
given.
"""
from __future__ import annotations

import numpy as np

from dramsim.address import DEFAULT_SCHEME, AddressMapper
from dramsim.errors.fault_map import FaultMap
from mapping.guard import apply_guard
from mapping.layout import Layout, linear

_WORD_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def default_layout(spec, n_words: int, word_bits: int, shape=None, scheme: str = DEFAULT_SCHEME) -> Layout:
    """Words stored contiguously from address 0 under the ``scheme`` address mapping."""
    return linear(spec, int(n_words), int(word_bits), AddressMapper(spec, scheme), shape=shape)


def _check_words(words, layout) -> np.ndarray:
    w = np.asarray(words)
    if w.dtype.kind != "u":
        raise ValueError(f"stored words must be unsigned integers, got dtype {w.dtype}")
    bits = w.dtype.itemsize * 8
    if bits != layout.word_bits:
        raise ValueError(f"words are {bits}-bit but the layout places {layout.word_bits}-bit words")
    if w.size != layout.n_words:
        raise ValueError(f"{w.size} words for a layout of {layout.n_words} words")
    return w


def flip_masks(words, layout: Layout, fault_map: FaultMap, read_index: int = 0,
               bit_select: int | None = None) -> np.ndarray:
    """XOR masks (same dtype and shape as ``words``) of the bits that read flipped."""
    w = _check_words(words, layout)
    m = fault_map.flip_masks(layout, layout.word_bits, words=w, read_index=read_index,
                             bit_select=bit_select)
    return m.astype(w.dtype).reshape(w.shape)


def count_flipped_bits(masks) -> int:
    """Number of set bits in XOR masks (any unsigned dtype)."""
    masks = np.ascontiguousarray(masks)
    return int(np.unpackbits(masks.view(np.uint8)).sum()) if masks.size else 0


def inject(words, layout: Layout, fault_map: FaultMap, read_index: int = 0,
           bit_select: int | None = None) -> np.ndarray:
    """The words as read back from DRAM: ``words ^ flip_masks(...)`` (new array)."""
    w = _check_words(words, layout)
    return w ^ flip_masks(w, layout, fault_map, read_index, bit_select)


def read_back(fmt, words, masks, guard: str = "none") -> np.ndarray:
    """The weights the accelerator computes with after reading ``words`` of format ``fmt`` whose
    bits set in ``masks`` flipped: ``guard(decode(words ^ masks))`` as float32.

    This is the one path from stored words to usable weights: the tolerance analysis, the
    sweep, fault-aware training and :func:`read_weights` all go through it. ``masks=None``
    means an error-free read.
    """
    words = np.asarray(words)
    if masks is not None:
        words = words ^ np.asarray(masks, dtype=words.dtype)
    return apply_guard(fmt.decode(words), guard, fmt.w_max)


def read_weights(weights, fmt, layout: Layout, fault_map: FaultMap | None, guard: str = "none",
                 read_index: int = 0, bit_select: int | None = None) -> np.ndarray:
    """Store ``weights`` in format ``fmt``, read them back through the fault map, decode, guard.

    Returns float32 weights of the same shape. ``fault_map=None`` means an error-free read.
    """
    words = fmt.encode(np.asarray(weights, dtype=np.float32))
    masks = None if fault_map is None else flip_masks(words, layout, fault_map, read_index, bit_select)
    return read_back(fmt, words, masks, guard)
