"""Output of the sweeps: the terminal table, CSV/JSON files (atomic) and the Pareto chart.

Rows are plain dicts with the keys of ``COLUMNS`` (None = not applicable). Files hold no wall
times or host names, so the same inputs and seed give byte-identical files.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from tabulate import tabulate

from traces.atomic import atomic_output

#: (key, terminal header, CSV/JSON number format) for every column of a placement sweep.
#: Test columns carry the plain names; ``val_`` columns are the validation images the choices
#: are made on. ``*_ci_low`` / ``*_ci_high``: 95 % confidence interval (snn.stats).
COLUMNS = (
    ("neurons", "N", None),
    ("policy", "policy", None),
    ("format", "format", None),
    ("vdd_v", "VDD\n(V)", ".3f"),
    ("ber", "BER\n(device)", ".2e"),
    ("ber_used", "BER\n(used)", ".2e"),
    ("row_hit_rate", "row hit\nrate", ".3f"),
    ("read_latency_ns", "read lat.\n(ns)", ".2f"),
    ("dram_cycles", "DRAM cycles\n/inference", ".0f"),
    ("energy_uj", "energy\n(uJ/inf.)", ".3f"),
    ("energy_ci_low_uj", "energy\nCI low", ".3f"),
    ("energy_ci_high_uj", "energy\nCI high", ".3f"),
    ("energy_act_uj", "ACT+PRE\n(uJ)", ".3f"),
    ("energy_rd_uj", "RD\n(uJ)", ".3f"),
    ("energy_bg_uj", "backgr.\n(uJ)", ".3f"),
    ("energy_ref_uj", "refresh\n(uJ)", ".3f"),
    ("energy_pd_uj", "with power-\ndown (uJ)", ".3f"),
    ("pd_saved_uj", "power-down\nsaves (uJ)", ".3f"),
    ("pd_saved_pct", "power-down\nsaves (%)", ".2f"),
    ("saving_pct", "saving vs\nbaseline (%)", ".1f"),
    ("saving_ci_low", "", ".2f"),
    ("saving_ci_high", "", ".2f"),
    ("flipped_bits", "flipped\nbits", ".1f"),
    ("val_accuracy_pct", "val.\naccuracy (%)", ".2f"),
    ("val_accuracy_ci_low", "", ".2f"),
    ("val_accuracy_ci_high", "", ".2f"),
    ("val_accuracy_loss", "val.\nloss", ".2f"),
    ("val_loss_ci_low", "", ".2f"),
    ("val_loss_ci_high", "", ".2f"),
    ("meets_target", "meets target\n(val.)", None),
    ("accuracy_pct", "accuracy\n(%)", ".2f"),
    ("accuracy_ci_low", "", ".2f"),
    ("accuracy_ci_high", "", ".2f"),
    ("accuracy_loss", "acc. loss\n(points)", ".2f"),
    ("loss_ci_low", "", ".2f"),
    ("loss_ci_high", "", ".2f"),
    ("note", "note", None),
)


def _with_ci(key: str, low: str, high: str, spec: str):
    """Terminal cell ``mean [low, high]``."""
    def cell(row):
        if row.get(key) is None:
            return ""
        if row.get(low) is None or row.get(high) is None:
            return format(row[key], spec)
        return f"{format(row[key], spec)} [{format(row[low], spec)}, {format(row[high], spec)}]"
    return cell


#: The compact terminal view (the files hold every column): one line per policy and VDD.
TERMINAL_COLUMNS = (
    ("policy", "policy", None),
    ("format", "format", None),
    ("vdd_v", "VDD\n(V)", ".3f"),
    ("ber_used", "BER\nused", ".1e"),
    ("row_hit_rate", "row\nhits", ".2f"),
    ("energy_uj", "energy uJ/inf.\n[95% CI]", _with_ci("energy_uj", "energy_ci_low_uj", "energy_ci_high_uj", ".1f")),
    ("saving_pct", "saving %\n[95% CI]", _with_ci("saving_pct", "saving_ci_low", "saving_ci_high", ".1f")),
    ("val_accuracy_loss", "val. loss, points\n[95% CI]",
     _with_ci("val_accuracy_loss", "val_loss_ci_low", "val_loss_ci_high", ".2f")),
    ("meets_target", "meets\ntarget", None),
    ("accuracy_pct", "test accuracy %\n[95% CI]", _with_ci("accuracy_pct", "accuracy_ci_low", "accuracy_ci_high", ".2f")),
    ("accuracy_loss", "test loss, points\n[95% CI]", _with_ci("accuracy_loss", "loss_ci_low", "loss_ci_high", ".2f")),
    ("note", "note", None),
)

def render_grid(rows: list[dict], target_loss: float | None, best: dict | None = None, width: int = 120) -> str:
    """The compact terminal view: one line per VDD, one column per policy (and format), each
    cell ``saving % | test loss [95% CI]``, marked ``x`` where the validation loss's upper bound
    misses the target and ``*`` at the best row; cells of rows that did not run say why.
    ``target_loss`` None: rows without accuracy (a trace), cells show the saving alone."""
    def cell(r):
        if r is None:
            return ""
        if "energy_uj" not in r:
            note = r.get("note", "")
            return ("does not operate" if note.startswith("does not operate") else
                    "does not fit" if note.startswith("does not fit") else note[:24])
        text = f"{r['saving_pct']:.1f}"
        if target_loss is None:
            return text
        text += " | "
        if r.get("accuracy_loss") is not None:
            lo, hi = r.get("loss_ci_low"), r.get("loss_ci_high")
            text += f"{r['accuracy_loss']:.2f}" + (f" [{lo:.2f},{hi:.2f}]" if lo is not None else "")
        mark = "*" if r is best else ("x" if r.get("meets_target") == "no" else " ")
        return f"{mark}{text}"
    columns = list(dict.fromkeys((r["policy"], r["format"]) for r in rows))
    formats = {f for _, f in columns}
    names = [p if len(formats) == 1 else f"{p} ({f})" for p, f in columns]
    by = {(r["policy"], r["format"], r["vdd_v"]): r for r in rows}
    vdds = sorted({r["vdd_v"] for r in rows}, reverse=True)
    cells = [[cell(by.get((p, f, v))) for p, f in columns] for v in vdds]
    blocks = []
    for chosen in _blocks_that_fit(names, cells, width):
        body = [[f"{v:.3f}", *[line[i] for i in chosen]] for v, line in zip(vdds, cells)]
        blocks.append(tabulate(body, headers=["VDD (V)", *[names[i] for i in chosen]], tablefmt="simple",
                               disable_numparse=True))
    table = "\n\n".join(blocks)
    if target_loss is None:
        legend = "cell: saving % vs linear @ nominal VDD"
    else:
        legend = (f"cell: saving % vs linear @ nominal VDD fp32 | test accuracy loss, points [95% CI];  "
                  f"x: validation loss above {target_loss:g} point(s) at the upper 95% bound;  *: the best row")
    return "\n".join([fit(legend, width), table])


def _blocks_that_fit(names: list[str], cells: list[list[str]], width: int) -> list[list[int]]:
    """Column indices in consecutive groups, each group's table (VDD column first, tabulate's
    two-space gaps) at most ``width`` wide: a grid with many policies or formats is printed
    as stacked tables rather than wrapping in the terminal."""
    def col_width(i):          # tabulate pads a header by 2 (its MIN_PADDING)
        return max([len(names[i]) + 2] + [len(line[i]) for line in cells])
    first = len("VDD (V)") + 2
    groups, current, used = [], [], first
    for i in range(len(names)):
        need = 2 + col_width(i)
        if current and used + need > width:
            groups.append(current)
            current, used = [], first
        current.append(i)
        used += need
    if current:
        groups.append(current)
    return groups


def fit(text: str, width: int = 120) -> str:
    """``text`` wrapped to ``width`` columns (continuation lines indented)."""
    import textwrap
    return "\n".join(textwrap.fill(line, width=width, subsequent_indent="  ", break_on_hyphens=False)
                     for line in text.split("\n"))


#: The summary across network sizes: the best row of each.
SUMMARY_COLUMNS = (
    ("neurons", "N", None),
    ("policy", "best row:\npolicy", None),
    ("format", "format", None),
    ("vdd_v", "VDD\n(V)", ".3f"),
    ("energy_uj", "energy\nuJ/inf.", ".1f"),
    ("saving_pct", "saving %\n[95% CI]", _with_ci("saving_pct", "saving_ci_low", "saving_ci_high", ".1f")),
    ("accuracy_loss", "test loss, points\n[95% CI]", _with_ci("accuracy_loss", "loss_ci_low", "loss_ci_high", ".2f")),
)

#: The physical-trace table in a terminal (``--wide``: every column of TRACE_COLUMNS).
TRACE_TERMINAL_COLUMNS = (
    ("mapping", "address\nmapping", None),
    ("scheduler", "scheduler", None),
    ("page_policy", "page\npolicy", None),
    ("vdd_v", "VDD\n(V)", ".3f"),
    ("row_hit_rate", "row hit\nrate", ".3f"),
    ("read_latency_ns", "read lat.\n(ns)", ".2f"),
    ("dram_cycles", "DRAM\ncycles", ".0f"),
    ("energy_uj", "energy\n(uJ)", ".3f"),
    ("saving_pct", "saving vs\nfirst row (%)", ".1f"),
)

#: Columns of the physical-trace comparison (address mapping x scheduler x page policy).
TRACE_COLUMNS = (
    ("mapping", "address\nmapping", None),
    ("scheduler", "scheduler", None),
    ("page_policy", "page\npolicy", None),
    ("vdd_v", "VDD\n(V)", ".3f"),
    ("requests", "requests", ".0f"),
    ("row_hit_rate", "row hit\nrate", ".3f"),
    ("read_latency_ns", "read lat.\n(ns)", ".2f"),
    ("dram_cycles", "DRAM\ncycles", ".0f"),
    ("energy_uj", "energy\n(uJ)", ".3f"),
    ("energy_act_uj", "ACT+PRE\n(uJ)", ".3f"),
    ("energy_rd_uj", "RD+WR\n(uJ)", ".3f"),
    ("energy_bg_uj", "backgr.\n(uJ)", ".3f"),
    ("energy_ref_uj", "refresh\n(uJ)", ".3f"),
    ("saving_pct", "saving vs\nfirst row (%)", ".1f"),
)



def _fmt(value, spec, row=None):
    if callable(spec):
        return spec(row)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if spec is None:
        return str(value)
    return format(value, spec)


def render_table(rows: list[dict], columns=COLUMNS) -> str:
    """The terminal table (tabulate, 'simple' grid); columns that are empty in every row are
    dropped. A column's format may be a callable of the row (e.g. a mean with its interval)."""
    used = [c for c in columns if any(r.get(c[0]) not in (None, "") for r in rows)]
    body = [[_fmt(r.get(k), f, r) for k, _, f in used] for r in rows]
    return tabulate(body, headers=[h for _, h, _ in used], tablefmt="simple", disable_numparse=True,
                    stralign="right")


def _clean(value):
    """JSON/CSV-safe value: numpy scalars -> Python, NaN -> None, floats rounded to 12 digits."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.12g}")
    return value


def rows_frame(rows: list[dict], columns=COLUMNS):
    """The rows as a pandas DataFrame with one column per entry of ``columns`` (in order; None
    where a row has no value), values cleaned as in the files; what the Python API returns and
    what the CSV is written from."""
    import pandas as pd
    keys = [k for k, _, _ in columns]
    return pd.DataFrame([[_clean(r.get(k)) for k in keys] for r in rows], columns=keys, dtype=object)


def to_csv(rows, columns=COLUMNS) -> str:
    """CSV text of a rows frame (:func:`rows_frame`) or of the rows themselves."""
    frame = rows if hasattr(rows, "to_csv") else rows_frame(rows, columns)
    return frame.to_csv(index=False, lineterminator="\n")


def to_json(rows: list[dict], meta: dict, columns=COLUMNS) -> str:
    doc = {"meta": {k: _clean(v) if not isinstance(v, (dict, list)) else v for k, v in meta.items()},
           "rows": [_json_row(r, columns) for r in rows]}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _json_row(r: dict, columns) -> dict:
    out = {k: _clean(r.get(k)) for k, _, _ in columns}
    if r.get("energy_per_image_uj") is not None:
        out["energy_per_image_uj"] = [_clean(v) for v in r["energy_per_image_uj"]]
    if r.get("layout_info"):
        out["layout"] = {k: _clean(v) for k, v in sorted(r["layout_info"].items())}
    return out


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically (traces.atomic), creating parent directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def pareto_png(rows: list[dict], title: str) -> bytes:
    """PNG bytes of energy per inference vs test accuracy, one marker per policy, the Pareto
    front joined; one panel per network size (``neurons``) when the rows hold several.

    The PNG is rendered without metadata (no timestamp/software tag) so it is reproducible.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [r for r in rows if r.get("energy_uj") is not None and r.get("accuracy_pct") is not None]
    sizes = list(dict.fromkeys(r.get("neurons") for r in pts)) or [None]
    fig, axes = plt.subplots(1, len(sizes), figsize=(7 * min(len(sizes), 3) ** 0.8, 4.5), dpi=110,
                             squeeze=False)
    for ax, size in zip(axes[0], sizes):
        _pareto_panel(ax, [r for r in pts if r.get("neurons") == size],
                      title if size is None else f"N={size}: {title}")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _pareto_panel(ax, pts: list[dict], title: str) -> None:
    markers = "os^vD<>pP*"
    for i, policy in enumerate(dict.fromkeys(f"{r['policy']} ({r['format']})" for r in pts)):
        sel = [r for r in pts if f"{r['policy']} ({r['format']})" == policy]
        ax.scatter([r["energy_uj"] for r in sel], [r["accuracy_pct"] for r in sel],
                   marker=markers[i % len(markers)], label=policy, alpha=0.8)
    front = pareto_front(pts)
    if front:
        ax.plot([r["energy_uj"] for r in front], [r["accuracy_pct"] for r in front], "k--", lw=0.8,
                label="Pareto front")
    ax.set_xlabel("DRAM energy per inference (uJ)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def pareto_front(rows: list[dict]) -> list[dict]:
    """Rows not dominated in (lower energy, higher accuracy), sorted by energy."""
    pts = sorted(rows, key=lambda r: (r["energy_uj"], -r["accuracy_pct"]))
    front, best = [], -math.inf
    for r in pts:
        if r["accuracy_pct"] > best:
            front.append(r)
            best = r["accuracy_pct"]
    return front
