"""Binary traces: ``.npy`` (one structured array, memory-mapped for chunked reading) and
``.npz`` (named structured arrays plus optional JSON metadata).

``.npz`` files are written with fixed zip timestamps, so the same data gives the same bytes.
"""
import json
import zipfile

import numpy as np

from .errors import TraceError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
REQUESTS_KEY = "requests"
ACCESSES_KEY = "accesses"
METADATA_KEY = "metadata"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _load_error(path, err, kind):
    """TraceError for a failed open/parse of a binary trace (same wording as text traces)."""
    if isinstance(err, FileNotFoundError):
        return TraceError(path, 0, "no such file")
    if isinstance(err, IsADirectoryError):
        return TraceError(path, 0, "is a directory, not a trace file")
    return TraceError(path, 0, f"not a valid {kind} file ({err})")


def load_npy(path):
    """The structured array stored in ``path`` (memory-mapped, not read into memory)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise _load_error(path, err, ".npy") from None


def load_npz(path):
    """All arrays of ``path`` as a dict (``.npz`` members cannot be memory-mapped)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise _load_error(path, err, ".npz") from None


def npz_keys(path):
    """Names of the arrays in ``path`` without loading them."""
    try:
        with zipfile.ZipFile(path) as zf:
            return [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]
    except (OSError, zipfile.BadZipFile) as err:
        raise _load_error(path, err, ".npz") from None


def save_npy(f, array):
    np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)


def save_npz(f, arrays):
    """Write ``arrays`` (name -> array) to the open binary file ``f`` as a deflated ``.npz``."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                save_npy(member, array)


def metadata_array(metadata):
    """Metadata dict stored as a 0-d string array holding JSON (no pickling needed)."""
    return np.array(json.dumps(metadata, sort_keys=True))
