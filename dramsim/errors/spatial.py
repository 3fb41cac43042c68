"""Named models of the spatial variation of reduced-voltage errors (bank and subarray spreads).

``dramsim.errors.models`` gives every (bank, subarray) region the BER ``BER(VDD) * m_bank *
m_subarray`` with log-normal multipliers of spread (sigma of ln) ``bank_spread`` and
``subarray_spread``. This module names the spreads to use:

* ``"assumed"``: 0.5 and 0.5 -- the original assumption, chosen to make some regions clearly
  weaker, not a fit (still the default of :class:`~dramsim.errors.models.ErrorParams`).
* ``"fitted"``: fitted per vendor to the Voltron spatial-locality pictures (Chang et al.,
  SIGMETRICS 2017, section 4.3; CMU-SAFARI/DRAM-Voltage-Study
  ``characterization_results/spatial_locality/``): where the *voltage-induced* errors fall over
  8 banks and the rows of a bank at reduced VDD, measured at tRCD = tRP = 4 cycles. The
  subarray spread is the spread between eighths of a bank (the bundled specs' 8 subarrays per
  bank). Reproduced by ``python -m bench.fit_spatial`` (its docstring: how pixels become
  counts, the validation, the estimator).
* ``"retention"``: bank spread fitted to the per-bank error counts of
  ``retention_time_profile.csv`` (section 4.6; 20 C, 2048 ms refresh interval, 1.15 V,
  Poisson-log-normal maximum likelihood), subarray spread as ``"fitted"``. These are
  *retention* errors at a 32x refresh interval, and most of them sit in bank 0 of many vendor-B
  and vendor-C DIMMs, hence the very large spreads: an alternative view, not the default.
* ``"none"``: 0 and 0, a homogeneous device.

For a curve that is not one vendor's (``"all"``, a user CSV), the fitted spreads are the median
of the three vendors' values.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from dramsim.errors.models import ErrorParams

SPREAD_MODELS = ("fitted", "assumed", "retention", "none")


@dataclass(frozen=True)
class Spread:
    """A fitted sigma with its 95 % confidence interval and how many DIMMs it rests on."""
    sigma: float
    low: float
    high: float
    n_dimms: int


# python -m bench.fit_spatial --seed 0 --boot 2000 (pictures: median over DIMMs of per-DIMM
# medians, bootstrap-over-DIMMs 95 % interval; retention: profile-likelihood 95 % interval)
FITTED_BANK = {"A": Spread(1.18, 0.79, 1.39, 5), "B": Spread(0.29, 0.00, 0.81, 7), "C": Spread(0.36, 0.21, 0.84, 8)}
FITTED_SUBARRAY = {"A": Spread(0.48, 0.12, 1.04, 5), "B": Spread(0.60, 0.00, 1.20, 7), "C": Spread(0.12, 0.00, 0.32, 8)}
RETENTION_BANK = {"A": Spread(0.04, 0.00, 0.16, 2), "B": Spread(2.50, 1.44, 3.84, 9), "C": Spread(2.62, 2.50, 2.64, 8)}


def _vendor_of(curve_name: str | None) -> str | None:
    """"B" for "B", "B7", "B:median"; None for "all", a CSV path or None."""
    if not curve_name:
        return None
    head = curve_name.split(":")[0]
    if head in FITTED_BANK:
        return head
    if head[:1] in FITTED_BANK and head[1:].isdigit():
        return head[:1]
    return None


def _median(table: dict) -> float:
    vals = sorted(s.sigma for s in table.values())
    return vals[len(vals) // 2]


def spreads(model: str, curve_name: str | None = None) -> tuple[float, float]:
    """(bank_spread, subarray_spread) of a named model for a curve ("B", "B7", "all", a path)."""
    if model not in SPREAD_MODELS:
        raise ValueError(f"--spread {model!r}: choose one of {', '.join(SPREAD_MODELS)}")
    if model == "assumed":
        return 0.5, 0.5
    if model == "none":
        return 0.0, 0.0
    v = _vendor_of(curve_name)
    bank_table = FITTED_BANK if model == "fitted" else RETENTION_BANK
    bank = bank_table[v].sigma if v else _median(bank_table)
    sub = FITTED_SUBARRAY[v].sigma if v else _median(FITTED_SUBARRAY)
    return bank, sub


def error_params_for(model: str, curve_name: str | None = None, base: ErrorParams | None = None) -> ErrorParams:
    """``base`` (default ``ErrorParams()``) with the spreads of ``model`` for ``curve_name``."""
    bank, sub = spreads(model, curve_name)
    return replace(base or ErrorParams(), bank_spread=bank, subarray_spread=sub)


def describe(model: str, curve_name: str | None = None) -> str:
    """One line for a header or ``meta``: the model, its sigmas and their source."""
    bank, sub = spreads(model, curve_name)
    v = _vendor_of(curve_name)
    if model == "assumed":
        src = "assumption (not a fit)"
    elif model == "none":
        src = "homogeneous device"
    else:
        which = f"vendor {v}" if v else "median of vendors A, B, C"
        ci = ""
        if v:
            b = (FITTED_BANK if model == "fitted" else RETENTION_BANK)[v]
            s = FITTED_SUBARRAY[v]
            ci = f" (95% CI bank [{b.low:.2f}, {b.high:.2f}], subarray [{s.low:.2f}, {s.high:.2f}])"
        src = (f"fitted to Voltron spatial-locality pictures, {which}{ci}" if model == "fitted" else
               f"bank: Voltron retention counts, subarray: spatial-locality pictures, {which}{ci}")
    return f"spread {model}: bank sigma {bank:.2f}, subarray sigma {sub:.2f}; {src}"
