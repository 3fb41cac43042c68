"""Atomic, reproducible file output for model files, access streams and IDX exports.

Files are written beside the target under a temporary name and renamed over it only when
complete, so an interrupted run never leaves a half-written file (and a failed write never
touches the target).  ``np.savez`` stamps every zip member with the current time, so two runs
with the same seed would give different bytes; :func:`write_npz` uses a fixed 1980-01-01
timestamp instead.  Its files read back with plain ``np.load``.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile

import numpy as np

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_output(path):
    """Binary file object whose content replaces ``path`` when the block ends without error."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_npz(path, arrays: dict, *, compress: bool = True) -> None:
    """Write ``arrays`` (name -> array) to ``path`` exactly (no ``.npz`` suffix is appended)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_output(path) as raw:
        with zipfile.ZipFile(raw, "w", compression=method, allowZip64=True) as zf:
            for name, value in arrays.items():
                info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_EPOCH)
                info.compress_type = method
                with zf.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def json_array(text: str) -> np.ndarray:
    """A JSON document as the 0-d unicode array stored under ``metadata`` / ``params``."""
    return np.array(text, dtype=np.str_)
