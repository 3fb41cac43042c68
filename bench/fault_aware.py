"""Fault-aware training (FAT) vs plain training: tolerable BER for the same evaluation seeds.

For every configuration (error model x weight format x read guard) a network is trained with
its weights read through a fault map every --fat-every images, the BER rising by the schedule
up to --fat-target-ber (mapping.fault_aware), from the same initial weights, data order and
STDP seeds as the plain network. With --fat-init plain (EDEN-style retraining) the trained plain
network is retrained with errors instead, and the control is the plain network retrained as
many epochs without errors. Both are then swept over the BER grid with the same fault-map seeds;
the accuracy target is the control's error-free accuracy minus --drop points (same target for
both; the table also judges FAT against its own error-free accuracy).

--fat-faults device (default): each fault-map seed is a device; FAT trains one network per
device on that device's persistent faults (the rising BER is its VDD being lowered) and
evaluates it on that device only -- the weights are trained in the memory that will hold them.
--cross-device adds each device's FAT network evaluated on the next device, to show the gain is
tied to the device. --fat-faults fresh: one FAT network trained with new faults on every read
(training seeds far from the evaluation seeds), evaluated on every device.

Examples:
    python -m bench.fault_aware                                # fp32, no guard, device FAT
    python -m bench.fault_aware --train-seeds 0 1 2 --cross-device --plot fat.png
    python -m bench.fault_aware --fat-faults fresh --guard clamp --fat-target-ber 1e-2
    python -m bench.fault_aware --format q8 --fat-target-ber 3e-2 --ber-max 1e-1 --out results/fat
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
from mapping.fault_aware import FAULTS, MODES, SCHEDULES, firing_ceiling_mv, train_fault_aware
from mapping.tolerance import (StoredWeights, clean_accuracy, crossing_ber, max_tolerable_ber, split_configs,
                               summarize, tolerance_curve)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench.fault_aware", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    add_error_args(ap)
    ap.set_defaults(guard=["none"])
    g = ap.add_argument_group("fault-aware training")
    g.add_argument("--fat-faults", choices=FAULTS, default="device",
                   help="device: train on each evaluation device's persistent faults (default); "
                        "fresh: new faults on every read, one network for all devices")
    g.add_argument("--fat-target-ber", type=float, default=1e-4, help="final training BER (default 1e-4)")
    g.add_argument("--fat-schedule", choices=SCHEDULES, default="ramp",
                   help="ramp: log-linear rise from --fat-start-ber over --fat-ramp of training; constant")
    g.add_argument("--fat-start-ber", type=float, default=None, help="ramp start (default target/1000)")
    g.add_argument("--fat-ramp", type=float, default=0.5, help="fraction of training spent ramping")
    g.add_argument("--fat-every", type=int, default=None,
                   help="read the weights through the faults every k training images (default: 1 for "
                        "device faults, 10 for fresh ones)")
    g.add_argument("--fat-levels", type=int, default=8,
                   help="device faults: BER levels per decade of the ramp (default 8)")
    g.add_argument("--fat-init", choices=("scratch", "plain"), default="plain",
                   help="scratch: same init as the plain net; plain: retrain the trained plain net")
    g.add_argument("--fat-epochs", type=int, default=None, help="FAT epochs (default: --epochs)")
    g.add_argument("--fat-mode", choices=MODES, default="restore",
                   help="writeback: corrupted values are updated and kept; restore: undone at the next "
                        "injection (see mapping.fault_aware)")
    g.add_argument("--no-retire", dest="retire", action="store_false",
                   help="device faults: keep neurons whose threshold saturated at the target BER "
                        "(default: retire them, see mapping.fault_aware)")
    g.add_argument("--cross-device", action="store_true",
                   help="device faults: also evaluate each device's FAT network on the next device")
    g.add_argument("--train-seeds", type=int, nargs="+", help="train several plain/FAT pairs (default: --train-seed)")
    g.add_argument("--out", metavar="PREFIX", help="write PREFIX.csv, PREFIX_summary.csv, PREFIX.json")
    g.add_argument("--plot", metavar="PNG", help="accuracy vs BER, plain and FAT")
    return ap


def fat_model(a, x, y, dataset, plain, m, fmt, guard, params, device: int | None):
    """The FAT network of one configuration and device (``None``: fresh faults), cached like the
    plain one."""
    epochs = a.fat_epochs or a.epochs
    extra = {"fat": {"target": a.fat_target_ber, "schedule": a.fat_schedule, "start": a.fat_start_ber,
                     "ramp": a.fat_ramp, "every": a.fat_every, "init": a.fat_init, "epochs": epochs,
                     "mode": a.fat_mode, "faults": a.fat_faults, "levels": a.fat_levels, "device": device,
                     "retire": a.retire,
                     "model": m, "format": fmt, "guard": guard, "params": vars(params), "spec": a.spec}}

    def trainer(model):
        if a.fat_init == "plain":
            model.weights[...] = plain.weights
            model.theta[...] = plain.theta
        train_fault_aware(model, x, y, target_ber=a.fat_target_ber, epochs=epochs, seed=a.train_seed,
                          fmt=fmt, error_model=m, params=params, guard=guard, schedule=a.fat_schedule,
                          start_ber=a.fat_start_ber, ramp=a.fat_ramp, every=a.fat_every, mode=a.fat_mode,
                          faults=a.fat_faults, levels_per_decade=a.fat_levels, retire=a.retire, spec=a.spec,
                          progress=not a.no_progress,
                          fault_seed=FRESH_FAULT_SEED if device is None else device)
    return cached_model(a, x, y, dataset, trainer=trainer, extra=extra, tag="fat")[0]


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


#: fresh (transient) training faults are keyed far from the evaluation seeds 0..--seeds-1
FRESH_FAULT_SEED = 1_000_003


def _ratio(a, b):
    return (b / a) if a and b else None


def _curve(a, net, xte, yte, bers, seeds, m, fmt, guard, params, bar, clean):
    return tolerance_curve(net, xte, yte, bers, seeds, m, fmt, guard, spec=a.spec, params=params,
                           eval_seed=a.eval_seed, progress=bar.update, clean=clean)


def compare_one(a, m, fmt, guard, params, bers, seeds, bar) -> tuple[list[dict], dict]:
    """Plain and FAT networks of training seed ``a.train_seed`` on one configuration."""
    x, y, xte, yte, dataset = load_data(a)
    plain, _ = cached_model(a, x, y, dataset)
    device = a.fat_faults == "device"
    fats = {s: fat_model(a, x, y, dataset, plain, m, fmt, guard, params, s if device else None)
            for s in (seeds if device else [None])}
    if a.fat_init == "plain":   # fair control: the plain net retrained as long, without errors
        plain, _ = retrained_model(a, x, y, dataset, plain)
    store = StoredWeights.default(plain.weights.shape, fmt, a.spec)
    plain_clean = clean_accuracy(plain, xte, yte, store, a.eval_seed)
    fat_clean = {s: clean_accuracy(f, xte, yte, store, a.eval_seed) for s, f in fats.items()}
    clean = {"plain": plain_clean, "fat": float(np.mean(list(fat_clean.values())))}
    curves = {"plain": _curve(a, plain, xte, yte, bers, seeds, m, fmt, guard, params, bar, plain_clean)}
    if device:   # each device's network on its own device (and, if asked, on the next one)
        curves["fat"] = [r for s in seeds for r in _curve(a, fats[s], xte, yte, bers, [s], m, fmt, guard,
                                                          params, bar, fat_clean[s])]
        if a.cross_device and len(seeds) > 1:
            nxt = dict(zip(seeds, seeds[1:] + seeds[:1]))
            curves["fat-other"] = [r for s in seeds for r in _curve(a, fats[s], xte, yte, bers, [nxt[s]], m,
                                                                    fmt, guard, params, bar, fat_clean[s])]
    else:
        curves["fat"] = _curve(a, fats[None], xte, yte, bers, seeds, m, fmt, guard, params, bar, fat_clean[None])
    rows, res = [], {}
    for variant, rs in curves.items():
        for r in rs:
            r["variant"], r["train_seed"] = variant, a.train_seed
        rows += rs
        res[variant] = summarize(rs)
    target = a.target / 100 if a.target is not None else clean["plain"] - a.drop / 100
    own = clean["fat"] - a.drop / 100
    out = {"error_model": m, "format": fmt, "guard": guard, "train_seed": a.train_seed, "faults": a.fat_faults,
           "target": target, "clean_plain": clean["plain"], "clean_fat": clean["fat"],
           "silent_fat": float(np.mean([(f.theta >= firing_ceiling_mv(f.params)).sum() for f in fats.values()]))}
    for v in res:
        out[f"tolerable_{v}"] = max_tolerable_ber(res[v], target)
        out[f"crossing_{v}"] = crossing_ber(res[v], target)
    # FAT judged against its own error-free accuracy (same drop), in case training moved it
    out["target_fat_own"] = own
    out["crossing_fat_own"] = crossing_ber(res["fat"], own)
    out["ratio_grid"] = _ratio(out["tolerable_plain"], out["tolerable_fat"])
    out["ratio_crossing"] = _ratio(out["crossing_plain"], out["crossing_fat"])
    out["ratio_crossing_own"] = _ratio(out["crossing_plain"], out["crossing_fat_own"])
    if "fat-other" in res:
        out["ratio_crossing_other"] = _ratio(out["crossing_plain"], out["crossing_fat-other"])
    return rows, out


def run(a) -> dict:
    if a.fat_every is None:
        a.fat_every = 1 if a.fat_faults == "device" else 10
    if a.fat_every < 1 or a.fat_levels < 1 or not 0 < a.fat_target_ber <= 1:
        raise CliError("--fat-every and --fat-levels must be >= 1 and --fat-target-ber in (0, 1]")
    if a.fat_faults == "device" and a.fat_mode != "restore":
        raise CliError("--fat-faults device needs --fat-mode restore (a written-back flipped bit reads "
                       "flipped back)")
    bers, seeds, params = ber_list(a), seed_list(a), error_params(a)
    try:
        models = [parse_model(m) for m in a.error_model]
    except ValueError as e:
        raise CliError(str(e)) from None
    train_seeds = a.train_seeds if a.train_seeds else [a.train_seed]
    configs = list(itertools.product(models, a.format, a.guard))
    rows, table = [], []
    curves = 3 if a.cross_device and a.fat_faults == "device" and len(seeds) > 1 else 2
    with tqdm(total=len(configs) * len(train_seeds) * curves * len(bers) * len(seeds), disable=a.no_progress,
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
    other = any("ratio_crossing_other" in t for t in res["comparison"])
    print(tabulate([[f"{t['error_model']}/{t['format']}/{t['guard']}", t["faults"], t["train_seed"],
                     pct(t["clean_plain"]), pct(t["clean_fat"]), f"{t['silent_fat']:.1f}", pct(t["target"]),
                     sci(t["tolerable_plain"]),
                     sci(t["tolerable_fat"]), sci(t["crossing_plain"]), sci(t["crossing_fat"]),
                     rat(t["ratio_crossing"]), sci(t["crossing_fat_own"]), rat(t["ratio_crossing_own"])]
                    + ([rat(t.get("ratio_crossing_other"))] if other else [])
                    for t in res["comparison"]],
                   headers=["config", "FAT faults", "train seed", "plain %", "FAT %", "silent", "target %", "tol. plain",
                            "tol. FAT", "cross plain", "cross FAT", "ratio", "cross FAT own", "ratio own"]
                   + (["ratio, other device"] if other else [])))
    g = _geo_mean([t["ratio_crossing"] for t in res["comparison"]])
    go = _geo_mean([t["ratio_crossing_own"] for t in res["comparison"]])
    line = (f"geometric-mean crossing ratio FAT/plain: {rat(g)} (same target), {rat(go)} (own target)")
    if other:
        line += f", {rat(_geo_mean([t.get('ratio_crossing_other') for t in res['comparison']]))} (other device)"
    print(line + "; rows without a crossing are left out")


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
