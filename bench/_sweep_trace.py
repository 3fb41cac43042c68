"""``--trace FILE`` modes of the sweep.

* Physical request trace: address mapping x scheduler x page policy at each VDD (default: the
  nominal VDD only), same DRAM columns as the main table, no accuracy. The first configuration
  (the spec's default mapping, FR-FCFS, open page) is the row savings are measured against.
* Logical weight-access trace: the placement policies x VDD on that stream (the weight matrix
  shape and word size from the trace's metadata when present, else from the accesses and
  --format), no accuracy; sparkxd uses --tolerable-ber (default 1e-6).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from bench._sweep_context import save_context
from bench._sweep_dram import resolve_engine, simulate_metrics
from bench._sweep_errors import UsageError
from bench._sweep_main import write_outputs
from bench._sweep_select import finish_rows
from bench._sweep_network import cache_dir
from bench._sweep_output import COLUMNS, TRACE_COLUMNS, TRACE_TERMINAL_COLUMNS, fit, render_grid, render_table
from bench._sweep_point import run_point

#: Address mappings compared on a physical trace (most significant field first).
TRACE_SCHEMES = ("RoBaRaCoCh", "RoRaBaChCo", "ChRaBaRoCo", "RoCoBaRaCh")
TRACE_SCHEDULERS = ("fcfs", "frfcfs", "frfcfs_cap")
TRACE_PAGE_POLICIES = ("open", "closed")
DEFAULT_TRACE_TOLERABLE_BER = 1e-6


def _trace_point(point: dict) -> dict:
    """Simulate the stored physical trace with one (mapping, scheduler, page policy, VDD)."""
    from bench._sweep_context import load_context
    from dramsim.config import ControllerConfig
    from dramsim.spec import load_spec
    from dramsim.vdd import spec_at_vdd
    meta, arrays = load_context(point["cache_dir"], point["context"])
    spec = spec_at_vdd(load_spec(meta["spec"]), float(point["vdd"]), timing=meta.get("vdd_timing", "alpha"))
    config = ControllerConfig(**{**meta["controller"], "scheduler": point["scheduler"],
                                 "page_policy": point["page_policy"]})
    m = simulate_metrics(spec, arrays["requests"], config, meta["engine"], point["mapping"])
    for key in ("requests", "dram_cycles", "acts"):   # one trace: counts, not per-inference means
        m[key] = int(m[key])
    return {k: point[k] for k in ("mapping", "scheduler", "page_policy")} | {"vdd_v": float(point["vdd"])} | m


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def run_physical_trace(plan) -> None:
    from bench.runner import run_points
    args = plan.args
    cdir = cache_dir(args.cache_dir)
    vdds = args.vdd if args.vdd_given else [plan.spec.vdd_nominal]
    # the user's configuration first: savings are measured against it
    schemes = list(dict.fromkeys([args.mapping, *TRACE_SCHEMES]))
    schedulers = list(dict.fromkeys([args.scheduler, *TRACE_SCHEDULERS]))
    pages = list(dict.fromkeys([args.page_policy, *TRACE_PAGE_POLICIES]))
    meta = {"spec": args.spec, "controller": dataclasses.asdict(plan.config), "engine": args.engine,
            "vdd_timing": args.vdd_timing}
    cid = save_context(cdir, meta, {"requests": plan.trace})
    points = [{"cache_dir": str(cdir), "context": cid, "mapping": m, "scheduler": s, "page_policy": pp,
               "vdd": float(v)} for v in vdds for m in schemes for s in schedulers for pp in pages]
    rows = run_points(_trace_point, points, jobs=args.jobs, dask_address=args.dask,
                      resume_dir=(Path(args.out) / ".resume") if args.resume else None,
                      progress=not args.no_progress, desc="mapping x scheduler x page")
    base = rows[0]["energy_uj"]
    for r in rows:
        r["saving_pct"] = 100.0 * (1.0 - r["energy_uj"] / base) if base else None
    say = _printer(args)
    say(fit(trace_header(plan)))
    say(render_table(rows, TRACE_COLUMNS if args.wide else TRACE_TERMINAL_COLUMNS))
    best = min(rows, key=lambda r: r["energy_uj"])
    say(fit(f"lowest energy: {best['mapping']} / {best['scheduler']} / {best['page_policy']} page at "
            f"{best['vdd_v']:g} V: {best['energy_uj']:.3f} uJ ({best['saving_pct']:.1f}% below "
            f"{rows[0]['mapping']} / {rows[0]['scheduler']} / {rows[0]['page_policy']})"))
    run_meta = {"command": "sweep_mappings --trace (physical)", "trace": Path(args.trace).name,
                "spec": plan.spec.name, "requests": int(len(plan.trace)), "engine": resolve_engine(args.engine),
                "controller": dataclasses.asdict(plan.config), "vdd_timing": args.vdd_timing,
                "compared": {"mapping": schemes, "scheduler": schedulers, "page_policy": pages},
                "energy": "energy_uj = energy_act_uj + energy_rd_uj + energy_bg_uj + energy_ref_uj"}
    paths = write_outputs(Path(args.out), rows, run_meta, False, "", stem="trace_sweep",
                          columns=TRACE_COLUMNS, csv_to=sys.stdout if args.csv == "-" else None)
    _log("wrote " + ", ".join(str(p) for p in paths))


def trace_header(plan) -> str:
    """What the trace table was simulated on (the same defaults as python -m dramsim)."""
    a, c = plan.args, plan.config
    salp = "SALP none" if c.salp == "none" else f"SALP-{c.salp.upper()}"
    return (f"trace {Path(a.trace).name}: {plan.spec.name}, {salp}, controller {c.controller}, "
            f"engine {resolve_engine(a.engine)}, {a.vdd_timing} reduced-VDD timing")


def _printer(args):
    """print to stdout, or to stderr when the CSV goes to stdout (--csv -)."""
    stream = sys.stderr if args.csv == "-" else sys.stdout
    return lambda text: print(text, file=stream)


def prepare_logical(path: str, stream: np.ndarray, meta: dict, fmt: str):
    """(stream, weight-matrix shape, format name) of a logical trace.

    Shape from the metadata keys n_inputs/n_neurons when present (as snn.access writes them),
    else the smallest matrix holding every access; the word size from ``word_bits`` when
    present, else ``fmt``. Raises UsageError (``file:0: reason``) for an unusable trace.
    """
    from snn.formats import FORMATS
    try:
        if "n_inputs" in meta and "n_neurons" in meta:
            shape = (int(meta["n_inputs"]), int(meta["n_neurons"]))
            beyond = stream["first_word"] + stream["n_words"] > shape[1]
            if beyond.any():
                i = int(np.argmax(beyond))
                raise ValueError(f"access {i} reads past the {shape[1]} words of a row "
                                 "(first_word counts within the row)")
            if int(stream["row"].max()) >= shape[0]:
                raise ValueError(f"row {int(stream['row'].max())} outside the {shape[0]} rows "
                                 "of the metadata")
        else:
            shape = (int(stream["row"].max()) + 1, int((stream["first_word"] + stream["n_words"]).max()))
        if "word_bits" in meta:
            by_bits = {f.bits: name for name, f in FORMATS.items()}
            if int(meta["word_bits"]) not in by_bits:
                raise ValueError(f"word_bits {meta['word_bits']} is not 8, 16 or 32")
            fmt = by_bits[int(meta["word_bits"])]
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path}:0: {exc}") from None
    return stream, shape, fmt


def run_logical_trace(plan) -> None:
    from bench.runner import run_points
    args = plan.args
    cdir = cache_dir(args.cache_dir)
    stream, shape, fmt = plan.trace, plan.trace_shape, plan.trace_format
    n_images = int(np.unique(stream["image"]).size)
    tol = DEFAULT_TRACE_TOLERABLE_BER if args.tolerable_ber is None else float(args.tolerable_ber)
    meta = {"spec": args.spec, "mapping": args.mapping, "model_path": None, "vendor": args.vendor,
            "dimm": args.dimm, "dimm_statistic": args.curve_statistic, "error_params": args.error_params,
            "vdd_timing": args.vdd_timing,
            "error_model": args.error_model, "guard": args.guard, "device_seed": int(args.seed),
            "placement_seed": int(args.seed), "fault_seeds": [], "spike_seeds": [], "training": "plain",
            "tolerable_ber": {fmt: tol}, "controller": dataclasses.asdict(plan.config),
            "engine": resolve_engine(args.engine), "arrival": args.arrival, "dram_images": n_images,
            "shape": list(shape)}
    cid = save_context(cdir, meta, {f"stream_{fmt}": stream})
    vdds = args.vdd
    points = [{"cache_dir": str(cdir), "context": cid, "policy": p, "vdd": float(v), "format": fmt}
              for p in args.policies for v in vdds]
    base = {"cache_dir": str(cdir), "context": cid, "policy": "linear", "vdd": float(plan.spec.vdd_nominal),
            "format": fmt}
    if base not in points:
        points.insert(0, base)
    results = run_points(run_point, points, jobs=args.jobs, dask_address=args.dask,
                         resume_dir=(Path(args.out) / ".resume") if args.resume else None,
                         progress=not args.no_progress, desc="policy x VDD")
    rows = finish_rows(results, plan.spec.vdd_nominal, None, baseline_format=fmt)
    say = _printer(args)
    say(fit(trace_header(plan)))
    say(render_table(rows, COLUMNS) if args.wide else render_grid(rows, None))
    best = min((r for r in rows if "energy_uj" in r), key=lambda r: (r["energy_uj"], r["policy"], r["vdd_v"]))
    say(fit(f"lowest energy (no accuracy model for a trace; sparkxd keeps BER <= {tol:g}): {best['policy']} at "
            f"{best['vdd_v']:g} V: {best['energy_uj']:.3f} uJ/image, {best['saving_pct']:.1f}% below linear @ "
            f"nominal VDD"))
    run_meta = {"command": "sweep_mappings --trace (logical)", "trace": Path(args.trace).name,
                "spec": plan.spec.name, "shape": list(shape), "format": fmt, "images": n_images,
                "tolerable_ber": tol, "vendor": args.vendor, "seed": args.seed,
                "controller": dataclasses.asdict(plan.config), "arrival": args.arrival}
    paths = write_outputs(Path(args.out), rows, run_meta, False, "", stem="trace_sweep",
                          csv_to=sys.stdout if args.csv == "-" else None)
    _log("wrote " + ", ".join(str(p) for p in paths))
