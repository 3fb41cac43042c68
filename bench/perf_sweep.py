"""Where the main sweep's time goes, and what its shortcuts and cores buy.

``python -m bench.perf_sweep`` runs one fixed network-size sweep of ``bench.sweep_mappings``
(default: N = 400, preset ``guarded``, the default statistics: 1,000 validation and 1,000 test
images, 5 fault maps x 2 input-spike seeds, 9 VDDs x 4 policies, 10 DRAM images) twice in this
process, after an untimed warm-up that fills the caches (trained network, contexts):

* **optimised**: the sweep as it runs by default: ``--jobs`` = all cores (points in worker
  processes, inference threads in this one), points whose layouts coincide run once, and a
  faulty run evaluates only the images a flipped weight row can reach;
* **baseline**: ``--no-shortcuts --jobs 1``: every point and every image evaluated in one
  process, as before those optimisations.

Both must give identical rows (checked). It prints, per phase -- training, tolerance analysis,
error-free inference, faulty inference, fault maps, DRAM simulation -- wall and CPU seconds
and items per second (images; words masked for fault maps; requests for DRAM), where items
count the work the protocol asks for (skipped images count: they are results obtained), then
the totals and the baseline / optimised ratio. Phases are exclusive; worker processes report
their own, so summed wall time may exceed the run's wall time when workers overlap.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from tabulate import tabulate

from bench._sweep_timing import ITEMS, PHASES

PROG = "python -m bench.perf_sweep"


#: sweep options perf_sweep sets itself or that would write files or change what is timed
_NOT_PASSED = {"out": "--out", "plot": "--plot", "csv": "--csv", "resume": "--resume", "trace": "--trace",
               "neurons": "--neurons", "preset": "--preset", "wide": "--wide"}
_UNSET = object()


def build_parser() -> argparse.ArgumentParser:
    from bench.sweep_mappings import PRESETS
    from traces.cli import Parser, int_in
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--neurons", type=int_in(1, 10_000), default=400,
                   help="network size, 1..10000 (default %(default)s)")
    p.add_argument("--preset", default="guarded", choices=tuple(PRESETS),
                   help="sweep preset (default %(default)s: no FAT training in the timed runs; the sweep's "
                        "own default is paper)")
    p.add_argument("--no-baseline", action="store_true", help="time only the optimised run")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON (atomic; the directory must exist)")
    p.add_argument("sweep_args", nargs=argparse.REMAINDER,
                   help="after --: more options for bench.sweep_mappings (e.g. -- --images 200 --dask ADDRESS); "
                        "not " + ", ".join(sorted(_NOT_PASSED.values())))
    return p


def sweep_plan(argv: list[str]):
    """The checked sweep plan of ``argv`` (CliError naming the option, before any work)."""
    from bench._sweep_errors import UsageError
    from bench.sweep_mappings import build_parser as sweep_parser
    from bench.sweep_mappings import finish_args, validate
    from traces.cli import CliError
    parser = sweep_parser()
    parser.prog = PROG                        # its usage errors name this tool
    args = finish_args(parser.parse_args(argv))
    try:
        return validate(args)
    except UsageError as exc:
        raise CliError(str(exc)) from None


def _check_passed_options(extra: list[str]) -> None:
    """CliError for a sweep option perf_sweep sets itself or does not honour."""
    from bench.sweep_mappings import build_parser as sweep_parser
    from traces.cli import CliError
    parser = sweep_parser()
    parser.prog = PROG
    parser.set_defaults(**{dest: _UNSET for dest in _NOT_PASSED})
    given = parser.parse_args(extra)
    for dest, option in _NOT_PASSED.items():
        if getattr(given, dest) is not _UNSET:
            own = {"neurons": "give --neurons before --", "preset": "give --preset before --"}
            why = own.get(dest, "perf_sweep writes no sweep files and times the network sweep only")
            raise CliError(f"{option} (after --): {why}")


class TreeMemory:
    """Peak resident memory of this process and all its descendants (worker processes
    included), sampled every ``period_s`` from /proc (Linux; NaN elsewhere)."""

    def __init__(self, period_s: float = 0.2):
        import threading
        self.period_s, self.peak_mb = period_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _tree_rss_mb() -> float:
        import os
        children: dict[int, list[int]] = {}
        rss: dict[int, float] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(name))
                rss[int(name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
            except (OSError, IndexError, ValueError):
                continue
        total, todo = 0.0, [os.getpid()]
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0.0)
            todo.extend(children.get(pid, []))
        return total

    def _watch(self):
        while not self._stop.is_set():
            try:
                self.peak_mb = max(self.peak_mb, self._tree_rss_mb())
            except OSError:
                self.peak_mb = float("nan")
                return
            self._stop.wait(self.period_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def timed_run(argv: list[str], dask: bool = False) -> dict:
    """Run one network size of the sweep with ``argv`` (on its --dask cluster if ``dask``); its
    rows, phase readings and totals."""
    from bench._sweep_main import measure_size
    from bench.runner import Backend
    plan = sweep_plan(argv)
    args = plan.args
    threads = max(1, args.jobs)
    w0, c0 = time.perf_counter(), time.process_time()
    with TreeMemory() as memory, Backend(jobs=args.jobs, dask_address=args.dask if dask else None) as backend:
        run = measure_size(plan, args.neurons[0], backend, threads)
    return {"rows": run.rows, "timing": run.timing, "wall_s": time.perf_counter() - w0,
            "cpu_s_this_process": time.process_time() - c0, "peak_tree_rss_mb": memory.peak_mb}


def _phase_rows(timing: dict) -> list[list]:
    out = []
    for name in PHASES:
        wall, cpu, items = timing.get(name, (0.0, 0.0, 0.0))
        rate = f"{items / wall:,.0f} {ITEMS[name]}/s" if wall > 0 and items else ""
        out.append([name.replace("_", " "), f"{wall:.1f}", f"{cpu:.1f}", f"{items:,.0f} {ITEMS[name]}", rate])
    return out


def _strip(rows):
    return json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], sort_keys=True)


def _check_dask_address(address: str) -> None:
    """CliError for an address that cannot name a scheduler (syntax, scheme, unknown host), found
    without starting a dask client (a client whose address does not parse hangs for 20 s when
    it is collected)."""
    from traces.cli import CliError
    try:
        from distributed.comm import resolve_address
    except ImportError:
        raise CliError("--dask: needs dask.distributed, which is not installed: pip install "
                       "'sparkxd[dask]'") from None
    try:
        resolve_address(address)
    except (ValueError, OSError) as exc:
        raise CliError(f"--dask {address}: not a reachable scheduler address ({exc})") from None


def _main(argv) -> int:
    from bench.runner import Backend, RunnerError
    from traces.cli import CliError, check_outputs
    a = build_parser().parse_args(argv)
    extra = a.sweep_args[1:] if a.sweep_args[:1] == ["--"] else a.sweep_args
    check_outputs({"--json": a.json})
    _check_passed_options(extra)
    base = ["--neurons", str(a.neurons), "--preset", a.preset, "--no-progress", *extra]   # nothing is written
    plan = sweep_plan(base)                   # every option and path checked before any work
    if plan.args.dask:                        # reach the cluster now, not after the warm-up
        _check_dask_address(plan.args.dask)
        try:
            Backend(jobs=1, dask_address=plan.args.dask).close()
        except RunnerError as exc:
            raise CliError(f"--dask: {exc}") from None
    dask = plan.args.dask is not None
    if not a.no_warmup:
        print(f"{PROG}: warm-up run (untimed) ...", file=sys.stderr)
        timed_run(base, dask)
    results = {"optimised": timed_run(base, dask)}
    if not a.no_baseline:
        results["baseline"] = timed_run([*base, "--no-shortcuts", "--jobs", "1"])
    print(f"N={a.neurons}, preset {a.preset} (the sweep's default: paper), {' '.join(extra) or 'default statistics'}")
    for name, r in results.items():
        print(f"\n{name}: wall {r['wall_s']:.1f} s, peak memory of all its processes "
              f"{r['peak_tree_rss_mb']:,.0f} MB")
        print(tabulate(_phase_rows(r["timing"]), headers=["phase", "wall s", "CPU s", "work", "rate (wall)"],
                       tablefmt="simple", disable_numparse=True, stralign="right"))
    if "baseline" in results:
        same = _strip(results["baseline"]["rows"]) == _strip(results["optimised"]["rows"])
        ratio = results["baseline"]["wall_s"] / results["optimised"]["wall_s"]
        print(f"\nbaseline / optimised wall time: {ratio:.2f}x; identical rows: {'yes' if same else 'NO'}")
        if not same:
            print(f"{PROG}: error: the optimised run's rows differ from the baseline's", file=sys.stderr)
            return 1
    if a.json:
        from traces.atomic import write_json_atomic
        write_json_atomic(a.json, {k: {"wall_s": v["wall_s"], "timing": v["timing"],
                                       "peak_tree_rss_mb": v["peak_tree_rss_mb"]} for k, v in results.items()},
                          indent=1, sort_keys=True)
    return 0


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 1 the runs differ or failed, 2 bad input, 130
    interrupted (nothing written)."""
    from traces.cli import run
    return run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
