"""Controller configuration shared by both engines (see docs/controller.md)."""
from __future__ import annotations

from dataclasses import dataclass

SCHEDULERS = ("fcfs", "frfcfs", "frfcfs_cap")
PAGE_POLICIES = ("open", "closed")
SALP_MODES = ("none", "masa")
#: Controller variants (docs/controller.md, "Controller variants"): ``r2.1`` follows Ramulator 2.1's
#: generic DDR controller request for request; ``r2.0-conservative`` keeps the rules the project
#: used before (Ramulator 2.0's pick-then-drop, no write coalescing, refresh at multiples of
#: nREFI, rank-switch gaps that keep the data bus JEDEC-clean).
CONTROLLERS = ("r2.1", "r2.0-conservative")
DEFAULT_CONTROLLER = "r2.1"


class ConfigError(ValueError):
    """A controller setting is out of range; the message starts with the setting's name."""


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
    controller: str = DEFAULT_CONTROLLER
    #: Refresh interval in cycles; None: the spec's nREFI.
    refresh_interval: int | None = None
    #: Power-down after this many idle cycles of a rank (None: never). docs/controller.md.
    powerdown_idle: int | None = None
    #: Self-refresh after this many idle cycles of a rank (None: never); > powerdown_idle.
    self_refresh_idle: int | None = None

    def __post_init__(self):
        for value, allowed, what in ((self.scheduler, SCHEDULERS, "scheduler"),
                                     (self.page_policy, PAGE_POLICIES, "page_policy"),
                                     (self.salp, SALP_MODES, "salp"),
                                     (self.controller, CONTROLLERS, "controller")):
            if value not in allowed:
                raise ConfigError(f"{what}: unknown value {value!r}; expected one of {', '.join(allowed)}")
        if self.read_queue < 1 or self.write_queue < 1:
            raise ConfigError("read_queue/write_queue: queue sizes must be >= 1")
        if not 0.0 <= self.write_low_watermark <= self.write_high_watermark <= 1.0:
            raise ConfigError(f"write watermarks: must satisfy 0 <= low <= high <= 1, got low "
                              f"{self.write_low_watermark}, high {self.write_high_watermark}")
        if self.row_hit_cap < 1:
            raise ConfigError("row_hit_cap: must be >= 1")
        for name in ("refresh_interval", "powerdown_idle", "self_refresh_idle"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name}: must be a whole number of cycles >= 1, got {value!r}")
        if (self.powerdown_idle is not None and self.self_refresh_idle is not None
                and self.self_refresh_idle <= self.powerdown_idle):
            raise ConfigError(f"self_refresh_idle: must be longer than powerdown_idle "
                              f"({self.self_refresh_idle} <= {self.powerdown_idle})")

    @property
    def r21(self) -> bool:
        """True for the Ramulator 2.1 variant."""
        return self.controller == "r2.1"

    @property
    def power_management(self) -> bool:
        """Power-down or self-refresh is enabled."""
        return self.powerdown_idle is not None or self.self_refresh_idle is not None

    def nrefi(self, spec) -> int:
        """The refresh interval in cycles: ``refresh_interval`` or the spec's nREFI."""
        return self.refresh_interval if self.refresh_interval is not None else spec.timing.nREFI

    def first_refresh_cycle(self, spec) -> int:
        """Cycle at which refresh is first raised: nREFI - 1 (r2.1: Ramulator 2.1 increments its
        clock before the refresh check) or nREFI (r2.0-conservative)."""
        n = self.nrefi(spec)
        return n - 1 if self.r21 else n


def check_config(spec, config: ControllerConfig) -> None:
    """ConfigError if ``config`` cannot run on ``spec``: a refresh that never ends, or power
    management on a spec without power-down / self-refresh data (message names the file and
    key)."""
    nrefi = config.nrefi(spec)
    if config.refresh and spec.timing.nRFC >= nrefi:
        raise ConfigError(f"refresh_interval: nRFC ({spec.timing.nRFC}) >= nREFI ({nrefi}) on {spec.name}: "
                          "with refresh on, the controller would never leave refresh")
    if config.power_management:
        from dramsim.spec import power_data_error
        msg = power_data_error(spec, True, config.self_refresh_idle is not None)
        if msg:
            raise ConfigError(msg)
