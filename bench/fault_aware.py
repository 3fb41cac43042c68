"""Fault-aware training (FAT) vs plain training: tolerable BER chosen on validation images.

For every configuration (error model x weight format x read guard) a network is trained with
its weights read through a fault map every --fat-every images, the BER rising by the schedule
up to --fat-target-ber (mapping.fault_aware). With --fat-init plain (default, EDEN-style
retraining) the trained plain network is retrained with errors, and the control ("plain") is
the plain network retrained as many epochs without errors; --fat-init scratch trains FAT from
the plain network's initial weights and data order.

Protocol (as bench.tolerance): the network trains on the training images; --val-images are
carved out of them (seeded by the training seed) and every choice is made on them; the test
images only report. Every curve is evaluated on both sets under --spike-seeds input-spike seeds
x --fault-maps fault maps (devices); every loss is paired against the CONTROL's error-free run on
the same images and spikes (the same reference for plain and FAT, so a FAT network whose
error-free accuracy moved is judged by it). The tolerable BER of each network is the largest
grid BER at which, and at every smaller one, the upper 95% bound of its validation loss is
<= --drop points; the test columns report accuracy and loss at that BER, mean [95% CI].

--fat-faults device (default): each fault map is a device; FAT trains one network per device
on that device's persistent faults (the rising BER is its VDD being lowered) and is evaluated
on that device only. This is per-device calibration: --cross-device adds each device's FAT
network evaluated on the next device, where the gain is gone. --fat-faults fresh: one FAT
network trained with new faults on every read (seeds far from the devices), on every device.

Best guard: a read guard also buys tolerance, for free. The plain (control) network is
evaluated with --guard's guard and with every --compare-guard (default zero); the comparison
names the plain guard with the largest validation tolerable BER ("best plain") and the ratio
FAT / best plain next to FAT / plain.

Options as bench.tolerance's: comma-separated lists (--train-seeds 0,1,2; spaces still work, with
a note), every number ranged (see --help), outputs and --cache-dir checked before any training;
--n-train, --n-test and --seeds are the old names of --train-images, --images and --fault-maps.
This tool trains its own networks, so it takes no --model. Exit status 0 ok, 2 bad input (one
line, nothing written), 130 interrupted.

Examples:
    python -m bench.fault_aware                                # fp32, no guard, device FAT vs plain
    python -m bench.fault_aware --train-seeds 0,1,2 --cross-device --plot fat.png
    python -m bench.fault_aware --train-seeds 0,1,2 --guard zero   # FAT behind the zero guard
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

from bench.tolerance import (INTERRUPTED, MAX_EPOCHS, SELECTION, CliError, ImageSets, add_error_args,
                             add_model_args, ber_list, bit_error_rate, cached_model, check_args,
                             check_output_paths, choose_tolerable, ci_of, curve_table, error_models,
                             error_params, estimate_fields, load_data, plot_curves, point_fields, rule_text,
                             sci, seed_list, spike_seed_list, summary_at, tol_str, train_seed, write_csv,
                             write_json)
from mapping.fault_aware import FAULTS, MODES, SCHEDULES, firing_ceiling_mv, train_fault_aware
from mapping.guard import GUARDS
from mapping.tolerance import (StoredWeights, clean_correct, crossing_ber, plain_rows, spike_seed_evaluator,
                               split_configs, summarize, tolerable_ber, tolerance_curve)
from traces.cli import Parser, comma_list_action, fraction, int_in

PROG = "python -m bench.fault_aware"
MAX_FAT_EVERY = 100_000
MAX_FAT_LEVELS = 100
#: the files --out PREFIX stands for
OUT_SUFFIXES = (".csv", "_summary.csv", "_comparison.csv", "_fat_own.csv", ".json")


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    add_error_args(ap)
    ap.set_defaults(guard=["none"])
    g = ap.add_argument_group("fault-aware training")
    g.add_argument("--fat-faults", choices=FAULTS, default="device",
                   help="device: train on each evaluation device's persistent faults (default); "
                        "fresh: new faults on every read, one network for all devices")
    g.add_argument("--fat-target-ber", type=bit_error_rate, default=1e-4,
                   help="final training BER, in (0, 1] (default 1e-4)")
    g.add_argument("--fat-schedule", choices=SCHEDULES, default="ramp",
                   help="ramp: log-linear rise from --fat-start-ber over --fat-ramp of training; constant")
    g.add_argument("--fat-start-ber", type=bit_error_rate, default=None,
                   help="ramp start, in (0, --fat-target-ber] (default target/1000)")
    g.add_argument("--fat-ramp", type=fraction, default=0.5,
                   help="fraction of training spent ramping, in [0, 1] (default 0.5)")
    g.add_argument("--fat-every", type=int_in(1, MAX_FAT_EVERY), default=None,
                   help=f"read the weights through the faults every k training images, 1..{MAX_FAT_EVERY:,} "
                        "(default: 1 for device faults, 10 for fresh ones)")
    g.add_argument("--fat-levels", type=int_in(1, MAX_FAT_LEVELS), default=8,
                   help=f"device faults: BER levels per decade of the ramp, 1..{MAX_FAT_LEVELS} (default 8)")
    g.add_argument("--fat-init", choices=("scratch", "plain"), default="plain",
                   help="scratch: same init as the plain net; plain: retrain the trained plain net "
                        "(default)")
    g.add_argument("--fat-epochs", type=int_in(1, MAX_EPOCHS), default=None,
                   help=f"FAT epochs, 1..{MAX_EPOCHS} (default: --epochs)")
    g.add_argument("--fat-mode", choices=MODES, default="restore",
                   help="writeback: corrupted values are updated and kept; restore: undone at the next "
                        "injection (see mapping.fault_aware)")
    g.add_argument("--no-retire", dest="retire", action="store_false",
                   help="device faults: keep neurons whose threshold saturated at the target BER "
                        "(default: retire them, see mapping.fault_aware)")
    g.add_argument("--cross-device", action="store_true",
                   help="device faults: also evaluate each device's FAT network on the next device")
    g.add_argument("--compare-guard", nargs="*", default=["zero"], metavar="G1,G2",
                   action=comma_list_action(choices=GUARDS, example="zero,clamp"),
                   help="also evaluate the plain (control) network with these read guards, comma-separated "
                        f"({', '.join(GUARDS)}), and compare FAT with the best plain guard, chosen on "
                        "validation (default: zero; none of them: give the option without a value)")
    g.add_argument("--train-seeds", nargs="+", metavar="S1,S2",
                   action=comma_list_action(train_seed, example="0,1,2"),
                   help="train several plain/FAT pairs, comma-separated seeds in 0..2**40-1 (default: "
                        "--train-seed); each carves its own validation set")
    g.add_argument("--out", metavar="PREFIX",
                   help="write PREFIX.csv (rows), PREFIX_summary.csv, PREFIX_comparison.csv, "
                        "PREFIX_fat_own.csv, PREFIX.json; checked before any work, the directory is created")
    g.add_argument("--plot", metavar="PNG", help="accuracy vs BER, plain and FAT, a .png file")
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


#: summary keys of the curves: which network, which training seed, which configuration, which images
CURVE_KEYS = ("variant", "train_seed", "error_model", "format", "guard", "images")


def _ratio(a, b):
    return (b / a) if a and b else None


def plain_guards(a, guard: str) -> list[str]:
    """The read guards the plain (control) network is evaluated with in the comparison of a
    configuration with ``guard``: its own first, then --compare-guard."""
    return list(dict.fromkeys([guard, *a.compare_guard]))


def best_plain(tol: dict, cross: dict, order: list[str]) -> str:
    """The plain guard with the largest validation tolerable BER (ties: larger validation
    crossing, then the earlier guard in ``order``)."""
    return max(order, key=lambda g: (tol[g] or 0.0, cross[g] or 0.0, -order.index(g)))


class _Curves:
    """Evaluates networks on both image sets with common spike seeds, tagging the rows."""

    def __init__(self, a, data: ImageSets, m, fmt, params, bers, correct, bar, reference: dict):
        self.a, self.data, self.m, self.fmt, self.params = a, data, m, fmt, params
        self.bers, self.correct, self.bar, self.reference = bers, correct, bar, reference

    def __call__(self, variant: str, net, devices, guard: str, clean: dict) -> list[dict]:
        """Rows of ``net`` with ``guard`` on fault maps ``devices``, validation then test; the loss
        of every row is paired against the control's error-free run (``reference``)."""
        rows = []
        for images, (x, y) in self.data.evaluated().items():
            part = tolerance_curve(net, x, y, self.bers, list(devices), self.m, self.fmt, guard,
                                   spec=self.a.spec, params=self.params, correct=self.correct,
                                   progress=self.bar.update,
                                   clean=clean[images], reference=self.reference[images])
            for r in part:
                r.update(variant=variant, train_seed=self.a.train_seed, images=images)
            rows += part
        return rows


def compare_seed(a, m, fmt, params, bers, seeds, bar, correct) -> tuple[list, list, list, dict]:
    """Plain and FAT networks of training seed ``a.train_seed`` for one (error model, format):
    (curve rows, one comparison per --guard, FAT-vs-own summary rows, the image sets' description)."""
    data = load_data(a)
    x, y = data.x_train, data.y_train
    plain, _ = cached_model(a, x, y, data.dataset)
    device = a.fat_faults == "device"
    devices = seeds if device else [None]
    fats = {g: {d: fat_model(a, x, y, data.dataset, plain, m, fmt, g, params, d) for d in devices}
            for g in a.guard}
    control = retrained_model(a, x, y, data.dataset, plain)[0] if a.fat_init == "plain" else plain
    store = StoredWeights.default(control.weights.shape, fmt, a.spec)
    sets = data.evaluated()
    reference = {s: clean_correct(control, xs, ys, store, correct) for s, (xs, ys) in sets.items()}
    curves = _Curves(a, data, m, fmt, params, bers, correct, bar, reference)
    rows = []
    for g in dict.fromkeys(g for guard in a.guard for g in plain_guards(a, guard)):
        rows += curves("plain", control, seeds, g, reference)
    nxt = dict(zip(seeds, seeds[1:] + seeds[:1]))
    fat_clean = {}
    for g in a.guard:
        fat_clean[g] = {d: {s: clean_correct(f, xs, ys, store, correct) for s, (xs, ys) in sets.items()}
                        for d, f in fats[g].items()}
        for d, f in fats[g].items():     # each device's network on its own device (fresh: on all)
            rows += _tag(curves("fat", f, [d] if device else seeds, g, fat_clean[g][d]), d)
        if device and a.cross_device and len(seeds) > 1:
            for d, f in fats[g].items():
                rows += _tag(curves("fat-other", f, [nxt[d]], g, fat_clean[g][d]), d)
    summary = summarize(rows, keys=CURVE_KEYS)
    table, own = [], []
    for g in a.guard:
        t, o = _compare(a, m, fmt, g, summary, rows, reference, fat_clean[g], fats[g])
        table.append(t)
        own += o
    return rows, table, own, data.meta


def _tag(rows, device):
    """Mark FAT rows with the device whose network they evaluate (None: the fresh-fault network)."""
    for r in rows:
        r["fat_device"] = device
    return rows


def own_loss_summary(rows, fat_clean: dict, images: str) -> list[dict]:
    """Per BER: accuracy of FAT rows and their loss against each network's OWN error-free run on
    the same images and spikes (device FAT has one network, so one reference, per device), mean
    and 95 % CI over images x devices (snn.stats). It isolates how far the calibration holds from
    what the calibration itself costs (the loss against the control includes that)."""
    from snn.stats import accuracy_estimate, crossed_mean_interval
    groups: dict[float, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["ber"], []).append(r)
    out = []
    for ber, rs in sorted(groups.items()):
        outcomes = np.stack([r["correct"] for r in rs])
        diff = np.stack([(fat_clean[r["fat_device"]][images].astype(np.float64) - r["correct"]).mean(axis=0)
                         for r in rs])
        acc, loss = accuracy_estimate(outcomes), crossed_mean_interval(diff, seeds=outcomes.shape[1])
        out.append({"ber": ber, "n": len(rs), "mean": acc.mean, "ci_low": acc.low, "ci_high": acc.high,
                    "loss": loss.mean, "loss_ci_low": loss.low, "loss_ci_high": loss.high,
                    "flipped_bits": float(np.mean([r.get("flipped_bits", 0) for r in rs]))})
    return out


def _compare(a, m, fmt, guard, summary, rows, reference, fat_clean, fats) -> tuple[dict, list[dict]]:
    """One comparison row (tolerable BERs chosen on validation, test figures at them) and the
    summary rows of FAT judged against its own error-free run (empty with --target)."""
    from snn.stats import accuracy_estimate
    by = split_configs(summary, keys=CURVE_KEYS)
    ts = a.train_seed

    def curve(variant, g, images):
        return by.get((variant, ts, m, fmt, g, images))

    clean_ctrl = {s: accuracy_estimate(r) for s, r in reference.items()}
    clean_fat = {s: accuracy_estimate(np.stack([fc[s] for fc in fat_clean.values()])) for s in reference}
    out = {"error_model": m, "format": fmt, "guard": guard, "train_seed": ts, "faults": a.fat_faults,
           "max_loss": None if a.target is not None else a.drop / 100.0,
           "target": None if a.target is None else a.target / 100.0,
           **estimate_fields("clean_plain_val", clean_ctrl["validation"]),
           **estimate_fields("clean_plain_test", clean_ctrl["test"]),
           **estimate_fields("clean_fat_val", clean_fat["validation"]),
           **estimate_fields("clean_fat_test", clean_fat["test"]),
           "silent_fat": float(np.mean([(f.theta >= firing_ceiling_mv(f.params)).sum()
                                        for f in fats.values()]))}
    base = clean_ctrl["validation"].mean

    def judge(variant, g):
        """(tolerable BER, crossing) on validation and the test summary row at that BER."""
        val = curve(variant, g, "validation")
        tol, cross = choose_tolerable(a, val, base)
        return tol, cross, summary_at(curve(variant, g, "test"), tol)

    order = plain_guards(a, guard)
    plain = {g: judge("plain", g) for g in order}
    for g in order:
        out[f"tolerable_plain_{g}"], out[f"crossing_plain_{g}"] = plain[g][:2]
    best = best_plain({g: v[0] for g, v in plain.items()}, {g: v[1] for g, v in plain.items()}, order)
    out["best_plain_guard"] = best
    variants = {"plain": plain[guard], "best_plain": plain[best], "fat": judge("fat", guard)}
    if curve("fat-other", guard, "validation") is not None:
        variants["fat_other"] = judge("fat-other", guard)
    if a.target is None:    # FAT against its own error-free run (an absolute --target has no "own")
        own = {s: own_loss_summary([r for r in rows if r["variant"] == "fat" and r["guard"] == guard
                                    and r["images"] == s], fat_clean, s) for s in ("validation", "test")}
        tol = tolerable_ber(own["validation"], a.drop / 100.0)
        # where the mean own loss reaches --drop: crossing_ber's interpolation on -loss
        cross = crossing_ber([{**r, "mean": -r["loss"]} for r in own["validation"]], -a.drop / 100.0)
        variants["fat_own"] = (tol, cross, summary_at(own["test"], tol))
        own_rows = [{"variant": "fat", "train_seed": ts, "error_model": m, "format": fmt, "guard": guard,
                     "images": s, **r} for s, rs in own.items() for r in rs]
    else:
        own_rows = []
    for name, (tol, cross, test) in variants.items():
        out[f"tolerable_{name}"], out[f"crossing_{name}"] = tol, cross
        out.update(point_fields(f"test_{name}", test))
    out["ratio"] = _ratio(out["tolerable_plain"], out["tolerable_fat"])
    out["ratio_best_plain"] = _ratio(out["tolerable_best_plain"], out["tolerable_fat"])
    if "fat_own" in variants:
        out["ratio_own"] = _ratio(out["tolerable_plain"], out["tolerable_fat_own"])
        out["ratio_own_best_plain"] = _ratio(out["tolerable_best_plain"], out["tolerable_fat_own"])
    out["ratio_crossing"] = _ratio(out["crossing_plain"], out["crossing_fat"])
    out["ratio_crossing_best_plain"] = _ratio(out["crossing_best_plain"], out["crossing_fat"])
    if "fat_other" in variants:
        out["ratio_other"] = _ratio(out["tolerable_plain"], out["tolerable_fat_other"])
        out["ratio_crossing_other"] = _ratio(out["crossing_plain"], out["crossing_fat_other"])
    return out, own_rows


def check_fat_args(a) -> None:
    if a.model:
        raise CliError(f"--model {a.model}: bench.fault_aware trains its own plain and FAT networks "
                       "(use python -m bench.tolerance --model to evaluate a model file)")
    if a.fat_every is None:
        a.fat_every = 1 if a.fat_faults == "device" else 10
    if a.fat_every < 1 or a.fat_levels < 1 or not 0 < a.fat_target_ber <= 1:
        raise CliError("--fat-every and --fat-levels must be >= 1 and --fat-target-ber in (0, 1]")
    if a.fat_epochs is not None and a.fat_epochs < 1:
        raise CliError(f"--fat-epochs must be >= 1, got {a.fat_epochs}")
    if a.fat_start_ber is not None and a.fat_start_ber > a.fat_target_ber:
        raise CliError(f"--fat-start-ber {a.fat_start_ber:g} must not exceed --fat-target-ber "
                       f"{a.fat_target_ber:g}")
    if a.fat_faults == "device" and a.fat_mode != "restore":
        raise CliError("--fat-faults device needs --fat-mode restore (a written-back flipped bit reads "
                       "flipped back)")
    for ts in a.train_seeds or []:
        if not 0 <= ts < 2 ** 40:
            raise CliError(f"--train-seeds must be in 0..2**40-1, got {ts}")


def run(a) -> dict:
    check_args(a)
    check_fat_args(a)
    check_output_paths(a, OUT_SUFFIXES, plot=True)
    bers, seeds, params, models = ber_list(a), seed_list(a), error_params(a), error_models(a)
    spikes = spike_seed_list(a)
    correct = spike_seed_evaluator(spikes)
    train_seeds = a.train_seeds if a.train_seeds else [a.train_seed]
    for ts in train_seeds:     # every image-count check before anything is trained
        load_data(argparse.Namespace(**{**vars(a), "train_seed": ts}))
    device = a.fat_faults == "device"
    n_plain = len({g for guard in a.guard for g in plain_guards(a, guard)})
    n_fat = (2 if device and a.cross_device and len(seeds) > 1 else 1) * len(a.guard)
    rows, table, own, image_sets = [], [], [], {}
    total = len(models) * len(a.format) * len(train_seeds) * 2 * (n_plain + n_fat) * len(bers) * len(seeds)
    with tqdm(total=total, disable=a.no_progress, unit="eval", desc="plain vs FAT") as bar:
        for (m, fmt), ts in itertools.product(itertools.product(models, a.format), train_seeds):
            sub = argparse.Namespace(**{**vars(a), "train_seed": ts})
            r, t, o, meta = compare_seed(sub, m, fmt, params, bers, seeds, bar, correct)
            rows += r
            table += t
            own += o
            image_sets[str(ts)] = meta
    return {"rows": rows, "summary": summarize(rows, keys=CURVE_KEYS), "comparison": table,
            "fat_own_summary": own,
            "image_sets": image_sets, "spike_seeds": spikes, "fault_seeds": seeds,
            "selection": SELECTION + "; losses against the control network's error-free run; best plain "
                                     "guard = largest validation tolerable BER among the plain guards"}


def _geo_mean(xs):
    xs = [x for x in xs if x]
    return float(np.exp(np.mean(np.log(xs)))) if xs else None


def _rat(r) -> str:
    return "-" if r is None else f"{r:.3g}x"


def _cfg(t) -> str:
    return f"{t['error_model']}/{t['format']}/{t['guard']}"


def print_result(a, res) -> None:
    by = split_configs(res["summary"], keys=CURVE_KEYS)
    for key in dict.fromkeys(k[:-1] for k in by):
        variant, ts, m, fmt, guard = key
        print(f"\n{variant} (train seed {ts}): model {m} / {fmt} / guard {guard}")
        print(curve_table(by[key + ("validation",)], by.get(key + ("test",), [])))
    own_by = split_configs(res.get("fat_own_summary", []), keys=CURVE_KEYS)
    for key in dict.fromkeys(k[:-1] for k in own_by):
        variant, ts, m, fmt, guard = key
        print(f"\nFAT vs its own error-free run (train seed {ts}): model {m} / {fmt} / guard {guard}")
        print(curve_table(own_by[key + ("validation",)], own_by.get(key + ("test",), [])))
    comp = res["comparison"]
    bers = [s["ber"] for s in res["summary"]]
    other = any("ratio_other" in t for t in comp)
    own = any("ratio_own" in t for t in comp)

    def tol(t, name):
        return tol_str(t.get(f"tolerable_{name}"), max(bers), min(bers))

    print(f"\ntolerable BER chosen on the VALIDATION images ({rule_text(a)}, at every grid BER up to it), "
          f"loss against the control's error-free run; best plain = the plain guard with the largest "
          f"tolerable BER; FAT = each device's FAT network on its own device"
          + ("; FAT vs own = the same judged against its own error-free run" if own else ""))
    print(tabulate([[_cfg(t), t["faults"], t["train_seed"], ci_of(t, "clean_plain_val"),
                     ci_of(t, "clean_fat_val"), f"{t['silent_fat']:.1f}", tol(t, "plain"),
                     f"{tol(t, 'best_plain')} ({t['best_plain_guard']})", tol(t, "fat")]
                    + ([tol(t, "fat_own")] if own else []) + ([tol(t, "fat_other")] if other else [])
                    for t in comp],
                   headers=["config", "FAT faults", "train seed", "plain val. clean %", "FAT val. clean %",
                            "retired", "plain", "best plain (guard)", "FAT"] + (["FAT vs own"] if own else [])
                   + (["FAT, other device"] if other else []), disable_numparse=True))
    ratios = [("FAT/plain", "ratio"), ("FAT/best plain", "ratio_best_plain")]
    if own:
        ratios += [("FAT vs own/plain", "ratio_own"), ("FAT vs own/best plain", "ratio_own_best_plain")]
    if other:
        ratios += [("FAT other device/plain", "ratio_other")]
    print("\nratios of those tolerable BERs ('-': a side fails at every grid BER or is missing)")
    print(tabulate([[_cfg(t), t["train_seed"]] + [_rat(t.get(k)) for _, k in ratios] for t in comp],
                   headers=["config", "train seed"] + [h for h, _ in ratios], disable_numparse=True))
    print("\ntest images, reported (never used to choose): error-free accuracy %, and the accuracy loss in "
          "points at the BER chosen above, mean [95% CI] against the control's error-free test run"
          + (" (FAT vs own: against its own)" if own else ""))

    def at(t, name):
        return f"{sci(t.get(f'tolerable_{name}'))}: {ci_of(t, f'test_{name}_loss')}"
    print(tabulate([[_cfg(t), t["train_seed"], ci_of(t, "clean_plain_test"), ci_of(t, "clean_fat_test"),
                     at(t, "plain"), f"({t['best_plain_guard']}) {at(t, 'best_plain')}", at(t, "fat")]
                    + ([at(t, "fat_own")] if own else []) + ([at(t, "fat_other")] if other else [])
                    for t in comp],
                   headers=["config", "train seed", "plain clean %", "FAT clean %", "plain", "best plain",
                            "FAT"] + (["FAT vs own"] if own else [])
                   + (["FAT, other device"] if other else []),
                   disable_numparse=True))
    print("\ncrossing of the mean VALIDATION loss with the allowed loss (log-interpolated; finer than the "
          "grid but a mean, not a bound, so no choice is made on it)")
    names = [("plain", "plain"), ("best plain", "best_plain"), ("FAT", "fat")]
    names += [("FAT vs own", "fat_own")] if own else []
    names += [("FAT, other device", "fat_other")] if other else []
    print(tabulate([[_cfg(t), t["train_seed"]] + [sci(t.get(f"crossing_{k}")) for _, k in names]
                    + [_rat(t.get("ratio_crossing")), _rat(t.get("ratio_crossing_best_plain"))]
                    for t in comp],
                   headers=["config", "train seed"] + [h for h, _ in names] + ["FAT/plain", "FAT/best plain"],
                   disable_numparse=True))

    def geo(key):
        vals = [t.get(key) for t in comp]
        if not all(vals):
            return f"- ({sum(not v for v in vals)} of {len(vals)} rows without a ratio)"
        return _rat(_geo_mean(vals))
    print("geometric means of the tolerable-BER ratios over the rows: " + ", ".join(
        f"{h} {geo(k)}" for h, k in ratios) + f"; of the crossing ratio FAT/plain {geo('ratio_crossing')}")


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 2 bad input (one line, nothing written), 130 interrupted."""
    from traces.cli import run as run_cli
    return run_cli(PROG, _main, argv, interrupted=INTERRUPTED)


def _main(argv) -> int:
    a = build_parser().parse_args(argv)
    res = run(a)
    print_result(a, res)
    if a.out:
        write_csv(a.out + ".csv", res["rows"])
        write_csv(a.out + "_summary.csv", res["summary"])
        write_csv(a.out + "_comparison.csv", res["comparison"])
        write_csv(a.out + "_fat_own.csv", res["fat_own_summary"])
        write_json(a.out + ".json", {"args": vars(a), **res, "rows": plain_rows(res["rows"])})
    if a.plot:
        plot_curves(a.plot, res["summary"], keys=CURVE_KEYS,
                    title="plain vs fault-aware training (test mean, 95% CI band; validation dashed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
