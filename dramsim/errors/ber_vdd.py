"""Bit-error rate as a function of DRAM supply voltage, from measured data.

The shipped data (``dramsim/data/voltron_faulty_cachelines.csv``; source in its header: Chang et
al., SIGMETRICS 2017, "Voltron", CMU-SAFARI/DRAM-Voltage-Study) gives, for 31 DDR3L DIMMs of three
vendors, the percentage of 64-byte cache lines with at least one flipped bit at each tested VDD.

Conversions and conventions (all assumptions are stated here, once):

* **Faulty-line fraction -> BER.** If each of the 512 bits of a line fails independently with
  probability ``p``, a line is faulty with probability ``f = 1 - (1 - p)**512``, hence
  ``p = 1 - (1 - f)**(1/512)``; we use ``p = -ln(1 - f) / 512`` (:func:`line_fraction_to_ber`),
  which equals ``-ln(1 - p_exact)`` = ``p_exact`` to within a relative ``p_exact / 2`` (< 0.3 %
  for every value in the data). Real errors cluster, so this is the BER of an *equivalent*
  independent-flip memory with the same faulty-line fraction.
* **Detection floor.** The smallest non-zero value in the data is 2^-25 of the lines (one line of
  a 2 GiB DIMM), so a measured 0 means "fewer than one faulty line": BER below
  ``DETECTION_FLOOR_BER`` (= the BER of one faulty line in 2^25).
* **Interpolation.** Between two measured voltages, log10(BER) is linear in VDD. A measured zero
  is exact at its own voltage; in a segment between a zero and a non-zero point the zero end is
  replaced by the detection floor (an upper bound, hence conservative); a segment between two
  zeros is error-free. So the BER is exactly 0 at and above the lowest voltage from which every
  measurement is error-free, and interpolation at a measured voltage returns the measured value.
* **Range.** Asking for a VDD outside the measured range raises :class:`BerError`; nothing is
  extrapolated.
* **DIMMs that failed to operate.** A (DIMM, VDD) pair absent from the data was not measured;
  below its lowest measured voltage the DIMM is taken as not operating (its curve's range starts
  there), and gaps between measured voltages are interpolated.
* **Vendor curve** (``"A"``, ``"B"``, ``"C"``): at every voltage where some DIMM of the vendor
  was measured, the mean *BER* over the vendor's DIMMs that operate there (the expected fraction
  of flipped bits of a DIMM picked at random among those that still work). DIMMs that failed to
  operate are left out, which makes the lowest voltages optimistic (survivorship);
  ``BerCurve.n_operating`` says how many DIMMs each point averages.
* **``"all"``**: the mean of the three vendor curves, on the voltage range where all three
  vendors have operating DIMMs (1.10-1.35 V for the shipped data).
* **Vendor statistics** (:func:`statistic_curve`, ``curve_by_name_or_path(vendor, statistic=...)``):
  at every measured voltage of the vendor, a statistic over *all* its DIMMs, a DIMM that does not
  operate there counting as unusable (worse than any operating one), never dropped:
  ``"median"`` (the typical DIMM; needs more than half of the DIMMs operating), ``"worst"``
  (pointwise maximum; needs every DIMM operating), ``"mean"`` (mean BER over all DIMMs; needs
  every DIMM operating) and ``"mean-operating"`` (the survivor mean above, what a bare vendor
  name gives). Below the lowest voltage where the statistic is defined the curve raises
  :class:`NotOperatingError`. Between measured voltages the statistic's points are interpolated
  like any curve (not the statistic of interpolated DIMM curves).
* **Not operating.** A Voltron DIMM (or statistic) curve asked for a VDD below its range raises
  :class:`NotOperatingError` (a :class:`BerError`): the DIMM is unusable there. ``operates(vdd)``
  asks without raising. Above the range (or outside a user curve) the error is a plain
  :class:`BerError`.

Users can supply their own curve as a ``vdd,ber`` CSV (:meth:`BerCurve.from_csv`); its BER must
not increase with VDD (checked, naming the line). Malformed input raises :class:`BerError` (a ``ValueError``) with a one-line message naming file, line and
field.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

LINE_BITS = 512                      # 64-byte cache line
DETECTION_FLOOR_FRACTION = 2.0 ** -25  # one faulty line of a 2 GiB DIMM (smallest value in the data)
VOLTRON_FILE = "voltron_faulty_cachelines.csv"
VOLTRON_HEADER = ("dimm_name", "vdd", "vendor", "error_cacheline_percent")
USER_HEADER = ("vdd", "ber")
VDD_TOL = 1e-9                       # volts; tolerance for "at a measured voltage" / range checks


class BerError(ValueError):
    """Bad BER data or a VDD outside a curve's range; the message is one line."""


class NotOperatingError(BerError):
    """The DIMM (or, for a statistic, too many of the vendor's DIMMs) does not operate at this VDD.

    Raised by :meth:`BerCurve.ber` for a VDD below the lowest voltage at which a Voltron DIMM
    was measured (the data README: DIMMs that fail to operate below some voltage are absent
    there). The message is one line and names the curve, the VDD and the lowest operating VDD.
    """


#: statistics over a vendor's DIMMs accepted by :func:`statistic_curve`
STATISTICS = ("mean-operating", "mean", "median", "worst")


def line_fraction_to_ber(fraction, line_bits: int = LINE_BITS):
    """BER of independent flips giving faulty-line fraction ``fraction``: -ln(1-f)/line_bits."""
    f = np.asarray(fraction, dtype=np.float64)
    out = -np.log1p(-f) / line_bits
    return float(out) if out.ndim == 0 else out


DETECTION_FLOOR_BER = line_fraction_to_ber(DETECTION_FLOOR_FRACTION)


@dataclass(frozen=True)
class BerCurve:
    """Measured BER at a few voltages, interpolated log-linearly (see the module docstring).

    ``points`` is sorted by VDD (volts, ascending); ``n_operating`` (optional, same length) is the
    number of DIMMs averaged at each point.
    """
    name: str
    points: tuple[tuple[float, float], ...]
    source: str = ""
    floor_ber: float = DETECTION_FLOOR_BER
    n_operating: tuple[int, ...] = ()
    #: True for measured devices: below ``vdd_range[0]`` the device does not operate
    #: (:class:`NotOperatingError`); False (user curves): below the range is merely unknown.
    inoperable_below: bool = False
    n_dimms: int = 0                  # DIMMs the statistic is taken over (0: not a statistic)

    def __post_init__(self):
        if len(self.points) < 2:
            raise BerError(f"{self.source or self.name}: a BER curve needs at least two voltages, "
                           f"got {len(self.points)}")
        vdds = [v for v, _ in self.points]
        if any(b >= a for a, b in zip(vdds[1:], vdds)):
            raise BerError(f"{self.source or self.name}: curve voltages must be strictly increasing")
        if not self.floor_ber > 0:
            raise BerError(f"{self.name}: floor_ber must be > 0, got {self.floor_ber}")

    # ------------------------------------------------------------------ queries
    @property
    def vdd_range(self) -> tuple[float, float]:
        return (self.points[0][0], self.points[-1][0])

    @property
    def vdd(self) -> np.ndarray:
        return np.array([v for v, _ in self.points])

    @property
    def bers(self) -> np.ndarray:
        return np.array([b for _, b in self.points])

    def operates(self, vdd: float) -> bool:
        """Whether the device this curve describes works at ``vdd`` (False below the range of a
        measured device; for a user curve, whether ``vdd`` is inside its range)."""
        lo, hi = self.vdd_range
        v = float(vdd)
        if not math.isfinite(v) or v > hi + VDD_TOL:
            return False
        return v >= lo - VDD_TOL

    def ber(self, vdd):
        """BER at ``vdd`` (volts; scalar or array). Raises BerError outside ``vdd_range``
        (:class:`NotOperatingError` below the range of a measured device)."""
        v = np.asarray(vdd, dtype=np.float64)
        lo, hi = self.vdd_range
        bad = ~np.isfinite(v) | (v < lo - VDD_TOL) | (v > hi + VDD_TOL)
        if np.any(bad):
            first = float(v.reshape(-1)[np.argmax(bad.reshape(-1))])
            if self.inoperable_below and math.isfinite(first) and first < lo:
                if self.n_dimms:
                    raise NotOperatingError(
                        f"{self.source or self.name}: does not operate at VDD {first} V (too few of the "
                        f"vendor's {self.n_dimms} DIMMs operate there; the lowest VDD where it is defined "
                        f"is {lo} V, with {self.n_operating[0]} operating)")
                raise NotOperatingError(
                    f"{self.source or self.name}: does not operate at VDD {first} V (measured down to "
                    f"{lo} V only; DIMMs that stop operating are absent from the data)")
            raise BerError(f"{self.source or self.name}: VDD {first} V is outside the measured range "
                           f"[{lo}, {hi}] V of curve {self.name!r}")
        out = _interp_log(np.clip(v, lo, hi).reshape(-1), self.vdd, self.bers, self.floor_ber)
        return float(out[0]) if v.ndim == 0 else out.reshape(v.shape)

    def error_free_vdd(self) -> float | None:
        """Lowest voltage from which every measurement is error-free (None if the top one is not)."""
        z = None
        for v, b in reversed(self.points):
            if b > 0:
                break
            z = v
        return z

    def min_vdd(self, ber_max: float) -> float:
        """Lowest VDD such that ``ber(w) <= ber_max`` for every ``w`` from it up to the range top.

        Raises BerError if even the highest measured voltage exceeds ``ber_max``.
        """
        pts = self.points
        if pts[-1][1] > ber_max:
            raise BerError(f"{self.name}: BER {pts[-1][1]:.3g} at the top of the range "
                           f"({pts[-1][0]} V) already exceeds {ber_max:.3g}")
        for i in range(len(pts) - 2, -1, -1):
            (v0, b0), (v1, b1) = pts[i], pts[i + 1]
            if b0 == 0 and b1 == 0:
                continue  # error-free segment
            l0, l1 = math.log(max(b0, self.floor_ber)), math.log(max(b1, self.floor_ber))
            if max(b0, b1, math.exp(max(l0, l1))) <= ber_max:
                continue  # whole segment (ends and interior) within budget
            lt = math.log(ber_max) if ber_max > 0 else -math.inf
            if l1 > lt or l0 == l1:
                return v1  # just below v1 the interpolant already exceeds the budget
            return v0 + (lt - l0) / (l1 - l0) * (v1 - v0)
        return pts[0][0]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_csv(cls, path, name: str | None = None, floor_ber: float = DETECTION_FLOOR_BER) -> "BerCurve":
        """Read a ``vdd,ber`` CSV (header required; '#' lines are comments; any row order)."""
        path = Path(path)
        rows = _read_csv_rows(path, USER_HEADER)
        pts, seen = [], {}
        for lineno, rec in rows:
            vdd = _field_float(path, lineno, "vdd", rec[0], lo=0.0, lo_open=True)
            ber = _field_float(path, lineno, "ber", rec[1], lo=0.0, hi=1.0)
            key = round(vdd, 9)
            if key in seen:
                raise BerError(f"{path}:{lineno}: field 'vdd': voltage {vdd} repeats line {seen[key]}")
            seen[key] = lineno
            pts.append((vdd, ber))
        if len(pts) < 2:
            raise BerError(f"{path}: field 'vdd': need at least two voltages, found {len(pts)}")
        lines = {round(v, 9): ln for (ln, _), (v, _) in zip(rows, pts)}
        srt = sorted(pts)
        for (v0, b0), (v1, b1) in zip(srt, srt[1:]):
            if b1 > b0:
                raise BerError(f"{path}:{lines[round(v1, 9)]}: field 'ber': {b1:g} at {v1} V exceeds "
                               f"{b0:g} at the lower voltage {v0} V (line {lines[round(v0, 9)]}); BER "
                               f"must not increase with VDD")
        return cls(name=name or path.stem, points=tuple(sorted(pts)), source=str(path),
                   floor_ber=floor_ber)


def _interp_log(v: np.ndarray, xs: np.ndarray, ys: np.ndarray, floor: float) -> np.ndarray:
    """Piecewise log-linear interpolation with exact zeros (see the module docstring)."""
    out = np.empty_like(v)
    idx = np.clip(np.searchsorted(xs, v, side="right") - 1, 0, len(xs) - 2)
    for k in range(v.size):
        i = idx[k]
        x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
        if abs(v[k] - x0) <= VDD_TOL:
            out[k] = y0
        elif abs(v[k] - x1) <= VDD_TOL:
            out[k] = y1
        elif y0 == 0 and y1 == 0:
            out[k] = 0.0
        else:
            l0, l1 = math.log(max(y0, floor)), math.log(max(y1, floor))
            t = (v[k] - x0) / (x1 - x0)
            out[k] = math.exp(l0 + t * (l1 - l0))
    return out


# ---------------------------------------------------------------------- CSV helpers
def _read_csv_rows(path: Path, header: tuple[str, ...]):
    """Yield (line number, fields) of data rows after checking the header; errors are one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BerError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BerError(f"{path}: not a UTF-8 text file") from None
    rows, got_header = [], False
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        rec = [c.strip() for c in next(csv.reader([s]))]
        if not got_header:
            if tuple(c.lower() for c in rec) != header:
                raise BerError(f"{path}:{lineno}: header: expected '{','.join(header)}', got '{s}'")
            got_header = True
            continue
        if len(rec) != len(header):
            raise BerError(f"{path}:{lineno}: expected {len(header)} fields "
                           f"({','.join(header)}), got {len(rec)}")
        rows.append((lineno, rec))
    if not got_header:
        raise BerError(f"{path}: header: file is empty (expected '{','.join(header)}')")
    return rows


def _field_float(path, lineno, field, text, lo=None, hi=None, lo_open=False, hi_open=False) -> float:
    try:
        x = float(text)
    except ValueError:
        raise BerError(f"{path}:{lineno}: field '{field}': {text!r} is not a number") from None
    if not math.isfinite(x):
        raise BerError(f"{path}:{lineno}: field '{field}': {text!r} is not finite")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise BerError(f"{path}:{lineno}: field '{field}': {x} must be {'>' if lo_open else '>='} {lo}")
    if hi is not None and (x > hi or (hi_open and x == hi)):
        raise BerError(f"{path}:{lineno}: field '{field}': {x} must be {'<' if hi_open else '<='} {hi}")
    return x


# ---------------------------------------------------------------------- Voltron data
@dataclass(frozen=True)
class VoltronRecord:
    dimm: str
    vdd: float
    vendor: str
    faulty_fraction: float   # 0..1 (the file stores a percentage)


def voltron_path() -> Path:
    return Path(str(resources.files("dramsim") / "data" / VOLTRON_FILE))


def load_voltron_table(path=None) -> tuple[VoltronRecord, ...]:
    """Parse a file in the Voltron format (default: the shipped copy), strictly."""
    path = Path(path) if path is not None else voltron_path()
    recs, seen = [], {}
    for lineno, rec in _read_csv_rows(path, VOLTRON_HEADER):
        dimm, vdd_s, vendor, pct_s = rec
        if not dimm:
            raise BerError(f"{path}:{lineno}: field 'dimm_name': empty")
        if not vendor:
            raise BerError(f"{path}:{lineno}: field 'vendor': empty")
        vdd = _field_float(path, lineno, "vdd", vdd_s, lo=0.0, lo_open=True)
        pct = _field_float(path, lineno, "error_cacheline_percent", pct_s, lo=0.0, hi=100.0, hi_open=True)
        key = (dimm, round(vdd, 9))
        if key in seen:
            raise BerError(f"{path}:{lineno}: field 'vdd': DIMM {dimm} at {vdd} V repeats line {seen[key]}")
        seen[key] = lineno
        recs.append(VoltronRecord(dimm, vdd, vendor, pct / 100.0))
    if not recs:
        raise BerError(f"{path}: no data rows")
    return tuple(recs)


def dimm_curves(table) -> dict[str, BerCurve]:
    """One curve per DIMM, over the voltages at which it was measured."""
    by_dimm: dict[str, list[VoltronRecord]] = {}
    for r in table:
        by_dimm.setdefault(r.dimm, []).append(r)
    curves = {}
    for dimm, rs in by_dimm.items():
        rs.sort(key=lambda r: r.vdd)
        if len(rs) < 2:
            continue  # a single measurement gives no range to interpolate over
        pts = tuple((r.vdd, line_fraction_to_ber(r.faulty_fraction)) for r in rs)
        curves[dimm] = BerCurve(name=dimm, points=pts, source=f"Voltron DIMM {dimm} (vendor {rs[0].vendor})",
                                n_operating=tuple(1 for _ in pts), inoperable_below=True)
    return curves


def vendor_curve(table, vendor: str) -> BerCurve:
    """Mean BER over the vendor's DIMMs operating at each measured voltage (module docstring)."""
    dimms = {r.dimm for r in table if r.vendor == vendor}
    if not dimms:
        raise BerError(f"Voltron data: no DIMMs of vendor {vendor!r}")
    curves = [c for d, c in dimm_curves(table).items() if d in dimms]
    vdds = sorted({round(r.vdd, 9) for r in table if r.vendor == vendor})
    pts, counts = [], []
    for v in vdds:
        vals = [c.ber(v) for c in curves if c.vdd_range[0] - VDD_TOL <= v <= c.vdd_range[1] + VDD_TOL]
        pts.append((v, float(np.mean(vals))))
        counts.append(len(vals))
    return BerCurve(name=vendor, points=tuple(pts), source=f"Voltron vendor {vendor} mean",
                    n_operating=tuple(counts))


def mean_curve(curves, name: str = "all") -> BerCurve:
    """Mean of several curves on the voltage range they all cover."""
    lo = max(c.vdd_range[0] for c in curves)
    hi = min(c.vdd_range[1] for c in curves)
    if not lo < hi:
        raise BerError(f"curves {[c.name for c in curves]} share no voltage range")
    vdds = sorted({round(float(v), 9) for c in curves for v in c.vdd if lo - VDD_TOL <= v <= hi + VDD_TOL})
    pts = tuple((v, float(np.mean([c.ber(v) for c in curves]))) for v in vdds)
    return BerCurve(name=name, points=pts, source="Voltron mean of vendors " +
                    ",".join(c.name for c in curves))


def statistic_curve(table, vendor: str, statistic: str) -> BerCurve:
    """A statistic over ALL of ``vendor``'s DIMMs at each measured voltage (module docstring).

    A DIMM that does not operate at a voltage counts as worse than every operating one; the
    curve starts at the lowest voltage where the statistic is defined (``"median"``: more than
    half of the DIMMs operate; ``"mean"`` and ``"worst"``: all of them) and raises
    :class:`NotOperatingError` below it. ``"mean-operating"`` is :func:`vendor_curve`.
    """
    if statistic not in STATISTICS:
        raise BerError(f"unknown DIMM statistic {statistic!r}; choose one of {', '.join(STATISTICS)}")
    if statistic == "mean-operating":
        return vendor_curve(table, vendor)
    dimms = sorted({r.dimm for r in table if r.vendor == vendor})
    if not dimms:
        raise BerError(f"Voltron data: no DIMMs of vendor {vendor!r}")
    curves = [c for d, c in dimm_curves(table).items() if d in dimms]
    n = len(dimms)
    vdds = sorted({round(r.vdd, 9) for r in table if r.vendor == vendor})
    pts, counts = [], []
    for v in vdds:
        vals = np.array([c.ber(v) if c.operates(v) else np.inf for c in curves]
                        + [np.inf] * (n - len(curves)))   # a DIMM with one point has no curve
        k = int(np.isfinite(vals).sum())
        if statistic == "median":
            m = float(np.median(vals)) if 2 * k > n else math.inf
        elif statistic == "worst":
            m = float(vals.max())
        else:
            m = float(vals.mean())
        if math.isfinite(m):
            pts.append((v, m))
            counts.append(k)
        elif pts:
            raise BerError(f"Voltron vendor {vendor} {statistic}: undefined at {v} V above a defined "
                           f"point (a DIMM stops operating at a higher voltage than a lower one)")
    return BerCurve(name=f"{vendor}:{statistic}", points=tuple(pts), n_operating=tuple(counts), n_dimms=n,
                    source=f"Voltron vendor {vendor} {statistic} DIMM", inoperable_below=True)


@lru_cache(maxsize=None)
def _voltron_curves() -> dict[str, BerCurve]:
    table = load_voltron_table()
    vendors = sorted({r.vendor for r in table})
    out = {v: vendor_curve(table, v) for v in vendors}
    out["all"] = mean_curve([out[v] for v in vendors])
    out.update(dimm_curves(table))
    return out


def voltron_names() -> tuple[str, ...]:
    """Names accepted by :func:`voltron_curve`: vendors, "all", then DIMMs."""
    return tuple(_voltron_curves())


def voltron_curve(name: str = "all") -> BerCurve:
    """The Voltron BER(VDD) curve of a vendor ("A", "B", "C"), their mean ("all") or a DIMM ("B7")."""
    curves = _voltron_curves()
    if name not in curves:
        raise BerError(f"unknown Voltron curve {name!r}; choose one of {', '.join(curves)}")
    return curves[name]


@lru_cache(maxsize=None)
def _statistic(vendor: str, statistic: str) -> BerCurve:
    return statistic_curve(load_voltron_table(), vendor, statistic)


def vendors() -> tuple[str, ...]:
    """The vendors of the shipped Voltron data ("A", "B", "C")."""
    return tuple(sorted({r.vendor for r in load_voltron_table()}))


def dimm_names(vendor: str | None = None) -> tuple[str, ...]:
    """DIMM names of the shipped data (of one vendor), in natural order (A1, A2, ..., A10)."""
    names = {r.dimm for r in load_voltron_table() if vendor is None or r.vendor == vendor}
    return tuple(sorted(names, key=lambda d: (d[0], int(d[1:]) if d[1:].isdigit() else 0, d)))


def curve_by_name_or_path(spec: str, dimm: str | None = None, statistic: str | None = None) -> BerCurve:
    """The BER(VDD) curve the CLIs' ``--vendor``/``--dimm``/``--dimm-statistic`` select.

    * ``spec``: a Voltron vendor ("A", "B", "C"), "all", a DIMM name ("B7"), or a ``vdd,ber`` CSV.
    * ``dimm``: one DIMM of that vendor (``spec`` must be its vendor, or "all"): its own curve.
    * ``statistic``: for a vendor, one of :data:`STATISTICS`; None keeps the legacy
      ``"mean-operating"`` (mean over the DIMMs still operating at each voltage).

    Errors (:class:`BerError`, one line): an unknown name, a DIMM that is not the vendor's, a
    statistic for something that is not a vendor, both ``dimm`` and ``statistic``. Asking the
    returned curve for a VDD where the DIMM (statistic) does not operate raises
    :class:`NotOperatingError`.
    """
    curves = _voltron_curves()
    vend = vendors()
    if dimm is not None and statistic is not None:
        raise BerError(f"--dimm {dimm} and --dimm-statistic {statistic}: give one or the other")
    if dimm is not None:
        if spec not in vend and spec != "all":
            raise BerError(f"--dimm {dimm}: needs --vendor A, B, C or all, not {spec!r}")
        names = dimm_names(None if spec == "all" else spec)
        if dimm not in names:
            other = next((r.vendor for r in load_voltron_table() if r.dimm == dimm), None)
            why = (f"it is a DIMM of vendor {other}" if other else "no such DIMM in the Voltron data")
            raise BerError(f"--dimm {dimm}: {why}; vendor {spec}'s DIMMs are {', '.join(names)}")
        if dimm not in curves:
            raise BerError(f"--dimm {dimm}: measured at one voltage only, no curve")
        return curves[dimm]
    if statistic is not None:
        if spec not in vend:
            raise BerError(f"--dimm-statistic {statistic}: needs --vendor {', '.join(vend)}, not {spec!r}")
        if statistic not in STATISTICS:
            raise BerError(f"--dimm-statistic {statistic!r}: choose one of {', '.join(STATISTICS)}")
        return _statistic(spec, statistic)
    if spec in curves:
        return curves[spec]
    if Path(spec).suffix.lower() == ".csv" or Path(spec).exists():
        return BerCurve.from_csv(spec)
    return voltron_curve(spec)  # raises with the list of names
