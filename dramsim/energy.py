"""DRAM energy from RawCounters with a DRAMPower-style current model (per rank, in pJ).

Per command (V = operating VDD, currents scaled by ``(V / V_nominal) ** current_vdd_exponent``):

* ACT:            V * (IDD0 - IDD3N) * tRAS
* PRE-equivalent: V * (IDD0 - IDD2N) * tRP, charged once per PRE, once per unit (bank; subarray
  with masa) a PREA actually closed (``prea_closed_units``; DRAMPower's PREA is a PRE of every
  open bank) and once per RDA/WRA (an auto-precharge is a precharge; DRAMPower counts it the same)
* RD/RDA:         V * (IDD4R - IDD3N) * nBL * tCK
* WR/WRA:         V * (IDD4W - IDD3N) * nBL * tCK
* REF:            V * (IDD5B - IDD3N) * tRFC, per REF and per SRE (DRAMPower 5 issues an implicit
  all-bank refresh at self-refresh entry and starts IDD6 tRFC later)
* background:     V * IDD3N * (active_cycles - pd_active_cycles) * tCK
                  + V * IDD2N * (total_cycles - active_cycles - pd_precharged_cycles - sr_cycles) * tCK
* power-down:     V * IDD3P * pd_active_cycles * tCK + V * IDD2P * pd_precharged_cycles * tCK
* self-refresh:   V * IDD6 * sr_cycles * tCK (sr_cycles excludes each stay's first nRFC cycles)
  (DRAMPower 5, core_calculation_DDR4.cpp: E_PDNA = VDD * IDD3P * t, E_PDNP = VDD * IDD2P * t,
  E_sref = VDD * IDD6 * t)

Every term is multiplied by ``devices_per_rank``: the energy counts ALL chips of a rank.
Units: mA * V * ns = pJ.

tRAS and tRP in the ACT/PRE terms are the NOMINAL-VDD durations: IDD x t is the charge the
datasheet measured for one operation at nominal timings, and an operation that is allowed more
time at a reduced VDD does not move more charge (the charge scales with VDD through the current
scaling instead). The longer run time at a reduced VDD shows up in the background energy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dramsim.commands import ACT, PRE, RD, RDA, REF, SRE, WR, WRA
from dramsim.counters import RawCounters
from dramsim.spec import DramSpec
from dramsim.vdd import nominal_core_cycles

CATEGORIES = ("act", "pre", "read", "write", "refresh", "background_active", "background_precharged",
              "powerdown_active", "powerdown_precharged", "self_refresh")
CURRENT_NAMES = ("IDD0", "IDD2N", "IDD3N", "IDD4R", "IDD4W", "IDD5B", "IDD2P", "IDD3P", "IDD6")


@dataclass
class EnergyBreakdown:
    per_rank_pj: dict[str, np.ndarray]   # category -> float64 [rank]
    total_by_category_pj: dict[str, float]
    total_pj: float
    n_requests: int                      # requests served (reads + writes + forwarded + coalesced)
    pj_per_request: float | None         # None when no request was served
    average_power_mw: float              # total_pj / (total_cycles * tCK); 0 for an empty run
    devices_per_rank: int
    vdd: float
    note: str = field(default="energy counts all chips of a rank (devices_per_rank x per-device current)")

    def as_dict(self) -> dict:
        """JSON-ready (lists instead of arrays; exact floats)."""
        return {"per_rank_pj": {k: v.tolist() for k, v in self.per_rank_pj.items()},
                "total_by_category_pj": dict(self.total_by_category_pj), "total_pj": self.total_pj,
                "n_requests": self.n_requests, "pj_per_request": self.pj_per_request,
                "average_power_mw": self.average_power_mw, "devices_per_rank": self.devices_per_rank,
                "vdd": self.vdd, "note": self.note}


def scaled_currents(spec: DramSpec) -> dict[str, float]:
    """Per-device currents (mA) at the spec's operating VDD (0 for a low-power current the spec
    does not give: only used with power management, which requires them)."""
    s = (spec.vdd / spec.vdd_nominal) ** spec.current_vdd_exponent
    c = spec.currents
    return {k: (getattr(c, k) or 0.0) * s for k in CURRENT_NAMES}


def energy_from_counters(spec: DramSpec, counters: RawCounters) -> EnergyBreakdown:
    """Energy per rank and category (pJ) for one run described by ``counters``."""
    i = scaled_currents(spec)
    v, tck, t = spec.vdd, spec.tck_ns, spec.timing
    if spec.vdd == spec.vdd_nominal:
        n_ras_nom, n_rp_nom = t.nRAS, t.nRP
    else:
        _, n_ras_nom, n_rp_nom = nominal_core_cycles(spec)
    dev = spec.org.devices_per_rank
    cmd = counters.commands.astype(np.float64)
    f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    active, pd_act, pd_pre, sr = (f(counters.active_cycles), f(counters.pd_active_cycles),
                                  f(counters.pd_precharged_cycles), f(counters.sr_cycles))
    idle = float(counters.total_cycles) - active
    per_rank = {
        "act": cmd[:, ACT] * v * (i["IDD0"] - i["IDD3N"]) * n_ras_nom * tck,
        "pre": ((cmd[:, PRE] + f(counters.prea_closed_units) + cmd[:, RDA] + cmd[:, WRA])
                * v * (i["IDD0"] - i["IDD2N"]) * n_rp_nom * tck),
        "read": (cmd[:, RD] + cmd[:, RDA]) * v * (i["IDD4R"] - i["IDD3N"]) * t.nBL * tck,
        "write": (cmd[:, WR] + cmd[:, WRA]) * v * (i["IDD4W"] - i["IDD3N"]) * t.nBL * tck,
        "refresh": (cmd[:, REF] + cmd[:, SRE]) * v * (i["IDD5B"] - i["IDD3N"]) * t.nRFC * tck,
        "background_active": v * i["IDD3N"] * (active - pd_act) * tck,
        "background_precharged": v * i["IDD2N"] * (idle - pd_pre - sr) * tck,
        "powerdown_active": v * i["IDD3P"] * pd_act * tck,
        "powerdown_precharged": v * i["IDD2P"] * pd_pre * tck,
        "self_refresh": v * i["IDD6"] * sr * tck,
    }
    per_rank = {k: a * dev for k, a in per_rank.items()}
    totals = {k: float(a.sum()) for k, a in per_rank.items()}
    total = float(sum(totals.values()))
    n_req = int(counters.reads.sum() + counters.writes.sum() + counters.forwarded_reads.sum()
                + counters.coalesced_writes.sum())
    duration_ns = counters.total_cycles * tck
    return EnergyBreakdown(per_rank_pj=per_rank, total_by_category_pj=totals, total_pj=total,
                           n_requests=n_req,
                           pj_per_request=total / n_req if n_req else None,
                           average_power_mw=total / duration_ns if duration_ns > 0 else 0.0,
                           devices_per_rank=dev, vdd=v)
