"""numba kernels that parse and format command-log CSV rows (dramsim/cmdlog.py drives them).

A row is ``cycle,channel,rank,bankgroup,bank,subarray,row,column,command,request``: nine
integers and one command name (``ACT``, ``RD``, ...; case-insensitive when parsed). Rows are
parsed from a byte buffer into an int64 [n, 10] table (the command as its code), and formatted
from such a table into bytes, so that million-command logs move at memory speed.
"""
from __future__ import annotations

import numpy as np
from numba import njit

N_FIELDS = 10
CMD_FIELD = 8
#: Parse outcomes.
OK, ERR_FIELDS, ERR_INT, ERR_COMMAND = 0, 1, 2, 3


@njit(cache=True)
def _name_code(buf, a, b, names, name_len):
    """Code of the command name buf[a:b] (ASCII, case-insensitive), -1 if unknown."""
    n = b - a
    for k in range(names.shape[0]):
        if name_len[k] != n:
            continue
        same = True
        for i in range(n):
            ch = buf[a + i]
            if 97 <= ch <= 122:
                ch -= 32
            if ch != names[k, i]:
                same = False
                break
        if same:
            return k
    return -1


@njit(cache=True)
def parse_rows(buf, n_bytes, out, names, name_len, final):
    """Parse complete lines of buf[:n_bytes] into out (int64 [max_rows, 10]).

    Blank lines and lines starting with '#' are skipped. Stops at the end of the last complete
    line (or at the end of the buffer if ``final``), or when out is full. Returns (bytes
    consumed, rows parsed, lines consumed, error code, line of the error relative to the first
    line, field of the error)."""
    pos = 0
    rows = 0
    lines = 0
    max_rows = out.shape[0]
    while pos < n_bytes and rows < max_rows:
        end = pos
        while end < n_bytes and buf[end] != 10:
            end += 1
        if end >= n_bytes and not final:
            break                                   # incomplete last line: next buffer
        stop = end
        if stop > pos and buf[stop - 1] == 13:
            stop -= 1
        # skip blank and comment lines
        p = pos
        while p < stop and (buf[p] == 32 or buf[p] == 9):
            p += 1
        if p == stop or buf[p] == 35:
            pos = end + 1
            lines += 1
            continue
        field = 0
        a = pos
        while True:
            b = a
            while b < stop and buf[b] != 44:
                b += 1
            if field >= N_FIELDS:
                return pos, rows, lines, ERR_FIELDS, lines, field + 1
            # trim spaces
            x, y = a, b
            while x < y and (buf[x] == 32 or buf[x] == 9):
                x += 1
            while y > x and (buf[y - 1] == 32 or buf[y - 1] == 9):
                y -= 1
            if field == CMD_FIELD:
                code = _name_code(buf, x, y, names, name_len)
                if code < 0:
                    return pos, rows, lines, ERR_COMMAND, lines, field
                out[rows, field] = code
            else:
                neg = False
                if x < y and buf[x] == 45:
                    neg = True
                    x += 1
                if x >= y or y - x > 18:
                    return pos, rows, lines, ERR_INT, lines, field
                v = 0
                for i in range(x, y):
                    d = buf[i] - 48
                    if d < 0 or d > 9:
                        return pos, rows, lines, ERR_INT, lines, field
                    v = v * 10 + d
                out[rows, field] = -v if neg else v
            field += 1
            if b >= stop:
                break
            a = b + 1
        if field != N_FIELDS:
            return pos, rows, lines, ERR_FIELDS, lines, field
        rows += 1
        lines += 1
        pos = end + 1
    if pos > n_bytes:
        pos = n_bytes
    return pos, rows, lines, OK, 0, 0


@njit(cache=True)
def _put_int(out, p, v):
    if v < 0:
        out[p] = 45
        p += 1
        v = -v
    if v == 0:
        out[p] = 48
        return p + 1
    q = p
    while v > 0:
        out[q] = 48 + v % 10
        v //= 10
        q += 1
    i, j = p, q - 1
    while i < j:
        t = out[i]
        out[i] = out[j]
        out[j] = t
        i += 1
        j -= 1
    return q


@njit(cache=True)
def format_rows(cols, names, name_len, out):
    """Format rows of cols (int64 [n, 10], command as its code) as CSV lines into out (uint8,
    at least 220 bytes per row). Returns the number of bytes written."""
    p = 0
    for r in range(cols.shape[0]):
        for f in range(N_FIELDS):
            if f:
                out[p] = 44
                p += 1
            if f == CMD_FIELD:
                k = cols[r, f]
                for i in range(name_len[k]):
                    out[p] = names[k, i]
                    p += 1
            else:
                p = _put_int(out, p, cols[r, f])
        out[p] = 10
        p += 1
    return p


def name_table(names) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [n, 8] upper-case names, int64 lengths) for the kernels."""
    tbl = np.zeros((len(names), 8), dtype=np.uint8)
    lens = np.zeros(len(names), dtype=np.int64)
    for i, n in enumerate(names):
        b = n.upper().encode()
        tbl[i, :len(b)] = np.frombuffer(b, dtype=np.uint8)
        lens[i] = len(b)
    return tbl, lens
