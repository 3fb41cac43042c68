"""How low can the DRAM holding an SNN's weights go, and how should the weights be laid out?

``python -m bench.sweep_mappings`` trains (or loads from the cache) a Diehl & Cook spiking
network on the embedded MNIST subset, takes the DRAM weight-access stream of its inference, and
sweeps placement policy x supply voltage on DDR3L-1600K: DRAM cycles, row-buffer hit rate,
read latency and energy per inference from the cycle-level DRAM model, and accuracy with the
bit errors of the reduced voltage injected into the stored weights at their DRAM locations.
It prints one table, names the lowest-energy configuration that meets the accuracy target, and
writes the table as CSV and JSON (and, with --plot, a Pareto chart) into --out.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from pathlib import Path

from bench._sweep_errors import UsageError
from snn.data import add_data_arguments
from traces.cli import Parser, comma_list, directory_writable, float_in, nonnegative_int, positive_int

DEFAULT_SPEC = "DDR3L-1600K"
DEFAULT_VDDS = (1.35, 1.30, 1.25, 1.20, 1.15, 1.10, 1.075, 1.05, 1.025)
DEFAULT_POLICIES = ("linear", "drmap", "sparkxd", "random")
PROG = "python -m bench.sweep_mappings"

#: Named settings of weight format, read guard and training; explicit options override them.
PRESETS = {
    "paper": {"format": "fp32", "guard": "none", "training": "fat"},
    "guarded": {"format": "fp32", "guard": "zero", "training": "plain"},
    "q8": {"format": "q8", "guard": "zero", "training": "plain"},
}
DEFAULT_PRESET = "paper"
DEFAULT_DIMM_STATISTIC = "median"
DEFAULT_SPREAD = "fitted"
DEFAULT_VDD_TIMING = "nominal"
TRAININGS = ("plain", "fat")

EPILOG = f"""\
what the table shows (one row per policy and VDD; energy is per inference = per test image):
  BER used       mean bit-error rate of the DRAM regions that hold weights at that VDD (measured
                 Voltron data, --vendor; lower for sparkxd); the files also give the device BER
  energy         DRAM energy per inference (uJ), mean over the --dram-images sampled test images
                 (each simulated alone) with its 95% CI over them; files split it into ACT+PRE,
                 RD, background and refresh
  saving         vs the baseline (linear placement, nominal VDD, fp32 weights) of the same run
  val. loss      accuracy loss in points on the VALIDATION images, paired against the error-free
                 fp32 network on the same images and input spikes, mean [95% CI] over
                 --spike-seeds x --fault-maps fault maps (devices) x images; choices are made on it
  meets target   the upper 95% bound of the validation loss is <= --target-loss
  test ...       the same on the test images: reported, never used to choose
The closing line names the lowest-energy row that meets the target and reports its TEST loss,
then splits its saving into placement, voltage and weight-format terms.

presets (--preset; --format / --guard / --training override their parts):
  paper    fp32 weights stored raw (no read guard), fault-aware training (SparkXD's setting;
           the default, because it is the setting the tool reproduces and the one in which
           the accuracy target binds within the measured voltage range)
  guarded  fp32 with the zero read guard, plainly trained (our improvement: a range check on
           every read drops any weight outside [0, w_max]; fp32 then tolerates ~1e3x more BER)
  q8       8-bit weights, plainly trained (a quarter of the reads)
training (--training):
  plain    the network as trained by STDP
  fat      per-device fault-aware training: for every fault map (device) that flips a bit,
           the plain network is trained one more epoch on exactly the faults that device
           puts at the point's layout and VDD (BER rising to it), neurons whose threshold
           saturates are retired and labels come from the weights as read back. It is a
           per-device calibration: the gain does not carry over to another device.
           Cached in --cache-dir; a cold default run trains a few dozen of them.

placement policies (--policies; add your own with mapping.policies.register_policy):
  linear   weights stored contiguously from address 0 (baseline, default address mapping)
  drmap    DRMap (DAC'20): fill a row, then other banks, then other subarrays, ranks, channels
  sparkxd  SparkXD (DAC'21): DRMap order over only the subarrays whose BER <= tolerable BER,
           the tolerable BER measured on the validation images (upper 95% bound of the loss)
  random   each 64-byte block in a random place (seeded worst case)

model (documented choices):
  * images: --val-images validation images are carved (seeded, class-stratified) out of the
    training images (default data: 4,000; --data fashion-mnist: 60,000) and never used for
    STDP or labelling; --images test images and the --dram-images are seeded,
    class-stratified samples of the test images (1,000; Fashion-MNIST: 10,000);
  * the DRAM sees the weight reads of inference (dataflow --dataflow, see snn.access) offered
    back to back (--arrival saturation) so cycles and background energy measure the memory
    work, not the SNN's idle time;
  * the controller is FR-FCFS, open page, no subarray-level parallelism (--salp none: what
    commodity DDR3L can do). --salp masa is a what-if (DRMap and SparkXD assume SALP-MASA; it
    raises row-buffer hits when weights are spread over subarrays);
  * bit errors: per-subarray BERs of one device (seed --seed; log-normal spread, an assumption,
    docs/errors.md) scaled to the Voltron BER of the VDD; persistent fault maps from --fault-maps
    seeds; read guard --guard;
  * the network is cached in --cache-dir (default $SPARKXD_CACHE or ~/.cache/sparkxd), keyed by
    every training input (parameters, data, epochs, seed, snn source): change one -> retrain.

custom traces (--trace FILE, any format of python -m traces; bad file -> "file:line: reason"):
  physical request trace: compares address mappings x schedulers x page policies (no accuracy)
  logical weight-access trace: compares the placement policies on that stream (no accuracy)

examples:
  {PROG}                                   # the default sweep (preset paper; 2 min cold, 15 s warm)
  {PROG} --preset guarded                  # fp32 with the read guard
  {PROG} --preset q8 --plot                # 8-bit weights, Pareto chart in ./sparkxd_out
  {PROG} --salp masa                       # what-if: SALP-MASA DRAM
  {PROG} --neurons 400 --out big_run
  {PROG} --neurons 400,900,1600,2500,3600  # SparkXD's sizes: a table each and a summary
  {PROG} --policies linear,sparkxd --vdd 1.35,1.2,1.15,1.125,1.1 --vendor A
  {PROG} --trace traces/samples/mixed_2000.trace
  {PROG} --trace traces/samples/logical_small.txt --policies drmap,random
  {PROG} --jobs 2 --resume                 # parallel, continue an interrupted sweep
Outputs (atomic writes; same --seed -> identical bytes): OUT/sweep.csv, OUT/sweep.json,
OUT/pareto.png (--plot); trace mode: OUT/trace_sweep.csv, OUT/trace_sweep.json.
Exit status: 0 ok, 2 bad option or input file (nothing written), 1 failure while running."""


#: The items of a comma list as written (no empty item, repeats allowed: the checks below and
#: in validate() name what is wrong with them).
_items = comma_list(str, unique=False)


def _float_list(text: str) -> list[float]:
    items = _items(text)
    try:
        out = [float(t) for t in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad list of numbers {text!r} (e.g. 1.35,1.2,1.05)") from None
    if not all(math.isfinite(v) for v in out):
        raise argparse.ArgumentTypeError(f"bad list of numbers {text!r}: not finite")
    return out


def _size_list(text: str) -> list[int]:
    items = _items(text)
    try:
        out = [int(t) for t in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad list of sizes {text!r} (e.g. 400,900,1600)") from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"bad list of sizes {text!r}: each must be >= 1")
    if len(set(out)) != len(out):
        raise argparse.ArgumentTypeError(f"bad list of sizes {text!r}: a size repeats")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0], epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("device and sweep")
    g.add_argument("--spec", default=DEFAULT_SPEC,
                   help="bundled DRAM spec name or .toml path (default %(default)s)")
    g.add_argument("--vdd", type=_float_list, default=None, metavar="V1,V2,...",
                   help="supply voltages in volts (default " + ",".join(map(str, DEFAULT_VDDS))
                   + "; physical --trace: the nominal VDD)")
    g.add_argument("--policies", type=_items, default=list(DEFAULT_POLICIES), metavar="P1,P2,...",
                   help="placement policies (default " + ",".join(DEFAULT_POLICIES) + ")")
    g.add_argument("--mapping", default="RoBaRaCoCh", metavar="SCHEME",
                   help="address mapping of the physical addresses (default %(default)s)")
    g.add_argument("--salp", default="none", choices=("none", "masa"),
                   help="subarray-level parallelism: none (default, commodity DDR3L) | masa (what-if)")
    g.add_argument("--scheduler", default="frfcfs", help="fcfs | frfcfs | frfcfs_cap (default %(default)s)")
    g.add_argument("--page-policy", default="open", help="open | closed (default %(default)s)")
    g.add_argument("--arrival", default="saturation", choices=("saturation", "timed"),
                   help="saturation: requests back to back (default); timed: at the stream's time_ns")
    g.add_argument("--powerdown-idle", type=positive_int, default=None, metavar="CYCLES",
                   help="also simulate idle ranks powering down after CYCLES idle cycles and report the "
                        "energy it saves (columns energy_pd_uj, pd_saved_uj, pd_saved_pct; meaningful "
                        "with --arrival timed, where the DRAM idles between spikes; default: off)")
    g.add_argument("--self-refresh-idle", type=positive_int, default=None, metavar="CYCLES",
                   help="with --powerdown-idle: self-refresh a rank idle for CYCLES (longer; default: off)")
    g.add_argument("--engine", default="auto", choices=("auto", "fast", "simpy"),
                   help="DRAM engine: auto = numba 'fast' if importable, else 'simpy'")
    n = p.add_argument_group("network and errors")
    add_data_arguments(n)
    n.add_argument("--neurons", type=_size_list, default=[100], metavar="N1,N2,...",
                   help="excitatory neurons; a list runs one sweep per size and a summary across them "
                        "(SparkXD's sizes: 400,900,1600,2500,3600; default 100)")
    n.add_argument("--preset", default=DEFAULT_PRESET, choices=tuple(PRESETS),
                   help="named setting of --format, --guard, --training (default %(default)s; see below)")
    n.add_argument("--format", default=None,
                   help="weight storage: fp32 | q16 | q8 (default: the preset's)")
    n.add_argument("--training", default=None,
                   help="plain | fat: per-device fault-aware training (default: the preset's)")
    n.add_argument("--dataflow", default="event", help="event | timestep | dense (default %(default)s)")
    n.add_argument("--train-images", type=positive_int, default=None,
                   help="training images (default: all the training images left after validation)")
    n.add_argument("--val-images", type=nonnegative_int, default=1000,
                   help="validation images carved out of the training images (default %(default)s)")
    n.add_argument("--epochs", type=positive_int, default=1, help="training epochs (default %(default)s)")
    n.add_argument("--images", type=positive_int, default=1000,
                   help="test images for accuracy, a stratified sample (default %(default)s: all of the "
                        "default data's, a tenth of Fashion-MNIST's)")
    n.add_argument("--dram-images", type=positive_int, default=10,
                   help="test images whose weight reads the DRAM model simulates, a stratified sample "
                        "(default %(default)s: one per class)")
    n.add_argument("--error-model", default="uniform", help="uniform | bitline | wordline | data (or 0-3)")
    n.add_argument("--vendor", default="B",
                   help="BER-vs-VDD curve: Voltron vendor A | B | C | all or a DIMM (e.g. B2), or a vdd,ber "
                        "CSV (default B, the only vendor measured down to 1.025 V; A, C, all: >= 1.10 V)")
    n.add_argument("--dimm", default=None, metavar="NAME",
                   help="one DIMM of --vendor (e.g. B7, names as in the Voltron data) instead of a statistic")
    n.add_argument("--dimm-statistic", default=None,
                   help="which of the vendor's DIMMs the BER curve describes: median (default: a typical "
                        "module) | mean (all DIMMs; undefined where one stops operating) | worst | "
                        "mean-operating (the mean over the DIMMs still operating: survivorship); "
                        "for --vendor A, B or C")
    n.add_argument("--spread", default=DEFAULT_SPREAD,
                   help="spatial BER spread between banks and subarrays: fitted (default: fitted to Voltron's "
                        "spatial-locality pictures, per vendor) | assumed (sigma 0.5 each) | retention | none")
    n.add_argument("--vdd-timing", default=DEFAULT_VDD_TIMING,
                   help="tRCD/tRAS/tRP at reduced VDD: nominal (default: the datasheet values, as the error "
                        "data were measured) | spice (from Voltron's SPICE model) | alpha (alpha-power law, an "
                        "upper bound)")
    n.add_argument("--guard", default=None,
                   help="read guard for decoded weights out of [0, w_max]: none | zero | clamp "
                        "(default: the preset's)")
    n.add_argument("--target-loss", type=float_in(0.0, 100.0), default=1.0,
                   help="accuracy loss allowed, percentage points, judged at the upper 95%% bound on "
                        "validation (default %(default)s)")
    n.add_argument("--tolerable-ber", type=float_in(0.0, 1.0, lo_open=True), default=None,
                   help="BER sparkxd may use (default: measured on the validation images; "
                        "with a logical --trace: 1e-6)")
    n.add_argument("--fault-maps", "--seeds", dest="seeds", type=positive_int, default=5,
                   help="fault maps (devices) per point (default %(default)s; --seeds is the old name)")
    n.add_argument("--spike-seeds", type=positive_int, default=2,
                   help="input-spike seeds per image and fault map (default %(default)s)")
    r = p.add_argument_group("run")
    r.add_argument("--seed", type=nonnegative_int, default=0,
                   help="master seed: network, images, device, faults (default 0)")
    r.add_argument("--trace", metavar="FILE", help="sweep a custom trace instead of the network (see below)")
    r.add_argument("--out", default="sparkxd_out", help="output directory (default ./%(default)s)")
    r.add_argument("--plot", action="store_true", help="also write a PNG Pareto chart (energy vs accuracy)")
    r.add_argument("--csv", metavar="-", choices=("-",), default=None,
                   help="'-': also stream the CSV to standard output, for pipes (the terminal view then "
                        "goes to standard error)")
    r.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                   help="worker processes for the points, and inference threads (default: all "
                        f"{os.cpu_count() or 1} cores; results are identical for any value)")
    r.add_argument("--dask", metavar="ADDRESS",
                   help="run the points on this dask.distributed scheduler (workers must see --cache-dir)")
    r.add_argument("--resume", action="store_true",
                   help="keep finished points in OUT/.resume and reuse them when rerun")
    r.add_argument("--cache-dir", default=None,
                   help="network/context cache (default $SPARKXD_CACHE or ~/.cache/sparkxd)")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("--wide", action="store_true",
                   help="print the full table (one line per policy and VDD, every interval) instead of "
                        "the compact policy x VDD view")
    r.add_argument("--no-shortcuts", dest="shortcuts", action="store_false",
                   help="evaluate every image and point even where the result is already known "
                        "(identical results, slower: the baseline of python -m bench.perf_sweep)")
    return p


# ----------------------------------------------------------------------------------------------
# validation (everything that can be checked before work starts; nothing is written on failure)

@dataclasses.dataclass
class Plan:
    args: argparse.Namespace
    spec: object
    curve: object
    config: object
    trace_kind: str | None = None     # None | "physical" | "logical"
    trace: object = None
    trace_meta: dict | None = None
    trace_shape: tuple | None = None  # logical trace: weight-matrix shape
    trace_format: str | None = None   # logical trace: storage format (word size)


def validate(args) -> Plan:
    from dramsim.address import AddressMapper
    from dataclasses import replace

    from dramsim.config import ConfigError, ControllerConfig, check_config
    from dramsim.errors import BerError, parse_model
    from dramsim.errors.ber_vdd import STATISTICS, curve_by_name_or_path, vendors
    from dramsim.errors.spatial import SPREAD_MODELS, error_params_for
    from dramsim.spec import SpecError, load_spec
    from dramsim.vdd import TIMING_MODELS, VddError, spec_at_vdd
    from mapping.guard import check_guard
    from mapping.policies import get_policy
    from snn.access import DATAFLOWS
    from snn.formats import get_format

    apply_preset(args)
    if args.dask:
        from bench.runner import RunnerError, check_dask_address
        try:
            check_dask_address(args.dask)
        except RunnerError as exc:
            raise UsageError(str(exc)) from None
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    try:
        AddressMapper(spec, args.mapping)
        config = ControllerConfig(scheduler=args.scheduler, page_policy=args.page_policy, salp=args.salp)
        check_config(spec, replace(config, powerdown_idle=args.powerdown_idle,
                                   self_refresh_idle=args.self_refresh_idle))
        if args.vdd_timing not in TIMING_MODELS:
            raise ValueError(f"--vdd-timing {args.vdd_timing!r}: choose one of {', '.join(TIMING_MODELS)}")
        for v in args.vdd:
            try:
                spec_at_vdd(spec, v, timing=args.vdd_timing)
            except VddError as exc:
                raise VddError(f"--vdd {v:g}: {exc}") from None
        spec_at_vdd(spec, spec.vdd_nominal)
        for name in args.policies:
            get_policy(name)
        get_format(args.format)
        parse_model(args.error_model)
        check_guard(args.guard)
        if args.dataflow not in DATAFLOWS:
            raise ValueError(f"unknown dataflow {args.dataflow!r}; known: {', '.join(DATAFLOWS)}")
    except (ValueError, VddError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    try:
        statistic = args.dimm_statistic
        if statistic is not None and statistic not in STATISTICS:
            raise BerError(f"--dimm-statistic {statistic!r}: choose one of {', '.join(STATISTICS)}")
        if statistic is None and not args.dimm and args.vendor in vendors():
            statistic = DEFAULT_DIMM_STATISTIC   # a vendor's curve describes its median DIMM
        if args.spread not in SPREAD_MODELS:
            raise BerError(f"--spread {args.spread!r}: choose one of {', '.join(SPREAD_MODELS)}")
        curve = curve_by_name_or_path(args.vendor, dimm=args.dimm, statistic=statistic)
        args.curve_statistic = statistic
        for v in [*args.vdd, spec.vdd_nominal]:
            if curve.operates(v):
                curve.ber(v)
            elif args.vdd_given or v == spec.vdd_nominal:
                curve.ber(v)                     # raises NotOperatingError: one line, exit 2
        args.error_params = dataclasses.asdict(error_params_for(args.spread, curve.name))
    except (BerError, OSError) as exc:
        raise UsageError(str(exc)) from None
    check_image_counts(args)
    if args.self_refresh_idle is not None and args.powerdown_idle is None:
        raise UsageError("--self-refresh-idle needs --powerdown-idle (self-refresh follows power-down)")
    if args.trace and args.plot:
        raise UsageError("--plot draws energy against accuracy, which a --trace sweep does not have")
    if len(set(args.vdd)) != len(args.vdd) or len(set(args.policies)) != len(args.policies):
        raise UsageError("--vdd and --policies must not repeat a value")
    check_writable_dir("--out", args.out)
    from bench._sweep_network import cache_dir
    check_writable_dir("--cache-dir" if args.cache_dir else "cache directory ($SPARKXD_CACHE or ~/.cache/sparkxd)",
                       cache_dir(args.cache_dir))
    if args.engine == "fast":
        try:
            import dramsim.engine_fast  # noqa: F401
        except ImportError as exc:
            raise UsageError(f"--engine fast: the numba engine cannot be imported ({exc})") from None
    plan = Plan(args=args, spec=spec, curve=curve, config=config)
    if args.trace:
        _load_trace(plan)
    return plan


def check_writable_dir(option: str, path) -> None:
    """UsageError unless ``path`` is a directory, or can be made one, that this user can write:
    checked before any work, so a sweep never runs for nothing. Creates nothing."""
    p = Path(path).expanduser()
    if p.exists():
        if not p.is_dir():
            raise UsageError(f"{option} {path}: exists and is not a directory")
        if not directory_writable(p):
            raise UsageError(f"{option} {path}: not writable")
        return
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is a file, not a directory")
    if not directory_writable(parent):
        raise UsageError(f"{option} {path}: cannot create it ({parent} is not writable)")


def apply_preset(args) -> None:
    """Fill --format, --guard and --training from --preset where they were not given."""
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.training not in TRAININGS:
        raise UsageError(f"--training {args.training!r}: choose one of {', '.join(TRAININGS)}")


def check_image_counts(args) -> None:
    """The three image sets must fit the data set (--data: its training and test images);
    loading it here also checks its files before any work."""
    if args.trace:
        return
    from snn.data import DataError, load_dataset
    try:
        ds = load_dataset(args.data, args.idx_dir)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    n_train, n_test = len(ds.x_train), len(ds.x_test)
    if args.val_images >= n_train:
        raise UsageError(f"--val-images {args.val_images}: must leave training images (the training set "
                         f"has {n_train})")
    left = n_train - args.val_images
    if args.train_images is not None and args.train_images > left:
        raise UsageError(f"--train-images {args.train_images}: only {left} training images are left after "
                         f"--val-images {args.val_images}")
    if args.val_images < 2 and not args.trace:
        raise UsageError(f"--val-images {args.val_images}: every choice is made on validation images; "
                         "need at least 2")
    if args.images > n_test:
        raise UsageError(f"--images {args.images}: the test set has {n_test} images")
    if args.dram_images > n_test:
        raise UsageError(f"--dram-images {args.dram_images}: the test set has {n_test} images")
    if args.images < 2:
        raise UsageError("--images: a confidence interval needs at least 2 test images")


def _load_trace(plan: Plan) -> None:
    """Read --trace fully now so a bad file fails before any output (TraceError -> exit 2)."""
    from traces import TraceError, is_logical_trace, read_logical, read_trace
    path = plan.args.trace
    try:
        if is_logical_trace(path):
            plan.trace, plan.trace_meta = read_logical(path)
            plan.trace_kind = "logical"
        else:
            plan.trace = read_trace(path)
            plan.trace_kind = "physical"
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{path}:0: cannot read ({exc.strerror or exc})") from None
    if plan.trace_kind == "logical":
        from bench._sweep_trace import prepare_logical
        plan.trace, plan.trace_shape, plan.trace_format = prepare_logical(
            path, plan.trace, plan.trace_meta or {}, plan.args.format)
    if plan.trace_kind == "physical":
        from dramsim.address import AddressError, AddressMapper
        try:
            AddressMapper(plan.spec, plan.args.mapping).decode(plan.trace["addr"])
        except AddressError as exc:
            raise UsageError(f"{path}:0: {exc}") from None


# ----------------------------------------------------------------------------------------------

def finish_args(args):
    """Defaults that depend on other options (the VDD list: whether it was given)."""
    args.vdd_given = args.vdd is not None
    if args.vdd is None:
        args.vdd = list(DEFAULT_VDDS)
    return args


def sweep(argv=None, **options):
    """The sweep from Python: returns its rows as a pandas DataFrame (``frame.attrs["meta"]``
    holds the settings, image sets and verdicts of ``sweep.json``). Options as on the command
    line, either as ``argv`` or as keywords (``neurons=[100, 400]``, ``preset="q8"``,
    ``vdd=[1.35, 1.05]``, ``no_progress=True``); nothing is printed but progress, and files
    are written only when ``out`` is given. Bad options raise ValueError with the CLI's message.

        >>> from bench.sweep_mappings import sweep
        >>> df = sweep(neurons=[100], preset="guarded", no_progress=True)
        >>> df[df.meets_target == "yes"].sort_values("energy_uj").head(1)
    """
    argv = list(argv or [])
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value not in (False, None):
            argv += [flag, ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)]
    parser = build_parser()
    try:
        args = finish_args(parser.parse_args(argv))
    except SystemExit:
        raise ValueError(f"bad options for {PROG}: {argv}") from None
    write = args.out is not None and "out" in options or "--out" in (argv or [])
    try:
        plan = validate(args)
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    if plan.trace_kind is not None:
        raise ValueError("sweep() runs the network sweep; use the command line for --trace")
    from bench._sweep_main import run_network_sweep
    return run_network_sweep(plan, report=False, write=write)[0]


def kernels_cold() -> bool:
    """True when numba has not compiled the SNN kernels yet (no cache file next to them)."""
    import snn
    cache = Path(snn.__file__).parent / "__pycache__"
    return not any(cache.glob("kernels.*.nbi"))


def main(argv=None) -> int:
    """The command line (exit 0 ok, 2 bad input, 1 failure, 130 interrupted); see --help.
    The shared rules (quiet broken pipes, one-line Ctrl-C and errors) are traces.cli.run's."""
    from traces.cli import run
    state = {}

    def kept():
        args = state.get("args")
        if args is not None and args.resume:
            return f"finished points are kept in {Path(args.out) / '.resume'}; rerun the same command to continue"
        return "no output was written; with --resume, finished points are kept and a rerun continues"
    return run(PROG, lambda a: _main(a, state), argv, interrupted=kept)


def _main(argv, state: dict) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error (one line printed, status 2) or --help (status 0)
        return int(exc.code or 0)
    finish_args(args)
    state["args"] = args
    t0 = time.perf_counter()
    try:
        plan = validate(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if kernels_cold():
        print(f"{PROG}: first run: numba compiles the kernels once (about a minute; cached afterwards)",
              file=sys.stderr)
    from bench.runner import RunnerError
    try:
        if plan.trace_kind == "physical":
            from bench._sweep_trace import run_physical_trace
            run_physical_trace(plan)
        elif plan.trace_kind == "logical":
            from bench._sweep_trace import run_logical_trace
            run_logical_trace(plan)
        else:
            from bench._sweep_main import run_network_sweep
            run_network_sweep(plan)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except RunnerError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2 if str(exc).startswith("--dask ") else 1
    print(f"wall time {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
