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

from .cli import Parser, fraction, nonnegative_int, parse_size, positive_int
from .errors import TraceError
from .formats import FORMATS, format_from_extension
from .logical import write_logical
from .records import LOGICAL_ACCESS_DTYPE, REQUEST_DTYPE
from .writer import write_trace

LINE_BYTES = 64
GiB, KiB = 1 << 30, 1 << 10


def _check(n, base, span_bytes=None, write_fraction=0.0, interval_cycles=None):
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if base < 0 or base % LINE_BYTES:
        raise ValueError(f"base must be a non-negative multiple of {LINE_BYTES}, got {base}")
    if span_bytes is not None and (span_bytes < LINE_BYTES or span_bytes % LINE_BYTES):
        raise ValueError(f"span must be a positive multiple of {LINE_BYTES} bytes, "
                         f"got {span_bytes}")
    if not 0.0 <= write_fraction <= 1.0:
        raise ValueError(f"write fraction must be in [0, 1], got {write_fraction}")
    if interval_cycles is not None and interval_cycles < 0:
        raise ValueError(f"interval must be >= 0 cycles, got {interval_cycles}")


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
        raise ValueError(f"stride must be a positive multiple of {LINE_BYTES} bytes, "
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
        raise ValueError(f"region must be a multiple of {LINE_BYTES} bytes dividing the span, "
                         f"got {region_bytes}")
    n_regions = span_bytes // region_bytes
    if not 1 <= n_hot <= n_regions:
        raise ValueError(f"n_hot must be in [1, {n_regions}], got {n_hot}")
    if not 0.0 <= hot_fraction <= 1.0:
        raise ValueError(f"hot fraction must be in [0, 1], got {hot_fraction}")
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
        raise ValueError(f"seq fraction must be in [0, 1], got {seq_fraction}")
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
        raise ValueError("n_images, n_rows, words_per_row, timesteps and step_ns must be >= 1")
    if not 0.0 < spike_rate <= 1.0:
        raise ValueError(f"spike rate must be in (0, 1], got {spike_rate}")
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
_EPILOG = """examples:
  python -m traces.generate seq --n 1000 --out seq.trace
  python -m traces.generate random --n 1000000 --seed 7 --span 256MiB --out rand.npy
  python -m traces.generate stride --n 5000 --stride 8KiB --out s.dramsim3
  python -m traces.generate hotrows --n 20000 --hot-regions 2 --hot-fraction 0.95 --out h.txt.gz
  python -m traces.generate mixed --n 2000 --write-fraction 0.4 --interval 4 --out m.trace
  python -m traces.generate logical --images 2 --out weights.logical.txt
Sizes accept binary suffixes (K/KiB, M/MiB, G/GiB). The output format follows the extension
(.npy .npz .ramulator .ramulator2 .dramsim3, optional .gz; anything else: native) unless
--format is given. Output is written atomically; bad arguments exit with status 2."""


def build_parser():
    parser = Parser(prog="python -m traces.generate", description=__doc__.split("\n\n")[0],
                    epilog=_EPILOG, formatter_class=argparse.RawTextHelpFormatter)
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND",
                                  parser_class=Parser)
    common = Parser(add_help=False)
    common.add_argument("--n", type=positive_int, required=True, help="number of requests")
    common.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    common.add_argument("--out", required=True, help="output file")
    common.add_argument("--format", choices=FORMATS, help="output format (default: extension)")
    common.add_argument("--base", type=parse_size, default=0, help="lowest address (0)")
    common.add_argument("--interval", type=nonnegative_int, default=None, metavar="CYCLES",
                        help="arrival every CYCLES cycles (default: none, saturating)")
    span = {"type": parse_size, "default": GiB, "help": "address span (1GiB)"}
    for name, doc in [("seq", "consecutive 64-byte lines"), ("random", "uniform random lines"),
                      ("stride", "fixed stride, wrapping in the span"),
                      ("hotrows", "most requests to a few hot regions"),
                      ("mixed", "sequential runs and random jumps, reads and writes")]:
        sub = kinds.add_parser(name, parents=[common], help=doc, description=doc)
        sub.add_argument("--write-fraction", type=fraction,
                         default=0.3 if name == "mixed" else 0.0,
                         help="fraction of writes (%(default)s)")
        if name == "seq":
            sub.add_argument("--span", type=parse_size, default=None,
                             help="wrap after this many bytes (default: no wrap)")
        else:
            sub.add_argument("--span", **span)
        if name == "stride":
            sub.add_argument("--stride", type=parse_size, default=128 * KiB,
                             help="stride (128KiB)")
        if name == "hotrows":
            sub.add_argument("--hot-regions", type=positive_int, default=4,
                             help="number of hot regions (4)")
            sub.add_argument("--hot-fraction", type=fraction, default=0.9,
                             help="fraction of requests to hot regions (0.9)")
            sub.add_argument("--region", type=parse_size, default=8 * KiB,
                             help="hot region size (8KiB)")
        if name == "mixed":
            sub.add_argument("--seq-fraction", type=fraction, default=0.5,
                             help="probability of continuing sequentially (0.5)")
    logical = kinds.add_parser("logical", help="synthetic logical weight-access trace",
                               description="synthetic logical weight-access trace "
                                           "(text, .gz or .npz by extension)")
    logical.add_argument("--images", type=positive_int, default=2, help="images (2)")
    logical.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    logical.add_argument("--rows", type=positive_int, default=784,
                         help="input neurons = weight rows (784)")
    logical.add_argument("--words-per-row", type=positive_int, default=100,
                         help="weight words per row (100)")
    logical.add_argument("--timesteps", type=positive_int, default=20,
                         help="time steps per image (20)")
    logical.add_argument("--spike-rate", type=fraction, default=0.02,
                         help="spike probability per row and step (0.02)")
    logical.add_argument("--step-ns", type=positive_int, default=1000,
                         help="duration of a time step in ns (1000)")
    logical.add_argument("--out", required=True, help="output file")
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


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        array, params = _generate(args)
        if args.kind == "logical":
            meta = {"generator": "logical_spikes", "seed": args.seed, "n_images": args.images,
                    **params}
            write_logical(args.out, array, meta)
        else:
            fmt = args.format or format_from_extension(args.out) or "native"
            what = " ".join(f"{k}={v}" for k, v in params.items())
            comment = f"generated by traces.generate: {args.kind} n={args.n} seed={args.seed} " \
                      f"{what}"
            write_trace(args.out, array, fmt, comment=comment if fmt == "native" else None)
    except (ValueError, TraceError, OSError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    print(f"wrote {array.size} {'accesses' if args.kind == 'logical' else 'requests'} "
          f"to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
