"""The default job of ``python -m bench.sweep_mappings``: network -> stream -> policy x VDD sweep."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from tqdm import tqdm

from bench._sweep_context import save_context
from bench._sweep_network import (access_stream, cache_dir, eval_sample, get_model, tolerable_ber)
from bench._sweep_output import COLUMNS, atomic_write, pareto_png, render_table, to_csv, to_json
from bench._sweep_point import evaluate_accuracy, run_point

BASELINE = ("linear", "fp32")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def fault_seeds(seed: int, n: int) -> list[int]:
    """Fault-map seeds derived from the master seed (distinct from the device seed)."""
    return [int(seed) * 1000 + 1 + k for k in range(int(n))]


def sweep_points(plan, cid: str, cdir: Path, fmt: str) -> list[dict]:
    """(policy, VDD, format) points, plus the baseline (linear, nominal VDD, fp32) when missing."""
    args = plan.args
    pts = [{"cache_dir": str(cdir), "context": cid, "policy": p, "vdd": float(v), "format": fmt}
           for p in args.policies for v in args.vdd]
    base = {"cache_dir": str(cdir), "context": cid, "policy": BASELINE[0],
            "vdd": float(plan.spec.vdd_nominal), "format": BASELINE[1]}
    if base not in pts:
        pts.insert(0, base)
    return pts


def _is_baseline(r: dict, plan, fmt: str) -> bool:
    return (r["policy"], r["format"]) == (BASELINE[0], fmt) and abs(r["vdd_v"] - plan.spec.vdd_nominal) < 1e-9


def finish_rows(results: list[dict], plan, clean_fp32: float | None,
                baseline_format: str = BASELINE[1]) -> list[dict]:
    """Table rows: add saving vs the baseline row (linear, nominal VDD, ``baseline_format``) and
    accuracy loss vs error-free fp32."""
    base = next(r for r in results if _is_baseline(r, plan, baseline_format))
    rows = []
    for r in results:
        row = dict(r)
        if "error" in r:
            row["note"] = r["error"]
        else:
            row["saving_pct"] = 100.0 * (1.0 - r["energy_uj"] / base["energy_uj"])
            if clean_fp32 is not None and r.get("accuracy_pct") is not None:
                row["accuracy_loss"] = clean_fp32 - r["accuracy_pct"]
            info = r.get("layout_info", {})
            if _is_baseline(r, plan, baseline_format):
                row["note"] = "baseline"
            elif info.get("subarrays_excluded"):
                total = info["subarrays_safe"] + info["subarrays_excluded"]
                row["note"] = (f"{info['subarrays_safe']}/{total} subarrays safe "
                               f"(BER <= {info['tolerable_ber']:.2g})")
        rows.append(row)
    return rows


def best_row(rows: list[dict], target_loss: float):
    ok = [r for r in rows if "energy_uj" in r and r.get("accuracy_loss") is not None
          and r["accuracy_loss"] <= target_loss + 1e-9]
    return min(ok, key=lambda r: (r["energy_uj"], r["policy"], r["vdd_v"])) if ok else None


def closing_line(rows, target_loss: float) -> str:
    b = best_row(rows, target_loss)
    if b is None:
        return f"no configuration meets the accuracy target (loss <= {target_loss:g} points)"
    return (f"lowest energy within {target_loss:g} point(s) of accuracy loss: {b['policy']} at "
            f"{b['vdd_v']:g} V ({b['format']}): {b['energy_uj']:.3f} uJ/inference, "
            f"{b['saving_pct']:.1f}% below linear @ nominal VDD fp32, accuracy {b['accuracy_pct']:.2f}% "
            f"(loss {b['accuracy_loss']:.2f} points)")


def write_outputs(out: Path, rows: list[dict], meta: dict, plot: bool, title: str,
                  stem: str = "sweep", columns=COLUMNS) -> list[Path]:
    """CSV, JSON (and PNG) in ``out``, each written atomically; returns the paths."""
    files = {out / f"{stem}.csv": to_csv(rows, columns), out / f"{stem}.json": to_json(rows, meta, columns)}
    if plot:
        files[out / "pareto.png"] = pareto_png(rows, title)
    for path, data in files.items():
        atomic_write(path, data)
    return list(files)


def run_network_sweep(plan) -> None:
    from dataclasses import replace

    from bench.runner import run_points
    from mapping.tolerance import StoredWeights
    from snn.data import load_default_split
    from snn.formats import get_format
    from snn.params import NetworkParams

    args = plan.args
    progress = not args.no_progress
    cdir = cache_dir(args.cache_dir)
    data = load_default_split()
    params = replace(NetworkParams(), n_neurons=args.neurons)
    n_train = min(args.train_images, len(data.x_train))
    x_train, y_train = data.shuffled_train(args.seed, n_train)
    model, model_path = get_model(params, x_train, y_train, epochs=args.epochs,
                                  seed=args.seed, cache=cdir, progress=progress, log=_log)
    x_eval, y_eval = eval_sample(data.x_test, data.y_test, args.images, args.seed)
    n_dram = min(args.dram_images, len(x_eval))
    formats = sorted({args.format, BASELINE[1]})
    seeds = fault_seeds(args.seed, args.seeds)

    clean = {}
    for f in formats:
        w, _ = StoredWeights.default(model.weights.shape, f, plan.spec).read(model.weights, None)
        clean[f] = evaluate_accuracy(model, x_eval, y_eval, args.seed, w)
    target_frac = (clean["fp32"] - args.target_loss) / 100.0
    tol, tol_rows = {}, {}
    for f in formats:
        if args.tolerable_ber is not None:
            tol[f] = float(args.tolerable_ber)
        elif "sparkxd" in args.policies:
            with tqdm(desc=f"tolerance {f}", disable=not progress, unit="eval") as bar:
                tol[f], tol_rows[f] = tolerable_ber(
                    model, x_eval, y_eval, f, target_acc=target_frac, seeds=seeds,
                    error_model=args.error_model,
                    guard=args.guard, spec=plan.spec, eval_seed=args.seed, clean=clean[f] / 100.0,
                    progress=bar.update)
        else:
            tol[f] = 0.0
    _log("error-free accuracy: " + ", ".join(f"{f} {clean[f]:.2f}%" for f in formats)
         + "; tolerable BER: " + ", ".join(f"{f} {tol[f]:.2g}" for f in formats))

    arrays = {"x_eval": x_eval, "y_eval": y_eval}
    for f in formats:
        arrays[f"stream_{f}"] = access_stream(model, x_eval[:n_dram], args.dataflow, args.seed,
                                              get_format(f).bits)
    meta = {"spec": args.spec, "mapping": args.mapping, "model_path": str(model_path),
            "vendor": args.vendor, "error_model": args.error_model, "guard": args.guard,
            "device_seed": int(args.seed), "placement_seed": int(args.seed), "eval_seed": int(args.seed),
            "fault_seeds": seeds, "tolerable_ber": tol, "clean_accuracy": clean,
            "controller": dataclasses.asdict(plan.config), "engine": args.engine, "arrival": args.arrival,
            "dram_images": n_dram, "shape": list(model.weights.shape)}
    cid = save_context(cdir, meta, arrays)
    points = sweep_points(plan, cid, cdir, args.format)
    results = run_points(run_point, points, jobs=args.jobs, dask_address=args.dask,
                         resume_dir=(Path(args.out) / ".resume") if args.resume else None,
                         progress=progress, desc="policy x VDD")
    rows = finish_rows(results, plan, clean["fp32"])
    print(render_table(rows))
    print(closing_line(rows, args.target_loss))
    run_meta = {"command": "sweep_mappings", "spec": plan.spec.name, "neurons": args.neurons,
                "format": args.format, "dataflow": args.dataflow, "error_model": args.error_model,
                "vendor": args.vendor, "guard": args.guard, "seed": args.seed, "seeds": args.seeds,
                "images": len(x_eval), "dram_images": n_dram, "train_images": n_train, "epochs": args.epochs,
                "arrival": args.arrival, "controller": dataclasses.asdict(plan.config),
                "mapping": args.mapping,
                "clean_accuracy_pct": clean, "tolerable_ber": tol, "target_loss": args.target_loss,
                "best": _best_summary(rows, args.target_loss),
                "tolerance_curve": {f: [{k: r[k] for k in ("ber", "seed", "accuracy", "flipped_bits")}
                                        for r in rs] for f, rs in tol_rows.items()}}
    title = (f"{plan.spec.name}, N={args.neurons}, {args.format}, {args.dataflow} dataflow, "
             f"vendor {args.vendor}, {len(x_eval)} images")
    paths = write_outputs(Path(args.out), rows, run_meta, args.plot, title)
    _log("wrote " + ", ".join(str(p) for p in paths))


def _best_summary(rows, target_loss):
    b = best_row(rows, target_loss)
    if b is None:
        return None
    return {k: b.get(k) for k in ("policy", "vdd_v", "format", "energy_uj", "saving_pct", "accuracy_pct",
                                  "accuracy_loss")}
