"""How weights are stored as words in DRAM: the bit patterns mapping/ places and bit errors flip.

* ``fp32`` (default, as in SparkXD): each weight is one IEEE-754 binary32 word, kept as uint32.
  Encoding is the bit reinterpretation of the float32 value, so it is exact and keeps any value.
* ``q16`` / ``q8``: unsigned fixed point over ``[0, w_max]`` with ``w_max = 1.0`` (the clip bound
  of the STDP rule): word ``k`` stands for ``k * w_max / (2**bits - 1)``, so 0 and ``w_max`` are
  both exact.  Encoding saturates values to ``[0, w_max]`` and rounds to the nearest word
  (ties to even, ``np.rint``), so the value error is at most half a quantum
  ``w_max / (2**bits - 1) / 2``; NaN cannot be encoded and raises ``ValueError``.

``decode`` accepts every bit pattern of the word type -- corrupted words included -- and never
raises or sanitises: a flipped fp32 exponent bit yields the inf/NaN/huge value it encodes
(clamping such values is the job of the error guard elsewhere).  ``encode(decode(w)) == w``
holds for every word ``w`` (for fp32 bit-exactly, NaN payloads included).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

W_MAX = 1.0


def _contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` itself when C-contiguous (views need that), else a contiguous copy; keeps 0-d shape."""
    return a if a.flags.c_contiguous else a.copy()


@dataclass(frozen=True)
class WeightFormat:
    """A weight storage format: ``bits`` per word, words of ``word_dtype``, values in [0, w_max]."""
    name: str
    bits: int
    word_dtype: np.dtype
    w_max: float
    kind: str  # "float" (bit reinterpretation) or "fixed" (unsigned fixed point)

    @property
    def quantum(self) -> float:
        """Value step between adjacent words (0 for the float format, whose step varies)."""
        return 0.0 if self.kind == "float" else self.w_max / ((1 << self.bits) - 1)

    def _words(self, words) -> np.ndarray:
        """``words`` as an array of ``word_dtype``; integers of another type must fit exactly."""
        words = np.asarray(words)
        if words.dtype == self.word_dtype:
            return words
        if words.dtype.kind not in "uib":
            raise ValueError(f"{self.name} words must be integers, got dtype {words.dtype}")
        info = np.iinfo(self.word_dtype)
        if words.size and (words.min() < info.min or words.max() > info.max):
            raise ValueError(f"{self.name} words must lie in 0..{info.max}")
        return words.astype(self.word_dtype)

    def encode(self, weights) -> np.ndarray:
        """float weights -> words of ``word_dtype`` (same shape)."""
        weights = np.asarray(weights)
        if self.kind == "float":
            return _contiguous(weights.astype(np.float32, copy=False)).view(np.uint32)
        w = weights.astype(np.float64)
        if np.isnan(w).any():
            raise ValueError(f"{self.name}: cannot encode NaN weights")
        scale = ((1 << self.bits) - 1) / self.w_max
        return np.rint(np.clip(w, 0.0, self.w_max) * scale).astype(self.word_dtype)

    def decode(self, words) -> np.ndarray:
        """words (any bit pattern) -> float32 weights (same shape)."""
        words = self._words(words)
        if self.kind == "float":
            return _contiguous(words).view(np.float32)
        return (words.astype(np.float64) * self.quantum).astype(np.float32)

    def snap(self, weights) -> np.ndarray:
        """The float32 values the format actually stores for ``weights`` (decode of encode)."""
        return self.decode(self.encode(weights))


FORMATS: dict[str, WeightFormat] = {
    "fp32": WeightFormat("fp32", 32, np.dtype(np.uint32), W_MAX, "float"),
    "q16": WeightFormat("q16", 16, np.dtype(np.uint16), W_MAX, "fixed"),
    "q8": WeightFormat("q8", 8, np.dtype(np.uint8), W_MAX, "fixed"),
}
DEFAULT_FORMAT = "fp32"


def get_format(name: str) -> WeightFormat:
    """The registered format called ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown weight format {name!r}; known: {', '.join(FORMATS)}") from None
