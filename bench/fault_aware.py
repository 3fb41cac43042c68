"""Fault-aware training (FAT) vs plain training: tolerable BER for the same evaluation seeds.

For every configuration (error model x weight format x read guard) a network is trained with
its weights read through a fault map every --fat-every images, the BER rising by the schedule
up to --fat-target-ber (mapping.fault_aware), from the same initial weights, data order and
STDP seeds as the plain network. With --fat-init plain (EDEN-style retraining) the trained plain
network is retrained with errors instead, and the control is the plain network retrained as
many epochs without errors. Both are then swept over the BER grid with the same fault-map seeds;
the accuracy target is the control's error-free accuracy minus --drop points (same target for
both; the table also judges FAT against its own error-free accuracy).

Examples:
    python -m bench.fault_aware                                       # fp32, clamp guard
    python -m bench.fault_aware --format fp32 q8 --guard clamp --fat-target-ber 1e-2 --plot fat.png
    python -m bench.fault_aware --fat-schedule constant --fat-every 1 --out results/fat
Training-time faults use seeds far from the evaluation seeds (a different device).
"""
from __future__ import annotations

import argparse
import itertools
import sys

import numpy as np
from tabulate import tabulate
from tqdm import tqdm

from bench.tolerance import (CliError, add_error_args, add_model_args, ber_list, cached_model, error_params,
                             load_data, pct, plot_curves, sci, seed_list, write_csv, write_json)
from dramsim.errors import parse_model
from mapping.fault_aware import MODES, SCHEDULES, train_fault_aware
from mapping.tolerance import (StoredWeights, clean_accuracy, crossing_ber, max_tolerable_ber, split_configs,
                               summarize, tolerance_curve)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench.fault_aware", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    add_error_args(ap)
    ap.set_defaults(guard=["clamp"])
    g = ap.add_argument_group("fault-aware training")
    g.add_argument("--fat-target-ber", type=float, default=1e-3, help="final training BER (default 1e-3)")
    g.add_argument("--fat-schedule", choices=SCHEDULES, default="ramp",
                   help="ramp: log-linear rise from --fat-start-ber over --fat-ramp of training; constant")
    g.add_argument("--fat-start-ber", type=float, default=None, help="ramp start (default target/1000)")
    g.add_argument("--fat-ramp", type=float, default=0.5, help="fraction of training spent ramping")
    g.add_argument("--fat-every", type=int, default=10, help="inject every k training images (default 10)")
    g.add_argument("--fat-init", choices=("scratch", "plain"), default="plain",
                   help="scratch: same init as the plain net; plain: retrain the trained plain net")
    g.add_argument("--fat-epochs", type=int, default=None, help="FAT epochs (default: --epochs)")
    g.add_argument("--fat-mode", choices=MODES, default="restore",
                   help="writeback: corrupted values are updated and kept; restore: undone at the next "
                        "injection (see mapping.fault_aware)")
    g.add_argument("--train-seeds", type=int, nargs="+", help="train several plain/FAT pairs (default: --train-seed)")
    g.add_argument("--out", metavar="PREFIX", help="write PREFIX.csv, PREFIX_summary.csv, PREFIX.json")
    g.add_argument("--plot", metavar="PNG", help="accuracy vs BER, plain and FAT")
    return ap


def fat_model(a, x, y, dataset, plain, m, fmt, guard, params):
    """The FAT network of one configuration (cached like the plain one)."""
    epochs = a.fat_epochs or a.epochs
    extra = {"fat": {"target": a.fat_target_ber, "schedule": a.fat_schedule, "start": a.fat_start_ber,
                     "ramp": a.fat_ramp, "every": a.fat_every, "init": a.fat_init, "epochs": epochs,
                     "mode": a.fat_mode, "model": m, "format": fmt, "guard": guard, "params": vars(params),
                     "spec": a.spec}}

    def trainer(model):
        if a.fat_init == "plain":
            model.weights[...] = plain.weights
            model.theta[...] = plain.theta
        train_fault_aware(model, x, y, target_ber=a.fat_target_ber, epochs=epochs, seed=a.train_seed,
                          fmt=fmt, error_model=m, params=params, guard=guard, schedule=a.fat_schedule,
                          start_ber=a.fat_start_ber, ramp=a.fat_ramp, every=a.fat_every, mode=a.fat_mode,
                          spec=a.spec, progress=not a.no_progress)
    return cached_model(a, x, y, dataset, trainer=trainer, extra=extra, tag="fat")


def retrained_model(a, x, y, dataset, plain):
    """The plain network trained --fat-epochs more without errors (control for --fat-init plain)."""
    from snn.train import train
    epochs = a.fat_epochs or a.epochs

    def trainer(model):
        model.weights[...] = plain.weights
        model.theta[...] = plain.theta
        train(model, x, y, epochs=epochs, seed=a.train_seed, progress=not a.no_progress,
              weight_hook=lambda w, i: None, hook_every=a.fat_every)
    return cached_model(a, x, y, dataset, trainer=trainer, extra={"retrain": epochs, "every": a.fat_every},
                        tag="retrain")


def _ratio(a, b):
    return (b / a) if a and b else None


def compare_one(a, m, fmt, guard, params, bers, seeds, bar) -> tuple[list[dict], dict]:
    """Plain and FAT networks of training seed ``a.train_seed`` on one configuration."""
    x, y, xte, yte, dataset = load_data(a)
    plain, _ = cached_model(a, x, y, dataset)
    fat, _ = fat_model(a, x, y, dataset, plain, m, fmt, guard, params)
    if a.fat_init == "plain":   # fair control: the plain net retrained as long, without errors
        plain, _ = retrained_model(a, x, y, dataset, plain)
    rows, res = [], {}
    for variant, net in (("plain", plain), ("fat", fat)):
        store = StoredWeights.default(net.weights.shape, fmt, a.spec)
        clean = clean_accuracy(net, xte, yte, store, a.eval_seed)
        rs = tolerance_curve(net, xte, yte, bers, seeds, m, fmt, guard, spec=a.spec, params=params,
                             eval_seed=a.eval_seed, progress=bar.update, clean=clean)
        for r in rs:
            r["variant"], r["train_seed"] = variant, a.train_seed
        rows += rs
        res[variant] = (clean, summarize(rs))
    target = a.target / 100 if a.target is not None else res["plain"][0] - a.drop / 100
    own = res["fat"][0] - a.drop / 100
    out = {"error_model": m, "format": fmt, "guard": guard, "train_seed": a.train_seed, "target": target,
           "clean_plain": res["plain"][0], "clean_fat": res["fat"][0]}
    for v in ("plain", "fat"):
        out[f"tolerable_{v}"] = max_tolerable_ber(res[v][1], target)
        out[f"crossing_{v}"] = crossing_ber(res[v][1], target)
    # FAT judged against its own error-free accuracy (same drop), in case training moved it
    out["target_fat_own"] = own
    out["crossing_fat_own"] = crossing_ber(res["fat"][1], own)
    out["ratio_grid"] = _ratio(out["tolerable_plain"], out["tolerable_fat"])
    out["ratio_crossing"] = _ratio(out["crossing_plain"], out["crossing_fat"])
    out["ratio_crossing_own"] = _ratio(out["crossing_plain"], out["crossing_fat_own"])
    return rows, out


def run(a) -> dict:
    if a.fat_every < 1 or not 0 < a.fat_target_ber <= 1:
        raise CliError("--fat-every must be >= 1 and --fat-target-ber in (0, 1]")
    bers, seeds, params = ber_list(a), seed_list(a), error_params(a)
    try:
        models = [parse_model(m) for m in a.error_model]
    except ValueError as e:
        raise CliError(str(e)) from None
    train_seeds = a.train_seeds if a.train_seeds else [a.train_seed]
    configs = list(itertools.product(models, a.format, a.guard))
    rows, table = [], []
    with tqdm(total=len(configs) * len(train_seeds) * 2 * len(bers) * len(seeds), disable=a.no_progress,
              unit="eval", desc="plain vs FAT") as bar:
        for (m, fmt, guard), ts in itertools.product(configs, train_seeds):
            sub = argparse.Namespace(**{**vars(a), "train_seed": ts})
            r, t = compare_one(sub, m, fmt, guard, params, bers, seeds, bar)
            rows += r
            table.append(t)
    keys = ("variant", "train_seed", "error_model", "format", "guard")
    return {"rows": rows, "summary": summarize(rows, keys=keys), "comparison": table}


def _geo_mean(xs):
    xs = [x for x in xs if x]
    return float(np.exp(np.mean(np.log(xs)))) if xs else None


def print_result(res) -> None:
    keys = ("variant", "train_seed", "error_model", "format", "guard")
    for cfg, srows in split_configs(res["summary"], keys).items():
        print(f"\n{cfg[0]} (train seed {cfg[1]}): model {cfg[2]} / {cfg[3]} / guard {cfg[4]}")
        print(tabulate([[sci(s["ber"]), pct(s["mean"]), pct(s["std"]), pct(s["min"])] for s in srows],
                       headers=["BER", "mean %", "std", "min %"]))
    print("\nFAT vs plain, same evaluation seeds. target = plain error-free accuracy - drop; "
          "'own' = FAT judged against its own error-free accuracy - drop")
    rat = lambda r: "-" if r is None else f"{r:.3g}x"
    print(tabulate([[f"{t['error_model']}/{t['format']}/{t['guard']}", t["train_seed"], pct(t["clean_plain"]),
                     pct(t["clean_fat"]), pct(t["target"]), sci(t["tolerable_plain"]), sci(t["tolerable_fat"]),
                     sci(t["crossing_plain"]), sci(t["crossing_fat"]), rat(t["ratio_crossing"]),
                     sci(t["crossing_fat_own"]), rat(t["ratio_crossing_own"])]
                    for t in res["comparison"]],
                   headers=["config", "train seed", "plain %", "FAT %", "target %", "tol. plain", "tol. FAT",
                            "cross plain", "cross FAT", "ratio", "cross FAT own", "ratio own"]))
    g = _geo_mean([t["ratio_crossing"] for t in res["comparison"]])
    go = _geo_mean([t["ratio_crossing_own"] for t in res["comparison"]])
    print(f"geometric-mean crossing ratio FAT/plain: {rat(g)} (same target), {rat(go)} (own target); "
          f"rows without a crossing are left out")


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    try:
        res = run(a)
        print_result(res)
        if a.out:
            write_csv(a.out + ".csv", res["rows"])
            write_csv(a.out + "_summary.csv", res["summary"])
            write_json(a.out + ".json", {"args": vars(a), **res})
        if a.plot:
            plot_curves(a.plot, res["summary"], keys=("variant", "train_seed", "error_model", "format", "guard"),
                        title="plain vs fault-aware training", hlines=sorted({t["target"] for t in res["comparison"]}))
    except (CliError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
