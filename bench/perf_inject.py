"""Injection throughput: stored bits per second through mapping.inject, numba vs a numpy baseline.

Both implementations compute the same flip masks (checked in the run); the numpy one
(``dramsim.errors.flip_masks_numpy``) is the vectorised baseline. The figure is end to end:
validation of the layout, the per-bit hash decisions and the XOR.

Examples:
    python -m bench.perf_inject                       # 784x100 fp32 weights, all four models
    python -m bench.perf_inject --words 2000000 --format q8 --models 0,3
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


PROG = "python -m bench.perf_inject"
MODELS = (0, 1, 2, 3)


class _Models(argparse.Action):
    """--models 0,3 (a comma list); the older space-separated form still works, with a note."""

    def __call__(self, parser, namespace, values, option_string=None):
        from traces.cli import comma_list, note
        if len(values) > 1:
            note(PROG, f"space-separated lists are deprecated; write {option_string} {','.join(values)}")
        try:
            models = comma_list(int, choices=[str(m) for m in MODELS], example="0,3")(",".join(values))
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument {option_string}: {exc}")
        setattr(namespace, self.dest, models)


def build_parser():
    from traces.cli import Parser, float_in, int_in, seed_int
    ap = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", type=int_in(1, 10**7), default=78_400,
                    help="stored words, 1..10^7 and within the device (default 784x100)")
    ap.add_argument("--format", default="fp32", choices=["fp32", "q16", "q8"],
                    help="weight storage format (default fp32)")
    ap.add_argument("--models", nargs="+", action=_Models, default=list(MODELS), metavar="M1,M2",
                    help="error models 0-3 (uniform, bitline, wordline, data), comma-separated (default all)")
    ap.add_argument("--ber", type=float_in(0.0, 1.0, lo_open=True, what="a bit-error rate"), default=1e-4,
                    help="bit-error rate, in (0, 1] (default 1e-4)")
    ap.add_argument("--repeats", type=int_in(1, 1000), default=5,
                    help="numba timing: best of this many, 1..1000 (default 5)")
    ap.add_argument("--spec", default="DDR3L-1600K", help="bundled spec name or .toml path (default DDR3L-1600K)")
    ap.add_argument("--seed", type=seed_int, default=0, help="seed of the weights and fault maps (default 0)")
    return ap


def _main(argv) -> int:
    from dramsim.spec import SpecError
    from traces.cli import CliError
    a = build_parser().parse_args(argv)
    try:
        spec = load_spec(a.spec)
    except SpecError as exc:
        raise CliError(f"--spec: {exc}") from None
    bits = get_format(a.format).bits
    if a.words * bits > spec.org.capacity_bytes * 8:
        raise CliError(f"--words {a.words}: {a.words} {a.format} words do not fit in {spec.name} "
                       f"({spec.org.capacity_bytes:,} bytes)")
    rows = measure(a.words, a.format, a.models, a.ber, a.repeats, a.spec, a.seed)
    print(f"{spec.name}, {a.words:,} {a.format} words, BER {a.ber:g}, seed {a.seed}")
    print(tabulate([[r["model"], r["bits"], f"{r['numba_bits_per_s'] / 1e6:.0f}",
                     f"{r['numpy_bits_per_s'] / 1e6:.1f}", f"{r['speedup']:.1f}x", r["identical"]]
                    for r in rows],
                   headers=["model", "bits", "numba Mbit/s", "numpy Mbit/s", "speedup", "identical"]))
    return 0 if all(r["identical"] for r in rows) else 1


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 1 the implementations differ, 2 bad input, 130
    interrupted."""
    from traces.cli import run
    return run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
