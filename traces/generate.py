"""Seeded synthetic request traces (and a synthetic logical trace), as functions and a CLI.

Every generator returns a REQUEST_DTYPE array of ``n`` requests to 64-byte-aligned addresses
``>= base``; ``write_fraction`` of them (drawn with the seed) are writes, and with
``interval_cycles`` request i arrives at cycle ``i * interval_cycles`` (default: -1, i.e. as
fast as the memory accepts). The same arguments give identical arrays.

* seq      consecutive 64-byte lines (wrapping within ``span_bytes`` if given)
* random   uniform lines over ``span_bytes`` (default 1 GiB)
* stride   every ``stride_bytes`` (default 128 KiB), wrapping within ``span_bytes``
* hotrows  ``hot_fraction`` of requests to ``n_hot`` random ``region_bytes`` regions
* mixed    runs of sequential lines broken by random jumps, ``write_fraction`` 0.3
"""
import argparse
import sys

import numpy as np

from .cli import (CliError, Parser, check_output_file, deprecated_alias, float_in, fraction, int_in,
                  nonnegative_int, parse_size, positive_int, run, seed_int)
from .errors import TraceError
from .formats import FORMATS, logical_output_kind, output_format
from .logical import write_logical
from .records import LOGICAL_ACCESS_DTYPE, REQUEST_DTYPE
from .writer import write_trace

LINE_BYTES = 64
INT64_MAX = (1 << 63) - 1
GiB, KiB = 1 << 30, 1 << 10


def _check(n, base, span_bytes=None, write_fraction=0.0, interval_cycles=None):
    if int(n) < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    if base < 0 or base % LINE_BYTES:
        raise ValueError(f"base: must be a non-negative multiple of {LINE_BYTES}, got {base}")
    if span_bytes is not None and (span_bytes < LINE_BYTES or span_bytes % LINE_BYTES):
        raise ValueError(f"span_bytes: must be a positive multiple of {LINE_BYTES} bytes, "
                         f"got {span_bytes}")
    if not 0.0 <= write_fraction <= 1.0:
        raise ValueError(f"write_fraction: must be in [0, 1], got {write_fraction}")
    if interval_cycles is not None and interval_cycles < 0:
        raise ValueError(f"interval_cycles: must be >= 0 cycles, got {interval_cycles}")
    if interval_cycles is not None and (int(n) - 1) * interval_cycles > INT64_MAX:
        raise ValueError(f"interval_cycles: {n} requests every {interval_cycles} cycles pass 2^63 - 1 "
                         "cycles (the arrival field)")
    top = base + (span_bytes if span_bytes is not None else int(n) * LINE_BYTES)
    if top > 1 << 64:
        raise ValueError(f"base: addresses up to {top:#x} do not fit in 64 bits (base {base:#x})")


def _finish(rng, lines, base, write_fraction, interval_cycles):
    """Requests to the given line indices (relative to ``base``)."""
    n = lines.size
    out = np.empty(n, REQUEST_DTYPE)
    out["addr"] = np.uint64(base) + lines.astype(np.uint64) * np.uint64(LINE_BYTES)
    out["is_write"] = rng.random(n) < write_fraction
    out["arrive"] = -1 if interval_cycles is None else np.arange(n) * interval_cycles
    return out


def seq(n, seed=0, *, base=0, span_bytes=None, write_fraction=0.0, interval_cycles=None):
    """Consecutive lines from ``base``; with ``span_bytes``, wraps back to ``base``."""
    _check(n, base, span_bytes, write_fraction, interval_cycles)
    lines = np.arange(n, dtype=np.uint64)
    if span_bytes is not None:
        lines %= np.uint64(span_bytes // LINE_BYTES)
    return _finish(np.random.default_rng(seed), lines, base, write_fraction, interval_cycles)


def random(n, seed=0, *, base=0, span_bytes=GiB, write_fraction=0.0, interval_cycles=None):
    """Uniformly random lines in ``[base, base + span_bytes)``."""
    _check(n, base, span_bytes, write_fraction, interval_cycles)
    rng = np.random.default_rng(seed)
    lines = rng.integers(0, span_bytes // LINE_BYTES, n, dtype=np.uint64)
    return _finish(rng, lines, base, write_fraction, interval_cycles)


def stride(n, seed=0, *, base=0, stride_bytes=128 * KiB, span_bytes=GiB, write_fraction=0.0,
           interval_cycles=None):
    """Request i at ``base + (i * stride_bytes) % span_bytes``."""
    _check(n, base, span_bytes, write_fraction, interval_cycles)
    if stride_bytes < LINE_BYTES or stride_bytes % LINE_BYTES:
        raise ValueError(f"stride_bytes: must be a positive multiple of {LINE_BYTES} bytes, "
                         f"got {stride_bytes}")
    lines = (np.arange(n, dtype=np.uint64) * np.uint64(stride_bytes // LINE_BYTES)) \
        % np.uint64(span_bytes // LINE_BYTES)
    return _finish(np.random.default_rng(seed), lines, base, write_fraction, interval_cycles)


def hotrows(n, seed=0, *, base=0, span_bytes=GiB, n_hot=4, hot_fraction=0.9,
            region_bytes=8 * KiB, write_fraction=0.0, interval_cycles=None):
    """``hot_fraction`` of the requests go to a random line of one of ``n_hot`` regions of
    ``region_bytes`` (placed at random, region-aligned, in the span); the rest are uniform."""
    _check(n, base, span_bytes, write_fraction, interval_cycles)
    if region_bytes < LINE_BYTES or region_bytes % LINE_BYTES or span_bytes % region_bytes:
        raise ValueError(f"region_bytes: must be a multiple of {LINE_BYTES} bytes dividing the span, "
                         f"got {region_bytes}")
    n_regions = span_bytes // region_bytes
    if not 1 <= n_hot <= n_regions:
        raise ValueError(f"n_hot: must be in [1, {n_regions}] (the regions in the span), got {n_hot}")
    if not 0.0 <= hot_fraction <= 1.0:
        raise ValueError(f"hot_fraction: must be in [0, 1], got {hot_fraction}")
    rng = np.random.default_rng(seed)
    lines_per_region = region_bytes // LINE_BYTES
    hot_regions = rng.choice(n_regions, n_hot, replace=False).astype(np.uint64)
    hot_lines = hot_regions[rng.integers(0, n_hot, n)] * np.uint64(lines_per_region) \
        + rng.integers(0, lines_per_region, n, dtype=np.uint64)
    cold_lines = rng.integers(0, span_bytes // LINE_BYTES, n, dtype=np.uint64)
    lines = np.where(rng.random(n) < hot_fraction, hot_lines, cold_lines)
    return _finish(rng, lines, base, write_fraction, interval_cycles)


def mixed(n, seed=0, *, base=0, span_bytes=GiB, write_fraction=0.3, seq_fraction=0.5,
          interval_cycles=None):
    """Each request continues sequentially from the previous one with probability
    ``seq_fraction``, else jumps to a uniformly random line (the first always jumps)."""
    _check(n, base, span_bytes, write_fraction, interval_cycles)
    if not 0.0 <= seq_fraction <= 1.0:
        raise ValueError(f"seq_fraction: must be in [0, 1], got {seq_fraction}")
    rng = np.random.default_rng(seed)
    span_lines = np.uint64(span_bytes // LINE_BYTES)
    jumps = rng.random(n) >= seq_fraction
    jumps[0] = True
    targets = rng.integers(0, span_lines, n, dtype=np.uint64)
    index = np.arange(n)
    last_jump = np.maximum.accumulate(np.where(jumps, index, 0))
    lines = (targets[last_jump] + (index - last_jump).astype(np.uint64)) % span_lines
    return _finish(rng, lines, base, write_fraction, interval_cycles)


def logical_spikes(n_images=2, seed=0, *, n_rows=784, words_per_row=100, timesteps=20,
                   spike_rate=0.02, step_ns=1000):
    """A synthetic logical trace: at each of ``timesteps`` steps per image every input row
    spikes with probability ``spike_rate`` and its whole weight row is read."""
    if min(n_images, n_rows, words_per_row, timesteps, step_ns) < 1:
        raise ValueError("n_images: n_images, n_rows, words_per_row, timesteps and step_ns must be >= 1")
    if not 0.0 < spike_rate <= 1.0:
        raise ValueError(f"spike_rate: must be in (0, 1], got {spike_rate}")
    rng = np.random.default_rng(seed)
    steps, rows = np.nonzero(rng.random((n_images * timesteps, n_rows)) < spike_rate)
    out = np.empty(steps.size, LOGICAL_ACCESS_DTYPE)
    out["time_ns"] = steps * step_ns
    out["row"] = rows
    out["first_word"] = 0
    out["n_words"] = words_per_row
    out["image"] = steps // timesteps
    return out


GENERATORS = {"seq": seq, "random": random, "stride": stride, "hotrows": hotrows,
              "mixed": mixed}
PROG = "python -m traces.generate"
MAX_REQUESTS = 100_000_000          # one array in memory (about 1.7 GB, more while it is made)
MAX_SPIKE_DRAWS = 1 << 28           # images x time steps x rows of the logical generator
_EPILOG = """examples:
  python -m traces.generate seq --n 1000 --out seq.trace
  python -m traces.generate random --n 1000000 --seed 7 --span 256MiB --out rand.npy
  python -m traces.generate stride --n 5000 --stride 8KiB --out s.dramsim3
  python -m traces.generate hotrows --n 20000 --hot-regions 2 --hot-fraction 0.95 --out h.txt.gz
  python -m traces.generate mixed --n 2000 --write-fraction 0.4 --interval 4 --out m.trace
  python -m traces.generate logical --images 2 --out weights.logical.txt
Sizes accept binary suffixes (K/KiB, M/MiB, G/GiB). The output format follows the extension
(.npy .npz .ramulator .ramulator2 .dramsim3, optional .gz; anything else: native) unless --to
is given (--to and the extension must agree); a logical trace is .npz or text. Output is
written atomically into an existing directory; bad arguments: one line, exit status 2,
nothing written (docs/cli.md)."""

#: generator parameter -> the option that sets it (for messages)
_OPTIONS = {"n": "--n", "base": "--base", "span_bytes": "--span", "write_fraction": "--write-fraction",
            "interval_cycles": "--interval", "stride_bytes": "--stride", "region_bytes": "--region",
            "n_hot": "--hot-regions", "hot_fraction": "--hot-fraction", "seq_fraction": "--seq-fraction",
            "n_images": "--images", "spike_rate": "--spike-rate"}


def build_parser():
    parser = Parser(prog=PROG, description=__doc__.split("\n\n")[0],
                    epilog=_EPILOG, formatter_class=argparse.RawTextHelpFormatter)
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND",
                                  parser_class=Parser)
    common = Parser(add_help=False)
    common.add_argument("--n", type=int_in(1, MAX_REQUESTS), required=True,
                        help=f"number of requests, 1..{MAX_REQUESTS:,} (held in memory)")
    common.add_argument("--seed", type=seed_int, default=0, help="random seed, >= 0 (0)")
    common.add_argument("--out", required=True, help="output file (its directory must exist)")
    common.add_argument("--to", choices=FORMATS, metavar="FORMAT",
                        help=f"output format: {' | '.join(FORMATS)} (default: the extension of --out)")
    common.add_argument("--format", dest="to", choices=FORMATS, action=deprecated_alias("--to"),
                        help=argparse.SUPPRESS)
    common.add_argument("--base", type=parse_size, default=0,
                        help="lowest address, a multiple of 64 (0)")
    common.add_argument("--interval", type=nonnegative_int, default=None, metavar="CYCLES",
                        help="arrival every CYCLES cycles, >= 0 (default: none, saturating)")
    span = {"type": parse_size, "default": GiB, "help": "address span, a multiple of 64 (1GiB)"}
    for name, doc in [("seq", "consecutive 64-byte lines"), ("random", "uniform random lines"),
                      ("stride", "fixed stride, wrapping in the span"),
                      ("hotrows", "most requests to a few hot regions"),
                      ("mixed", "sequential runs and random jumps, reads and writes")]:
        sub = kinds.add_parser(name, parents=[common], help=doc, description=doc)
        sub.add_argument("--write-fraction", type=fraction,
                         default=0.3 if name == "mixed" else 0.0,
                         help="fraction of writes, 0..1 (%(default)s)")
        if name == "seq":
            sub.add_argument("--span", type=parse_size, default=None,
                             help="wrap after this many bytes (default: no wrap)")
        else:
            sub.add_argument("--span", **span)
        if name == "stride":
            sub.add_argument("--stride", type=parse_size, default=128 * KiB,
                             help="stride, a multiple of 64 (128KiB)")
        if name == "hotrows":
            sub.add_argument("--hot-regions", type=positive_int, default=4,
                             help="number of hot regions, 1 .. regions in the span (4)")
            sub.add_argument("--hot-fraction", type=fraction, default=0.9,
                             help="fraction of requests to hot regions, 0..1 (0.9)")
            sub.add_argument("--region", type=parse_size, default=8 * KiB,
                             help="hot region size, a multiple of 64 dividing the span (8KiB)")
        if name == "mixed":
            sub.add_argument("--seq-fraction", type=fraction, default=0.5,
                             help="probability of continuing sequentially, 0..1 (0.5)")
    logical = kinds.add_parser("logical", help="synthetic logical weight-access trace",
                               description="synthetic logical weight-access trace "
                                           "(text, .gz or .npz by extension)")
    logical.add_argument("--images", type=int_in(1, 100_000), default=2, help="images, 1..100000 (2)")
    logical.add_argument("--seed", type=seed_int, default=0, help="random seed, >= 0 (0)")
    logical.add_argument("--rows", type=int_in(1, 1 << 20), default=784,
                         help="input neurons = weight rows, 1..2^20 (784)")
    logical.add_argument("--words-per-row", type=int_in(1, 1 << 20), default=100,
                         help="weight words per row, 1..2^20 (100)")
    logical.add_argument("--timesteps", type=int_in(1, 1 << 20), default=20,
                         help="time steps per image, 1..2^20 (20)")
    logical.add_argument("--spike-rate", type=float_in(0.0, 1.0, lo_open=True, what="a probability"),
                         default=0.02, help="spike probability per row and step, in (0, 1] (0.02)")
    logical.add_argument("--step-ns", type=int_in(1, 1 << 40), default=1000,
                         help="duration of a time step in ns, 1..2^40 (1000)")
    logical.add_argument("--out", required=True, help="output file: .npz, else text (.gz: gzipped)")
    return parser


def _generate(args):
    """(array, description) for parsed arguments."""
    if args.kind == "logical":
        params = dict(n_rows=args.rows, words_per_row=args.words_per_row,
                      timesteps=args.timesteps, spike_rate=args.spike_rate,
                      step_ns=args.step_ns)
        return logical_spikes(args.images, args.seed, **params), params
    params = dict(base=args.base, span_bytes=args.span, write_fraction=args.write_fraction,
                  interval_cycles=args.interval)
    if args.kind == "stride":
        params["stride_bytes"] = args.stride
    if args.kind == "hotrows":
        params.update(n_hot=args.hot_regions, hot_fraction=args.hot_fraction,
                      region_bytes=args.region)
    if args.kind == "mixed":
        params["seq_fraction"] = args.seq_fraction
    return GENERATORS[args.kind](args.n, args.seed, **params), params


def _option_error(err):
    """CliError naming the option behind a generator's ValueError ("param: problem")."""
    param, sep, problem = str(err).partition(": ")
    if sep and param in _OPTIONS:
        return CliError(f"{_OPTIONS[param]}: {problem}")
    return CliError(str(err))


def _main(argv):
    args = build_parser().parse_args(argv)
    check_output_file("--out", args.out)
    if args.kind == "logical" and args.images * args.timesteps * args.rows > MAX_SPIKE_DRAWS:
        raise CliError(f"--images {args.images} x --timesteps {args.timesteps} x --rows {args.rows}: more than "
                       f"{MAX_SPIKE_DRAWS:,} spike draws (they are made in memory)")
    try:
        if args.kind == "logical":
            logical_output_kind(args.out)
        else:
            fmt = output_format(args.out, args.to)
    except ValueError as err:
        raise CliError(str(err)) from None
    try:
        array, params = _generate(args)
    except ValueError as err:
        raise _option_error(err) from None
    try:
        if args.kind == "logical":
            meta = {"generator": "logical_spikes", "seed": args.seed, "n_images": args.images,
                    **params}
            write_logical(args.out, array, meta)
        else:
            what = " ".join(f"{k}={v}" for k, v in params.items())
            comment = f"generated by traces.generate: {args.kind} n={args.n} seed={args.seed} " \
                      f"{what}"
            write_trace(args.out, array, fmt, comment=comment if fmt == "native" else None)
    except (ValueError, TraceError) as err:
        raise CliError(str(err)) from None
    print(f"wrote {array.size} {'accesses' if args.kind == 'logical' else 'requests'} "
          f"to {args.out}", file=sys.stderr)
    return 0


def main(argv=None):
    """The command line; exit status 0 ok, 2 bad input (nothing written), 130 interrupted."""
    return run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
