"""Verdicts of the placement sweep: savings, the best row, and where its saving comes from.

The *best* row is the lowest-energy row whose accuracy loss is shown to be within the target
on the VALIDATION images: the upper end of the loss's 95 % confidence interval
(``val_loss_ci_high``) is at most ``--target-loss``. Its test loss, with its interval, is then
reported: test images never take part in the choice.
"""
from __future__ import annotations

import numpy as np

BASELINE_POLICY = "linear"
BASELINE_FORMAT = "fp32"


def is_baseline(row: dict, vdd_nominal: float, fmt: str = BASELINE_FORMAT) -> bool:
    return ((row["policy"], row["format"]) == (BASELINE_POLICY, fmt)
            and abs(row["vdd_v"] - vdd_nominal) < 1e-9)


def meets_target(row: dict, target_loss: float) -> bool | None:
    """Whether the validation loss's upper 95 % bound is within ``target_loss`` points (None:
    the row has no accuracy)."""
    high = row.get("val_loss_ci_high")
    if high is None or "energy_uj" not in row:
        return None
    return high <= target_loss + 1e-9


def finish_rows(results: list[dict], vdd_nominal: float, target_loss: float | None,
                baseline_format: str = BASELINE_FORMAT) -> list[dict]:
    """Table rows: saving vs the baseline row (linear, nominal VDD, ``baseline_format``),
    whether the row meets the target on validation, and a note."""
    base = next(r for r in results if is_baseline(r, vdd_nominal, baseline_format))
    rows = []
    for r in results:
        row = dict(r)
        if "error" in r:
            row["note"] = r["error"]
            rows.append(row)
            continue
        row.update(saving_with_interval(r, base))
        if target_loss is not None:
            ok = meets_target(row, target_loss)
            row["meets_target"] = None if ok is None else ("yes" if ok else "no")
        notes = []
        if is_baseline(r, vdd_nominal, baseline_format):
            notes.append("baseline")
        info = r.get("layout_info", {})
        if info.get("subarrays_excluded"):
            total = info["subarrays_safe"] + info["subarrays_excluded"]
            notes.append(f"{info['subarrays_safe']}/{total} subarrays BER <= {info['tolerable_ber']:.2g}")
        if r.get("devices_calibrated"):
            notes.append(f"FAT on {r['devices_calibrated']} device(s), "
                         f"{r['neurons_retired']:.1f} neurons retired")
        row["note"] = "; ".join(notes)
        rows.append(row)
    return rows


def saving_with_interval(row: dict, base: dict) -> dict:
    """Saving (percent) of ``row`` against ``base``: 1 - ratio of their mean energies per
    inference, with a 95 % interval paired over the simulated images (both rows read the same
    images), by the delta method: R = mean(e) / mean(b), SE = sd(e_i - R b_i) / (sqrt(n) mean(b))."""
    from snn.stats import mean_interval
    out = {"saving_pct": 100.0 * (1.0 - row["energy_uj"] / base["energy_uj"])}
    e, b = row.get("energy_per_image_uj"), base.get("energy_per_image_uj")
    if e is None or b is None or len(e) != len(b) or len(e) < 2:
        return out
    e, b = np.asarray(e, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ratio = e.mean() / b.mean()
    resid = mean_interval(e - ratio * b)       # mean 0; its half-width scaled by 1 / mean(b)
    half = (resid.high - resid.mean) / b.mean()
    out.update(saving_ci_low=100.0 * (1.0 - ratio - half), saving_ci_high=100.0 * (1.0 - ratio + half))
    return out


def best_row(rows: list[dict], target_loss: float):
    """Lowest-energy row meeting the target on validation (ties: the earlier row); None if none."""
    ok = [(r["energy_uj"], i) for i, r in enumerate(rows) if meets_target(r, target_loss)]
    return rows[min(ok)[1]] if ok else None


def closing_line(rows, target_loss: float) -> str:
    b = best_row(rows, target_loss)
    if b is None:
        return (f"no configuration meets the accuracy target (upper 95% bound of the validation loss "
                f"<= {target_loss:g} points)")
    return (f"lowest energy with validation loss <= {target_loss:g} point(s) at the upper 95% bound: "
            f"{b['policy']} at {b['vdd_v']:g} V ({b['format']}): {b['energy_uj']:.2f} uJ/inference "
            f"(95% CI {b['energy_ci_low_uj']:.2f}-{b['energy_ci_high_uj']:.2f} over the sampled images), "
            f"{b['saving_pct']:.1f}% below linear @ nominal VDD fp32; "
            f"test: accuracy {b['accuracy_pct']:.2f}% [{b['accuracy_ci_low']:.2f}, {b['accuracy_ci_high']:.2f}], "
            f"loss {b['accuracy_loss']:.2f} points [{b['loss_ci_low']:.2f}, {b['loss_ci_high']:.2f}]")


def decomposition_points(best: dict, vdd_nominal: float) -> list[tuple[str, float, float, str]]:
    """(policy, VDD the layout is made for, VDD simulated, format) whose energies split the
    best row's saving into its terms. The chosen policy's layout is the one it makes at the
    chosen VDD (sparkxd's depends on the VDD), also when run at nominal VDD."""
    p, v, f = best["policy"], best["vdd_v"], best["format"]
    return [(BASELINE_POLICY, vdd_nominal, vdd_nominal, BASELINE_FORMAT), (p, v, vdd_nominal, BASELINE_FORMAT),
            (p, v, v, BASELINE_FORMAT), (p, v, v, f)]


def saving_terms(energies: list[float]) -> dict:
    """Split a saving into successive terms: placement (linear -> the chosen layout, both at
    nominal VDD, fp32), voltage (nominal -> chosen VDD), weight format (fp32 -> chosen format).
    ``energies`` are the four energies of :func:`decomposition_points`; the terms multiply:
    ``1 - total = (1 - placement) (1 - voltage) (1 - format)``, each in percent."""
    e0, e1, e2, e3 = energies
    step = lambda a, b: 100.0 * (1.0 - b / a)
    return {"placement_pct": step(e0, e1), "voltage_pct": step(e1, e2), "format_pct": step(e2, e3),
            "total_pct": step(e0, e3)}


def terms_line(terms: dict) -> str:
    return (f"where the {terms['total_pct']:.1f}% saving comes from (each step relative to the one before, "
            f"same run): placement {terms['placement_pct']:.1f}% (linear -> chosen policy, nominal VDD, fp32), "
            f"voltage {terms['voltage_pct']:.1f}% (nominal -> chosen VDD), "
            f"weight format {terms['format_pct']:.1f}% (fp32 -> chosen format)")


def sizes_summary(runs) -> dict:
    """The best row of every network size and the mean saving across sizes.

    Each size's saving interval is paired over its images (:func:`saving_with_interval`); its
    standard error is the half-width over the t quantile of those images' degrees of freedom.
    The sizes are independent runs, so the mean's standard error is the root of the summed
    squares over the number of sizes, and its interval uses the normal quantile. A size with no
    row meeting the target contributes no saving: the mean is then over the others, and says so.
    """
    from scipy.stats import norm, t
    sizes, savings, errors = [], [], []
    for run in runs:
        b = run.best
        row = {"neurons": run.neurons}
        if b is not None:
            row.update({k: b.get(k) for k in ("policy", "vdd_v", "format", "energy_uj", "saving_pct",
                                              "saving_ci_low", "saving_ci_high", "accuracy_pct",
                                              "accuracy_loss", "loss_ci_low", "loss_ci_high")})
            savings.append(b["saving_pct"])
            if b.get("saving_ci_high") is not None:
                n = len(b.get("energy_per_image_uj") or [])
                errors.append((b["saving_ci_high"] - b["saving_pct"]) / t.ppf(0.975, max(n - 1, 1)))
        else:
            row["policy"] = "none meets the target"
        sizes.append(row)
    out = {"sizes": sizes, "sizes_with_a_best_row": len(savings), "sizes_run": len(runs)}
    if savings:
        mean = float(np.mean(savings))
        out["mean_saving_pct"] = mean
        if len(errors) == len(savings):
            half = float(norm.ppf(0.975) * np.sqrt(np.sum(np.square(errors))) / len(errors))
            out.update(mean_saving_ci_low=mean - half, mean_saving_ci_high=mean + half)
    return out


def summary_line(summary: dict) -> str:
    if "mean_saving_pct" not in summary:
        return "no network size has a row meeting the target"
    ci = (f" [{summary['mean_saving_ci_low']:.1f}, {summary['mean_saving_ci_high']:.1f}]"
          if "mean_saving_ci_low" in summary else "")
    part = ("" if summary["sizes_with_a_best_row"] == summary["sizes_run"] else
            f" (over the {summary['sizes_with_a_best_row']} of {summary['sizes_run']} sizes with a best row)")
    return f"mean saving of the best rows across network sizes: {summary['mean_saving_pct']:.1f}%{ci}{part}"
