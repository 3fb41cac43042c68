"""Core DRAM timings at a reduced supply voltage (the spec's per-VDD table, interpolated).

Lowering VDD below nominal slows the cell array: activation (tRCD), restoration (tRAS) and
precharge (tRP) must grow for error-free operation (Chang et al., "Understanding Reduced-Voltage
Operation in Modern DRAM Devices", SIGMETRICS 2017). Each spec file carries a ``[[vdd.table]]``
of (VDD, tRCD_ns, tRAS_ns, tRP_ns) points; ``spec_at_vdd`` interpolates it linearly and rounds up
to whole clock cycles. The currents' VDD scaling is applied in ``dramsim.energy``.

**Timing models** (``timing=`` of :func:`spec_at_vdd`; every model accepts only the VDD range
of the spec's table):

* ``"alpha"`` (default): the spec's ``[[vdd.table]]``. For DDR3L it is the alpha-power law of
  the file header -- an upper bound (pessimistic), not measurements.
* ``"spice"``: the datasheet latencies at the nominal VDD plus the increase the Voltron LTspice
  array model gives (``dramsim/data/vdd_timing_spice.csv``, made by ``bench.spice_vdd_timing``
  with ngspice): t(V) = t(nominal) + d_t(V). Only for a spec whose nominal VDD is 1.35 V (the
  model's DDR3L); at 1.025 V it adds 2.99 / 7.72 / 3.20 ns to tRCD / tRAS / tRP.
* ``"nominal"``: the nominal-VDD latencies at every VDD. This is the condition the Voltron error
  data describe: they were measured at tRCD = tRP = 4 cycles of the test platform (file names
  ``rcd4_rp4``; 10 ns at its 2.5 ns DDR3 clock), at or below the datasheet 13.75 ns, and the
  study's point is that longer latencies *remove* those errors. Charging a lengthened latency
  and the measured error rate together counts the voltage penalty twice.
"""
from __future__ import annotations

import csv
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path

from dataclasses import replace

from dramsim.spec import DramSpec, VddPoint, cycles_for_ns

#: timing models accepted by :func:`spec_at_vdd` (module docstring)
TIMING_MODELS = ("alpha", "spice", "nominal")
SPICE_FILE = "vdd_timing_spice.csv"
SPICE_HEADER = ("vdd", "dtRCD_ns", "dtRAS_ns", "dtRP_ns")
SPICE_NOMINAL_VDD = 1.35


class VddError(ValueError):
    """The requested VDD is outside the range the spec's VDD table covers, or the timing model
    does not apply; the message is one line."""


def spice_path() -> Path:
    return Path(str(resources.files("dramsim") / "data" / SPICE_FILE))


@lru_cache(maxsize=4)
def spice_increase_table(path: str | None = None) -> tuple[tuple[float, float, float, float], ...]:
    """(vdd, dtRCD, dtRAS, dtRP) rows of the SPICE-derived table, ascending VDD (strict parse)."""
    path = Path(path) if path else spice_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise VddError(f"{path}: cannot read: {exc.strerror or exc}") from None
    rows, header = [], None
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rec = [c.strip() for c in next(csv.reader([line]))]
        if header is None:
            if tuple(rec) != SPICE_HEADER:
                raise VddError(f"{path}:{lineno}: header: expected {','.join(SPICE_HEADER)}")
            header = rec
            continue
        if len(rec) != len(SPICE_HEADER):
            raise VddError(f"{path}:{lineno}: expected {len(SPICE_HEADER)} fields, got {len(rec)}")
        vals = []
        for name, text in zip(SPICE_HEADER, rec):
            try:
                x = float(text)
            except ValueError:
                raise VddError(f"{path}:{lineno}: field '{name}': {text!r} is not a number") from None
            if not math.isfinite(x) or x < 0 or (name == "vdd" and x == 0):
                raise VddError(f"{path}:{lineno}: field '{name}': {text!r} must be a finite number >= 0")
            vals.append(x)
        rows.append(tuple(vals))
    if len(rows) < 2:
        raise VddError(f"{path}: need at least two rows")
    rows.sort()
    if any(a[0] == b[0] for a, b in zip(rows, rows[1:])):
        raise VddError(f"{path}: field 'vdd': a voltage repeats")
    return tuple(rows)


def _spice_increase(spec: DramSpec, vdd: float) -> tuple[float, float, float]:
    if not math.isclose(spec.vdd_nominal, SPICE_NOMINAL_VDD, abs_tol=1e-9):
        raise VddError(f"--vdd-timing spice: the SPICE model is of a {SPICE_NOMINAL_VDD} V DDR3L array; "
                       f"{spec.name} has nominal VDD {spec.vdd_nominal} V")
    rows = spice_increase_table()
    lo, hi = rows[0][0], rows[-1][0]
    if not lo - 1e-9 <= vdd <= hi + 1e-9:
        raise VddError(f"--vdd-timing spice: VDD {vdd} V is outside the simulated range {lo} .. {hi} V")
    for a, b in zip(rows, rows[1:]):
        if a[0] - 1e-9 <= vdd <= b[0] + 1e-9:
            w = min(max((vdd - a[0]) / (b[0] - a[0]), 0.0), 1.0)
            return tuple(a[i] + w * (b[i] - a[i]) for i in (1, 2, 3))
    return rows[0][1:]


def vdd_range(spec: DramSpec) -> tuple[float, float]:
    """(lowest, highest) VDD the spec's table covers."""
    table = _table(spec)
    return table[0].vdd, table[-1].vdd


def table_voltages(spec: DramSpec) -> list[float]:
    """The VDD points of the spec's table, ascending (natural sweep points)."""
    return [p.vdd for p in _table(spec)]


def _table(spec: DramSpec) -> tuple[VddPoint, ...]:
    if spec.vdd_table:
        return tuple(sorted(spec.vdd_table, key=lambda p: p.vdd))
    t = spec.timing
    return (VddPoint(spec.vdd_nominal, t.nRCD * spec.tck_ns, t.nRAS * spec.tck_ns, t.nRP * spec.tck_ns),)


def core_latencies_ns(spec: DramSpec, vdd: float) -> VddPoint:
    """tRCD/tRAS/tRP in ns at ``vdd``, linear between the two surrounding table points."""
    table = _table(spec)
    lo, hi = table[0].vdd, table[-1].vdd
    eps = 1e-9
    if not (lo - eps <= vdd <= hi + eps):
        where = f"only {lo} V" if lo == hi else f"{lo} V .. {hi} V"
        raise VddError(f"VDD {vdd} V is outside the range of {spec.name}'s VDD table ({where}"
                       f"{'; ' + spec.source if spec.source else ''})")
    for a, b in zip(table, table[1:]):
        if a.vdd - eps <= vdd <= b.vdd + eps:
            w = min(max((vdd - a.vdd) / (b.vdd - a.vdd), 0.0), 1.0)
            return VddPoint(vdd, *(getattr(a, f) + w * (getattr(b, f) - getattr(a, f))
                                   for f in ("tRCD_ns", "tRAS_ns", "tRP_ns")))
    return replace(table[0], vdd=vdd)  # single-point table


def nominal_core_cycles(spec: DramSpec) -> tuple[int, int, int]:
    """(nRCD, nRAS, nRP) at the nominal VDD (== the loaded file's timings)."""
    p = core_latencies_ns(spec, spec.vdd_nominal)
    return tuple(cycles_for_ns(t, spec.tck_ns) for t in (p.tRCD_ns, p.tRAS_ns, p.tRP_ns))


def core_latencies_model_ns(spec: DramSpec, vdd: float, timing: str = "alpha") -> VddPoint:
    """tRCD/tRAS/tRP in ns at ``vdd`` under a timing model (:data:`TIMING_MODELS`)."""
    if timing not in TIMING_MODELS:
        raise VddError(f"--vdd-timing {timing!r}: choose one of {', '.join(TIMING_MODELS)}")
    p = core_latencies_ns(spec, vdd)            # range check against the spec's table, always
    if timing == "alpha":
        return p
    nom = core_latencies_ns(spec, spec.vdd_nominal)
    if timing == "nominal":
        return replace(nom, vdd=vdd)
    d = _spice_increase(spec, vdd)
    return VddPoint(vdd, nom.tRCD_ns + d[0], nom.tRAS_ns + d[1], nom.tRP_ns + d[2])


def spec_at_vdd(spec: DramSpec, vdd: float, timing: str = "alpha") -> DramSpec:
    """``spec`` operated at ``vdd``: ``vdd`` set, nRCD/nRAS/nRP from the timing model (ceil to
    cycles; ``timing``: "alpha" = the spec's table, "spice", "nominal"; module docstring).

    nRC keeps its offset from nRAS + nRP (0 for the bundled specs, i.e. nRC = nRAS + nRP).
    Every other timing is unchanged. VddError outside the table's range or for an unknown or
    inapplicable model.
    """
    p = core_latencies_model_ns(spec, vdd, timing)
    t = spec.timing
    n_rcd, n_ras, n_rp = (cycles_for_ns(x, spec.tck_ns) for x in (p.tRCD_ns, p.tRAS_ns, p.tRP_ns))
    n_rc = t.nRC - t.nRAS - t.nRP + n_ras + n_rp
    return replace(spec, vdd=float(vdd), timing=replace(t, nRCD=n_rcd, nRAS=n_ras, nRP=n_rp, nRC=n_rc))
