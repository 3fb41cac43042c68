"""Opening trace files: plain or gzip (recognised by its magic bytes), read in line blocks."""
import gzip
import zlib

from .errors import TraceError

GZIP_MAGIC = b"\x1f\x8b"
_READ_ERRORS = (OSError, EOFError, zlib.error)   # gzip.BadGzipFile is an OSError


def open_binary(path):
    """Open ``path`` for binary reading, decompressing gzip transparently."""
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


def read_head(path, n_bytes=1 << 16):
    """The first ``n_bytes`` (decompressed) bytes of ``path``."""
    with open_binary(path) as f:
        try:
            return f.read(n_bytes)
        except _READ_ERRORS as err:
            raise TraceError(path, 0, f"corrupt compressed data: {err}") from None


def read_blocks(path, block_bytes):
    """Yield the (decompressed) content of ``path`` in blocks of whole lines.

    Every block but the last ends with a newline; the last is whatever follows the final
    newline, so a last line counts the same with or without one.
    """
    with open_binary(path) as f:
        carry = b""
        while True:
            try:
                data = f.read(block_bytes)
            except _READ_ERRORS as err:
                raise TraceError(path, 0, f"corrupt compressed data: {err}") from None
            if not data:
                break
            buf = carry + data
            cut = buf.rfind(b"\n") + 1
            if cut:
                yield buf[:cut]
            carry = buf[cut:]
        if carry:
            yield carry
