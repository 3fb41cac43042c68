"""Differential tests: the numba fast engine against the simpy reference engine.

Both implement docs/controller.md, so on every input their RawCounters and command logs must be
identical, element for element; the independent timing checker (dramsim/checker.py) must also
accept the fast engine's logs. Inputs: hypothesis-generated small traces over every bundled spec,
scheduler, page policy, salp mode, controller variant (r2.1, r2.0-conservative), 1-2 channels
and ranks, small queues and assorted write watermarks (write drains), reads and writes drawn
from a small pool of lines (row hits, conflicts, read-after-write forwarding, write
coalescing), with or without arrival cycles (also bursts separated by long idle stretches),
with short refresh intervals, with and without power-down and self-refresh; plus longer
synthetic traces (traces.generate) per spec.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dramsim import engine_fast, engine_simpy
from dramsim.address import AddressMapper
from dramsim.checker import check_log
from dramsim.config import ControllerConfig
from dramsim.spec import bundled_spec_names, load_spec
from traces import generate

SPECS = bundled_spec_names()
WATERMARKS = [(0.2, 0.8), (0.0, 0.5), (0.5, 0.5), (0.0, 1.0), (0.8, 1.0)]


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    engine_fast.warmup()


def assert_engines_agree(spec, config, d):
    ref, ref_log = engine_simpy.run(spec, config, d, command_log=True)
    got, got_log = engine_fast.run(spec, config, d, command_log=True)
    assert ref.differences(got) == []
    if not np.array_equal(ref_log, got_log):
        n = min(len(ref_log), len(got_log))
        i = int(np.argmax(ref_log[:n] != got_log[:n])) if np.any(ref_log[:n] != got_log[:n]) else n
        a = ref_log[i] if i < len(ref_log) else None
        b = got_log[i] if i < len(got_log) else None
        pytest.fail(f"command logs differ at record {i} (lengths {len(ref_log)}, {len(got_log)}): "
                    f"simpy {a} fast {b}")
    violations = check_log(got_log, spec, config, requests=d, counters=got)
    assert violations == [], [str(v) for v in violations[:5]]
    return got


@st.composite
def cases(draw):
    """(spec, config, DecodedRequests): a small trace whose requests revisit a few lines of a
    few banks (so rows hit and conflict, and reads find queued writes to forward from)."""
    spec = load_spec(draw(st.sampled_from(SPECS)), channels=draw(st.integers(1, 2)),
                     ranks=draw(st.integers(1, 2)))
    t, org = spec.timing, spec.org
    refi = None
    if draw(st.integers(0, 3)):                          # mostly: frequent refresh
        refi = t.nRFC + draw(st.integers(10, 300))
        if draw(st.booleans()):                          # as a spec override or a controller setting
            spec = dataclasses.replace(spec, timing=dataclasses.replace(t, nREFI=refi))
            refi = None
    low, high = draw(st.sampled_from(WATERMARKS))
    pd = draw(st.sampled_from([None, None, 1, 5, 60]))
    sr = draw(st.sampled_from([None, None, 20, 300]))
    if pd is not None and sr is not None and sr <= pd:
        sr = pd + 1
    config = ControllerConfig(scheduler=draw(st.sampled_from(["fcfs", "frfcfs", "frfcfs_cap"])),
                              page_policy=draw(st.sampled_from(["open", "closed"])),
                              salp=draw(st.sampled_from(["none", "masa"])),
                              read_queue=draw(st.integers(1, 10)), write_queue=draw(st.integers(1, 10)),
                              write_low_watermark=low, write_high_watermark=high,
                              row_hit_cap=draw(st.integers(1, 4)), refresh=draw(st.integers(0, 3)) > 0,
                              controller=draw(st.sampled_from(["r2.1", "r2.1", "r2.0-conservative"])),
                              refresh_interval=refi, powerdown_idle=pd, self_refresh_idle=sr)
    rps = org.rows // org.subarrays
    bank = st.tuples(st.integers(0, org.channels - 1), st.integers(0, org.ranks - 1),
                     st.integers(0, org.bankgroups - 1), st.integers(0, org.banks_per_group - 1))
    banks = draw(st.lists(bank, min_size=1, max_size=3))
    line = st.tuples(st.sampled_from(banks), st.sampled_from([0, 1, 2, rps, rps + 1, org.rows - 1]),
                     st.integers(0, 3))
    pool = draw(st.lists(line, min_size=1, max_size=8))
    n = draw(st.integers(0, 4)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(10, 50))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n, max_size=n))
    is_write = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    arrive = None
    style = draw(st.sampled_from(["none", "sorted", "any", "gaps"]))
    if style in ("sorted", "any"):
        arrive = np.array(draw(st.lists(st.integers(-1, 40 * n + 20), min_size=n, max_size=n)),
                          dtype=np.int64)
        if style == "sorted":
            arrive = np.sort(arrive)
    elif style == "gaps":                                # bursts and idle stretches (power-down)
        arrive = np.cumsum(draw(st.lists(st.sampled_from([0, 0, 0, 2, 40, 700, 3000]), min_size=n,
                                         max_size=n))).astype(np.int64)
    m = AddressMapper(spec)
    coords = np.array([(*pool[i][0], pool[i][1], pool[i][2]) for i in picks], dtype=np.int64).reshape(-1, 6).T
    return spec, config, m.decode(m.encode(*coords), is_write, arrive)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_fast_engine_equals_simpy_engine(case):
    assert_engines_agree(*case)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("trace", ["seq", "random", "stride", "mixed", "hotrows"])
def test_synthetic_traces(name, trace):
    """Longer runs (several refresh intervals), default controller, 30% writes."""
    spec = load_spec(name)
    kw = {} if trace == "mixed" else {"write_fraction": 0.3}
    if trace not in ("seq",):
        kw["span_bytes"] = 1 << 26
    rec = getattr(generate, trace)(2500, seed=3, **kw)
    got = assert_engines_agree(spec, ControllerConfig(), AddressMapper(spec).decode_records(rec))
    assert got.commands[:, 7].sum() >= 1 or got.total_cycles < spec.timing.nREFI


@pytest.mark.parametrize("config", [
    ControllerConfig(scheduler="fcfs", page_policy="closed", salp="masa"),
    ControllerConfig(scheduler="frfcfs_cap", row_hit_cap=2, read_queue=4, write_queue=4),
    ControllerConfig(salp="masa", write_high_watermark=0.5, write_low_watermark=0.0),
], ids=["fcfs-closed-masa", "cap2-small-queues", "masa-drain"])
def test_two_channels_two_ranks_with_arrivals(config):
    spec = load_spec("DDR4-2400R", channels=2, ranks=2)
    rec = generate.mixed(3000, seed=9, span_bytes=1 << 24, write_fraction=0.4, interval_cycles=2)
    assert_engines_agree(spec, config, AddressMapper(spec).decode_records(rec))


@pytest.mark.parametrize("vdd", [1.025, 1.1, 1.2])
def test_reduced_vdd_timings(vdd):
    """VDD-scaled timings (DramSpec.at_vdd) reach both engines through the spec alone."""
    nominal = load_spec("DDR3L-1600K")
    spec = nominal.at_vdd(vdd)
    assert spec.timing.nRCD > nominal.timing.nRCD
    rec = generate.mixed(2000, seed=4, span_bytes=1 << 24, write_fraction=0.3)
    d = AddressMapper(spec).decode_records(rec)
    got = assert_engines_agree(spec, ControllerConfig(salp="masa"), d)
    base, _ = engine_fast.run(nominal, ControllerConfig(salp="masa"), d)
    assert got.total_cycles > base.total_cycles
