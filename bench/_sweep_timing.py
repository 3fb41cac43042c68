"""Where a sweep's time goes: wall and CPU seconds, and work items, per phase.

Phases are exclusive: time spent in a phase opened inside another (FAT training inside the
tolerance walk, say) counts for the inner one only. Every process keeps its own clock; a sweep
point returns its clock's reading under ``TIMING_KEY`` (never written to the outputs) and the
parent adds the readings up. ``bench.perf_sweep`` prints the result.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

PHASES = ("training", "tolerance", "clean_inference", "faulty_inference", "fault_maps", "dram")
#: what a phase's items count
ITEMS = {"training": "images", "tolerance": "images", "clean_inference": "images",
         "faulty_inference": "images", "fault_maps": "words", "dram": "requests"}
TIMING_KEY = "_timing"

_totals: dict[str, list[float]] = {}
_stack: list[list[float]] = []


def _entry(name: str) -> list[float]:
    return _totals.setdefault(name, [0.0, 0.0, 0.0])   # wall s, cpu s, items


@contextmanager
def phase(name: str, items: float = 0):
    """Time the block as phase ``name`` doing ``items`` units of work (see ``ITEMS``)."""
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}")
    inner = [0.0, 0.0]                                   # time taken by phases nested in this one
    _stack.append(inner)
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        _stack.pop()
        e = _entry(name)
        e[0] += wall - inner[0]
        e[1] += cpu - inner[1]
        e[2] += items
        if _stack:
            _stack[-1][0] += wall
            _stack[-1][1] += cpu


def count(name: str, items: float) -> None:
    """Add work items to a phase without timing (e.g. counted after the fact)."""
    _entry(name)[2] += items


def take() -> dict:
    """This process's readings since the last ``take`` (and reset them)."""
    out = {k: list(v) for k, v in _totals.items()}
    _totals.clear()
    return out


def merge(into: dict, reading: dict | None) -> dict:
    for k, v in (reading or {}).items():
        e = into.setdefault(k, [0.0, 0.0, 0.0])
        for i in range(3):
            e[i] += v[i]
    return into
