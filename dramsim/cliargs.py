"""Option types shared by ``python -m dramsim`` and ``python -m dramsim.checker`` (ranges in
docs/cli.md)."""
from __future__ import annotations

import argparse

MAX_CHANNELS, MAX_RANKS, MAX_QUEUE, MAX_CYCLES = 64, 16, 4096, 1 << 40


def power_of_two(maximum: int):
    """argparse type: a power of two in [1, maximum]."""
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            value = 0
        if not 1 <= value <= maximum or value & (value - 1):
            raise argparse.ArgumentTypeError(f"expected a power of two in [1, {maximum}], got {text!r}")
        return value
    return parse


def volts(text: str) -> float:
    """argparse type: a supply voltage in volts, > 0 (the spec's VDD table decides the rest)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 10:                     # nan fails too
        raise argparse.ArgumentTypeError(f"expected a voltage in volts, > 0 (within the spec's VDD "
                                         f"table), got {text!r}")
    return value
