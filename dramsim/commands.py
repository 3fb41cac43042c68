"""DRAM command codes and the command-log record layout shared by both engines and the checker.

The codes are small integers so that the numba engine can use them inside kernels; the names
are what users see (CSV logs, tables).
"""
import numpy as np

ACT, PRE, PREA, RD, WR, RDA, WRA, REF, PDE, PDX, SRE, SRX = range(12)
COMMAND_NAMES = ("ACT", "PRE", "PREA", "RD", "WR", "RDA", "WRA", "REF", "PDE", "PDX", "SRE", "SRX")
N_COMMANDS = len(COMMAND_NAMES)
COLUMN_COMMANDS = (RD, WR, RDA, WRA)
READ_COMMANDS = (RD, RDA)
WRITE_COMMANDS = (WR, WRA)
#: Rank-wide commands (no bank coordinates): refresh and power management (docs/controller.md).
RANK_COMMANDS = (PREA, REF, PDE, PDX, SRE, SRX)
#: Power-down entry/exit and self-refresh entry/exit (issued only with power management on).
POWER_COMMANDS = (PDE, PDX, SRE, SRX)

#: One issued command. ``request`` is the index (0-based, in trace order) of the request the
#: command was issued for, or -1 for rank commands (PREA, REF, PDE, PDX, SRE, SRX).
#: Fields that do not apply to a command (e.g. ``row`` of a PREA, ``column`` of an ACT) are -1.
COMMAND_LOG_DTYPE = np.dtype([
    ("cycle", np.int64),
    ("channel", np.int16),
    ("rank", np.int16),
    ("bankgroup", np.int16),
    ("bank", np.int16),        # bank index within its bank group
    ("subarray", np.int32),
    ("row", np.int32),         # row index within the bank (subarray bits included)
    ("column", np.int32),
    ("command", np.uint8),
    ("request", np.int64),
])


def command_code(name: str) -> int:
    """Map a command name (case-insensitive) to its code; ValueError for an unknown name."""
    try:
        return COMMAND_NAMES.index(name.upper())
    except ValueError:
        raise ValueError(f"unknown DRAM command {name!r}; expected one of {', '.join(COMMAND_NAMES)}") from None
