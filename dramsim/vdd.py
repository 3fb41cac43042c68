"""Core DRAM timings at a reduced supply voltage (the spec's per-VDD table, interpolated).

Lowering VDD below nominal slows the cell array: activation (tRCD), restoration (tRAS) and
precharge (tRP) must grow for error-free operation (Chang et al., "Understanding Reduced-Voltage
Operation in Modern DRAM Devices", SIGMETRICS 2017). Each spec file carries a ``[[vdd.table]]``
of (VDD, tRCD_ns, tRAS_ns, tRP_ns) points; ``spec_at_vdd`` interpolates it linearly and rounds up
to whole clock cycles. The currents' VDD scaling is applied in ``dramsim.energy``.
"""
from __future__ import annotations

from dataclasses import replace

from dramsim.spec import DramSpec, VddPoint, cycles_for_ns


class VddError(ValueError):
    """The requested VDD is outside the range the spec's VDD table covers."""


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


def spec_at_vdd(spec: DramSpec, vdd: float) -> DramSpec:
    """``spec`` operated at ``vdd``: ``vdd`` set, nRCD/nRAS/nRP from the table (ceil to cycles).

    nRC keeps its offset from nRAS + nRP (0 for the bundled specs, i.e. nRC = nRAS + nRP).
    Every other timing is unchanged. VddError outside the table's range.
    """
    p = core_latencies_ns(spec, vdd)
    t = spec.timing
    n_rcd, n_ras, n_rp = (cycles_for_ns(x, spec.tck_ns) for x in (p.tRCD_ns, p.tRAS_ns, p.tRP_ns))
    n_rc = t.nRC - t.nRAS - t.nRP + n_ras + n_rp
    return replace(spec, vdd=float(vdd), timing=replace(t, nRCD=n_rcd, nRAS=n_ras, nRP=n_rp, nRC=n_rc))
