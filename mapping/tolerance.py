"""Error-tolerance analysis: accuracy of a trained SNN whose weights sit in faulty DRAM.

For every BER of a grid and every fault-map seed, the weights are encoded in a storage format,
placed by a layout, read back through a :class:`dramsim.errors.FaultMap` (``mapping.inject``),
decoded, passed through the read guard (``mapping.inject.read_back``) and used for inference
under several input-spike seeds. Every run keeps, per image, whether it was classified
correctly; all runs share the spike seeds (common random numbers), so a run's loss is paired
against the error-free run on the same images and spikes and differences come from the bit
errors alone. A run in which no bit flipped reuses the error-free outcomes (inference is
deterministic for a seed and weights, so this is exact, and it makes the low-BER end free).

:func:`summarize` gives accuracy and loss with 95 % confidence intervals (``snn.stats``). The
*tolerable BER* (:func:`tolerable_ber`) is the largest grid BER at which -- and at every smaller
grid BER -- the upper confidence bound of the loss is within the allowed loss. Callers measure
it on validation images, never on the test images they report. (:func:`max_tolerable_ber` and
:func:`crossing_ber` judge the mean accuracy against an absolute target instead.)

Used by ``python -m bench.tolerance`` and by the main mapping sweep.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dramsim.errors import ErrorParams, FaultMap, parse_model
from mapping.guard import check_guard
from mapping.inject import count_flipped_bits, default_layout, flip_masks, read_back
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
        w, masks = self.read_with_masks(weights, fault_map, guard, read_index, bit_select)
        return w, 0 if masks is None else count_flipped_bits(masks)

    def read_with_masks(self, weights, fault_map: FaultMap | None, guard: str = "none", read_index: int = 0,
                        bit_select: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(weights as read back, the XOR masks of their words; None for an error-free read)."""
        words = self.fmt.encode(np.asarray(weights, dtype=np.float32))
        masks = None if fault_map is None else flip_masks(words, self.layout, fault_map, read_index, bit_select)
        return read_back(self.fmt, words, masks, guard), masks


def spike_seed_evaluator(spike_seeds=(0,), threads: int = 1):
    """``correct(model, x, y, weights) -> bool [S, n]`` under the input-spike seeds given."""
    seeds = tuple(int(s) for s in spike_seeds)
    if not seeds:
        raise ValueError("need at least one input-spike seed")

    def correct(model, x, y, weights):
        from snn.infer import correct_matrix
        return correct_matrix(model, x, y, seeds=seeds, weights=weights, threads=threads)

    def after_change(model, x, y, weights, clean, changed_rows):
        """The same outcomes, evaluating only the images a change of ``changed_rows`` can reach
        (``snn.infer.correct_after_change``; exact)."""
        from snn.infer import correct_after_change
        return correct_after_change(model, x, y, seeds=seeds, weights=weights, clean=clean,
                                    changed_rows=changed_rows, threads=threads)
    correct.after_change = after_change
    return correct


def changed_rows(masks, shape) -> np.ndarray:
    """Rows (inputs) of a ``shape`` weight matrix holding a word with a flipped bit."""
    flat = np.flatnonzero(np.asarray(masks).reshape(-1))
    return np.unique(flat // int(shape[1]))


def outcomes_after_flips(correct, model, x, y, weights, masks, clean) -> np.ndarray:
    """Outcomes of ``model`` with ``weights`` (read back through ``masks``); only the images a
    flipped row can reach are evaluated when ``correct`` knows how (exact), else all."""
    if hasattr(correct, "after_change"):
        return correct.after_change(model, x, y, weights, clean, changed_rows(masks, model.weights.shape))
    return correct(model, x, y, weights)


def clean_correct(model, x, y, store: StoredWeights, correct) -> np.ndarray:
    """bool [S, n]: the error-free run with the weights stored in ``store.fmt`` (quantisation
    included), under the evaluator's spike seeds."""
    w, _ = store.read(model.weights, None)
    return correct(model, x, y, w)


def tolerance_curve(model, x, y, bers, seeds, error_model=0, fmt="fp32", guard: str = "none", *,
                    spec=None, layout=None, params: ErrorParams | None = None, spike_seeds=(0,),
                    bit_select: int | None = None, progress=None, correct=None,
                    clean: np.ndarray | None = None, reference: np.ndarray | None = None,
                    calibrate=None) -> list[dict]:
    """One row per (BER, fault-map seed): ``ber, seed, accuracy, loss, flipped_bits,
    effective_ber, error_model, format, guard`` and the per-image outcomes ``correct`` (bool
    [spike seeds, images]) and ``reference`` (the error-free run the loss is paired against).

    ``correct`` evaluates (default: :func:`spike_seed_evaluator` of ``spike_seeds``); ``clean``
    is this format's error-free run (computed when not given) and is reused, exactly, for a
    fault map that flips no bit; ``reference`` (default ``clean``) is the run losses are measured
    against, e.g. the error-free fp32 run when comparing formats. ``effective_ber`` is the mean
    BER of the regions holding the words (differs from ``ber`` with spatial spread).
    ``progress`` is called once per evaluated row (e.g. ``tqdm.update``). ``calibrate(model,
    store, fault_map) -> model``, if given, is tried wherever the fault map flips a bit
    (per-device fault-aware training, ``mapping.fault_aware.calibrate_to_device``) and kept
    where it classifies more of ``x`` correctly than ``model`` on the same faulty device (so
    pass validation images: that is a choice); where nothing flips there is nothing to
    calibrate and the error-free outcomes are reused.
    """
    model_no = parse_model(error_model)
    check_guard(guard)
    store = StoredWeights.default(model.weights.shape, fmt, spec, layout)
    params = params or ErrorParams()
    correct = correct or spike_seed_evaluator(spike_seeds)
    if clean is None:
        clean = clean_correct(model, x, y, store, correct)
    reference = clean if reference is None else reference
    rows = []
    for ber in bers:
        for seed in seeds:
            fm = FaultMap.build(store.spec, model_no, float(ber), seed=int(seed), params=params)
            w, masks = store.read_with_masks(model.weights, fm, guard, bit_select=bit_select)
            flipped = count_flipped_bits(masks)
            outcome = clean if flipped == 0 else outcomes_after_flips(correct, model, x, y, w, masks, clean)
            calibrated = False
            if flipped and calibrate is not None:   # keep the calibration only where it pays
                net = calibrate(model, store, fm)
                w_cal, flipped_cal = store.read(net.weights, fm, guard, bit_select=bit_select)
                tried = correct(net, x, y, w_cal)
                if tried.mean() > outcome.mean():
                    outcome, flipped, calibrated = tried, flipped_cal, True
            rows.append({"error_model": model_no, "format": store.fmt.name, "guard": guard,
                         "ber": float(ber), "seed": int(seed), "accuracy": float(outcome.mean()),
                         "loss": float(reference.mean() - outcome.mean()),
                         "flipped_bits": flipped, "calibrated": calibrated,
                         "effective_ber": float(fm.location_ber(store.layout, store.fmt.bits).mean()),
                         "correct": outcome, "reference": reference})
            if progress is not None:
                progress(1)
    return rows


CONFIG_KEYS = ("error_model", "format", "guard")


#: per-image arrays in curve rows; writers of CSV/JSON drop them (:func:`plain_rows`)
ARRAY_KEYS = ("correct", "reference")


def plain_rows(rows) -> list[dict]:
    """Rows without their per-image arrays (for CSV/JSON)."""
    return [{k: v for k, v in r.items() if k not in ARRAY_KEYS} for r in rows]


def summarize(rows, keys=CONFIG_KEYS) -> list[dict]:
    """Per configuration and BER: accuracy and loss (fractions) with their 95 % confidence
    intervals over images, fault-map seeds (devices) and spike seeds (snn.stats), plus
    sample std / min / max of the per-device accuracies and mean flipped bits."""
    from snn.stats import accuracy_estimate, paired_loss_estimate
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in keys) + (r["ber"],), []).append(r)
    out = []
    for key, rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs], dtype=np.float64)
        row = {**dict(zip(keys, key[:-1])), "ber": key[-1], "n": len(rs),
               "mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(rs) > 1 else 0.0,
               "min": float(acc.min()), "max": float(acc.max()),
               "flipped_bits": float(np.mean([r["flipped_bits"] for r in rs])),
               "effective_ber": float(np.mean([r.get("effective_ber", r["ber"]) for r in rs]))}
        if all("correct" in r for r in rs):
            outcomes = np.stack([r["correct"] for r in rs])
            a = accuracy_estimate(outcomes)
            row.update(mean=a.mean, ci_low=a.low, ci_high=a.high)
            if all(r.get("reference") is not None for r in rs):
                loss = paired_loss_estimate(rs[0]["reference"], outcomes)
                row.update(loss=loss.mean, loss_ci_low=loss.low, loss_ci_high=loss.high)
        out.append(row)
    out.sort(key=lambda s: tuple(str(s.get(k)) for k in keys) + (s["ber"],))
    return out


def tolerable_ber(summary, max_loss: float) -> float | None:
    """Largest BER at which -- and at every smaller BER -- the upper 95 % confidence bound of the
    accuracy loss is within ``max_loss`` (a fraction; 0.01 = 1 point).

    ``summary``: rows of ONE configuration from :func:`summarize` (or raw curve rows). Judging
    the upper bound, not the mean, means a BER passes only if its loss is shown to be small,
    not if it merely came out small on these images. None if the smallest BER already fails;
    the largest grid BER if none does (then a lower bound).
    """
    best = None
    for s in sorted(_one_config_summary(summary), key=lambda s: s["ber"]):
        if "loss_ci_high" not in s:
            raise ValueError("tolerable_ber needs summaries with loss intervals (rows with 'correct' "
                             "and 'reference')")
        if s["loss_ci_high"] > max_loss + 1e-12:
            break
        best = s["ber"]
    return best


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
                    spec=None, layout=None, spike_seeds=(0,), progress=None, correct=None,
                    clean: np.ndarray | None = None) -> list[dict]:
    """Accuracy when only bit ``k`` of the words can flip (each with probability ``rate``), for
    every bit position ``k`` of the format (homogeneous uniform errors). One row per bit, with
    the loss against this format's error-free run and its 95 % interval."""
    store = StoredWeights.default(model.weights.shape, fmt, spec, layout)
    flat = ErrorParams(bank_spread=0.0, subarray_spread=0.0)
    correct = correct or spike_seed_evaluator(spike_seeds)
    if clean is None:
        clean = clean_correct(model, x, y, store, correct)
    out = []
    for k in range(store.fmt.bits):
        rows = tolerance_curve(model, x, y, [rate], seeds, 0, store.fmt, guard, spec=store.spec,
                               layout=store.layout, params=flat, bit_select=1 << k, progress=progress,
                               correct=correct, clean=clean)
        s = summarize(rows)[0]
        out.append({"format": store.fmt.name, "guard": guard, "bit": k, "rate": rate,
                    "mean": s["mean"], "std": s["std"], "min": s["min"], "drop": s["loss"],
                    "drop_ci_low": s["loss_ci_low"], "drop_ci_high": s["loss_ci_high"],
                    "flipped_bits": s["flipped_bits"]})
    return out
