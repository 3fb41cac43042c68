"""``python -m traces``: convert traces between formats, or summarise one."""
import argparse
import sys
import warnings

from .cli import CliError, Parser, check_output_file, int_in, note, run
from .errors import TraceError
from .formats import FORMATS, logical_output_kind, output_format

PROG = "python -m traces"
_EPILOG = """examples:
  python -m traces convert big.txt big.npy                 # text -> numpy (fast to reload)
  python -m traces convert run.dramsim3 run.trace --to native
  python -m traces convert t.trace t.ramulator2.gz --to ramulator2
  python -m traces convert weights.txt weights.npz         # logical traces too
  python -m traces info traces/samples/mixed_2000.trace
Input formats are auto-detected (traces/formats.py); --trace-format overrides. The output
format is --to, else the output's extension (.npy .npz .ramulator .ramulator2 .dramsim3), else
native; a trailing .gz gzips text; --to and the extension must agree. A logical trace is
written as .npz, else as text. Output appears only when complete. Arrival cycles must not
decrease. Errors: one line 'python -m traces: error: file:line: reason', exit status 2,
nothing written (docs/cli.md)."""


def _add_input(parser):
    parser.add_argument("input", metavar="IN", help="trace file (any format, optionally gzipped)")
    parser.add_argument("--trace-format", "--from", dest="source_format", choices=FORMATS, metavar="FORMAT",
                        help=f"format of IN: {' | '.join(FORMATS)} (default: detect; --from is the "
                             "same option)")


def build_parser():
    parser = Parser(prog=PROG, description="convert traces between formats, or summarise one",
                    epilog=_EPILOG, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    convert = commands.add_parser("convert", help="convert a trace to another format",
                                  description="convert a request or logical trace")
    _add_input(convert)
    convert.add_argument("output", metavar="OUT", help="output file (its directory must exist)")
    convert.add_argument("--to", choices=FORMATS, metavar="FORMAT",
                         help=f"output format of a request trace: {' | '.join(FORMATS)} "
                              "(default: OUT's extension, else native)")
    convert.add_argument("--chunk", type=int_in(1, 1 << 30), default=1 << 20, metavar="N",
                         help="requests per streamed chunk, 1 .. 2^30 (%(default)s)")
    info = commands.add_parser("info", help="summarise a trace", description="summarise a trace")
    _add_input(info)
    return parser


def convert(args):
    from .logical import is_logical_trace, read_logical, write_logical
    from .reader import iter_trace_chunks
    from .writer import write_trace
    logical = args.source_format is None and is_logical_trace(args.input)
    check_output_file("OUT", args.output, inputs=[args.input])
    if logical:
        if args.to:
            raise CliError("--to: applies to request traces; a logical trace's output kind follows OUT's "
                           "extension (.npz, else text)")
        logical_output_kind(args.output, "OUT")
        accesses, metadata = read_logical(args.input)
        return write_logical(args.output, accesses, metadata), "accesses"
    fmt = output_format(args.output, args.to, "OUT")
    chunks = iter_trace_chunks(args.input, args.chunk, args.source_format)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        count = write_trace(args.output, chunks, fmt)
    for w in caught:
        note(PROG, str(w.message))
    return count, "requests"


def info(args):
    import numpy as np
    from tabulate import tabulate

    from .formats import resolve_format
    from .logical import is_logical_trace, read_logical
    from .reader import iter_trace_chunks
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


def _main(argv):
    args = build_parser().parse_args(argv)
    try:
        if args.command == "convert":
            count, what = convert(args)
            print(f"wrote {count} {what} to {args.output}", file=sys.stderr)
        else:
            info(args)
    except (TraceError, ValueError) as err:
        raise CliError(str(err)) from None
    return 0


def main(argv=None):
    """The command line; exit status 0 ok, 2 bad input (nothing written), 130 interrupted."""
    return run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
