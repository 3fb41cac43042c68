"""DRAM device specification: organisation, timings (in clock cycles), currents and VDD.

The dataclasses below are the contract every part of ``dramsim`` codes against; the TOML
loader (``load_spec``) and the VDD scaling (``DramSpec.at_vdd``) live in this module too.
Timings are integers in clock cycles of ``tck_ns``; currents are per device in mA.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Organization:
    channels: int
    ranks: int             # per channel
    bankgroups: int        # 1 for DDR3
    banks_per_group: int   # banks per bank group (8 for DDR3, 4 for DDR4 x8)
    subarrays: int         # per bank, a power of two; the subarray is the top bits of the row
    rows: int              # per bank
    columns: int           # per row, in device-width units (e.g. 1024 for a 4Gb x8 DDR3)
    device_width: int      # bits per device (x8 -> 8)
    devices_per_rank: int  # chips sharing a rank (8 x8 chips -> 64-bit bus)
    burst_length: int      # 8 for DDR3/DDR4

    @property
    def banks(self) -> int:
        """Banks per rank."""
        return self.bankgroups * self.banks_per_group

    @property
    def bus_width_bits(self) -> int:
        return self.device_width * self.devices_per_rank

    @property
    def burst_bytes(self) -> int:
        """Bytes moved by one RD/WR (one cache line: 64 B for a 64-bit bus and BL8)."""
        return self.bus_width_bits * self.burst_length // 8

    @property
    def columns_per_row_bursts(self) -> int:
        """Column commands (bursts) that fit in one row."""
        return self.columns // self.burst_length

    @property
    def rows_per_subarray(self) -> int:
        return self.rows // self.subarrays

    @property
    def row_bytes(self) -> int:
        """Bytes in one row across the whole rank (the row buffer a rank-wide ACT opens)."""
        return self.columns * self.bus_width_bits // 8

    @property
    def capacity_bytes(self) -> int:
        return self.channels * self.ranks * self.banks * self.rows * self.row_bytes


@dataclass(frozen=True)
class Timing:
    """JEDEC timings in clock cycles (``n`` prefix as in Ramulator 2)."""
    nBL: int     # data-bus cycles per burst (BL/2 for DDR)
    nCL: int
    nCWL: int
    nRCD: int
    nRP: int
    nRAS: int
    nRC: int
    nRTP: int
    nWR: int
    nRRD_S: int
    nRRD_L: int  # equal to nRRD_S for devices without bank groups
    nFAW: int
    nCCD_S: int
    nCCD_L: int
    nWTR_S: int
    nWTR_L: int
    nRTRS: int
    nRFC: int
    nREFI: int


@dataclass(frozen=True)
class Currents:
    """Per-device IDD currents in mA at the nominal VDD (datasheet values)."""
    IDD0: float
    IDD2N: float
    IDD3N: float
    IDD4R: float
    IDD4W: float
    IDD5B: float


@dataclass(frozen=True)
class VddPoint:
    """Measured or modelled core timings (ns) at one supply voltage."""
    vdd: float
    tRCD_ns: float
    tRAS_ns: float
    tRP_ns: float


@dataclass(frozen=True)
class DramSpec:
    name: str
    org: Organization
    timing: Timing
    tck_ns: float
    currents: Currents
    vdd_nominal: float
    vdd: float                          # the operating VDD (== vdd_nominal unless at_vdd() was used)
    current_vdd_exponent: float = 1.0   # IDD ~ (vdd / vdd_nominal) ** exponent
    vdd_table: tuple[VddPoint, ...] = field(default_factory=tuple)
    source: str = ""                    # file the spec was loaded from
