"""Streaming benchmark of the fast DRAM engine: a trace too large to hold, fed chunk by chunk.

The trace is generated chunk by chunk (traces.generate, chunk i uses seed --seed + i), decoded
and fed to ``dramsim.engine_fast.FastEngine``; nothing but the current chunk and the engine's
fixed-size state is ever in memory. Reported: requests/s (wall and CPU), simulated cycles, and
the peak resident set size of the process (``resource.getrusage``) next to the baseline measured
in the same run just before streaming starts (interpreter + numpy + compiled kernels), so the
difference is what streaming costs. Compile time (or numba cache load) is reported separately.

Examples:
    python -m bench.fast_engine_stream                       # 20,000,000 random reads
    python -m bench.fast_engine_stream --n 100000000 --trace seq
    python -m bench.fast_engine_stream --n 5000000 --chunk 250000 --json stream.json
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

from tabulate import tabulate

TRACES = ("seq", "random", "stride", "mixed")
SPAN_BYTES = 1 << 30            # the generated addresses stay inside 1 GiB


def _rate(n, seconds):
    return n / seconds if seconds > 0 else None


def _shown(rate):
    return "-" if rate is None else f"{rate:,.0f}"


def _rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _chunk_records(trace: str, start: int, count: int, seed: int, write_fraction: float):
    """Requests start .. start+count-1 of the streamed trace (REQUEST_DTYPE)."""
    import numpy as np
    from traces import generate
    if trace == "seq":
        rec = generate.seq(count, seed=seed, write_fraction=write_fraction)
        rec["addr"] += np.uint64(start * 64)
        rec["addr"] %= np.uint64(1 << 30)              # stay inside 1 GiB
        return rec
    if trace == "stride":
        rec = generate.stride(count, seed=seed, write_fraction=write_fraction)
        rec["addr"] = (rec["addr"] + np.uint64(start * (128 << 10))) % np.uint64(1 << 30)
        return rec
    if trace == "random":
        return generate.random(count, seed=seed, write_fraction=write_fraction)
    return generate.mixed(count, seed=seed, span_bytes=1 << 30, write_fraction=write_fraction)


PROG = "python -m bench.fast_engine_stream"


def build_parser():
    from traces.cli import Parser, fraction, int_in, seed_int
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0],
               epilog=__doc__.split("Examples:")[1].join(["examples:", ""]),
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int_in(1, 10**12), default=20_000_000,
                   help="requests in the trace, 1..10^12 (default 20,000,000)")
    p.add_argument("--chunk", type=int_in(1, 10**7), default=1_000_000,
                   help="requests per chunk, 1..10^7 (default 1,000,000)")
    p.add_argument("--trace", choices=TRACES, default="random", help="trace generator (default random)")
    p.add_argument("--write-fraction", type=fraction, default=0.0, help="share of writes, 0..1 (default 0)")
    p.add_argument("--spec", default="DDR3-1600K", help="bundled spec name or TOML path (default DDR3-1600K)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of chunk 0, >= 0 (default 0)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON (the directory must exist)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _main(argv) -> int:
    from traces.cli import CliError, check_outputs
    args = build_parser().parse_args(argv)
    check_outputs({"--json": args.json}, inputs=[args.spec] if os.path.isfile(args.spec) else [])
    if args.seed + (args.n - 1) // args.chunk > (1 << 63) - 1:
        raise CliError(f"--seed {args.seed}: chunk i uses seed --seed + i, which passes 2^63 - 1")

    from tqdm import tqdm

    from dramsim import engine_fast
    from dramsim.address import AddressMapper
    from dramsim.config import ControllerConfig
    from dramsim.spec import SpecError, load_spec

    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        raise CliError(f"--spec: {exc}") from None
    if spec.org.capacity_bytes < SPAN_BYTES:
        raise CliError(f"--spec {args.spec}: {spec.name} holds {spec.org.capacity_bytes:,} bytes, less than the "
                       f"{SPAN_BYTES >> 30} GiB the generated trace spans")
    compile_s = engine_fast.warmup()
    mapper = AddressMapper(spec)
    base_rss = _rss_mib()
    eng = engine_fast.FastEngine(spec, ControllerConfig())
    sim_wall = sim_cpu = 0.0
    with tqdm(total=args.n, unit="req", unit_scale=True, desc=f"{args.trace} on {spec.name}",
              disable=args.no_progress) as bar:
        for i, start in enumerate(range(0, args.n, args.chunk)):
            count = min(args.chunk, args.n - start)
            chunk = mapper.decode_records(_chunk_records(args.trace, start, count, args.seed + i,
                                                         args.write_fraction))
            t0, c0 = time.perf_counter(), time.process_time()
            eng.feed(chunk)
            sim_wall += time.perf_counter() - t0
            sim_cpu += time.process_time() - c0
            del chunk
            bar.update(count)
    t0, c0 = time.perf_counter(), time.process_time()
    counters, _ = eng.finish()
    sim_wall += time.perf_counter() - t0
    sim_cpu += time.process_time() - c0
    peak_rss = _rss_mib()
    served = int(counters.reads.sum() + counters.writes.sum())
    result = {"trace": args.trace, "spec": spec.name, "requests": args.n, "chunk": args.chunk,
              "compile_or_cache_load_s": compile_s, "sim_wall_s": sim_wall, "sim_cpu_s": sim_cpu,
              "req_per_s": _rate(args.n, sim_wall), "req_per_cpu_s": _rate(args.n, sim_cpu),
              "cycles": int(counters.total_cycles),
              "row_hit_rate": int(counters.row_hits.sum()) / served if served else None,
              "baseline_rss_mib": base_rss, "peak_rss_mib": peak_rss}
    print(f"{spec.name} (this benchmark's default spec; python -m dramsim's is DDR3L-1600K), default controller "
          f"(r2.1, FR-FCFS, open page, SALP none), {args.trace} trace, seed {args.seed}")
    print(f"fast engine compile/cache load: {compile_s:.2f} s (excluded)")
    print(tabulate([[args.trace, f"{args.n:,}", f"{args.chunk:,}", f"{sim_wall:.1f}",
                     _shown(_rate(args.n, sim_wall)), _shown(_rate(args.n, sim_cpu)), f"{counters.total_cycles:,}",
                     f"{base_rss:,.0f}", f"{peak_rss:,.0f}", f"{peak_rss - base_rss:,.0f}"]],
                   headers=["trace", "requests", "chunk", "sim wall s", "req/s", "req/cpu-s", "cycles",
                            "baseline RSS MiB", "peak RSS MiB", "streaming cost MiB"], disable_numparse=True))
    if args.json:
        from traces.atomic import write_json_atomic
        write_json_atomic(args.json, result)
    return 0


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 2 bad input (nothing written), 130 interrupted."""
    from traces.cli import run
    return run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
