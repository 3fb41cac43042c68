"""Opening trace files: plain or gzip (recognised by its magic bytes), read in line blocks.

A UTF-8 byte-order mark at the start of a (decompressed) text file is skipped: editors on some
systems write one, and it is invisible."""
import gzip
import zlib

from .cli import looks_binary
from .errors import TraceError

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
_READ_ERRORS = (OSError, EOFError, zlib.error)   # gzip.BadGzipFile is an OSError


def open_binary(path):
    """Open ``path`` for binary reading, decompressing gzip transparently."""
    if not str(path).strip():
        raise TraceError(path, 0, "empty file name")
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise TraceError(path, 0, "no such file") from None
    except IsADirectoryError:
        raise TraceError(path, 0, "is a directory, not a trace file") from None
    except OSError as err:
        raise TraceError(path, 0, f"cannot open: {err.strerror}") from None
    if f.read(2) == GZIP_MAGIC:
        f.close()
        return gzip.open(path, "rb")
    f.seek(0)
    return f


def read_head(path, n_bytes=1 << 16, keep_bom=False):
    """The first ``n_bytes`` (decompressed) bytes of ``path`` (without a UTF-8 byte-order mark
    unless ``keep_bom``)."""
    with open_binary(path) as f:
        try:
            head = f.read(n_bytes + 3)
        except _READ_ERRORS as err:
            raise TraceError(path, 0, f"corrupt compressed data: {err}") from None
    if not keep_bom and head.startswith(UTF8_BOM):
        head = head[3:]
    return head[:n_bytes]


def binary_kind(head):
    """What a binary (non-text) file is, as far as its first bytes tell, or None for text."""
    if head.startswith(GZIP_MAGIC):
        return "gzip-compressed data"
    if head.startswith(b"\x93NUMPY"):
        return "a numpy .npy file"
    if head.startswith(b"PK\x03\x04"):
        return "a zip (.npz) file"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (save it as UTF-8 or ASCII)"
    return "a binary file" if looks_binary(head) else None


def check_text(path, what):
    """TraceError (line 0) if ``path`` is binary where ``what`` (e.g. "a native text trace") is
    expected."""
    kind = binary_kind(read_head(path, 1 << 12, keep_bom=True))
    if kind is not None:
        raise TraceError(path, 0, f"{kind}, not {what}")


def read_blocks(path, block_bytes):
    """Yield the (decompressed) content of ``path`` in blocks of whole lines.

    Every block but the last ends with a newline; the last is whatever follows the final
    newline, so a last line counts the same with or without one. A leading UTF-8 byte-order
    mark is dropped.
    """
    with open_binary(path) as f:
        def read(n):
            try:
                return f.read(n)
            except _READ_ERRORS as err:
                raise TraceError(path, 0, f"corrupt compressed data: {err}") from None

        carry = read(3)
        if carry.startswith(UTF8_BOM):
            carry = carry[3:]
        while True:
            data = read(block_bytes)
            if not data:
                break
            buf = carry + data
            cut = buf.rfind(b"\n") + 1
            if cut:
                yield buf[:cut]
            carry = buf[cut:]
        if carry:
            yield carry
