"""Shared state of one placement sweep, stored once so every worker (process or dask) can load it.

The *context* holds what all sweep points share: the network (model file path), the evaluation
images, the weight-access stream, the error profile, the tolerable BER and error-free accuracy
of each format, and the DRAM/controller settings. It lives in
``<cache>/contexts/<hash>/context.npz`` where ``<hash>`` is a digest of its content, so a
resumed sweep (``--resume``) finds the same context and the same point keys.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench._sweep_output import atomic_write

CONTEXT_FILE = "context.npz"


def _digest(meta: dict, arrays: dict) -> str:
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:24]


def save_context(cache_dir: Path, meta: dict, arrays: dict) -> str:
    """Store the context (if not stored yet) and return its id."""
    cid = _digest(meta, arrays)
    path = Path(cache_dir) / "contexts" / cid / CONTEXT_FILE
    if not path.exists():
        import io
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
        atomic_write(path, buf.getvalue())
    return cid


@lru_cache(maxsize=4)
def load_context(cache_dir: str, cid: str) -> tuple[dict, dict]:
    """(meta, arrays) of a stored context (cached per process)."""
    path = Path(cache_dir) / "contexts" / cid / CONTEXT_FILE
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in z.files if k != "meta"}
    return meta, arrays
