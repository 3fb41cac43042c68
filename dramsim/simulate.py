"""One call from a request trace to DRAM statistics: decode, run an engine, summarise.

``simulate(spec, requests)`` decodes a ``traces.records.REQUEST_DTYPE`` array with
``AddressMapper(spec, mapping)``, runs the chosen engine (``"simpy"``: the readable reference,
``dramsim.engine_simpy``; ``"fast"``: the numba engine, ``dramsim.engine_fast``; both give
identical counters and command logs) and returns a ``SimResult`` with the raw counters, the
optional command log and ``dramsim.stats.summarize``'s nested statistics.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dramsim.config import ControllerConfig
from dramsim.counters import RawCounters
from dramsim.requests import DecodedRequests
from dramsim.spec import DramSpec

ENGINES = ("simpy", "fast")
#: Runs with more requests than this show a progress bar when ``progress=True``.
PROGRESS_MIN_REQUESTS = 50_000


class EngineUnavailable(RuntimeError):
    """The requested engine cannot be imported (e.g. the fast engine is not installed)."""


@dataclass
class SimResult:
    counters: RawCounters
    command_log: np.ndarray | None     # COMMAND_LOG_DTYPE records, or None if not asked for
    spec: DramSpec
    config: ControllerConfig
    summary: dict                      # dramsim.stats.summarize(spec, config, counters)
    wall_s: float                      # engine run time (decoding and summarising excluded)
    engine: str = "simpy"


def load_engine(engine: str):
    """The ``run`` function of ``engine`` (imported lazily: the fast engine pulls in numba)."""
    if engine == "simpy":
        from dramsim import engine_simpy
        return engine_simpy.run
    if engine == "fast":
        try:
            from dramsim import engine_fast
        except ImportError as exc:
            raise EngineUnavailable(f"the fast engine (dramsim.engine_fast) is not available: {exc}; "
                                    "use engine='simpy'") from None
        return engine_fast.run
    raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")


def decode(spec: DramSpec, requests, mapping: str = "RoBaRaCoCh") -> DecodedRequests:
    """DecodedRequests of a REQUEST_DTYPE array (DecodedRequests are passed through)."""
    if isinstance(requests, DecodedRequests):
        return requests
    from dramsim.address import AddressMapper
    arr = np.asarray(requests)
    if arr.dtype.names is None or not {"addr", "is_write"} <= set(arr.dtype.names):
        raise ValueError("requests must be a REQUEST_DTYPE array (fields addr, is_write, arrive) "
                         "or DecodedRequests")
    arrive = arr["arrive"] if "arrive" in arr.dtype.names else None
    return AddressMapper(spec, mapping).decode(arr["addr"], arr["is_write"], arrive)


def simulate(spec: DramSpec | str, requests, config: ControllerConfig = ControllerConfig(), *,
             engine: str = "fast", mapping: str = "RoBaRaCoCh", command_log: bool = False,
             progress: bool = False) -> SimResult:
    """Simulate ``requests`` on ``spec`` (a DramSpec or a bundled spec name).

    ``engine``: ``"fast"`` (default) or ``"simpy"``. ``progress``: show a tqdm bar (runs
    of more than ``PROGRESS_MIN_REQUESTS`` requests).
    """
    if isinstance(spec, str):
        from dramsim.spec import load_spec
        spec = load_spec(spec)
    run = load_engine(engine)
    decoded = decode(spec, requests, mapping)
    bar = None
    kwargs = {}
    if progress and len(decoded) > PROGRESS_MIN_REQUESTS:
        from tqdm import tqdm
        bar = tqdm(total=len(decoded), unit="req", desc=f"dramsim {spec.name}", leave=False)
        kwargs["progress"] = bar.update
    t0 = time.perf_counter()
    try:
        counters, log = run(spec, config, decoded, command_log, **kwargs)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    from dramsim.stats import summarize
    return SimResult(counters=counters, command_log=log if command_log else None, spec=spec,
                     config=config, summary=summarize(spec, config, counters), wall_s=wall,
                     engine=engine)
