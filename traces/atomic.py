"""Atomic file output: write to a temporary file beside the target, then rename over it.

A reader never sees a half-written file and an interrupted or failed write leaves the target
untouched (and no temporary file behind).
"""
import contextlib
import errno
import os
import tempfile

#: errors of writing itself (a full disk, ...), reported against the output's name
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.EROFS}


def _default_mode():
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_mode()


@contextlib.contextmanager
def atomic_output(path, mode="wb"):
    """Context manager yielding a file object whose content replaces ``path`` on success."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                   dir=directory)
    except OSError as err:
        raise _named(err, path) from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)        # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and (err.filename == tmp or (err.filename is None and err.errno in _WRITE_ERRNOS)):
            raise _named(err, path) from None    # the user's file name, never the temporary one
        raise


def _named(err, path):
    """``err`` (an OSError) about ``path``."""
    return type(err)(err.errno, err.strerror, path) if err.errno else OSError(f"{path}: {err}")


def write_json_atomic(path, obj, *, indent=2, sort_keys=False):
    """Write ``obj`` as JSON (plus a final newline) to ``path`` atomically, creating parent dirs."""
    import json
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(parent, exist_ok=True)
    with atomic_output(path, "w") as fh:
        json.dump(obj, fh, indent=indent, sort_keys=sort_keys)
        fh.write("\n")
