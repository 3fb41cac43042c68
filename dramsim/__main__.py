"""``python -m dramsim``: simulate a request trace on a DRAM device and print its statistics.

Every input is validated before anything runs or is written: a bad input prints one line,
``python -m dramsim: error: file:line: reason`` for a problem inside a file, ``...: error:
--option: reason`` for a bad option, and exits with status 2 without writing any output
(docs/cli.md). Outputs are written atomically (temporary file, then rename) into existing
directories and never over an input. Ctrl-C: one line, status 130, nothing written.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from dramsim.cliargs import MAX_CHANNELS, MAX_CYCLES, MAX_QUEUE, MAX_RANKS, power_of_two, volts
from dramsim.config import CONTROLLERS, DEFAULT_CONTROLLER, PAGE_POLICIES, SALP_MODES, SCHEDULERS, ControllerConfig
from dramsim.simulate import ENGINES
from traces.cli import CliError, Parser, check_outputs, deprecated_alias, fraction, int_in, run

DEFAULT_SPEC = "DDR3L-1600K"
DEFAULT_MAPPING = "RoBaRaCoCh"

EPILOG = """\
examples:
  python -m dramsim --spec DDR3L-1600K --trace traces/samples/random_500.ramulator
  python -m dramsim --spec DDR4-2400R --trace run.trace --scheduler fcfs --page-policy closed
  python -m dramsim --spec DDR3L-1600K --trace run.trace --vdd 1.25 --json stats.json --csv stats.csv
  python -m dramsim --spec my_device.toml --trace run.npy --channels 2 --ranks 2 --salp masa \\
      --command-log run.commands.csv
  python -m dramsim --trace timed.npy --powerdown-idle 64 --self-refresh-idle 20000   # low-power states
  python -m dramsim --trace run.trace --controller r2.0-conservative --refresh-interval 3120 \\
      --write-high-watermark 0.5 --write-low-watermark 0.1

Trace formats (auto-detected, or --trace-format): native '[cycle] addr R|W', ramulator
'0xADDR R|W', dramsim3 '0xADDR READ|WRITE cycle', ramulator2 'LD|ST addr', npy/npz
(REQUEST_DTYPE); text formats may be gzipped. Requests with an arrival cycle are offered no
earlier than it (cycles must not decrease); without one they are offered as fast as the
controller accepts them (saturation).

Defaults: the numba engine, no subarray-level parallelism (--salp none: commodity DRAM; the
sweep's default too), Ramulator 2.1's controller; the header line states them.

The controller follows docs/controller.md: by default Ramulator 2.1's generic DDR controller
request for request (--controller r2.1: FR-FCFS, write-drain watermarks, read-after-write
forwarding, write coalescing, all-bank refresh); --controller r2.0-conservative keeps the rules
of earlier sparkxd versions. --powerdown-idle / --self-refresh-idle put idle ranks into
power-down / self-refresh (off by default). Energy is a DRAMPower-style current model and
counts ALL devices of a rank (devices_per_rank x the per-device datasheet current).
--json holds every statistic, nested by channel, rank, bank and subarray; --csv the same as
scope,metric,value rows; --command-log every DRAM command as CSV with a header naming the
device, mapping and controller settings (python -m dramsim.checker reads it), plus one DRAMPower
command trace (cycle,CMD,bank) per rank next to it (<name>.ch<C>.rank<R>.drampower).
exit status: 0 ok, 2 bad input (nothing written), 130 interrupted (nothing written).
"""


InputError = CliError          # a bad input; str() is the one line after "python -m dramsim: error: "

PROG = "python -m dramsim"


_CYCLES = int_in(1, MAX_CYCLES)


def build_parser() -> argparse.ArgumentParser:
    from traces.formats import FORMATS
    p = Parser(prog=PROG,
               description="Cycle-level DRAM simulation of a request trace: row-buffer statistics, "
                           "latency, bandwidth, queue occupancy and energy.",
               epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spec", default=DEFAULT_SPEC,
                   help=f"bundled device name (DDR3-1600K, DDR3L-1600K, DDR4-2400R) or a spec .toml "
                        f"file (default {DEFAULT_SPEC})")
    p.add_argument("--trace", required=True, metavar="FILE", help="request trace to simulate")
    p.add_argument("--trace-format", choices=FORMATS, metavar="FORMAT",
                   help=f"format of --trace: {' | '.join(FORMATS)} (default: detect)")
    p.add_argument("--format", dest="trace_format", choices=FORMATS, action=deprecated_alias("--trace-format"),
                   help=argparse.SUPPRESS)
    p.add_argument("--engine", choices=ENGINES, default="fast",
                   help="fast: the numba engine (default); simpy: the readable reference engine; "
                        "both give identical results (tests/test_engine_diff.py)")
    p.add_argument("--controller", choices=CONTROLLERS, default=DEFAULT_CONTROLLER,
                   help="r2.1: Ramulator 2.1's rules (default); r2.0-conservative: the rules of earlier "
                        "sparkxd versions (docs/controller.md, 'Controller variants')")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="frfcfs", help="default frfcfs")
    p.add_argument("--page-policy", choices=PAGE_POLICIES, default="open",
                   help="open: keep rows open; closed: auto-precharge (RDA/WRA) (default open)")
    p.add_argument("--mapping", default=DEFAULT_MAPPING, metavar="SCHEME",
                   help=f"address mapping, fields from the most significant bit: Ro Ba Bg Ra Co Ch "
                        f"(default {DEFAULT_MAPPING})")
    p.add_argument("--salp", choices=SALP_MODES, default="none",
                   help="masa: subarray-level parallelism, one open row per subarray (default none)")
    p.add_argument("--vdd", type=volts, metavar="V",
                   help="supply voltage (default: the spec's nominal); slower core timings and lower "
                        "currents from the spec's VDD table")
    p.add_argument("--channels", type=power_of_two(MAX_CHANNELS), metavar="N",
                   help=f"override the spec's channels (a power of two, 1..{MAX_CHANNELS})")
    p.add_argument("--ranks", type=power_of_two(MAX_RANKS), metavar="N",
                   help=f"override the spec's ranks per channel (a power of two, 1..{MAX_RANKS})")
    p.add_argument("--read-queue", type=int_in(1, MAX_QUEUE), default=32, metavar="N",
                   help=f"read queue entries, 1..{MAX_QUEUE} (default 32)")
    p.add_argument("--write-queue", type=int_in(1, MAX_QUEUE), default=32, metavar="N",
                   help=f"write queue entries, 1..{MAX_QUEUE} (default 32)")
    p.add_argument("--write-high-watermark", type=fraction, default=0.8, metavar="F",
                   help="enter write-drain mode above F x write queue, 0..1 (default 0.8)")
    p.add_argument("--write-low-watermark", type=fraction, default=0.2, metavar="F",
                   help="leave write-drain mode below F x write queue while reads wait, 0..F_high "
                        "(default 0.2)")
    p.add_argument("--no-refresh", action="store_true", help="disable refresh")
    p.add_argument("--refresh-interval", type=_CYCLES, metavar="CYCLES",
                   help="all-bank refresh every CYCLES, > the spec's nRFC (default: the spec's nREFI)")
    p.add_argument("--powerdown-idle", type=_CYCLES, metavar="CYCLES",
                   help="power down a rank idle for CYCLES, 1..2^40 (active power-down if a row is open, "
                        "else precharge power-down; default: never)")
    p.add_argument("--self-refresh-idle", type=_CYCLES, metavar="CYCLES",
                   help="self-refresh a rank idle for CYCLES with every row closed (longer than "
                        "--powerdown-idle, up to 2^40; default: never)")
    p.add_argument("--json", metavar="OUT", help="write every statistic as JSON (the directory must exist)")
    p.add_argument("--csv", metavar="OUT", help="write every statistic as scope,metric,value CSV")
    p.add_argument("--command-log", metavar="OUT",
                   help="write the issued DRAM commands as CSV (and DRAMPower traces per rank next to it)")
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (one is shown only when standard error is a terminal)")
    return p


# ------------------------------------------------------------------------------------------
# Validation (everything that can fail on bad input happens before any output is written)
# ------------------------------------------------------------------------------------------

def _load_spec(args):
    from dramsim.spec import SpecError, load_spec
    try:
        spec = load_spec(args.spec, channels=args.channels, ranks=args.ranks)
    except SpecError as exc:
        raise InputError(str(exc) if Path(args.spec).is_file() else f"--spec: {exc}") from None
    if args.vdd is not None:
        from dramsim.vdd import VddError, spec_at_vdd
        try:
            spec = spec_at_vdd(spec, args.vdd)
        except VddError as exc:
            raise InputError(f"--vdd: {exc}") from None
    return spec


_CONFIG_OPTIONS = {"write watermarks": "--write-low-watermark", "refresh_interval": "--refresh-interval",
                   "powerdown_idle": "--powerdown-idle", "self_refresh_idle": "--self-refresh-idle",
                   "read_queue/write_queue": "--read-queue"}


def _config(args, spec) -> ControllerConfig:
    """The controller settings of the options, checked against the spec (power-down data,
    refresh interval): InputError naming the option, or the spec file and key."""
    from dramsim.config import ConfigError, check_config
    try:
        config = ControllerConfig(scheduler=args.scheduler, page_policy=args.page_policy, salp=args.salp,
                                  read_queue=args.read_queue, write_queue=args.write_queue,
                                  write_high_watermark=args.write_high_watermark,
                                  write_low_watermark=args.write_low_watermark, refresh=not args.no_refresh,
                                  controller=args.controller, refresh_interval=args.refresh_interval,
                                  powerdown_idle=args.powerdown_idle, self_refresh_idle=args.self_refresh_idle)
    except ConfigError as exc:
        field, _, rest = str(exc).partition(": ")
        raise InputError(f"{_CONFIG_OPTIONS.get(field, '--' + field.replace('_', '-'))}: {rest}") from None
    try:
        check_config(spec, config)
    except ConfigError as exc:
        text = str(exc)
        if text.startswith("refresh_interval: "):
            opt = "--refresh-interval" if args.refresh_interval else "--spec"
            raise InputError(f"{opt}: {text.partition(': ')[2]}") from None
        raise InputError(text) from None             # "<spec file>: currents.IDD6: missing; ..."
    return config


def _request_line(path: str, index: int, trace_format: str | None = None) -> int:
    """1-based line of the ``index``-th request of a text trace (0 for binary formats)."""
    from traces.formats import resolve_format
    from traces.sources import open_binary
    if resolve_format(path, trace_format) in ("npy", "npz"):
        return 0
    seen = -1
    with open_binary(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if line.split(b"#", 1)[0].strip():
                seen += 1
                if seen == index:
                    return line_no
    return 0


def _load_trace(args, spec):
    from dramsim.address import AddressError, AddressMapper, parse_scheme
    from traces import TraceError, read_trace
    try:
        parse_scheme(args.mapping)
    except ValueError as exc:
        raise InputError(f"--mapping: {exc}") from None
    try:
        records = read_trace(args.trace, format=args.trace_format)
    except TraceError as exc:
        raise InputError(str(exc)) from None
    mapper = AddressMapper(spec, args.mapping)
    try:
        return records, mapper.decode_records(records)
    except AddressError as exc:
        text = str(exc)
        index = int(text.split(":")[0].split()[-1]) if text.startswith("request ") else -1
        line = _request_line(args.trace, index, args.trace_format) if index >= 0 else 0
        raise InputError(f"{args.trace}:{line}: {text}") from None


def _outputs(args) -> dict[str, Path]:
    """Output paths by option, checked before any work: distinct, not an input (the trace, a spec
    file), in an existing writable directory."""
    outs = {opt: Path(v) for opt, v in (("--json", args.json), ("--csv", args.csv),
                                        ("--command-log", args.command_log)) if v is not None}
    check_outputs(outs, inputs=_inputs(args))
    return outs


def _inputs(args) -> list[str]:
    return [args.trace] + ([args.spec] if Path(args.spec).is_file() else [])


def _check_drampower_paths(args, outs, spec) -> None:
    """The DRAMPower traces written next to --command-log: not an input, not another output."""
    if "--command-log" not in outs:
        return
    names = [("--command-log", p) for p in drampower_paths(outs["--command-log"], spec).values()]
    check_outputs(list(outs.items()) + names, inputs=_inputs(args))


def drampower_paths(log_path: Path, spec) -> dict[tuple[int, int], Path]:
    """The DRAMPower trace written next to a command log, per (channel, rank)."""
    return {(ch, rk): log_path.with_name(f"{log_path.name}.ch{ch}.rank{rk}.drampower")
            for ch in range(spec.org.channels) for rk in range(spec.org.ranks)}


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------

def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def table_rows(summary: dict) -> list[list]:
    """The printed table: totals (and per channel when there are several)."""
    from dramsim.stats import summary_rows
    rows = summary_rows(summary)
    several = len(summary["channels"]) > 1
    return [[scope, metric, _fmt(v)] for scope, metric, v in rows if several or scope == "total"]


def json_bytes(summary: dict, args, n_requests: int) -> bytes:
    from traces.formats import resolve_format
    doc = {"input": {"trace": args.trace, "trace_format": resolve_format(args.trace, args.trace_format),
                     "mapping": args.mapping,
                     "spec": args.spec, "requests_in_trace": n_requests}, **summary}
    return (json.dumps(doc, indent=2) + "\n").encode()


def csv_text(summary: dict) -> str:
    from dramsim.stats import summary_rows
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["scope", "metric", "value"])
    for scope, metric, value in summary_rows(summary):
        w.writerow([scope, metric, "" if value is None else value])
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    from traces.atomic import atomic_output
    with atomic_output(path, "wb") as fh:
        fh.write(data)


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    outs = _outputs(args)
    spec = _load_spec(args)
    _check_drampower_paths(args, outs, spec)
    config = _config(args, spec)
    from dramsim.simulate import EngineUnavailable, load_engine, simulate
    try:
        load_engine(args.engine)
    except EngineUnavailable as exc:
        raise InputError(f"--engine: {exc}") from None
    records, decoded = _load_trace(args, spec)
    result = simulate(spec, decoded, config, engine=args.engine, mapping=args.mapping,
                      command_log="--command-log" in outs, progress=sys.stderr.isatty() and not args.no_progress)
    summary = result.summary
    if "--json" in outs:
        _write(outs["--json"], json_bytes(summary, args, len(records)))
    if "--csv" in outs:
        _write(outs["--csv"], csv_text(summary).encode())
    if "--command-log" in outs:
        from dramsim.checker import write_command_log_csv, write_drampower_trace
        from dramsim.cmdlog import make_header
        header = make_header(spec, config, args.mapping, args.spec, len(decoded))
        write_command_log_csv(outs["--command-log"], result.command_log, header)
        for (ch, rk), path in drampower_paths(outs["--command-log"], spec).items():
            write_drampower_trace(path, result.command_log, spec, channel=ch, rank=rk)
    if not args.quiet:
        from tabulate import tabulate
        org = spec.org
        n = len(decoded)
        rate = f"{n / result.wall_s:,.0f} req/s" if result.wall_s > 0 else "-"
        print(f"{spec.name} at {spec.vdd:g} V, {org.channels} channel(s) x {org.ranks} rank(s), mapping "
              f"{args.mapping}, SALP {config.salp}, {config.scheduler}, {config.page_policy} page, {args.engine} "
              f"engine: {n:,} requests in {result.wall_s:.2f} s ({rate})")
        print(f"controller {config.controller}, queues {config.read_queue}/{config.write_queue}, write drain "
              f"{config.write_low_watermark:g}/{config.write_high_watermark:g}, refresh "
              f"{'every ' + str(config.nrefi(spec)) + ' cycles' if config.refresh else 'off'}, power-down "
              f"{config.powerdown_idle or 'off'}, self-refresh {config.self_refresh_idle or 'off'}")
        print(tabulate(table_rows(summary), headers=["scope", "metric", "value"], disable_numparse=True))
        print(f"energy counts all {org.devices_per_rank} devices of each rank "
              f"(devices_per_rank x per-device current).")
    return 0


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 2 bad input, 130 interrupted (nothing written)."""
    return run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
