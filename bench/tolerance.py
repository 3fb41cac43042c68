"""Error tolerance of a trained SNN: accuracy vs DRAM bit-error rate, and the tolerable BER.

Trains (or loads, --model) a Diehl & Cook network, then for every configuration (error model x
weight format x read guard) sweeps the BER over a log grid with several fault-map seeds, stores
the weights in the format, injects bit errors (mapping.inject), decodes, guards and evaluates.
Reports accuracy mean/std/min per BER and the maximum tolerable BER for the accuracy target
(default: error-free accuracy minus 1 percentage point). Same arguments -> same numbers.

Examples:
    python -m bench.tolerance                                   # fp32, model 0, no guard
    python -m bench.tolerance --format fp32 q8 --guard none clamp --plot tol.png --out results/tol
    python -m bench.tolerance --error-model 0 1 2 3 --seeds 10
    python -m bench.tolerance --bit-sensitivity --format q8 --bit-rate 0.01
    python -m bench.tolerance --bench-injection                 # injection throughput
    python -m bench.tolerance --fat --fat-target-ber 1e-3       # fault-aware training (see
                                                                # python -m bench.fault_aware -h)
The trained model is cached under --cache-dir keyed by its training parameters.
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
from pathlib import Path

import numpy as np
from tabulate import tabulate
from tqdm import tqdm

from dramsim.errors import ErrorParams, parse_model
from mapping.guard import GUARDS
from mapping.tolerance import (CONFIG_KEYS, StoredWeights, bit_sensitivity, clean_accuracy, crossing_ber,
                               log_grid, max_tolerable_ber, split_configs, summarize, tolerance_curve)
from traces.atomic import atomic_output, write_json_atomic

FORMATS = ("fp32", "q16", "q8")


class CliError(ValueError):
    """Bad input; main() prints the one-line message and exits with status 2."""


# ------------------------------------------------------------------ shared argument groups
def add_model_args(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("model and data")
    g.add_argument("--model", metavar="PATH", help="trained model file (snn.model_io); default: train one")
    g.add_argument("--neurons", type=int, default=100, help="excitatory neurons when training (default 100)")
    g.add_argument("--epochs", type=int, default=1, help="training epochs (default 1)")
    g.add_argument("--train-seed", type=int, default=0, help="seed of initial weights, shuffling, STDP inputs")
    g.add_argument("--n-train", type=int, default=None, help="training images (default: all 4000)")
    g.add_argument("--n-test", type=int, default=None, help="test images (default: all 1000)")
    g.add_argument("--eval-seed", type=int, default=0, help="inference input seed, common to all rows")
    g.add_argument("--cache-dir", default=os.environ.get("SPARKXD_CACHE", str(Path.home() / ".cache" / "sparkxd")),
                   help="where trained models are cached (default $SPARKXD_CACHE or ~/.cache/sparkxd)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_error_args(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("errors")
    g.add_argument("--error-model", nargs="+", default=["0"],
                   help="0 uniform, 1 bitline, 2 wordline, 3 data-dependent (names work too)")
    g.add_argument("--format", nargs="+", default=["fp32"], choices=FORMATS, help="weight storage format(s)")
    g.add_argument("--guard", nargs="+", default=["none"], choices=GUARDS, help="read guard(s)")
    g.add_argument("--ber-min", type=float, default=1e-9)
    g.add_argument("--ber-max", type=float, default=1e-2)
    g.add_argument("--per-decade", type=int, default=2, help="grid points per decade (default 2)")
    g.add_argument("--bers", type=float, nargs="+", help="explicit BER list (overrides the grid)")
    g.add_argument("--seeds", type=int, default=5, help="fault-map seeds 0..SEEDS-1 (default 5)")
    g.add_argument("--drop", type=float, default=1.0,
                   help="accuracy target = error-free accuracy minus DROP percentage points (default 1)")
    g.add_argument("--target", type=float, help="absolute accuracy target in %% (overrides --drop)")
    g.add_argument("--spec", default="DDR3L-1600K", help="DRAM spec holding the weights")
    g.add_argument("--weak-fraction", type=float, default=0.01, help="models 1/2: weak line fraction")
    g.add_argument("--concentration", type=float, default=0.9, help="models 1/2: share of errors on weak lines")
    g.add_argument("--ratio", type=float, default=3.0, help="model 3: P(1->0)/P(0->1)")
    g.add_argument("--bank-spread", type=float, default=0.0,
                   help="sigma of ln per-bank BER multiplier (default 0: a homogeneous device, so the "
                        "BER axis is the BER the weights see; the library default is 0.5)")
    g.add_argument("--subarray-spread", type=float, default=0.0, help="sigma of ln per-subarray multiplier (default 0)")


def error_params(a) -> ErrorParams:
    try:
        return ErrorParams(a.weak_fraction, a.concentration, a.ratio, a.bank_spread, a.subarray_spread)
    except ValueError as e:
        raise CliError(str(e)) from None


def ber_list(a) -> list[float]:
    if a.bers:
        bers = sorted(set(a.bers))
        if bers[0] < 0 or bers[-1] > 1:
            raise CliError("--bers: every BER must lie in [0, 1]")
        return bers
    if not (0 < a.ber_min < a.ber_max <= 1) or a.per_decade < 1:
        raise CliError("need 0 < --ber-min < --ber-max <= 1 and --per-decade >= 1")
    return [float(b) for b in log_grid(a.ber_min, a.ber_max, a.per_decade)]


def seed_list(a) -> list[int]:
    if a.seeds < 1:
        raise CliError("--seeds must be >= 1")
    return list(range(a.seeds))


# ------------------------------------------------------------------ data and model
def load_data(a):
    from snn.data import load_default_split
    ds = load_default_split()
    xtr, ytr, xte, yte = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    for name, n, total in (("--n-train", a.n_train, len(xtr)), ("--n-test", a.n_test, len(xte))):
        if n is not None and not 1 <= n <= total:
            raise CliError(f"{name} must be in 1..{total}, got {n}")
    # keep a stratified test subset by taking every k-th image when --n-test is smaller
    if a.n_test:
        idx = np.linspace(0, len(xte) - 1, a.n_test).round().astype(int)
        xte, yte = xte[idx], yte[idx]
    xtr, ytr = ds.shuffled_train(a.train_seed, a.n_train)
    return xtr, ytr, xte, yte, ds.name


def model_key(a, dataset: str, extra: dict | None = None) -> str:
    from bench._sweep_network import snn_source_digest
    from snn.params import MODEL_VERSION, NetworkParams
    desc = {"snn_source": snn_source_digest(), "neurons": a.neurons, "epochs": a.epochs, "train_seed": a.train_seed, "n_train": a.n_train,
            "dataset": dataset, "params": NetworkParams(n_neurons=a.neurons).to_dict(),
            "version": MODEL_VERSION, **(extra or {})}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]


def cached_model(a, x, y, dataset: str, trainer=None, extra: dict | None = None, tag: str = "plain"):
    """Load the model cached for these parameters, or train it (``trainer(model)``) and cache it."""
    from snn.model import Model
    from snn.model_io import load_model, save_model
    from snn.params import NetworkParams
    from snn.train import train
    if a.neurons < 1 or a.epochs < 1:
        raise CliError("--neurons and --epochs must be >= 1")
    path = Path(a.cache_dir) / f"model_{tag}_{model_key(a, dataset, extra)}.npz"
    if path.exists():
        return load_model(path), path
    model = Model.new(NetworkParams(n_neurons=a.neurons), seed=a.train_seed)
    if trainer is None:
        train(model, x, y, epochs=a.epochs, seed=a.train_seed, progress=not a.no_progress)
    else:
        trainer(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return model, path


def get_model(a):
    x, y, xte, yte, dataset = load_data(a)
    if a.model:
        from snn.model_io import load_model
        model, where = load_model(a.model), a.model
    else:
        model, where = cached_model(a, x, y, dataset)
    return model, where, (x, y, xte, yte, dataset)


# ------------------------------------------------------------------ output
def write_csv(path, rows) -> None:
    if not rows:
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, "w") as f:
        f.write(buf.getvalue())


def write_json(path, obj) -> None:
    write_json_atomic(path, obj, indent=1, sort_keys=True)


def config_label(cfg) -> str:
    model_no, fmt, guard = cfg
    return f"model {model_no} / {fmt} / guard {guard}"


def plot_curves(path, summary, keys=CONFIG_KEYS, title: str = "", hlines=()) -> None:
    """Accuracy (mean, min..max band) vs BER, one line per configuration; PNG written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for cfg, rows in split_configs(summary, keys=keys).items():
        rows = sorted(rows, key=lambda r: r["ber"])
        b = np.array([r["ber"] for r in rows])
        m = np.array([r["mean"] for r in rows]) * 100
        lo = np.array([r["min"] for r in rows]) * 100
        hi = np.array([r["max"] for r in rows]) * 100
        line, = ax.semilogx(b, m, marker="o", ms=3, label=" / ".join(str(c) for c in cfg))
        ax.fill_between(b, lo, hi, color=line.get_color(), alpha=0.15)
    for t in hlines:
        ax.axhline(t * 100, ls="--", lw=0.8, color="grey")
    ax.set_xlabel("bit error rate")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, "wb") as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)


def pct(x) -> str:
    return "-" if x is None else f"{100 * x + 0.0:.2f}"   # + 0.0: no "-0"


def sci(x) -> str:
    return "none" if x is None else f"{x:.2g}"


# ------------------------------------------------------------------ runs
def run_tolerance(a, model, data) -> dict:
    x, y, xte, yte, dataset = data
    bers, seeds, params = ber_list(a), seed_list(a), error_params(a)
    try:
        models = [parse_model(m) for m in a.error_model]
    except ValueError as e:
        raise CliError(str(e)) from None
    configs = list(itertools.product(models, a.format, a.guard))
    clean = {}
    for fmt in a.format:
        store = StoredWeights.default(model.weights.shape, fmt, a.spec)
        clean[fmt] = clean_accuracy(model, xte, yte, store, a.eval_seed)
    rows = []
    with tqdm(total=len(configs) * len(bers) * len(seeds), disable=a.no_progress, unit="eval",
              desc="tolerance") as bar:
        for m, fmt, guard in configs:
            rows += tolerance_curve(model, xte, yte, bers, seeds, m, fmt, guard, spec=a.spec, params=params,
                                    eval_seed=a.eval_seed, progress=bar.update, clean=clean[fmt])
    summary = summarize(rows)
    tol = []
    for cfg, srows in split_configs(summary).items():
        base = clean[cfg[1]]
        target = a.target / 100 if a.target is not None else base - a.drop / 100
        tol.append({"error_model": cfg[0], "format": cfg[1], "guard": cfg[2], "clean": base,
                    "target": target, "max_tolerable_ber": max_tolerable_ber(srows, target),
                    "crossing_ber": crossing_ber(srows, target)})
    return {"rows": rows, "summary": summary, "tolerable": tol, "clean": clean}


def print_tolerance(res) -> None:
    for cfg, srows in split_configs(res["summary"]).items():
        print(f"\n{config_label(cfg)}  (error-free accuracy {pct(res['clean'][cfg[1]])} %)")
        print(tabulate([[sci(s["ber"]), s["n"], pct(s["mean"]), pct(s["std"]), pct(s["min"]),
                         f"{s['flipped_bits']:.1f}"] for s in srows],
                       headers=["BER", "seeds", "mean %", "std", "min %", "flipped bits"]))
    print("\nmaximum tolerable BER (largest grid BER whose mean accuracy, and every lower one's, "
          "meets the target; crossing = log-interpolated)")
    print(tabulate([[config_label((t["error_model"], t["format"], t["guard"])), pct(t["clean"]),
                     pct(t["target"]), sci(t["max_tolerable_ber"]), sci(t["crossing_ber"])]
                    for t in res["tolerable"]],
                   headers=["configuration", "clean %", "target %", "max tolerable BER", "crossing"]))


def run_bits(a, model, data) -> list[dict]:
    x, y, xte, yte, dataset = data
    seeds = seed_list(a)
    if not 0 < a.bit_rate <= 1:
        raise CliError("--bit-rate must be in (0, 1]")
    out = []
    total = sum(FORMAT_BITS[f] for f in a.format) * len(a.guard) * len(seeds)
    with tqdm(total=total, disable=a.no_progress, unit="eval", desc="bit sensitivity") as bar:
        for fmt, guard in itertools.product(a.format, a.guard):
            out += bit_sensitivity(model, xte, yte, fmt, a.bit_rate, seeds, guard, spec=a.spec,
                                   eval_seed=a.eval_seed, progress=bar.update)
    return out


FORMAT_BITS = {"fp32": 32, "q16": 16, "q8": 8}


def print_bits(rows) -> None:
    for (fmt, guard), rs in itertools.groupby(rows, key=lambda r: (r["format"], r["guard"])):
        rs = list(rs)
        print(f"\nbit sensitivity: {fmt}, guard {guard}, each word's bit k flips with probability "
              f"{rs[0]['rate']:g} (bit 0 = LSB)")
        print(tabulate([[r["bit"], pct(r["mean"]), pct(r["std"]), pct(r["min"]), pct(r["drop"]),
                         f"{r['flipped_bits']:.0f}"] for r in rs],
                       headers=["bit", "mean %", "std", "min %", "drop (pp)", "flipped bits"]))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench.tolerance", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    add_error_args(ap)
    g = ap.add_argument_group("outputs and modes")
    g.add_argument("--out", metavar="PREFIX", help="write PREFIX.csv (rows), PREFIX_summary.csv, PREFIX.json")
    g.add_argument("--plot", metavar="PNG", help="accuracy vs BER plot")
    g.add_argument("--bit-sensitivity", action="store_true", help="also flip only bit k, for every k")
    g.add_argument("--bit-rate", type=float, default=0.01, help="per-word flip probability of bit k (default 0.01)")
    g.add_argument("--no-sweep", action="store_true", help="skip the BER sweep (e.g. with --bit-sensitivity)")
    g.add_argument("--bench-injection", action="store_true", help="run bench.perf_inject and exit")
    g.add_argument("--fat", action="store_true", help="run bench.fault_aware with the remaining arguments")
    return ap


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--bench-injection" in argv:
        from bench import perf_inject
        return perf_inject.main([x for x in argv if x != "--bench-injection"])
    if "--fat" in argv:
        from bench import fault_aware
        return fault_aware.main([x for x in argv if x != "--fat"])
    a = build_parser().parse_args(argv)
    try:
        model, where, data = get_model(a)
        print(f"model: {where} (N={model.n_neurons}); test images: {len(data[2])}")
        out = {"args": vars(a), "model": str(where)}
        if not a.no_sweep:
            res = run_tolerance(a, model, data)
            print_tolerance(res)
            out.update(res)
        if a.bit_sensitivity:
            bits = run_bits(a, model, data)
            print_bits(bits)
            out["bit_sensitivity"] = bits
        if a.out:
            if "rows" in out:
                write_csv(a.out + ".csv", out["rows"])
                write_csv(a.out + "_summary.csv", out["summary"])
            if "bit_sensitivity" in out:
                write_csv(a.out + "_bits.csv", out["bit_sensitivity"])
            write_json(a.out + ".json", out)
        if a.plot and "summary" in out:
            plot_curves(a.plot, out["summary"], title=f"SNN accuracy vs BER (N={model.n_neurons}, "
                        f"{len(seed_list(a))} seeds; band = min..max)",
                        hlines=sorted({t["target"] for t in out["tolerable"]}))
    except (CliError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
