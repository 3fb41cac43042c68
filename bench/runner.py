"""Run one function over many sweep points: in-process, on a local process pool, or on an
existing dask.distributed cluster; optionally resumable.

A *point* is a JSON-serialisable value (normally a dict of parameters, seeds included) and
``fn(point)`` returns a JSON-serialisable result. Results come back in the order of the points
and are identical whatever the backend or number of jobs, because every result is passed
through JSON (exactly what a resumed run loads from disk). With ``resume_dir`` each finished
point is stored atomically as ``<key>.json`` (key: hash of the point's canonical JSON) holding
``{"point": ..., "result": ...}``; a rerun loads those instead of recomputing them, so an
interrupted sweep continues where it stopped. Equal points are computed once, and ``fn``
receives each point after the same JSON round trip (tuples arrive as lists).

For jobs > 1 the pool uses the "spawn" start method (safe next to numba and threads), so
``fn`` must be a top-level function of an importable module, and a script calling
`run_points` needs the usual ``if __name__ == "__main__":`` guard.
"""
import copy
import ctypes
import hashlib
import json
import multiprocessing
import os
import pickle
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from functools import lru_cache

from tqdm import tqdm

from traces.atomic import atomic_output


_MISSING = object()


class RunnerError(RuntimeError):
    """A sweep could not run: bad point or function, failed point, unreachable scheduler."""


def canonical_json(value):
    """Stable JSON text of ``value`` (sorted keys, no spaces)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise RunnerError(f"not JSON-serialisable: {value!r} ({err})") from None


def point_key(point):
    """Stable 32-hex-digit name of a point (SHA-256 of its canonical JSON)."""
    return hashlib.sha256(canonical_json(point).encode()).hexdigest()[:32]


def _as_json(result, point):
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as err:
        raise RunnerError(f"result of point {canonical_json(point)} is not "
                          f"JSON-serialisable ({err})") from None


class _Store:
    """The per-point result files of a resumable sweep (or nothing, without a directory)."""

    def __init__(self, directory):
        self.directory = os.fspath(directory) if directory is not None else None

    def _path(self, key):
        return os.path.join(self.directory, key + ".json")

    def load(self, key, point):
        """Stored result of ``point``, or _MISSING if absent or unusable (then recomputed)."""
        if self.directory is None or not os.path.exists(self._path(key)):
            return _MISSING
        try:
            with open(self._path(key), encoding="utf-8") as f:
                record = json.load(f)
            if canonical_json(record["point"]) == canonical_json(point):
                return record["result"]
            reason = "it holds another point"
        except (OSError, ValueError, KeyError, TypeError) as err:
            reason = str(err)
        warnings.warn(f"ignoring {self._path(key)} ({reason}); recomputing", stacklevel=3)
        return _MISSING

    def save(self, key, point, result):
        if self.directory is None:
            return
        os.makedirs(self.directory, exist_ok=True)
        with atomic_output(self._path(key), "w") as f:
            json.dump({"point": point, "result": result}, f, sort_keys=True)


def _failure(point, err):
    return RunnerError(f"point {canonical_json(point)} failed: {type(err).__name__}: {err}")


def _run_here(fn, todo, finish):
    for key, point in todo:
        try:
            result = run_and_release(fn, point)
        except Exception as err:
            raise _failure(point, err) from err
        finish(key, result)


def run_and_release(fn, point):
    """``fn(point)``, then the memory it freed handed back to the operating system.

    numpy takes arrays below glibc's dynamic mmap threshold (it grows up to 32 MB) from the
    heap, and glibc keeps a freed heap for later: a worker's resident memory would stay at
    the high-water mark of its biggest point while it runs the small ones (N = 6400: ~710 MB
    instead of ~360 MB per worker between points, measured). ``malloc_trim`` returns it; a
    no-op where the C library is not glibc."""
    result = fn(point)
    _malloc_trim()
    return result


def _malloc_trim():
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _libc_malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library is another."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _quiet_worker():
    """Workers leave Ctrl-C to the parent, which stops the pool and reports once."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _new_pool(workers):
    context = multiprocessing.get_context("spawn")   # safe with threads/numba in the parent
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_quiet_worker)


def _run_pool(fn, todo, workers, finish, executor=None):
    """Run on ``executor`` (kept open) or on a pool of ``workers`` made for this call."""
    try:
        pickle.dumps(fn)
    except Exception as err:
        raise RunnerError(f"fn must be a picklable top-level function for jobs > 1 ({err})") \
            from None
    owned = executor is None
    if owned:
        executor = _new_pool(workers)
    try:
        pending = {executor.submit(run_and_release, fn, point): (key, point) for key, point in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                key, point = pending.pop(future)
                err = future.exception()
                if err is not None:
                    raise _failure(point, err) from err
                finish(key, future.result())
    except BaseException:                # failure or Ctrl-C: drop queued points, don't wait
        if owned:
            executor.shutdown(wait=False, cancel_futures=True)
        else:
            for future in pending:
                future.cancel()
        raise
    if owned:
        executor.shutdown(wait=True)


def check_dask_address(address):
    """Fail at once (RunnerError) if dask.distributed is missing or ``address`` is malformed or
    names an unknown host; connects to nothing, so callers can check before any other work."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise RunnerError("dask_address needs dask.distributed, which is not installed: "
                          "pip install 'sparkxd[dask]' (or: pip install dask distributed)") \
            from None
    try:
        from distributed.comm import resolve_address
        resolve_address(address)
    except (ValueError, OSError) as err:
        raise RunnerError(f"--dask {address}: not a dask scheduler address ({err})") from None


def _dask_client(address, timeout_s):
    check_dask_address(address)
    from distributed import Client
    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except Exception as err:
        raise RunnerError(f"--dask {address}: cannot reach the dask scheduler within {timeout_s:g} s "
                          f"({type(err).__name__}: {err})") from None


def _run_dask(fn, todo, client, finish, close=True):
    from distributed import as_completed
    try:
        futures = {client.submit(run_and_release, fn, point, pure=False): (key, point) for key, point in todo}
        for future in as_completed(list(futures), loop=client.loop):
            key, point = futures[future]
            if future.status == "error":
                err = future.exception()
                client.cancel(list(futures))
                raise _failure(point, err) from err
            finish(key, future.result())
    finally:
        if close:
            client.close()


class Backend:
    """Where several ``run_points`` calls run, kept open between them: this process
    (``jobs`` 1), one local process pool of ``jobs`` workers, or a dask.distributed cluster
    (``dask_address``; connected at once, so an unreachable scheduler fails before any work).
    Use it as a context manager; pass it to :func:`run_points` as ``backend``."""

    def __init__(self, jobs=1, dask_address=None, connect_timeout_s=10.0):
        if jobs is not None and jobs < 1:
            raise RunnerError(f"jobs must be >= 1 or None, got {jobs}")
        self.jobs = jobs or os.cpu_count() or 1
        self.client = _dask_client(dask_address, connect_timeout_s) if dask_address else None
        self.executor = None

    def pool(self):
        """The local process pool, started on first use."""
        if self.executor is None:
            self.executor = _new_pool(self.jobs)
        return self.executor

    def close(self):
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_points(fn, points, *, jobs=None, dask_address=None, resume_dir=None, progress=True,
               desc="sweep", connect_timeout_s=10.0, backend: Backend | None = None):
    """``[fn(p) for p in points]``, possibly in parallel and resumable; see the module doc.

    jobs: worker processes (None: all cores; 1: in this process). dask_address: run on that
    dask.distributed scheduler instead (jobs is then ignored; RunnerError if it cannot be
    reached within ``connect_timeout_s``). resume_dir: directory of per-point result files.
    A failing point raises RunnerError naming it; points finished before stay stored.
    ``backend`` (a :class:`Backend`) replaces ``jobs`` and ``dask_address`` and stays open.
    """
    if jobs is not None and jobs < 1:
        raise RunnerError(f"jobs must be >= 1 or None, got {jobs}")
    points = list(points)
    keys = [point_key(p) for p in points]
    unique = {}                          # key -> point, first occurrence order
    for key, point in zip(keys, points):
        if key not in unique:            # fn sees the point exactly as it is stored
            unique[key] = json.loads(canonical_json(point))
    store = _Store(resume_dir)
    results = {}
    for key, point in unique.items():
        stored = store.load(key, point)
        if stored is not _MISSING:
            results[key] = stored
    todo = [(key, point) for key, point in unique.items() if key not in results]
    client = None
    if backend is not None:
        jobs, client = backend.jobs, backend.client
    elif todo and dask_address is not None:   # connect first: fail before any output
        client = _dask_client(dask_address, connect_timeout_s)

    with tqdm(total=len(unique), initial=len(results), desc=desc, disable=not progress,
              unit="point") as bar:
        def finish(key, result):
            result = _as_json(result, unique[key])
            store.save(key, unique[key], result)
            results[key] = result
            bar.update()

        workers = min(jobs or os.cpu_count() or 1, len(todo))
        if not todo:
            pass                         # everything was stored already
        elif client is not None:
            _run_dask(fn, todo, client, finish, close=backend is None)
        elif workers <= 1:
            _run_here(fn, todo, finish)
        else:
            _run_pool(fn, todo, workers, finish, backend.pool() if backend is not None else None)

    out, seen = [], set()
    for key in keys:
        out.append(copy.deepcopy(results[key]) if key in seen else results[key])
        seen.add(key)
    return out
