"""DRAM engine benchmark: requests/s of the simpy reference engine and the numba fast engine.

Three synthetic traces (traces.generate, seed 0): ``seq`` (consecutive 64-byte lines),
``random`` (uniform 64-byte lines over 1 GiB) and ``stride`` (128 KiB steps), each simulated on
DDR3-1600K, 1 channel, 1 rank, FR-FCFS, open page, 32-entry queues (the project's reference
setup), with the default controller (Ramulator 2.1's rules; ``--controller`` picks another). For every trace and engine: wall seconds, requests/s, CPU seconds of this process
(``time.process_time``: on a shared machine wall time also counts other users' work; requests/s
on CPU time is reported too) and the simulated cycles and row-hit rate. The fast engine's
numba compile time (first call) is measured separately, on a tiny trace, and excluded. With
both engines, the "same" column says whether their RawCounters are identical and the last
column is the fast/simpy speed ratio (wall).

Goals (project brief, simpy, 1,000,000 requests): >= 150,000 req/s on seq, >= 75,000 on random
and stride.

Examples:
    python -m bench.perf_dram                         # 1,000,000 requests, both engines
    python -m bench.perf_dram --n 100000 --engines simpy
    python -m bench.perf_dram --traces random --json perf_dram.json
"""
from __future__ import annotations

import argparse
import sys
import time

from tabulate import tabulate

SPEC = "DDR3-1600K"
TRACES = ("seq", "random", "stride")
GOALS_SIMPY = {"seq": 150_000, "random": 75_000, "stride": 75_000}


def make_trace(name: str, n: int):
    """The benchmark trace ``name`` with ``n`` requests (REQUEST_DTYPE, seed 0)."""
    from traces import generate
    if name == "seq":
        return generate.seq(n, seed=0)
    if name == "random":
        return generate.random(n, seed=0, span_bytes=1 << 30)
    if name == "stride":
        return generate.stride(n, seed=0, stride_bytes=128 << 10)
    raise ValueError(f"unknown trace {name!r}; expected one of {', '.join(TRACES)}")


def available_engines(wanted, report=None):
    """{engine: run function} for the wanted engines that import; ``report(message)`` says why
    another is skipped (default: a line on standard error)."""
    from dramsim.simulate import EngineUnavailable, load_engine
    out = {}
    for name in wanted:
        try:
            out[name] = load_engine(name)
        except (EngineUnavailable, ValueError) as exc:
            message = f"skipping engine {name!r}: {exc}"
            report(message) if report else print(message, file=sys.stderr)
    return out


def fast_compile_seconds() -> float:
    """Seconds of the fast engine's first call (numba compilation, or loading its cache)."""
    from dramsim import engine_fast
    if hasattr(engine_fast, "warmup"):
        return engine_fast.warmup()
    from dramsim.address import AddressMapper
    from dramsim.config import ControllerConfig
    from dramsim.spec import load_spec
    spec = load_spec(SPEC)
    t0 = time.perf_counter()
    engine_fast.run(spec, ControllerConfig(), AddressMapper(spec).decode_records(make_trace("seq", 64)))
    return time.perf_counter() - t0


def measure(run, spec, config, decoded):
    """(counters, wall seconds, CPU seconds) of one run."""
    t0, c0 = time.perf_counter(), time.process_time()
    counters, _ = run(spec, config, decoded, False)
    return counters, time.perf_counter() - t0, time.process_time() - c0


PROG = "python -m bench.perf_dram"
ENGINE_NAMES = ("simpy", "fast")


def build_parser():
    from dramsim.config import CONTROLLERS
    from traces.cli import Parser, comma_list, int_in
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0],
               epilog=__doc__.split("Examples:")[1].join(["examples:", ""]),
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int_in(1, 50_000_000), default=1_000_000,
                   help="requests per trace, 1..50,000,000 (held in memory; default 1,000,000)")
    p.add_argument("--engines", type=comma_list(choices=ENGINE_NAMES, example="simpy,fast"),
                   default=list(ENGINE_NAMES), metavar="E1,E2", help="engines: simpy,fast (default both)")
    p.add_argument("--traces", type=comma_list(choices=TRACES, example="seq,random"), default=list(TRACES),
                   metavar="T1,T2", help=f"traces: a subset of {','.join(TRACES)} (default all)")
    p.add_argument("--controller", choices=CONTROLLERS, default="r2.1",
                   help="controller variant (default r2.1; or r2.0-conservative)")
    p.add_argument("--json", metavar="OUT", help="also write the rows as JSON (the directory must exist)")
    return p


def _main(argv) -> int:
    from traces.cli import CliError, check_outputs, note
    args = build_parser().parse_args(argv)
    check_outputs({"--json": args.json})

    from dramsim.address import AddressMapper
    from dramsim.config import ControllerConfig
    from dramsim.spec import load_spec

    engines = available_engines(args.engines, lambda msg: note(PROG, msg))
    if not engines:
        raise CliError(f"--engines {','.join(args.engines)}: no engine available")
    spec = load_spec(SPEC, channels=1, ranks=1)
    config = ControllerConfig(scheduler="frfcfs", page_policy="open", read_queue=32, write_queue=32,
                              controller=args.controller)
    if "fast" in engines:
        print(f"fast engine compile/first call: {fast_compile_seconds():.2f} s (excluded below)")

    rows, records = [], []
    for name in args.traces:
        decoded = AddressMapper(spec).decode_records(make_trace(name, args.n))
        results = {}
        for engine, run in engines.items():
            counters, wall, cpu = measure(run, spec, config, decoded)
            results[engine] = (counters, wall)
            served = int(counters.reads.sum() + counters.writes.sum())
            hits = int(counters.row_hits.sum())
            rec = {"trace": name, "engine": engine, "requests": args.n, "wall_s": wall, "cpu_s": cpu,
                   "req_per_s": args.n / wall, "req_per_cpu_s": args.n / cpu if cpu > 0 else None,
                   "cycles": int(counters.total_cycles), "row_hit_rate": hits / served if served else None}
            records.append(rec)
        same = ratio = ""
        if len(results) == 2 and {"simpy", "fast"} <= set(results):
            same = "yes" if results["simpy"][0].equals(results["fast"][0]) else "NO"
            ratio = f"{results['simpy'][1] / results['fast'][1]:.1f}x"
        for rec in records[-len(results):]:
            goal = GOALS_SIMPY.get(name) if rec["engine"] == "simpy" else None
            rows.append([name, rec["engine"], f"{rec['requests']:,}", f"{rec['wall_s']:.2f}",
                         f"{rec['req_per_s']:,.0f}", f"{rec['cpu_s']:.2f}",
                         f"{rec['req_per_cpu_s']:,.0f}" if rec["req_per_cpu_s"] else "-",
                         f"{goal:,}" if goal else "", f"{rec['cycles']:,}",
                         f"{rec['row_hit_rate']:.4f}" if rec["row_hit_rate"] is not None else "-",
                         same if rec["engine"] == "fast" else "", ratio if rec["engine"] == "fast" else ""])
    print(f"{SPEC}, 1 channel, 1 rank, FR-FCFS, open page, SALP none, 32-entry queues, controller "
          f"{args.controller}")
    print(tabulate(rows, headers=["trace", "engine", "requests", "wall s", "req/s", "cpu s", "req/cpu-s",
                                  "goal req/s", "cycles", "row-hit rate", "same", "fast/simpy"],
                   disable_numparse=True))
    if args.json:
        from traces.atomic import write_json_atomic
        write_json_atomic(args.json, records)
    return 0


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 2 bad input (nothing written), 130 interrupted."""
    from traces.cli import run
    return run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
