"""Statistics of one DRAM run: RawCounters -> nested JSON-ready dict (and flat table rows).

Numbers are exact (no rounding here; round when printing). Conventions:
* rates (row hit/miss/conflict) are over the requests classified at their first command
  (hits + misses + conflicts); None when there are none;
* read latency: mean from the exact sum; p50/p95/p99 are nearest-rank percentiles of the
  per-cycle histogram (its last bin collects every latency >= LATENCY_HIST_BINS - 1, so a
  percentile that lands there is a lower bound: ``latency_hist_saturated`` counts those reads);
* bandwidth = (reads + writes) * burst_bytes / (total_cycles * tCK) in GB/s (1e9 B/s);
  forwarded reads do not use the DRAM bus and are excluded;
* mean queue occupancy = queue_occupancy_sum / total_cycles (requests, per channel);
* ``ramulator2``: the same run in Ramulator 2.1's definitions (docs/controller.md, "Read latency
  and run length"): its read latency is ours + 1 cycle per read; its drained run length is
  max(last read command + 1 + nCL + nBL, last write command + 1).
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from dramsim.commands import COMMAND_NAMES
from dramsim.config import ControllerConfig
from dramsim.counters import LATENCY_HIST_BINS, RawCounters
from dramsim.energy import energy_from_counters
from dramsim.spec import DramSpec

PERCENTILES = (50, 95, 99)


def _rate(num: int, den: int):
    return num / den if den else None


def _row_stats(hits: int, misses: int, conflicts: int) -> dict:
    n = hits + misses + conflicts
    return {"row_hits": hits, "row_misses": misses, "row_conflicts": conflicts,
            "row_hit_rate": _rate(hits, n), "row_miss_rate": _rate(misses, n),
            "row_conflict_rate": _rate(conflicts, n)}


def latency_stats(hist: np.ndarray, latency_sum: int, tck_ns: float) -> dict:
    """Mean and nearest-rank percentiles (cycles and ns) from a latency histogram."""
    hist = np.asarray(hist, dtype=np.int64)
    n = int(hist.sum())
    out = {"count": n, "latency_hist_saturated": int(hist[-1]) if hist.size else 0}
    if n == 0:
        for key in ["mean"] + [f"p{p}" for p in PERCENTILES]:
            out[f"{key}_cycles"] = None
            out[f"{key}_ns"] = None
        return out
    mean = int(latency_sum) / n
    out["mean_cycles"], out["mean_ns"] = mean, mean * tck_ns
    cum = np.cumsum(hist)
    for p in PERCENTILES:
        rank = -(-p * n // 100)  # ceil(p/100 * n), integer arithmetic
        cycles = int(np.searchsorted(cum, rank))
        out[f"p{p}_cycles"], out[f"p{p}_ns"] = cycles, cycles * tck_ns
    return out


def summarize(spec: DramSpec, config: ControllerConfig, counters: RawCounters) -> dict:
    """Nested statistics: device, config, totals, channels, ranks, banks, subarrays, energy."""
    org, tck = spec.org, spec.tck_ns
    c = counters
    cycles = int(c.total_cycles)
    duration_ns = cycles * tck
    energy = energy_from_counters(spec, c)
    n_ch, n_rk = org.channels, org.ranks
    banks_per_channel = n_rk * org.banks

    def bandwidth(n_bursts: int):
        return n_bursts * org.burst_bytes / duration_ns if duration_ns > 0 else 0.0

    def occupancy(total: int):
        return total / cycles if cycles else 0.0

    commands = {name: int(c.commands[:, i].sum()) for i, name in enumerate(COMMAND_NAMES)}
    reads, writes, fwd = int(c.reads.sum()), int(c.writes.sum()), int(c.forwarded_reads.sum())
    coalesced = int(c.coalesced_writes.sum())
    totals = {
        "reads": reads, "writes": writes, "forwarded_reads": fwd, "coalesced_writes": coalesced,
        "requests": reads + writes + fwd + coalesced,
        **_row_stats(int(c.row_hits.sum()), int(c.row_misses.sum()), int(c.row_conflicts.sum())),
        "commands": commands,
        "read_latency": latency_stats(c.read_latency_hist.sum(axis=0), int(c.read_latency_sum.sum()), tck),
        "cycles_to_drain": cycles, "time_ns": duration_ns,
        "bandwidth_gb_per_s": bandwidth(reads + writes),
        "mean_queue_occupancy": occupancy(int(c.queue_occupancy_sum.sum())),
        "energy_pj": energy.total_pj, "pj_per_request": energy.pj_per_request,
        "average_power_mw": energy.average_power_mw,
        "power_state_cycles": power_state_cycles(c),
        "ramulator2": ramulator2_view(spec, c),
    }
    channels = []
    for ch in range(n_ch):
        b = slice(ch * banks_per_channel, (ch + 1) * banks_per_channel)
        r, w = int(c.reads[b].sum()), int(c.writes[b].sum())
        channels.append({
            "channel": ch, "reads": r, "writes": w, "forwarded_reads": int(c.forwarded_reads[ch]),
            "coalesced_writes": int(c.coalesced_writes[ch]),
            **_row_stats(int(c.row_hits[b].sum()), int(c.row_misses[b].sum()), int(c.row_conflicts[b].sum())),
            "read_latency": latency_stats(c.read_latency_hist[ch], int(c.read_latency_sum[ch]), tck),
            "bandwidth_gb_per_s": bandwidth(r + w),
            "mean_queue_occupancy": occupancy(int(c.queue_occupancy_sum[ch])),
        })
    ranks = []
    for rk in range(c.n_ranks_total):
        ranks.append({
            "channel": rk // n_rk, "rank": rk % n_rk,
            "commands": {name: int(c.commands[rk, i]) for i, name in enumerate(COMMAND_NAMES)},
            "active_cycles": int(c.active_cycles[rk]),
            "prea_closed_units": int(c.prea_closed_units[rk]),
            "pd_active_cycles": int(c.pd_active_cycles[rk]),
            "pd_precharged_cycles": int(c.pd_precharged_cycles[rk]),
            "sr_cycles": int(c.sr_cycles[rk]),
            "energy_pj": {k: float(v[rk]) for k, v in energy.per_rank_pj.items()},
        })
    banks = []
    for fb in range(c.n_banks_total):
        rest, ba = divmod(fb, org.banks_per_group)
        rest, bg = divmod(rest, org.bankgroups)
        ch, rk = divmod(rest, n_rk)
        banks.append({"channel": ch, "rank": rk, "bankgroup": bg, "bank": ba,
                      "reads": int(c.reads[fb]), "writes": int(c.writes[fb]),
                      **_row_stats(int(c.row_hits[fb]), int(c.row_misses[fb]), int(c.row_conflicts[fb]))})
    subarrays = [{"flat_bank": i // org.subarrays, "subarray": i % org.subarrays,
                  "accesses": int(c.subarray_accesses[i]), "acts": int(c.subarray_acts[i])}
                 for i in range(c.n_subarrays_total)]
    return {
        "device": {"name": spec.name, "vdd": spec.vdd, "vdd_nominal": spec.vdd_nominal, "tck_ns": tck,
                   "channels": n_ch, "ranks": n_rk, "bankgroups": org.bankgroups,
                   "banks_per_group": org.banks_per_group, "subarrays": org.subarrays,
                   "timing": asdict(spec.timing)},
        "config": {**asdict(config), "effective_nrefi": config.nrefi(spec)},
        "totals": totals, "channels": channels, "ranks": ranks, "banks": banks, "subarrays": subarrays,
        "energy": energy.as_dict(),
        "notes": {"latency_hist_bins": LATENCY_HIST_BINS, "energy": energy.note},
    }


def power_state_cycles(c: RawCounters) -> dict:
    """Rank-cycles (summed over ranks) in each power state; they add up to ranks x total_cycles."""
    total = int(c.total_cycles) * int(c.n_ranks_total)
    act, pda, pdp, sr = (int(np.sum(a)) for a in (c.active_cycles, c.pd_active_cycles,
                                                  c.pd_precharged_cycles, c.sr_cycles))
    return {"active_standby": act - pda, "precharged_standby": total - act - pdp - sr,
            "active_powerdown": pda, "precharged_powerdown": pdp, "self_refresh": sr}


def ramulator2_view(spec: DramSpec, c: RawCounters) -> dict:
    """Read latency and drained run length as Ramulator 2.1 defines them (docs/controller.md)."""
    t = spec.timing
    n_reads = int(c.read_latency_hist.sum())
    last_rd, last_wr = int(c.last_column[:, 0].max()), int(c.last_column[:, 1].max())
    ends = ([last_rd + 1 + t.nCL + t.nBL] if last_rd >= 0 else []) + ([last_wr + 1] if last_wr >= 0 else [])
    return {"mean_read_latency_cycles": (int(c.read_latency_sum.sum()) + n_reads) / n_reads if n_reads else None,
            "cycles_drained": max(ends) if ends else 0}


def summary_rows(summary: dict) -> list[list]:
    """Flat ``[scope, metric, value]`` rows (totals, then per channel) for ``tabulate``."""
    rows = []

    def add(scope: str, d: dict, prefix: str = ""):
        for k, v in d.items():
            if isinstance(v, dict):
                add(scope, v, f"{prefix}{k}.")
            else:
                rows.append([scope, prefix + k, v])

    add("total", summary["totals"])
    for k, v in summary["energy"]["total_by_category_pj"].items():
        rows.append(["total", f"energy_pj.{k}", v])
    for ch in summary["channels"]:
        add(f"channel {ch['channel']}", {k: v for k, v in ch.items() if k != "channel"})
    return rows
