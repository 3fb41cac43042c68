"""DRAM side of the sweeps: simulate a request trace at one VDD and reduce it to table metrics."""
from __future__ import annotations

import numpy as np

from dramsim.config import ControllerConfig
from dramsim.counters import RawCounters

ENGINES = ("auto", "fast", "simpy")


def resolve_engine(name: str) -> str:
    """``auto`` -> ``fast`` when the numba engine imports, else ``simpy``."""
    if name != "auto":
        return name
    try:
        import dramsim.engine_fast  # noqa: F401
        return "fast"
    except Exception:  # noqa: BLE001 -- any import problem means: use the reference engine
        return "simpy"


def energy_split_pj(spec, counters: RawCounters) -> dict:
    """Energy in pJ grouped for the table: act (ACT+PRE), rd (RD+WR), bg (background, power-down and
    self-refresh states included), ref, total."""
    from dramsim.energy import energy_from_counters
    breakdown = energy_from_counters(spec, counters)
    e = {k: float(v) for k, v in breakdown.total_by_category_pj.items()}
    act = e.get("act", 0.0) + e.get("pre", 0.0)
    rd = e.get("read", 0.0) + e.get("write", 0.0)
    bg = sum(v for k, v in e.items() if k.startswith(("background", "powerdown", "self_refresh")))
    ref = e.get("refresh", 0.0)
    return {"act": act, "rd": rd, "bg": bg, "ref": ref, "total": float(breakdown.total_pj)}


def counter_metrics(spec, counters: RawCounters) -> dict:
    """Row-buffer hit rate, mean read latency (ns) and cycles straight from the raw counters."""
    served = counters.row_hits.sum() + counters.row_misses.sum() + counters.row_conflicts.sum()
    reads = int(counters.reads.sum())
    latency_cycles = counters.read_latency_sum.sum() / reads if reads else float("nan")
    return {
        "row_hit_rate": float(counters.row_hits.sum() / served) if served else float("nan"),
        "read_latency_ns": float(latency_cycles * spec.tck_ns),
        "dram_cycles": int(counters.total_cycles),
        "acts": int(counters.subarray_acts.sum()),
    }


def simulate_metrics(spec_v, requests: np.ndarray, config: ControllerConfig, engine: str,
                     mapping: str, per: float = 1.0, powerdown_idle: int | None = None,
                     self_refresh_idle: int | None = None) -> dict:
    """Simulate ``requests`` on ``spec_v`` (a spec already at its VDD); metrics divided by ``per``
    (the number of inferences the trace covers) where they are totals.

    With ``powerdown_idle`` (and/or ``self_refresh_idle``) the stream is simulated a second time
    with idle ranks powering down (docs/controller.md, "Power-down and self-refresh"; meaningful
    with timed arrivals, where the DRAM idles between spikes) and three more metrics are
    returned: ``energy_pd_uj`` (energy per inference with power-down), ``pd_saved_uj`` (the
    energy power-down saves per inference) and ``pd_saved_pct`` (that saving in % of
    ``energy_uj``). The other metrics always describe the run without power-down."""
    import dataclasses

    from dramsim.simulate import simulate
    engine = resolve_engine(engine)
    base = dataclasses.replace(config, powerdown_idle=None, self_refresh_idle=None)
    res = simulate(spec_v, requests, base, engine=engine, mapping=mapping)
    m = counter_metrics(spec_v, res.counters)
    e = energy_split_pj(spec_v, res.counters)
    out = {"row_hit_rate": m["row_hit_rate"], "read_latency_ns": m["read_latency_ns"],
           "dram_cycles": m["dram_cycles"] / per, "acts": m["acts"] / per, "requests": len(requests) / per}
    for k, v in e.items():
        out[f"energy_{k}_uj" if k != "total" else "energy_uj"] = v / per * 1e-6
    if powerdown_idle is not None or self_refresh_idle is not None:
        low = dataclasses.replace(config, powerdown_idle=powerdown_idle, self_refresh_idle=self_refresh_idle)
        pd = simulate(spec_v, requests, low, engine=engine, mapping=mapping)
        total = energy_split_pj(spec_v, pd.counters)["total"] / per * 1e-6
        out["energy_pd_uj"] = total
        out["pd_saved_uj"] = out["energy_uj"] - total
        out["pd_saved_pct"] = 100.0 * out["pd_saved_uj"] / out["energy_uj"] if out["energy_uj"] else float("nan")
    return out
