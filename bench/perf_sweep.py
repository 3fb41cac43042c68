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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--neurons", type=int, default=400, help="network size (default %(default)s)")
    p.add_argument("--preset", default="guarded", help="sweep preset (default %(default)s: no FAT training "
                                                       "in the timed runs)")
    p.add_argument("--no-baseline", action="store_true", help="time only the optimised run")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON (atomic)")
    p.add_argument("sweep_args", nargs=argparse.REMAINDER,
                   help="after --: more options for bench.sweep_mappings (e.g. -- --images 200)")
    return p


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


def timed_run(argv: list[str]) -> dict:
    """Run one network size of the sweep with ``argv``; its rows, phase readings and totals."""
    from bench._sweep_main import measure_size
    from bench.runner import Backend
    from bench.sweep_mappings import build_parser as sweep_parser
    from bench.sweep_mappings import finish_args, validate
    args = finish_args(sweep_parser().parse_args(argv))
    plan = validate(args)
    threads = max(1, args.jobs)
    w0, c0 = time.perf_counter(), time.process_time()
    with TreeMemory() as memory, Backend(jobs=args.jobs) as backend:
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


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    extra = [x for x in a.sweep_args if x != "--"]
    base = ["--neurons", str(a.neurons), "--preset", a.preset, "--no-progress", *extra]   # nothing is written
    if not a.no_warmup:
        print(f"{PROG}: warm-up run (untimed) ...", file=sys.stderr)
        timed_run(base)
    results = {"optimised": timed_run(base)}
    if not a.no_baseline:
        results["baseline"] = timed_run([*base, "--no-shortcuts", "--jobs", "1"])
    print(f"N={a.neurons}, preset {a.preset}, {' '.join(extra) or 'default statistics'}")
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


if __name__ == "__main__":
    sys.exit(main())
