"""Vectorised formatting of trace lines.

A line is a row of byte columns, each with a "keep" flag: a hex number is 0x plus 16 digit
columns whose leading zeros are not kept, a keyword is padded to the longest choice and the
padding not kept, an optional field is not kept on rows that lack it. Flattening the kept bytes
row by row (``matrix[keep]``) gives the text, with no Python object per line.
"""
import numpy as np

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_HEX_SHIFTS = np.arange(60, -1, -4, dtype=np.uint64)
_POW10 = np.array([10 ** k for k in range(19, -1, -1)], np.uint64)   # 20 digits: all of uint64


def _strip_leading_zeros(digits):
    keep = np.logical_or.accumulate(digits != 0, axis=1)
    keep[:, -1] = True                   # zero is written "0"
    return keep


def hex_number(values):
    """``0x``-prefixed lower-case hex of uint64 ``values``."""
    values = np.asarray(values, np.uint64)
    width = max(1, (int(values.max(initial=0)).bit_length() + 3) // 4)   # digits needed
    nibbles = (values[:, None] >> _HEX_SHIFTS[-width:]) & np.uint64(15)
    keep = _strip_leading_zeros(nibbles)
    prefix = np.broadcast_to(np.frombuffer(b"0x", np.uint8), (nibbles.shape[0], 2))
    return (np.hstack([prefix, _HEX_DIGITS[nibbles]]),
            np.hstack([np.ones(prefix.shape, np.bool_), keep]))


def dec_number(values):
    """Decimal text of non-negative integer ``values``."""
    values = np.asarray(values, np.uint64)
    width = len(str(int(values.max(initial=0))))                           # digits needed
    digits = (values[:, None] // _POW10[-width:]) % np.uint64(10)
    return (digits + np.uint64(48)).astype(np.uint8), _strip_leading_zeros(digits)


def literal(n, text):
    row = np.frombuffer(text.encode(), np.uint8)
    return np.broadcast_to(row, (n, row.size)), np.ones((n, row.size), np.bool_)


def keyword(flags, if_false, if_true):
    """``if_true`` where ``flags`` else ``if_false``."""
    width = max(len(if_false), len(if_true))
    words = np.zeros((2, width), np.uint8)
    keeps = np.zeros((2, width), np.bool_)
    for i, word in enumerate((if_false, if_true)):
        words[i, :len(word)] = np.frombuffer(word.encode(), np.uint8)
        keeps[i, :len(word)] = True
    index = np.asarray(flags, np.intp)
    return words[index], keeps[index]


def optional(piece, present):
    """``piece`` only on rows where ``present``."""
    matrix, keep = piece
    return matrix, keep & np.asarray(present, np.bool_)[:, None]


def join(*pieces):
    """Bytes of the lines made of ``pieces`` (each a (matrix, keep) pair)."""
    matrix = np.hstack([p[0] for p in pieces])
    keep = np.hstack([p[1] for p in pieces])
    return matrix[keep].tobytes()


def encode_native(r):
    n = r.size
    has_cycle = r["arrive"] >= 0
    return join(optional(dec_number(np.maximum(r["arrive"], 0)), has_cycle),
                optional(literal(n, " "), has_cycle),
                hex_number(r["addr"]), literal(n, " "),
                keyword(r["is_write"], "R", "W"), literal(n, "\n"))


def encode_ramulator(r):
    n = r.size
    return join(hex_number(r["addr"]), literal(n, " "),
                keyword(r["is_write"], "R", "W"), literal(n, "\n"))


def encode_dramsim3(r):
    n = r.size
    return join(hex_number(r["addr"]), literal(n, " "),
                keyword(r["is_write"], "READ", "WRITE"), literal(n, " "),
                dec_number(np.maximum(r["arrive"], 0)), literal(n, "\n"))


def encode_ramulator2(r):
    n = r.size
    return join(keyword(r["is_write"], "LD", "ST"), literal(n, " "),
                hex_number(r["addr"]), literal(n, "\n"))


def encode_logical(r):
    n = r.size
    pieces = []
    for name in ("time_ns", "row", "first_word", "n_words", "image"):
        pieces += [dec_number(r[name]), literal(n, " ")]
    pieces[-1] = literal(n, "\n")
    return join(*pieces)
