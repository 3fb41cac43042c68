"""Injection throughput: stored bits per second through mapping.inject, numba vs a numpy baseline.

Both implementations compute the same flip masks (checked in the run); the numpy one
(``dramsim.errors.flip_masks_numpy``) is the vectorised baseline. The figure is end to end:
validation of the layout, the per-bit hash decisions and the XOR.

Examples:
    python -m bench.perf_inject                       # 784x100 fp32 weights, all four models
    python -m bench.perf_inject --words 2000000 --format q8 --models 0 3
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from tabulate import tabulate

from dramsim.errors import FaultMap, flip_masks_numpy
from dramsim.spec import load_spec
from mapping.inject import default_layout, inject
from snn.formats import get_format


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure(n_words: int = 78_400, fmt_name: str = "fp32", models=(0, 1, 2, 3), ber: float = 1e-4,
            repeats: int = 5, spec_name: str = "DDR3L-1600K", seed: int = 0) -> list[dict]:
    """One row per model: bits, numba and numpy seconds (best of ``repeats`` / of 1) and bits/s."""
    spec = load_spec(spec_name)
    fmt = get_format(fmt_name)
    w = np.random.default_rng(seed).random(n_words, dtype=np.float32)
    words = fmt.encode(w)
    layout = default_layout(spec, n_words, fmt.bits)
    bits = n_words * fmt.bits
    rows = []
    for m in models:
        fm = FaultMap.build(spec, m, ber, seed=seed)
        fast = inject(words, layout, fm)                      # also compiles / loads the cache
        t_numba = _best_time(lambda: inject(words, layout, fm), repeats)
        t0 = time.perf_counter()
        slow = words ^ flip_masks_numpy(fm, layout, fmt.bits, words).astype(words.dtype)
        t_numpy = time.perf_counter() - t0
        rows.append({"model": m, "bits": bits, "numba_s": t_numba, "numpy_s": t_numpy,
                     "numba_bits_per_s": bits / t_numba, "numpy_bits_per_s": bits / t_numpy,
                     "speedup": t_numpy / t_numba, "identical": bool(np.array_equal(fast, slow))})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.perf_inject", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", type=int, default=78_400, help="stored words (default 784x100)")
    ap.add_argument("--format", default="fp32", choices=["fp32", "q16", "q8"])
    ap.add_argument("--models", type=int, nargs="+", default=[0, 1, 2, 3], choices=range(4))
    ap.add_argument("--ber", type=float, default=1e-4)
    ap.add_argument("--repeats", type=int, default=5, help="numba timing: best of this many")
    ap.add_argument("--spec", default="DDR3L-1600K")
    a = ap.parse_args(argv)
    if a.words < 1 or a.repeats < 1 or not 0 <= a.ber <= 1:
        print("error: --words and --repeats must be >= 1 and --ber in [0, 1]", file=sys.stderr)
        return 2
    rows = measure(a.words, a.format, a.models, a.ber, a.repeats, a.spec)
    print(tabulate([[r["model"], r["bits"], f"{r['numba_bits_per_s'] / 1e6:.0f}",
                     f"{r['numpy_bits_per_s'] / 1e6:.1f}", f"{r['speedup']:.1f}x", r["identical"]]
                    for r in rows],
                   headers=["model", "bits", "numba Mbit/s", "numpy Mbit/s", "speedup", "identical"]))
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
