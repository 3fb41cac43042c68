"""Error-tolerance analysis: accuracy of a trained SNN whose weights sit in faulty DRAM.

For every BER of a grid and every fault-map seed, the weights are encoded in a storage format,
placed by a layout, read back through a :class:`dramsim.errors.FaultMap` (``mapping.inject``),
decoded, passed through the read guard and used for inference. All evaluations use the same
inference seed (common random numbers), so differences between rows come from the bit errors
alone; a run in which no bit flipped reuses the error-free accuracy (inference is deterministic
for a seed and weights, so this is exact, and it makes the low-BER end of a sweep free).

The *maximum tolerable BER* for an accuracy target is the largest grid BER at which the mean
accuracy over seeds, and at every smaller grid BER, is at least the target
(:func:`max_tolerable_ber`); :func:`crossing_ber` gives the log-interpolated crossing between
that point and the next one.

Used by ``python -m bench.tolerance`` and by the main mapping sweep.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dramsim.errors import ErrorParams, FaultMap, parse_model
from mapping.guard import apply_guard, check_guard
from mapping.inject import count_flipped_bits, default_layout, flip_masks
from snn.formats import get_format

DEFAULT_SPEC = "DDR3L-1600K"


def log_grid(lo: float = 1e-9, hi: float = 1e-2, per_decade: int = 2) -> np.ndarray:
    """BERs from ``lo`` to ``hi`` with ``per_decade`` points per decade (both ends included)."""
    if not (0 < lo < hi) or per_decade < 1:
        raise ValueError("log grid needs 0 < lo < hi and per_decade >= 1")
    n = int(round(math.log10(hi / lo) * per_decade)) + 1
    return np.logspace(math.log10(lo), math.log10(hi), n)


@dataclass(frozen=True)
class StoredWeights:
    """Where and how a weight matrix is stored: format, layout and device spec."""
    fmt: object            # snn.formats.WeightFormat
    layout: object         # mapping.layout.Layout
    spec: object           # dramsim.spec.DramSpec

    @classmethod
    def default(cls, shape, fmt="fp32", spec=None, layout=None) -> "StoredWeights":
        from dramsim.spec import load_spec
        fmt = get_format(fmt) if isinstance(fmt, str) else fmt
        spec = load_spec(spec or DEFAULT_SPEC) if spec is None or isinstance(spec, str) else spec
        n = int(np.prod(shape))
        if layout is None:
            layout = default_layout(spec, n, fmt.bits, shape=tuple(shape))
        elif layout.word_bits != fmt.bits or layout.n_words != n:
            raise ValueError(f"layout holds {layout.n_words} words of {layout.word_bits} bits; "
                             f"the weights need {n} words of {fmt.bits} bits ({fmt.name})")
        return cls(fmt, layout, spec)

    def read(self, weights, fault_map: FaultMap | None, guard: str = "none", read_index: int = 0,
             bit_select: int | None = None) -> tuple[np.ndarray, int]:
        """(weights as read back -- decoded and guarded --, number of flipped bits)."""
        words = self.fmt.encode(np.asarray(weights, dtype=np.float32))
        flipped = 0
        if fault_map is not None:
            masks = flip_masks(words, self.layout, fault_map, read_index, bit_select)
            flipped = count_flipped_bits(masks)
            words = words ^ masks
        return apply_guard(self.fmt.decode(words), guard, self.fmt.w_max), flipped


def _evaluate(model, x, y, seed, weights) -> float:
    from snn.infer import evaluate
    return float(evaluate(model, x, y, seed=seed, weights=weights).accuracy)


def clean_accuracy(model, x, y, store: StoredWeights, eval_seed: int = 0, evaluate=_evaluate) -> float:
    """Accuracy with the weights stored error-free in ``store.fmt`` (quantisation included)."""
    w, _ = store.read(model.weights, None)
    return evaluate(model, x, y, eval_seed, w)


def tolerance_curve(model, x, y, bers, seeds, error_model=0, fmt="fp32", guard: str = "none", *,
                    spec=None, layout=None, params: ErrorParams | None = None, eval_seed: int = 0,
                    bit_select: int | None = None, progress=None, evaluate=_evaluate,
                    clean: float | None = None) -> list[dict]:
    """One row per (BER, seed): ``ber, seed, accuracy, flipped_bits, effective_ber, error_model,
    format, guard``. ``effective_ber`` is the mean BER of the regions holding the words (differs
    from ``ber`` when ``params`` has spatial spread and the layout covers few regions).

    ``progress`` is an optional callable invoked once per evaluated row (e.g. ``tqdm.update``).
    ``clean`` (the error-free accuracy for this format) is computed when not given.
    """
    model_no = parse_model(error_model)
    check_guard(guard)
    store = StoredWeights.default(model.weights.shape, fmt, spec, layout)
    params = params or ErrorParams()
    if clean is None:
        clean = clean_accuracy(model, x, y, store, eval_seed, evaluate)
    rows = []
    for ber in bers:
        for seed in seeds:
            fm = FaultMap.build(store.spec, model_no, float(ber), seed=int(seed), params=params)
            w, flipped = store.read(model.weights, fm, guard, bit_select=bit_select)
            acc = clean if flipped == 0 else evaluate(model, x, y, eval_seed, w)
            rows.append({"error_model": model_no, "format": store.fmt.name, "guard": guard,
                         "ber": float(ber), "seed": int(seed), "accuracy": acc,
                         "flipped_bits": flipped,
                         "effective_ber": float(fm.location_ber(store.layout, store.fmt.bits).mean())})
            if progress is not None:
                progress(1)
    return rows


CONFIG_KEYS = ("error_model", "format", "guard")


def summarize(rows, keys=CONFIG_KEYS) -> list[dict]:
    """Mean / std (sample) / min / max accuracy and mean flipped bits per configuration and BER."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in keys) + (r["ber"],), []).append(r)
    out = []
    for key, rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs], dtype=np.float64)
        out.append({**dict(zip(keys, key[:-1])), "ber": key[-1], "n": len(rs),
                    "mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(rs) > 1 else 0.0,
                    "min": float(acc.min()), "max": float(acc.max()),
                    "flipped_bits": float(np.mean([r["flipped_bits"] for r in rs])),
                    "effective_ber": float(np.mean([r.get("effective_ber", r["ber"]) for r in rs]))})
    out.sort(key=lambda s: tuple(str(s.get(k)) for k in keys) + (s["ber"],))
    return out


def _one_config_summary(rows) -> list[dict]:
    """Summary rows of a single configuration, from summary rows or raw per-seed rows."""
    rows = list(rows)
    if rows and "mean" not in rows[0]:
        rows = summarize(rows)
    if len({tuple(r.get(k) for k in CONFIG_KEYS + ("variant",)) for r in rows}) > 1:
        raise ValueError("rows of several configurations given; split them first (split_configs)")
    return rows


def max_tolerable_ber(summary, target: float) -> float | None:
    """Largest BER whose mean accuracy -- and that of every smaller BER -- is >= ``target``.

    ``summary``: the rows of ONE configuration, summarised (:func:`summarize`) or raw (from
    :func:`tolerance_curve`). None if the smallest BER already misses the target; the largest
    grid BER if none does (a lower bound).
    """
    best = None
    for s in sorted(_one_config_summary(summary), key=lambda s: s["ber"]):
        if s["mean"] < target:
            break
        best = s["ber"]
    return best


def crossing_ber(summary, target: float) -> float | None:
    """Log-interpolated BER where the mean accuracy crosses ``target`` (between the last passing
    and first failing grid points); None / the top grid BER as for :func:`max_tolerable_ber`."""
    pts = sorted(_one_config_summary(summary), key=lambda s: s["ber"])
    best = max_tolerable_ber(pts, target)
    if best is None:
        return None
    i = [s["ber"] for s in pts].index(best)
    if i + 1 == len(pts):
        return best
    a, b = pts[i], pts[i + 1]
    if a["mean"] == b["mean"] or a["ber"] <= 0:
        return a["ber"]
    t = (a["mean"] - target) / (a["mean"] - b["mean"])
    return float(10 ** (math.log10(a["ber"]) + t * (math.log10(b["ber"]) - math.log10(a["ber"]))))


def split_configs(summary, keys=CONFIG_KEYS) -> dict[tuple, list[dict]]:
    """Summary rows grouped by configuration."""
    out: dict[tuple, list[dict]] = {}
    for s in summary:
        out.setdefault(tuple(s.get(k) for k in keys), []).append(s)
    return out


def bit_sensitivity(model, x, y, fmt="fp32", rate: float = 0.01, seeds=(0, 1, 2), guard: str = "none", *,
                    spec=None, layout=None, eval_seed: int = 0, progress=None, evaluate=_evaluate,
                    clean: float | None = None) -> list[dict]:
    """Accuracy when only bit ``k`` of the words can flip (each with probability ``rate``), for
    every bit position ``k`` of the format (homogeneous uniform errors). One row per bit."""
    store = StoredWeights.default(model.weights.shape, fmt, spec, layout)
    flat = ErrorParams(bank_spread=0.0, subarray_spread=0.0)
    if clean is None:
        clean = clean_accuracy(model, x, y, store, eval_seed, evaluate)
    out = []
    for k in range(store.fmt.bits):
        rows = tolerance_curve(model, x, y, [rate], seeds, 0, store.fmt, guard, spec=store.spec,
                               layout=store.layout, params=flat, eval_seed=eval_seed,
                               bit_select=1 << k, progress=progress, evaluate=evaluate, clean=clean)
        acc = np.array([r["accuracy"] for r in rows])
        out.append({"format": store.fmt.name, "guard": guard, "bit": k, "rate": rate,
                    "mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                    "min": float(acc.min()), "drop": float(clean - acc.mean()),
                    "flipped_bits": float(np.mean([r["flipped_bits"] for r in rows]))})
    return out
