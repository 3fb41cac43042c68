"""Controller configuration shared by both engines (see docs/controller.md)."""
from __future__ import annotations

from dataclasses import dataclass

SCHEDULERS = ("fcfs", "frfcfs", "frfcfs_cap")
PAGE_POLICIES = ("open", "closed")
SALP_MODES = ("none", "masa")


@dataclass(frozen=True)
class ControllerConfig:
    scheduler: str = "frfcfs"
    page_policy: str = "open"
    salp: str = "none"
    read_queue: int = 32
    write_queue: int = 32
    write_high_watermark: float = 0.8
    write_low_watermark: float = 0.2
    row_hit_cap: int = 16
    refresh: bool = True

    def __post_init__(self):
        for value, allowed, what in ((self.scheduler, SCHEDULERS, "scheduler"),
                                     (self.page_policy, PAGE_POLICIES, "page policy"),
                                     (self.salp, SALP_MODES, "salp")):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
        if self.read_queue < 1 or self.write_queue < 1:
            raise ValueError("queue sizes must be >= 1")
        if not 0.0 <= self.write_low_watermark <= self.write_high_watermark <= 1.0:
            raise ValueError("write watermarks must satisfy 0 <= low <= high <= 1")
        if self.row_hit_cap < 1:
            raise ValueError("row_hit_cap must be >= 1")
