"""Fast parsing of whitespace-separated trace text, with an exact per-line fallback.

Every text format here is a `Layout`: for each number of fields a data line may have, what each
field means. `scan_block` parses a block of whole lines with numpy alone (no Python object per
line): it blanks ``#`` comments, finds the tokens, and converts every field column at once.
Lines that the vectorised pass cannot vouch for (malformed ones, and merely unusual ones such
as 20-digit decimals) are handed to `Layout.parse_line`, the small readable reference parser,
which either accepts them or names the bad field. Both paths use the same `Field` objects, and a
test checks that they agree on random lines, so the error message never depends on the path.
"""
import re

import numpy as np

_NL, _HASH, _SPACE = 10, 35, 32
_WHITESPACE = b" \t\n\v\f\r"          # ASCII only, in both paths
_IS_WS = np.zeros(256, np.bool_)
_IS_WS[list(_WHITESPACE)] = True
_DIGIT = np.full(256, 255, np.uint8)   # byte -> digit value (255 = not a digit)
for _i, _c in enumerate(b"0123456789abcdef"):
    _DIGIT[_c] = _i
    _DIGIT[bytes([_c]).upper()[0]] = _i
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32
_TOKEN_RE = re.compile(rb"[^ \t\n\v\f\r]+")
_HEX_RE = re.compile(rb"0[xX][0-9a-fA-F]+")
_DEC_RE = re.compile(rb"[0-9]+")


class FieldError(Exception):
    """A field (or the field count) of one line is invalid; ``reason`` is the message."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class LineError(Exception):
    """Raised by `scan_block`: ``line_index`` (0-based, within the block) is malformed."""

    def __init__(self, line_index, reason):
        super().__init__(f"{line_index}: {reason}")
        self.line_index = line_index
        self.reason = reason


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7f]}


def show(token):
    """Token bytes as they appear in messages: UTF-8 text, anything else (invalid bytes, control
    characters such as NUL) as ``\\xNN``, so the message stays one visible line."""
    return token.decode("utf-8", "backslashreplace").translate(_CONTROL)


def _digit_values(a, start, ndig, base):
    """Values of the digit strings ``a[start:start+ndig]`` (vectorised) and whether all digits
    are valid in ``base`` (per row or one for all). Callers keep ``ndig`` small enough that
    uint64 cannot overflow."""
    val = np.zeros(start.size, np.uint64)
    ok = np.ones(start.size, np.bool_)
    if start.size == 0:
        return val, ok
    last = a.size - 1                    # always a newline: a harmless index for idle lanes
    base = np.asarray(base, np.uint64)
    for k in range(int(ndig.max())):     # Horner's rule, one digit column at a time
        active = ndig > k
        d = _DIGIT[a[np.where(active, start + k, last)]]
        ok &= ~active | (d < base)
        val = np.where(active, val * base + d, val)
    return val, ok


class AddressField:
    """A 64-bit byte address: ``0x``-prefixed hexadecimal or plain decimal."""

    def __init__(self, name="addr", label="address"):
        self.name, self.label = name, label

    def parse(self, tok):
        if _HEX_RE.fullmatch(tok):
            value = int(tok[2:], 16)
        elif _DEC_RE.fullmatch(tok):
            value = int(tok)
        else:
            raise FieldError(f"bad {self.label} '{show(tok)}' (expected 0x-hex or decimal)")
        if value >= 1 << 64:
            raise FieldError(f"bad {self.label} '{show(tok)}' (does not fit in 64 bits)")
        return value

    def parse_vec(self, a, start, length):
        second = _UPPER[a[np.minimum(start + 1, a.size - 1)]]
        is_hex = (length >= 2) & (a[start] == ord("0")) & (second == ord("X"))
        offset = np.where(is_hex, 2, 0)
        ndig = length - offset
        fits = (ndig >= 1) & (ndig <= np.where(is_hex, 16, 19))   # no uint64 overflow
        val, ok = _digit_values(a, start + offset, np.where(fits, ndig, 0),
                                np.where(is_hex, 16, 10))
        return val, ok & fits


class IntField:
    """A decimal integer in ``[min_value, max_value]`` (no sign, no base prefix)."""

    def __init__(self, name, label, max_value, min_value=0):
        self.name, self.label = name, label
        self.min_value, self.max_value = min_value, max_value

    def parse(self, tok):
        if not _DEC_RE.fullmatch(tok):
            raise FieldError(f"bad {self.label} '{show(tok)}' (expected a non-negative decimal "
                             f"integer)")
        value = int(tok)
        if not self.min_value <= value <= self.max_value:
            raise FieldError(f"bad {self.label} '{show(tok)}' (must be in "
                             f"[{self.min_value}, {self.max_value}])")
        return value

    def parse_vec(self, a, start, length):
        fits = length <= 18
        val, ok = _digit_values(a, start, np.where(fits, length, 0), 10)
        ok &= fits & (val >= np.uint64(self.min_value)) & (val <= np.uint64(self.max_value))
        return val, ok


class WordField:
    """One of a few keywords (case-insensitive), each standing for a value."""

    def __init__(self, name, label, words):
        self.name, self.label = name, label
        self.words = {w.upper().encode(): v for w, v in words.items()}
        self.expect = " or ".join(words)

    def parse(self, tok):
        value = self.words.get(tok.upper())
        if value is None:
            raise FieldError(f"bad {self.label} field '{show(tok)}' (expected {self.expect})")
        return value

    def parse_vec(self, a, start, length):
        val = np.zeros(start.size, np.int64)
        ok = np.zeros(start.size, np.bool_)
        last = a.size - 1
        for word, value in self.words.items():
            match = length == len(word)
            for j, ch in enumerate(word):
                match &= _UPPER[a[np.minimum(start + j, last)]] == ch
            ok |= match
            val[match] = value
        return val, ok


class Layout:
    """A text format: ``shapes`` maps a field count to the fields of such a line."""

    def __init__(self, name, shapes, dtype, defaults, expect):
        self.name, self.shapes, self.dtype = name, shapes, np.dtype(dtype)
        self.defaults, self.expect = defaults, expect

    def parse_line(self, line):
        """Reference parser of one line (bytes, comment allowed): None for a blank or comment
        line, else a dict field -> value; raises FieldError naming the bad field."""
        tokens = _TOKEN_RE.findall(line.split(b"#", 1)[0])
        if not tokens:
            return None
        fields = self.shapes.get(len(tokens))
        if fields is None:
            raise FieldError(f"expected {self.expect}, got {len(tokens)} field(s)")
        record = dict(self.defaults)
        for field, tok in zip(fields, tokens):
            record[field.name] = field.parse(tok)
        return record


def _blank_comments(a, newlines):
    """Copy of ``a`` with every ``#``-to-end-of-line stretch replaced by spaces."""
    hashes = np.flatnonzero(a == _HASH)
    if hashes.size == 0:
        return a
    a = a.copy()
    lines, first = np.unique(np.searchsorted(newlines, hashes), return_index=True)
    edge = np.zeros(a.size + 1, np.int8)
    edge[hashes[first]] = 1              # at most one comment start per line ...
    edge[newlines[lines]] = -1           # ... and it ends at that line's newline
    a[np.cumsum(edge[:-1], dtype=np.int32) > 0] = _SPACE
    return a


def scan_block(buf, layout, lines=False):
    """Parse ``buf`` (bytes of whole lines; the last newline may be missing) with ``layout``.

    Returns ``(records, n_lines)``: one record per data line, in order, and the number of
    physical lines in ``buf`` (``lines=True``: also the 0-based line of each record). Raises
    `LineError` for the first malformed line.
    """
    if not buf:
        empty = np.empty(0, layout.dtype), 0
        return empty + (np.empty(0, np.intp),) if lines else empty
    a = np.frombuffer(buf, np.uint8)
    if a[-1] != _NL:
        a = np.append(a, np.uint8(_NL))
    newlines = np.flatnonzero(a == _NL)
    a = _blank_comments(a, newlines)
    # a token starts or ends where "is token byte" flips; starts and ends alternate
    bounds = np.flatnonzero(np.diff(~_IS_WS[a], prepend=False, append=False))
    starts, ends = bounds[0::2], bounds[1::2]
    lengths = ends - starts
    counts = np.bincount(np.searchsorted(newlines, starts), minlength=newlines.size)
    data_lines = np.flatnonzero(counts)
    first_token = (np.cumsum(counts) - counts)[data_lines]
    n_fields = counts[data_lines]

    records = np.zeros(data_lines.size, layout.dtype)
    for name, value in layout.defaults.items():
        records[name] = value
    suspect = np.ones(data_lines.size, np.bool_)   # lines of no known shape stay suspect
    for count, fields in layout.shapes.items():
        rows = np.flatnonzero(n_fields == count)
        if rows.size == 0:
            continue
        good = np.ones(rows.size, np.bool_)
        for j, field in enumerate(fields):
            tok = first_token[rows] + j
            values, ok = field.parse_vec(a, starts[tok], lengths[tok])
            records[field.name][rows] = values
            good &= ok
        suspect[rows] = ~good

    for row in np.flatnonzero(suspect):   # exact path: accept, or name the bad field
        line = data_lines[row]
        lo = newlines[line - 1] + 1 if line else 0
        try:
            record = layout.parse_line(buf[lo:newlines[line]])
        except FieldError as err:
            raise LineError(int(line), err.reason) from None
        for name, value in record.items():
            records[name][row] = value
    if lines:
        return records, int(newlines.size), data_lines
    return records, int(newlines.size)
