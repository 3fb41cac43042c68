"""Strict reader for IDX files (the MNIST / Fashion-MNIST distribution format), raw or gzipped.

An IDX file is a 4-byte magic number -- two zero bytes, a dtype code, the number of
dimensions -- then one big-endian uint32 per dimension, then the data in C order.  MNIST
images are ``0x00000803`` (unsigned bytes, 3 dims: count x 28 x 28); labels are
``0x00000801`` (unsigned bytes, 1 dim: count).  Anything else is rejected with a
:class:`DataError` whose one-line message names the file and what is wrong, so a user who
points the CLI at the wrong download learns why instead of getting a reshape traceback.
"""
from __future__ import annotations

import gzip
import zlib

import numpy as np

from snn.npzfile import atomic_output

IMAGE_SIDE = 28
N_CLASSES = 10
UBYTE_CODE = 0x08
_DTYPE_NAMES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32",
                0x0D: "float32", 0x0E: "float64"}
_GZIP_MAGIC = b"\x1f\x8b"


class DataError(ValueError):
    """A data file that cannot be used; the message is one line naming the file."""


def _read_bytes(path) -> bytes:
    """Whole file contents, gunzipped when the file starts with the gzip magic."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from None


def _parse(path, expect_ndim: int) -> tuple[tuple[int, ...], np.ndarray]:
    """Validate the header of an unsigned-byte IDX file and return (dims, flat uint8 data)."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, need at least 4)")
    zero, code, ndim = data[:2], data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero != b"\x00\x00":
        raise DataError(f"{path}: bad IDX magic number 0x{magic:08x} (first two bytes must be zero)")
    if code != UBYTE_CODE:
        name = _DTYPE_NAMES.get(code, "unknown")
        raise DataError(f"{path}: IDX dtype code 0x{code:02x} ({name}); expected 0x08 (unsigned byte)")
    if ndim != expect_ndim:
        raise DataError(f"{path}: IDX magic 0x{magic:08x} has {ndim} dimensions; expected {expect_ndim}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, need {header_len})")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64)) if dims else 0
    have = len(data) - header_len
    if have < expected:
        raise DataError(f"{path}: truncated: header promises {expected} data bytes "
                        f"({' x '.join(map(str, dims))}) but only {have} follow")
    if have > expected:
        raise DataError(f"{path}: {have - expected} unexpected trailing bytes after the "
                        f"{' x '.join(map(str, dims))} data")
    return dims, np.frombuffer(data, dtype=np.uint8, offset=header_len)


def load_idx_images(path) -> np.ndarray:
    """Images of an IDX3 file as uint8 ``[count, 784]`` (rows flattened in C order)."""
    dims, flat = _parse(path, 3)
    if dims[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{path}: images are {dims[1]}x{dims[2]}; expected {IMAGE_SIDE}x{IMAGE_SIDE}")
    return flat.reshape(dims[0], IMAGE_SIDE * IMAGE_SIDE).copy()


def load_idx_labels(path) -> np.ndarray:
    """Labels of an IDX1 file as int64 ``[count]``, each checked to lie in 0..9."""
    _, flat = _parse(path, 1)
    bad = np.flatnonzero(flat >= N_CLASSES)
    if bad.size:
        raise DataError(f"{path}: label {int(flat[bad[0]])} at index {int(bad[0])} is outside 0..9")
    return flat.astype(np.int64)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file (header + data): the inverse of the readers.

    Used to write small fixtures and to export subsets; ``array`` of shape ``[count]`` gives
    a label file, ``[count, 28, 28]`` an image file.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, UBYTE_CODE, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in ``.gz`` (atomic rename)."""
    payload = idx_bytes(array)
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_output(path) as f:
        f.write(payload)
