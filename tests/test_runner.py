"""bench.runner: same results for any backend, resumable sweeps, dask, clear errors."""
import hashlib
import json
import math
import os
import socket
import sys
import time
import uuid

import pytest

from bench.runner import RunnerError, point_key, run_points


def work(point):
    """A sweep point function that leaves one file per call in point['calls'] (if given)."""
    if point.get("calls"):
        os.makedirs(point["calls"], exist_ok=True)
        open(os.path.join(point["calls"], f"{point['x']}-{os.getpid()}-{uuid.uuid4().hex}"), "w").close()
    if point.get("fail_unless_exists") and not os.path.exists(point["fail_unless_exists"]):
        raise RuntimeError(f"point {point['x']} interrupted")
    x = point["x"]
    return {"x": x, "root": math.sqrt(x), "tuple": (x, x + 1), "label": f"p{x}"}


def calls(directory):
    return sorted(int(name.split("-")[0]) for name in os.listdir(directory)) \
        if os.path.isdir(directory) else []


def expected(points):
    # results pass through JSON: tuples become lists
    return [{"x": p["x"], "root": math.sqrt(p["x"]), "tuple": [p["x"], p["x"] + 1],
             "label": f"p{p['x']}"} for p in points]


def pids(directory):
    return {int(name.split("-")[1]) for name in os.listdir(directory)}


def test_in_process_and_pool_agree(tmp_path):
    points = [{"x": x} for x in (5, 1, 9, 3, 7, 2)]
    one = run_points(work, points, jobs=1, progress=False)
    log = str(tmp_path / "calls")
    two = run_points(work, [dict(p, calls=log) for p in points], jobs=2, progress=False)
    assert one == two == expected(points)
    assert os.getpid() not in pids(log)         # really ran in worker processes


def test_resume_skips_finished_points_and_survives_an_interruption(tmp_path):
    store, log, flag = tmp_path / "store", str(tmp_path / "calls"), tmp_path / "go"
    points = [{"x": x, "calls": log, "fail_unless_exists": str(flag) if x == 4 else None}
              for x in range(6)]
    with pytest.raises(RunnerError, match=r"point .*\"x\":4.* failed: RuntimeError"):
        run_points(work, points, jobs=1, resume_dir=store, progress=False)
    assert calls(log) == [0, 1, 2, 3, 4]            # stopped at the failing point
    assert len(os.listdir(store)) == 4               # the four finished ones were kept
    flag.touch()
    results = run_points(work, points, jobs=1, resume_dir=store, progress=False)
    assert results == expected(points)
    assert calls(log) == [0, 1, 2, 3, 4, 4, 5]       # only the unfinished points ran again
    again = run_points(work, points + [{"x": 9, "calls": log}], jobs=2, resume_dir=store,
                       progress=False)
    assert again[:6] == results and calls(log) == [0, 1, 2, 3, 4, 4, 5, 9]
    names = sorted(os.listdir(store))
    assert names == sorted(point_key(p) + ".json" for p in points + [{"x": 9, "calls": log}])
    record = json.loads((store / names[0]).read_text())
    assert set(record) == {"point", "result"}


def test_unusable_stored_file_is_recomputed(tmp_path):
    log = str(tmp_path / "calls")
    points = [{"x": 1, "calls": log}, {"x": 2, "calls": log}]
    run_points(work, points, jobs=1, resume_dir=tmp_path / "s", progress=False)
    (tmp_path / "s" / (point_key(points[0]) + ".json")).write_text("{truncated")
    with pytest.warns(UserWarning, match="recomputing"):
        assert run_points(work, points, jobs=1, resume_dir=tmp_path / "s",
                          progress=False) == expected(points)
    assert calls(log) == [1, 1, 2]


def test_duplicate_points_run_once_and_order_is_kept(tmp_path, capsys):
    log = str(tmp_path / "calls")
    points = [{"x": 3, "calls": log}, {"x": 1, "calls": log}, {"x": 3, "calls": log}]
    results = run_points(work, points, jobs=1, desc="dups")
    assert results == expected(points) and calls(log) == [1, 3]
    assert results[0] is not results[2]
    err = capsys.readouterr().err                 # the tqdm bar: 2 distinct points
    assert "dups" in err and "2/2" in err


def test_point_key_is_stable_and_order_independent():
    assert point_key({"a": 1, "b": [1, 2]}) == point_key({"b": [1, 2], "a": 1})
    assert point_key({"a": 1}) != point_key({"a": 1.0})
    # the documented scheme: SHA-256 of the compact, key-sorted JSON text
    assert point_key({"b": 2, "a": 1}) == hashlib.sha256(b'{"a":1,"b":2}').hexdigest()[:32]


def test_bad_inputs_raise_runner_error():
    with pytest.raises(RunnerError, match="not JSON-serialisable"):
        run_points(work, [{"x": object()}], jobs=1, progress=False)
    with pytest.raises(RunnerError, match="picklable"):
        run_points(lambda p: p, [{"x": 1}, {"x": 2}], jobs=2, progress=False)
    with pytest.raises(RunnerError, match="jobs must be"):
        run_points(work, [{"x": 1}], jobs=0, progress=False)


def test_failure_in_a_worker_process_names_the_point(tmp_path):
    points = [{"x": 1}, {"x": 2, "fail_unless_exists": str(tmp_path / "never")}]
    with pytest.raises(RunnerError, match=r"\"x\":2.*RuntimeError: point 2 interrupted"):
        run_points(work, points, jobs=2, progress=False)


def test_missing_dask_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import now fails
    with pytest.raises(RunnerError, match="pip install"):
        run_points(work, [{"x": 1}], dask_address="tcp://127.0.0.1:1",
                   resume_dir=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_unreachable_scheduler_fails_within_the_timeout(tmp_path):
    pytest.importorskip("distributed")
    with socket.socket() as s:                 # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(RunnerError, match="cannot reach the dask scheduler"):
        run_points(work, [{"x": 1}], dask_address=f"tcp://127.0.0.1:{port}",
                   connect_timeout_s=1, resume_dir=tmp_path / "s", progress=False)
    assert time.monotonic() - start < 30       # the timeout is honoured (generous bound)
    assert not (tmp_path / "s").exists()       # nothing written


def test_dask_local_cluster_equals_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    points = [{"x": x} for x in range(8)]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  host="127.0.0.1", protocol="tcp://",
                                  dashboard_address=None) as cluster:
        got = run_points(work, points, dask_address=cluster.scheduler_address,
                         resume_dir=tmp_path / "s", progress=False)
        with pytest.raises(RunnerError, match="RuntimeError: point 3 interrupted"):
            run_points(work, [{"x": 3, "fail_unless_exists": str(tmp_path / "never")}],
                       dask_address=cluster.scheduler_address, progress=False)
    assert got == run_points(work, points, jobs=1, progress=False) == expected(points)
    assert len(os.listdir(tmp_path / "s")) == 8


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):
        return False


@pytest.mark.skipif(not (sys.platform.startswith("linux") and _glibc()), reason="glibc's malloc_trim")
def test_memory_a_point_freed_goes_back_to_the_system():
    """After a point, a worker's resident memory drops back: the heap blocks numpy freed are
    returned (run_and_release), instead of staying at the point's high-water mark. Run in a
    fresh interpreter, so the heap holds only what this point does."""
    import subprocess
    program = """if True:
        import numpy as np
        from bench.runner import run_and_release

        def rss_mb():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024

        kept = []

        def point(_):
            big = np.ones(24 * 2**20 // 8)          # freed mmap chunk: glibc raises its threshold
            del big
            arrays = [np.ones(16 * 2**20 // 8) for _ in range(20)]   # 320 MB, now from the heap
            kept.append(bytearray(256 * 1024))      # a live block above them: free() cannot trim
            del arrays
            return 1

        base = rss_mb()
        point(0)
        plain = rss_mb() - base
        assert run_and_release(point, 0) == 1
        print(plain, rss_mb() - base)
    """
    r = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert r.returncode == 0, r.stderr
    plain, released = map(float, r.stdout.split())
    assert plain > 250, f"the heap pattern did not hold memory ({plain:.0f} MB): the test proves nothing"
    assert released < 50, f"{released:.0f} MB still held after run_and_release (without: {plain:.0f} MB)"
