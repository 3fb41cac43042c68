"""dramsim.stats: percentiles agree with numpy's nearest-rank, bandwidth and rates by hand."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dramsim.commands import ACT, RD
from dramsim.config import ControllerConfig
from dramsim.counters import LATENCY_HIST_BINS, RawCounters
from dramsim.spec import load_spec
from dramsim.stats import latency_stats, summarize, summary_rows

SPEC = load_spec("DDR3L-1600K", channels=2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=200))
def test_percentiles_match_numpy_nearest_rank(lat):
    hist = np.bincount(lat, minlength=LATENCY_HIST_BINS)
    s = latency_stats(hist, sum(lat), 1.25)
    for p in (50, 95, 99):
        want = int(np.percentile(lat, p, method="inverted_cdf"))
        assert s[f"p{p}_cycles"] == want
        assert s[f"p{p}_ns"] == want * 1.25
    assert s["mean_cycles"] == sum(lat) / len(lat)


def test_empty_latency():
    s = latency_stats(np.zeros(LATENCY_HIST_BINS, dtype=np.int64), 0, 1.25)
    assert s["count"] == 0 and s["p99_cycles"] is None and s["mean_ns"] is None


def test_summary_by_hand():
    c = RawCounters.zeros(2, 1, 8, 8)
    # channel 0 bank 3: 3 reads (1 miss, 2 hits); channel 1 bank 0: 1 write (conflict)
    c.reads[3] = 3
    c.row_misses[3] = 1
    c.row_hits[3] = 2
    c.writes[8] = 1
    c.row_conflicts[8] = 1
    c.forwarded_reads[1] = 1
    c.commands[0, ACT] = 1
    c.commands[0, RD] = 3
    c.subarray_accesses[3 * 8 + 5] = 3
    c.read_latency_sum[0] = 26 + 30 + 34
    c.read_latency_hist[0, [26, 30, 34]] = 1
    c.queue_occupancy_sum[:] = [200, 100]
    c.active_cycles[0] = 80
    c.total_cycles = 100
    s = summarize(SPEC, ControllerConfig(), c)
    json.dumps(s)  # JSON-ready
    t = s["totals"]
    assert (t["reads"], t["writes"], t["forwarded_reads"], t["requests"]) == (3, 1, 1, 5)
    assert t["row_hit_rate"] == 2 / 4 and t["row_conflict_rate"] == 1 / 4
    assert t["commands"]["ACT"] == 1 and t["commands"]["RD"] == 3
    assert t["read_latency"]["mean_cycles"] == 30 and t["read_latency"]["p50_cycles"] == 30
    assert t["bandwidth_gb_per_s"] == pytest.approx(4 * 64 / (100 * 1.25))  # bytes per ns = GB/s
    assert t["mean_queue_occupancy"] == 3.0
    ch0, ch1 = s["channels"]
    assert ch0["reads"] == 3 and ch1["writes"] == 1 and ch1["forwarded_reads"] == 1
    assert ch0["mean_queue_occupancy"] == 2.0 and ch1["read_latency"]["count"] == 0
    b3 = s["banks"][3]
    assert (b3["channel"], b3["rank"], b3["bankgroup"], b3["bank"], b3["row_hits"]) == (0, 0, 0, 3, 2)
    assert s["banks"][8]["channel"] == 1 and s["banks"][8]["bank"] == 0
    assert s["subarrays"][3 * 8 + 5] == {"flat_bank": 3, "subarray": 5, "accesses": 3, "acts": 0}
    assert s["ranks"][0]["active_cycles"] == 80
    assert t["energy_pj"] == pytest.approx(s["energy"]["total_pj"])
    rows = summary_rows(s)
    assert ["total", "reads", 3] in rows
    assert ["channel 1", "writes", 1] in rows
    assert any(r[1] == "read_latency.p99_cycles" for r in rows)
