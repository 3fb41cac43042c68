"""The simpy engine's bookkeeping shortcuts on the benchmark setup (bench/perf_dram.py).

The engine skips cycles using lower bounds for the next issuable command (docs in
dramsim/engine_simpy.py). Two things must hold, checked here without any timing:

* the shortcuts never change a result: on the benchmark's kind of run (DDR3-1600K, 32-entry
  queues, saturated, trace generators of traces.generate) the engine equals the literal
  cycle-by-cycle model of test_engine_simpy_naive.py, counters and command logs. (The
  hypothesis cases there use queues of at most 8 entries; these runs keep 32 full.)
* the bounds stay tight: under FR-FCFS the controller evaluates the scheduling steps in hardly
  more cycles than it issues commands. A bound that became loose would not change any result,
  only make the engine slow, so the evaluation count is the regression check for speed.
"""
from __future__ import annotations

import pytest

from dramsim import engine_simpy
from dramsim.address import AddressMapper
from dramsim.config import ControllerConfig
from dramsim.spec import load_spec
from test_engine_simpy_naive import assert_same
from traces import generate


def bench_spec(**kw):
    return load_spec("DDR3-1600K", channels=1, ranks=1, **kw)


def trace(name: str, n: int, seed: int = 0):
    """The benchmark generators (bench/perf_dram.py), plus writes for the mixed case."""
    if name == "seq":
        return generate.seq(n, seed=seed)
    if name == "random":
        return generate.random(n, seed=seed, span_bytes=1 << 30)
    if name == "stride":
        return generate.stride(n, seed=seed, stride_bytes=128 << 10)
    if name == "mixed":
        return generate.mixed(n, seed=seed, write_fraction=0.3)
    return generate.hotrows(n, seed=seed, write_fraction=0.3)


@pytest.mark.parametrize("page", ["open", "closed"])
@pytest.mark.parametrize("name", ["seq", "random", "stride", "mixed", "hotrows"])
def test_benchmark_runs_equal_literal_model(name, page):
    spec = bench_spec()
    config = ControllerConfig(scheduler="frfcfs", page_policy=page, read_queue=32, write_queue=32)
    assert_same(spec, config, AddressMapper(spec).decode_records(trace(name, 240, seed=3)))


def test_two_channels_with_arrivals_equal_literal_model():
    """Several controller processes and a front end with arrival times: the processes must
    still interleave in exact (cycle, phase) order."""
    spec = load_spec("DDR3-1600K", channels=2, ranks=1)
    config = ControllerConfig(scheduler="frfcfs", page_policy="open", read_queue=32, write_queue=32)
    records = generate.mixed(240, seed=5, write_fraction=0.3, interval_cycles=3)
    assert_same(spec, config, AddressMapper(spec).decode_records(records))


@pytest.mark.parametrize("name", ["seq", "random", "stride"])
def test_frfcfs_evaluates_hardly_more_cycles_than_it_issues_commands(name, monkeypatch):
    """Read-only traces (the benchmark's): with writes, a write-mode switch deliberately makes
    the controller look again at the next cycle, so the ratio there is looser by design."""
    spec = bench_spec()
    config = ControllerConfig(scheduler="frfcfs", page_policy="open", read_queue=32, write_queue=32)
    evaluated = []
    step = engine_simpy._Channel._step

    def counting_step(self, c):
        evaluated.append(c)
        return step(self, c)

    monkeypatch.setattr(engine_simpy._Channel, "_step", counting_step)
    counters, _ = engine_simpy.run(spec, config, AddressMapper(spec).decode_records(trace(name, 4000)))
    commands = int(counters.commands.sum())
    assert len(evaluated) == len(set(evaluated))          # never the same cycle twice
    assert commands <= len(evaluated) <= 1.05 * commands + 10
