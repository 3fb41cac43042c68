"""``python -m traces``: convert traces between formats, or summarise one."""
import argparse
import os
import sys

import numpy as np
from tabulate import tabulate

from .cli import Parser, positive_int
from .errors import TraceError
from .formats import FORMATS, resolve_format
from .logical import is_logical_trace, read_logical, write_logical
from .reader import iter_trace_chunks
from .writer import write_trace

_EPILOG = """examples:
  python -m traces convert big.txt big.npy                 # text -> numpy (fast to reload)
  python -m traces convert run.dramsim3 run.trace --to native
  python -m traces convert t.trace t.ramulator2.gz --to ramulator2
  python -m traces convert weights.txt weights.npz         # logical traces too
  python -m traces info traces/samples/mixed_2000.trace
Input formats are auto-detected (see traces/formats.py); --from overrides. The output format
is --to, else the output's extension (.npy .npz .ramulator .ramulator2 .dramsim3), else
native; a trailing .gz gzips text. Output appears only when complete. Errors: one line
'file:line: reason', exit status 2."""


def build_parser():
    parser = Parser(prog="python -m traces", description="convert traces between formats, or summarise one",
                    epilog=_EPILOG, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    convert = commands.add_parser("convert", help="convert a trace to another format",
                                  description="convert a request or logical trace")
    convert.add_argument("input", metavar="IN")
    convert.add_argument("output", metavar="OUT")
    convert.add_argument("--to", choices=FORMATS, help="output format of a request trace")
    convert.add_argument("--from", dest="source_format", choices=FORMATS,
                         help="input format (default: auto-detect)")
    convert.add_argument("--chunk", type=positive_int, default=1 << 20,
                         help="requests per streamed chunk (%(default)s)")
    info = commands.add_parser("info", help="summarise a trace", description="summarise a trace")
    info.add_argument("input", metavar="IN")
    info.add_argument("--from", dest="source_format", choices=FORMATS)
    return parser


def _same_file(a, b):
    return os.path.exists(b) and os.path.samefile(a, b)


def convert(args):
    if _same_file(args.input, args.output):
        raise ValueError(f"{args.output}: refusing to overwrite the input")
    if args.source_format is None and is_logical_trace(args.input):
        if args.to:
            raise ValueError("--to applies to request traces; a logical trace's output "
                             "kind follows OUT's extension (.npz, else text)")
        accesses, metadata = read_logical(args.input)
        return write_logical(args.output, accesses, metadata), "accesses"
    chunks = iter_trace_chunks(args.input, args.chunk, args.source_format)
    return write_trace(args.output, chunks, args.to), "requests"


def info(args):
    if args.source_format is None and is_logical_trace(args.input):
        accesses, metadata = read_logical(args.input)
        rows = [("kind", "logical"), ("accesses", accesses.size),
                ("images", np.unique(accesses["image"]).size),
                ("rows touched", np.unique(accesses["row"]).size),
                ("words read", int(accesses["n_words"].sum())),
                ("time_ns", f"{accesses['time_ns'].min()} .. {accesses['time_ns'].max()}")]
        rows += [(f"meta {k}", v) for k, v in metadata.items()]
    else:
        n = writes = 0
        lo, hi, timed = None, None, 0
        for chunk in iter_trace_chunks(args.input, 1 << 20, args.source_format):
            n += chunk.size
            writes += int(chunk["is_write"].sum())
            timed += int((chunk["arrive"] >= 0).sum())
            lo = min(int(chunk["addr"].min()), lo if lo is not None else 1 << 64)
            hi = max(int(chunk["addr"].max()), hi if hi is not None else -1)
        rows = [("format", resolve_format(args.input, args.source_format)), ("requests", n),
                ("writes", f"{writes} ({writes / n:.1%})"),
                ("address range", f"{lo:#x} .. {hi:#x}"), ("with arrival cycle", timed)]
    print(tabulate(rows, tablefmt="plain"))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            count, what = convert(args)
            print(f"wrote {count} {what} to {args.output}", file=sys.stderr)
        else:
            info(args)
    except (TraceError, ValueError, OSError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
