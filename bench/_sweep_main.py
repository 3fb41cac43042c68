"""The default job of ``python -m bench.sweep_mappings``: network -> stream -> policy x VDD sweep.

Three disjoint image sets: the network trains (STDP and labelling) on the training images;
every choice -- the tolerable BER that drives the sparkxd policy, the best row -- is made on
the validation images; the test images only report. Accuracies come from several input-spike
seeds x several fault maps (devices), with 95 % confidence intervals (``snn.stats``).
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench._sweep_context import save_context
from bench._sweep_network import (ACCURACY_SALT, DRAM_SALT, access_stream, cache_dir, calibrated_model,
                                  calibration_task, fat_control, fault_seeds, get_model, sample_test_images,
                                  spike_seeds, tolerable_ber)
from bench._sweep_output import (COLUMNS, SUMMARY_COLUMNS, TERMINAL_COLUMNS, atomic_write, fit, pareto_png,
                                 render_grid, render_table, rows_frame, to_csv, to_json)
from bench._sweep_point import IMAGE_SETS, run_point
from bench._sweep_timing import TIMING_KEY, phase
from bench._sweep_timing import merge as merge_timing
from bench._sweep_timing import take as take_timing
from bench._sweep_select import (best_row, closing_line, decomposition_points, finish_rows, saving_terms,
                                 sizes_summary, summary_line, terms_line)


#: BER grid of the tolerance analysis, points per decade: fault-aware training costs one
#: training per (grid BER, device), so its grid is coarser (a coarser grid is conservative)
PLAIN_PER_DECADE, FAT_PER_DECADE = 4, 2


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def sweep_points(plan, cid: str, cdir: Path, fmt: str) -> list[dict]:
    """(policy, VDD, format) points, plus the baseline (linear, nominal VDD, fp32) when missing."""
    args = plan.args
    pts = [{"cache_dir": str(cdir), "context": cid, "policy": p, "vdd": float(v), "format": fmt}
           for p in args.policies for v in args.vdd]
    base = {"cache_dir": str(cdir), "context": cid, "policy": "linear",
            "vdd": float(plan.spec.vdd_nominal), "format": "fp32"}
    if base not in pts:
        pts.insert(0, base)
    return pts


def write_outputs(out: Path, rows: list[dict], meta: dict, plot: bool, title: str,
                  stem: str = "sweep", columns=COLUMNS, csv_to=None) -> list[Path]:
    """CSV, JSON (and PNG) in ``out``, each written atomically; returns the paths. ``csv_to``:
    a stream that also gets the CSV (``--csv -``: standard output)."""
    csv_text = to_csv(rows_frame(rows, columns))
    files = {out / f"{stem}.csv": csv_text, out / f"{stem}.json": to_json(rows, meta, columns)}
    if csv_to is not None:
        csv_to.write(csv_text)
        csv_to.flush()
    if plot:
        files[out / "pareto.png"] = pareto_png(rows, title)
    for path, data in files.items():
        atomic_write(path, data)
    return list(files)


def header_line(plan, neurons: int, data, n_train: int, n_test: int, n_dram: int) -> str:
    a = plan.args
    salp = ("SALP none (commodity DDR3L)" if a.salp == "none"
            else f"SALP-{a.salp.upper()} (what-if: needs subarray-level parallelism DDR3L does not have)")
    ep = a.error_params
    return "\n".join([
        f"N={neurons}: {plan.spec.name}, {salp}, {a.scheduler} {a.page_policy} page, {a.vdd_timing} reduced-VDD timing",
        f"  preset {a.preset}: {a.format} weights, read guard {a.guard}, training {a.training}",
        f"  bit errors: {plan.curve.source}, {a.error_model} model, {a.spread} spread (bank sigma "
        f"{ep['bank_spread']:.2f}, subarray {ep['subarray_spread']:.2f})",
        f"  images ({data.name}): {n_train} train / {len(data.x_val)} validation (choices) / {n_test} test (reported) / "
        f"{n_dram} in DRAM; {a.seeds} fault maps x {a.spike_seeds} spike seeds"])


def _clean_runs(model, sets: dict, formats, spikes, spec, threads: int = 1) -> dict:
    """Error-free outcomes ``clean_<set>_<format>`` (bool [spike seeds, images]) of the reference
    network (the plain one, or with ``--training fat`` its error-free control)."""
    from mapping.tolerance import StoredWeights
    from snn.infer import correct_matrix
    out = {}
    for f in formats:
        w, _ = StoredWeights.default(model.weights.shape, f, spec).read(model.weights, None)
        for s, (x, y) in sets.items():
            out[f"clean_{s}_{f}"] = correct_matrix(model, x, y, seeds=spikes, weights=w, threads=threads)
    return out


def _check_reachable(clean: dict, fmt: str, target_loss: float) -> None:
    """A target the error-free network already misses (e.g. q8's quantisation loss on validation
    above --target-loss) can select nothing: say so before the sweep."""
    from bench._sweep_errors import UsageError
    from snn.stats import paired_loss_estimate
    loss = paired_loss_estimate(clean["clean_val_fp32"], clean[f"clean_val_{fmt}"]).scaled(100.0)
    if loss.high > target_loss + 1e-9:
        raise UsageError(f"--target-loss {target_loss:g}: the error-free {fmt} network already loses "
                         f"{loss.mean:.2f} points (95% CI up to {loss.high:.2f}) on the validation images; "
                         f"no row can meet it")


@dataclasses.dataclass
class SizeRun:
    """The sweep of one network size: its rows, verdict and what to print and store."""
    neurons: int
    rows: list
    best: dict | None
    terms: dict | None
    header: str
    meta: dict
    timing: dict          # bench._sweep_timing readings of every process that worked on it


def run_network_sweep(plan, *, report: bool = True, write: bool = True):
    """Run every network size of the plan; print the views (``report``; to standard error when
    the CSV goes to standard output) and write the files (``write``). Returns (rows as a pandas
    DataFrame, meta) -- the Python API, ``bench.sweep_mappings.sweep``, returns that frame."""
    from bench.runner import Backend

    args = plan.args
    threads = 1 if args.dask else max(1, min(args.jobs, os.cpu_count() or 1))
    runs = []
    with Backend(jobs=args.jobs, dask_address=args.dask) as backend:
        for n in args.neurons:
            runs.append(measure_size(plan, n, backend, threads))
            _log(f"N={n}: " + timing_line(runs[-1].timing))
    summary = sizes_summary(runs) if len(runs) > 1 else None
    if report:
        print_views(runs, summary, args, sys.stderr if args.csv == "-" else sys.stdout)
    rows = [{"neurons": r.neurons, **row} for r in runs for row in r.rows]
    run_meta = {**common_meta(plan), "sizes": {str(r.neurons): r.meta for r in runs},
                "summary_across_sizes": summary}
    if write:
        title = (f"{plan.spec.name}, {args.format}, guard {args.guard}, {args.training}, vendor {args.vendor}")
        paths = write_outputs(Path(args.out), rows, run_meta, args.plot, title,
                              csv_to=sys.stdout if args.csv == "-" else None)
        _log("wrote " + ", ".join(str(p) for p in paths))
    frame = rows_frame(rows, COLUMNS).infer_objects()      # numeric columns as numbers
    frame.attrs["meta"] = run_meta
    return frame, run_meta


def print_views(runs, summary, args, stream) -> None:
    """The terminal output: per size its header, the compact grid (or --wide table), the best
    row and its saving terms; then the summary across sizes."""
    say = lambda text: print(text, file=stream)  # noqa: E731
    for run in runs:
        say(fit(run.header))
        say(render_table(run.rows, TERMINAL_COLUMNS) if args.wide else
            render_grid(run.rows, args.target_loss, run.best))
        say(fit(closing_line(run.rows, args.target_loss)))
        if run.terms is not None:
            say(fit(terms_line(run.terms)))
    if summary is not None:
        say(render_table(summary["sizes"], SUMMARY_COLUMNS))
        say(fit(summary_line(summary)))


def timing_line(timing: dict) -> str:
    """Where one size's time went (summed over processes; not written to the outputs)."""
    from bench._sweep_timing import ITEMS, PHASES
    parts = []
    for name in PHASES:
        wall, _, items = timing.get(name, (0.0, 0.0, 0.0))
        if wall >= 0.05:
            rate = f", {items / wall:,.0f} {ITEMS[name]}/s" if items else ""
            parts.append(f"{name.replace('_', ' ')} {wall:.1f} s{rate}")
    return "time (all processes): " + "; ".join(parts)


def spread_description(plan) -> str:
    from dramsim.errors.spatial import describe
    return describe(plan.args.spread, plan.curve.name)


def common_meta(plan) -> dict:
    a = plan.args
    return {"command": "sweep_mappings", "spec": plan.spec.name, "neurons": list(a.neurons), "preset": a.preset,
            "format": a.format, "guard": a.guard, "training": a.training,
            "error_free_reference": ("the plain network" if a.training == "plain" else
                                     "FAT control: the plain network trained the same extra epoch without faults"),
            "dataflow": a.dataflow, "error_model": a.error_model, "vendor": a.vendor, "dimm": a.dimm,
            "dimm_statistic": a.curve_statistic, "ber_curve": plan.curve.source, "spread": a.spread,
            "spread_model": spread_description(plan), "error_params": a.error_params, "vdd_timing": a.vdd_timing,
            "seed": a.seed,
            "epochs": a.epochs, "arrival": a.arrival, "controller": dataclasses.asdict(plan.config),
            "powerdown_idle": a.powerdown_idle, "self_refresh_idle": a.self_refresh_idle,
            "mapping": a.mapping, "target_loss": a.target_loss, "data": a.data, "idx_dir": a.idx_dir,
            "constants": a.constants,
            "selection": "lowest energy with validation loss upper 95% bound <= target_loss; test reported"}


def measure_size(plan, neurons: int, backend, threads: int) -> SizeRun:
    """Train (or load) the network of one size, measure its tolerance on validation, and run
    every (policy, VDD) point of it on ``backend``."""

    from bench.runner import run_points
    from snn.data import load_dataset
    from snn.formats import get_format
    from snn.stats import accuracy_estimate

    args = plan.args
    progress = not args.no_progress
    cdir = cache_dir(args.cache_dir)
    timing = {}
    take_timing()                                   # this size's clock starts now
    data = load_dataset(args.data, args.idx_dir).with_validation(args.val_images, args.seed)
    params = data.network_params(neurons, args.constants)
    n_train = len(data.x_train) if args.train_images is None else args.train_images
    x_train, y_train = data.shuffled_train(args.seed, n_train)
    plain, plain_path = get_model(params, x_train, y_train, epochs=args.epochs,
                                  seed=args.seed, cache=cdir, progress=progress, log=_log)
    model, model_path = plain, plain_path
    if args.training == "fat":   # the error-free reference: the same extra epoch without faults
        model, model_path = fat_control(plain, plain_path, x_train, y_train, plan.spec, seed=args.seed,
                                        guard=args.guard, cache=cdir)
    test_idx, x_test, y_test = sample_test_images(data.x_test, data.y_test, args.images, args.seed, ACCURACY_SALT)
    dram_idx, x_dram, y_dram = sample_test_images(data.x_test, data.y_test, args.dram_images, args.seed, DRAM_SALT)
    formats = sorted({args.format, "fp32"})
    spikes = spike_seeds(args.seed, args.spike_seeds)
    seeds = fault_seeds(args.seed, args.seeds)
    sets = {"val": (data.x_val, data.y_val), "test": (x_test, y_test)}
    with phase("clean_inference", len(formats) * len(spikes) * (len(data.y_val) + len(y_test))):
        clean = _clean_runs(model, sets, formats, spikes, plan.spec, threads)
    _check_reachable(clean, args.format, args.target_loss)

    calibrate = prefetch = None
    if args.training == "fat":
        train_cid = save_context(cdir, {"kind": "fat-training", "plain_path": str(plain_path), "spec": args.spec,
                                        "seed": int(args.seed), "guard": args.guard},
                                 {"x_train": x_train, "y_train": y_train})

        def calibrate(net, store, fault_map):   # from the plain network, like the control
            return calibrated_model(plain, plain_path, x_train, y_train, store, fault_map, seed=args.seed,
                                    guard=args.guard, cache=cdir)[0]

        def prefetch(tasks):                    # the devices of one grid BER side by side
            merge_timing(timing, take_timing())
            done = run_points(calibration_task, [{"cache_dir": str(cdir), "context": train_cid, **t}
                                                 for t in tasks], backend=backend, progress=False)
            for r in done:
                merge_timing(timing, r[TIMING_KEY])
    tol, tol_rows = {}, {}
    for f in formats:
        if args.tolerable_ber is not None:
            tol[f] = float(args.tolerable_ber)
        elif "sparkxd" in args.policies and f == args.format:
            with tqdm(desc=f"N={neurons}: tolerable BER {f} ({args.training}, validation)", disable=not progress,
                      unit="eval") as bar:
                tol[f], tol_rows[f] = tolerable_ber(
                    model, data.x_val, data.y_val, f, max_loss=args.target_loss / 100.0, seeds=seeds,
                    spike_seeds=spikes, error_model=args.error_model, guard=args.guard, spec=plan.spec,
                    clean=clean[f"clean_val_{f}"], reference=clean["clean_val_fp32"], calibrate=calibrate,
                    prefetch=prefetch, per_decade=FAT_PER_DECADE if calibrate else PLAIN_PER_DECADE,
                    threads=threads, shortcuts=args.shortcuts, progress=bar.update)
        else:
            tol[f] = 0.0
    clean_pct = {f"{s}_{f}": accuracy_estimate(clean[f"clean_{s}_{f}"]).scaled(100.0)
                 for s in IMAGE_SETS for f in formats}
    _log(f"N={neurons}: error-free accuracy: " + ", ".join(f"{k} {e.mean:.2f}% [{e.low:.2f}, {e.high:.2f}]"
                                                          for k, e in clean_pct.items())
         + ("; tolerable BER (validation): " + ", ".join(f"{f} {tol[f]:.2g}" for f in tol_rows) if tol_rows else ""))

    arrays = {"x_train": x_train, "y_train": y_train, "x_val": data.x_val, "y_val": data.y_val,
              "x_test": x_test, "y_test": y_test, **clean}
    for f in formats:
        arrays[f"stream_{f}"] = access_stream(model, x_dram, args.dataflow, spikes[0], get_format(f).bits)
    meta = {"spec": args.spec, "mapping": args.mapping, "model_path": str(model_path),
            "fat_from_path": str(plain_path) if args.training == "fat" else None,
            "vendor": args.vendor, "dimm": args.dimm, "dimm_statistic": args.curve_statistic,
            "error_params": args.error_params, "vdd_timing": args.vdd_timing,
            "error_model": args.error_model, "guard": args.guard,
            "training": args.training, "train_seed": int(args.seed),
            "device_seed": int(args.seed), "placement_seed": int(args.seed), "spike_seeds": spikes,
            "fault_seeds": seeds, "tolerable_ber": tol,
            "controller": dataclasses.asdict(plan.config), "engine": args.engine, "arrival": args.arrival,
            "powerdown_idle": args.powerdown_idle, "self_refresh_idle": args.self_refresh_idle,
            "dram_images": len(dram_idx), "shape": list(model.weights.shape), "shortcuts": bool(args.shortcuts)}
    cid = save_context(cdir, meta, arrays)
    resume = (Path(args.out) / ".resume") if args.resume else None
    points = sweep_points(plan, cid, cdir, args.format)
    merge_timing(timing, take_timing())
    results = run_deduplicated(points, backend, resume, progress, desc=f"N={neurons}: policy x VDD",
                               timing=timing, shortcuts=args.shortcuts)
    rows = finish_rows(results, plan.spec.vdd_nominal, args.target_loss)
    best = best_row(rows, args.target_loss)
    terms = _saving_terms(plan, best, cid, cdir, resume, tol, backend, timing) if best is not None else None
    size_meta = {
        "fault_seeds": seeds, "spike_seeds": spikes,
        "image_sets": {**data.describe(), "train_images_used": len(x_train),
                       "test_images": len(test_idx), "test_sample_seed": [args.seed, ACCURACY_SALT],
                       "test_indices": test_idx.tolist()},
        "dram_images": {"count": len(dram_idx), "sample_seed": [args.seed, DRAM_SALT],
                        "test_indices": dram_idx.tolist(), "labels": y_dram.tolist()},
        "clean_accuracy_pct": {k: e.as_dict() for k, e in clean_pct.items()},
        "tolerable_ber": tol, "best": _best_summary(best), "saving_terms": terms,
        "tolerance_curve": {f: [{k: r.get(k) for k in ("ber", "n", "mean", "ci_low", "ci_high", "loss",
                                                       "loss_ci_low", "loss_ci_high", "flipped_bits")}
                                for r in rs] for f, rs in tol_rows.items()}}
    header = header_line(plan, neurons, data, len(x_train), len(test_idx), len(dram_idx))
    return SizeRun(neurons, rows, best, terms, header, size_meta, merge_timing(timing, take_timing()))


def run_deduplicated(points, backend, resume, progress, desc, timing=None, shortcuts=True) -> list[dict]:
    """``run_point`` over ``points``, running once the points whose layout, VDD and format
    coincide (e.g. sparkxd and drmap where no subarray is excluded): their DRAM streams and
    faults are the same, so their results are too, but for the policy's name and layout notes."""
    from bench._sweep_point import layout_identity
    from bench.runner import run_points
    identity = [layout_identity(p) if shortcuts else (str(i), None) for i, p in enumerate(points)]
    first = {}
    for i, (key, _) in enumerate(identity):
        first.setdefault(key, i)
    unique = sorted(set(first.values()))
    done = dict(zip(unique, run_points(run_point, [points[i] for i in unique], backend=backend,
                                       resume_dir=resume, progress=progress, desc=desc)))
    for r in done.values():
        merge_timing(timing if timing is not None else {}, r.pop(TIMING_KEY, None))
    out = []
    for i, (key, info) in enumerate(identity):
        r = dict(done[first[key]])
        if first[key] != i and "error" not in r:
            r["policy"] = points[i]["policy"]
            r["layout_info"] = info
        out.append(r)
    return out


def _saving_terms(plan, best, cid, cdir, resume, tol, backend, timing) -> dict:
    """Energies of the decomposition points (DRAM only), every layout made with the chosen
    format's tolerable BER (the safe subarrays of the chosen row). They run on the sweep's
    backend: its workers hold this size's context already, and the main process does not grow
    by a worker's memory while they sit idle (N = 6400: the main process grew by ~490 MB here
    while two workers held ~700 MB each, the sweep's peak)."""
    from bench.runner import run_points
    pts = [{"cache_dir": str(cdir), "context": cid, "policy": p, "layout_vdd": float(lv), "vdd": float(v),
            "format": f, "tolerable_ber": tol[best["format"]], "dram_only": True}
           for p, lv, v, f in decomposition_points(best, plan.spec.vdd_nominal)]
    res = run_points(run_point, pts, backend=backend, resume_dir=resume, progress=False)
    for r in res:
        merge_timing(timing, r.pop(TIMING_KEY, None))
    return saving_terms([r["energy_uj"] for r in res])



def _best_summary(b):
    if b is None:
        return None
    keys = ("policy", "vdd_v", "format", "energy_uj", "energy_ci_low_uj", "energy_ci_high_uj", "saving_pct",
            "val_accuracy_pct", "val_accuracy_loss", "val_loss_ci_low", "val_loss_ci_high",
            "accuracy_pct", "accuracy_ci_low", "accuracy_ci_high", "accuracy_loss", "loss_ci_low", "loss_ci_high")
    return {k: b.get(k) for k in keys}
