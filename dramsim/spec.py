"""DRAM device specification: organisation, timings (in clock cycles), currents and VDD.

The dataclasses below are the contract every part of ``dramsim`` codes against; the TOML
loader (``load_spec``) and the VDD scaling (``DramSpec.at_vdd``) live in this module too.
Timings are integers in clock cycles of ``tck_ns``; currents are per device in mA.
"""
from __future__ import annotations

import math
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser from PyPI (declared in pyproject.toml)
    import tomli as tomllib
from dataclasses import dataclass, field, fields, replace  # noqa: F401 (replace re-exported)
from pathlib import Path


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
    # Power-down and self-refresh (optional; needed only with power management on):
    nXP: int | None = None      # power-down exit to any command (fast exit)
    nXPDLL: int | None = None   # slow-exit (DLL off) power-down exit to RD/WR; not used (fast exit)
    nCKE: int | None = None     # minimum power-down duration (tPD = tCKE)
    nCKESR: int | None = None   # minimum self-refresh duration
    nXS: int | None = None      # self-refresh exit to commands not needing the DLL
    nXSDLL: int | None = None   # self-refresh exit to column commands (DLL relock, tDLLK)


#: Timings power-down needs (nXPDLL is informational) and those self-refresh needs on top.
POWERDOWN_TIMINGS = ("nXP", "nCKE")
SELF_REFRESH_TIMINGS = ("nCKESR", "nXS", "nXSDLL")
OPTIONAL_TIMINGS = ("nXP", "nXPDLL", "nCKE", "nCKESR", "nXS", "nXSDLL")


@dataclass(frozen=True)
class Currents:
    """Per-device IDD currents in mA at the nominal VDD (datasheet values)."""
    IDD0: float
    IDD2N: float
    IDD3N: float
    IDD4R: float
    IDD4W: float
    IDD5B: float
    IDD2P: float | None = None   # precharge power-down (fast exit, IDD2P1)
    IDD3P: float | None = None   # active power-down
    IDD6: float | None = None    # self-refresh


#: Currents power-down needs and the one self-refresh needs on top (all optional in a file).
POWERDOWN_CURRENTS = ("IDD2P", "IDD3P")
SELF_REFRESH_CURRENTS = ("IDD6",)
OPTIONAL_CURRENTS = ("IDD2P", "IDD3P", "IDD6")


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


# --------------------------------------------------------------------------------------------
# VDD scaling hook (the implementation lives in dramsim.vdd)
# --------------------------------------------------------------------------------------------

def _at_vdd(self: DramSpec, vdd: float) -> DramSpec:
    """This spec at supply voltage ``vdd`` (see ``dramsim.vdd.spec_at_vdd``)."""
    from dramsim.vdd import spec_at_vdd
    return spec_at_vdd(self, vdd)


DramSpec.at_vdd = _at_vdd


# --------------------------------------------------------------------------------------------
# TOML loading and validation
# --------------------------------------------------------------------------------------------

SPECS_DIR = Path(__file__).with_name("specs")


class SpecError(ValueError):
    """A device-spec file is unreadable, incomplete or physically impossible.

    The message is one line: ``<file>: <section.key>: <what is wrong>``.
    """


def bundled_spec_names() -> list[str]:
    """Names of the device specs shipped in ``dramsim/specs`` (file stems), sorted."""
    return sorted(p.stem for p in SPECS_DIR.glob("*.toml"))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _is_pow2(v: int) -> bool:
    return v >= 1 and (v & (v - 1)) == 0


# Section -> {key: (kind, required)}; kind is "int", "float" or "str".
_ORG_KEYS = {f.name: ("int", f.name != "subarrays") for f in fields(Organization)}
_TIMING_KEYS = {"tck_ns": ("float", True),
                **{f.name: ("int", f.name not in OPTIONAL_TIMINGS) for f in fields(Timing)}}
_CURRENT_KEYS = {f.name: ("float", f.name not in OPTIONAL_CURRENTS) for f in fields(Currents)}
_VDD_KEYS = {"nominal": ("float", True), "current_exponent": ("float", False), "table": ("list", False)}
_VDD_POINT_KEYS = {f.name: ("float", True) for f in fields(VddPoint)}
_TOP_KEYS = {"name": ("str", False), "base": ("str", False), "organization": ("table", True),
             "timing": ("table", True), "currents": ("table", True), "vdd": ("table", True)}
_SECTIONS = {"organization": _ORG_KEYS, "timing": _TIMING_KEYS, "currents": _CURRENT_KEYS, "vdd": _VDD_KEYS}
DEFAULT_SUBARRAYS = 8


def _check_keys(where: str, table: dict, schema: dict, fail) -> None:
    """Unknown keys, missing required keys and wrong types of one TOML table."""
    for key in table:
        if key not in schema:
            fail(f"{where}{key}", f"unknown key; expected one of {', '.join(schema)}")
    for key, (kind, required) in schema.items():
        if key not in table:
            if required:
                fail(f"{where}{key}", "missing")
            continue
        v = table[key]
        ok = {"int": _is_int, "float": _is_number, "str": lambda x: isinstance(x, str),
              "table": lambda x: isinstance(x, dict), "list": lambda x: isinstance(x, list)}[kind](v)
        if not ok:
            want = {"int": "an integer", "float": "a finite number", "str": "a string",
                    "table": "a table", "list": "an array of tables"}[kind]
            fail(f"{where}{key}", f"must be {want}, got {v!r}")


def _merge(base: dict, over: dict) -> dict:
    """Override ``base`` with ``over`` key by key inside tables; arrays are replaced whole."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_toml(path: Path) -> dict:
    """The TOML document of ``path``; a UTF-8 byte-order mark is skipped, a binary file named."""
    from traces.cli import read_text_bytes
    data = read_text_bytes(path, "a TOML spec", SpecError)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start}); save the spec as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from None


def _resolve(name_or_path) -> Path:
    text = str(name_or_path)
    if not text.strip():
        raise SpecError("(empty): no spec: give a bundled spec name or a .toml file")
    by_lower = {n.lower(): n for n in bundled_spec_names()}
    if text.lower() in by_lower:
        return SPECS_DIR / f"{by_lower[text.lower()]}.toml"
    p = Path(text)
    if p.is_file():
        return p
    if p.is_dir():
        raise SpecError(f"{text}: is a directory, not a spec file (.toml) or a bundled spec name")
    raise SpecError(f"{text}: no such spec: not a bundled spec ({', '.join(bundled_spec_names())}) "
                    "and not a readable .toml file")


def _load_raw(path: Path, chain: tuple = ()) -> dict:
    """Read a spec file, following ``base = ...`` (a bundled name or a path next to the file)."""
    if path.resolve() in chain:
        raise SpecError(f"{path}: base: circular base chain ({' -> '.join(str(p) for p in chain)})")
    raw = _read_toml(path)
    base = raw.get("base")
    if base is None:
        return raw
    if not isinstance(base, str):
        raise SpecError(f"{path}: base: must be a string naming a bundled spec or a .toml path")
    candidate = path.parent / base
    base_path = candidate if candidate.is_file() else None
    if base_path is None:
        try:
            base_path = _resolve(base)
        except SpecError:
            raise SpecError(f"{path}: base: unknown spec {base!r}; bundled specs are "
                            f"{', '.join(bundled_spec_names())}") from None
    parent = _load_raw(base_path, chain + (path.resolve(),))
    parent.pop("base", None)
    parent.setdefault("name", base_path.stem)
    over = {k: v for k, v in raw.items() if k != "base"}
    merged = _merge(parent, over)
    if "name" not in over:
        merged["name"] = f"{parent['name']}+{path.stem}"
    return merged


def load_spec(name_or_path, channels: int | None = None, ranks: int | None = None) -> DramSpec:
    """Load a device spec by bundled name (case-insensitive, e.g. ``"DDR3L-1600K"``) or TOML path.

    ``channels``/``ranks`` override the file (the CLIs' ``--channels/--ranks``). Raises
    ``SpecError`` (a ``ValueError``) with a one-line ``file: key: problem`` message.
    """
    path = _resolve(name_or_path)
    raw = _load_raw(path)
    if channels is not None:
        raw.setdefault("organization", {})["channels"] = channels
    if ranks is not None:
        raw.setdefault("organization", {})["ranks"] = ranks
    return _build(raw, path)


def _build(raw: dict, path: Path) -> DramSpec:
    def fail(key: str, msg: str):
        raise SpecError(f"{path}: {key}: {msg}")

    _check_keys("", raw, _TOP_KEYS, fail)
    for section, schema in _SECTIONS.items():
        _check_keys(f"{section}.", raw[section], schema, fail)
    o = dict(raw["organization"])
    o.setdefault("subarrays", DEFAULT_SUBARRAYS)
    t = dict(raw["timing"])
    tck_ns = float(t.pop("tck_ns"))
    c = raw["currents"]
    v = raw["vdd"]
    org = Organization(**o)
    timing = Timing(**t)
    currents = Currents(**{k: float(x) for k, x in c.items()})
    _validate_org(org, fail)
    _validate_timing(org, timing, tck_ns, fail)
    _validate_currents(currents, fail)
    vdd_nominal = float(v["nominal"])
    exponent = float(v.get("current_exponent", 1.0))
    if vdd_nominal <= 0:
        fail("vdd.nominal", f"must be > 0 V, got {vdd_nominal}")
    if exponent < 0:
        fail("vdd.current_exponent", f"must be >= 0, got {exponent}")
    table = _build_vdd_table(v.get("table"), timing, tck_ns, vdd_nominal, fail)
    return DramSpec(name=raw.get("name", path.stem), org=org, timing=timing, tck_ns=tck_ns,
                    currents=currents, vdd_nominal=vdd_nominal, vdd=vdd_nominal,
                    current_vdd_exponent=exponent, vdd_table=table, source=str(path))


def _validate_org(org: Organization, fail) -> None:
    for f in fields(Organization):
        value = getattr(org, f.name)
        if value < 1:
            fail(f"organization.{f.name}", f"must be >= 1, got {value}")
        if not _is_pow2(value):
            fail(f"organization.{f.name}", f"must be a power of two (address bits are sliced), got {value}")
    if org.subarrays > org.rows:
        fail("organization.subarrays", f"{org.subarrays} subarrays do not divide {org.rows} rows")
    if org.burst_length > org.columns:
        fail("organization.burst_length", f"burst length {org.burst_length} exceeds {org.columns} columns")


def cycles_for_ns(t_ns: float, tck_ns: float) -> int:
    """Smallest whole number of clock cycles covering ``t_ns`` (tolerant of float noise)."""
    return max(1, math.ceil(t_ns / tck_ns - 1e-9))


def _validate_timing(org: Organization, t: Timing, tck_ns: float, fail) -> None:
    if not tck_ns > 0:
        fail("timing.tck_ns", f"must be > 0 ns, got {tck_ns}")
    for f in fields(Timing):
        value = getattr(t, f.name)
        if value is None:
            continue
        low = 0 if f.name == "nRTRS" else 1
        if value < low:
            fail(f"timing.{f.name}", f"must be >= {low} cycles, got {value}")
    if 2 * t.nBL != org.burst_length:
        fail("timing.nBL", f"must be burst_length/2 = {org.burst_length // 2} (double data rate), "
                           f"got {t.nBL}")
    if t.nRAS > t.nRC:
        fail("timing.nRAS", f"nRAS ({t.nRAS}) > nRC ({t.nRC}): a row cannot stay open longer than "
                            "the row cycle")
    if t.nRP >= t.nRC:
        fail("timing.nRP", f"nRP ({t.nRP}) >= nRC ({t.nRC}): the row cycle must include tRAS and tRP")
    if t.nRCD > t.nRAS:
        fail("timing.nRCD", f"nRCD ({t.nRCD}) > nRAS ({t.nRAS})")
    if t.nRFC >= t.nREFI:
        fail("timing.nRFC", f"nRFC ({t.nRFC}) >= nREFI ({t.nREFI}): the device would never leave refresh")
    for low_name, high_name in (("nXP", "nXPDLL"), ("nCKE", "nCKESR"), ("nXS", "nXSDLL"), ("nRFC", "nXS")):
        lo, hi = getattr(t, low_name), getattr(t, high_name)
        if lo is not None and hi is not None and hi < lo:
            fail(f"timing.{high_name}", f"{high_name} ({hi}) < {low_name} ({lo})")
    for short, long_ in (("nRRD_S", "nRRD_L"), ("nCCD_S", "nCCD_L"), ("nWTR_S", "nWTR_L")):
        s, l_ = getattr(t, short), getattr(t, long_)
        if org.bankgroups == 1 and s != l_:
            fail(f"timing.{long_}", f"must equal {short} ({s}) for a device without bank groups, got {l_}")
        if l_ < s:
            fail(f"timing.{long_}", f"{long_} ({l_}) < {short} ({s}): same-bank-group spacing "
                                    "cannot be shorter")


def _validate_currents(c: Currents, fail) -> None:
    for f in fields(Currents):
        value = getattr(c, f.name)
        if value is None:
            continue
        if not value > 0:
            fail(f"currents.{f.name}", f"must be > 0 mA, got {value}")
    if c.IDD3N < c.IDD2N:
        fail("currents.IDD3N", f"active standby IDD3N ({c.IDD3N}) < precharge standby IDD2N ({c.IDD2N})")
    for name in ("IDD0", "IDD4R", "IDD4W", "IDD5B"):
        if getattr(c, name) < c.IDD3N:
            fail(f"currents.{name}", f"{name} ({getattr(c, name)}) < IDD3N ({c.IDD3N}): "
                                     "the operation's energy above background would be negative")
    for name, standby in (("IDD2P", "IDD2N"), ("IDD3P", "IDD3N"), ("IDD6", "IDD2N")):
        value = getattr(c, name)
        if value is not None and value > getattr(c, standby):
            fail(f"currents.{name}", f"{name} ({value}) > {standby} ({getattr(c, standby)}): a low-power "
                                     "state cannot draw more than standby")


def power_data_error(spec: DramSpec, powerdown: bool, self_refresh: bool) -> str | None:
    """None if ``spec`` has the timings and currents power-down (``powerdown``) and self-refresh
    (``self_refresh``) need, else one line ``<file>: <section.key>: missing; ...``."""
    need = []
    if powerdown or self_refresh:
        need += [("timing", k) for k in POWERDOWN_TIMINGS] + [("currents", k) for k in POWERDOWN_CURRENTS]
    if self_refresh:
        need += [("timing", k) for k in SELF_REFRESH_TIMINGS] + [("currents", k) for k in SELF_REFRESH_CURRENTS]
    for section, key in need:
        if getattr(spec.timing if section == "timing" else spec.currents, key) is None:
            what = "power-down and self-refresh need" if self_refresh else "power-down needs"
            return (f"{spec.source or spec.name}: {section}.{key}: missing; {what} "
                    f"{', '.join(POWERDOWN_TIMINGS + (SELF_REFRESH_TIMINGS if self_refresh else ()))} "
                    f"and {', '.join(POWERDOWN_CURRENTS + (SELF_REFRESH_CURRENTS if self_refresh else ()))}")
    return None


def _build_vdd_table(rows, t: Timing, tck_ns: float, vdd_nominal: float, fail) -> tuple[VddPoint, ...]:
    """Parse ``[[vdd.table]]``; without one, the table is the nominal point only."""
    if rows is None:
        return (VddPoint(vdd_nominal, t.nRCD * tck_ns, t.nRAS * tck_ns, t.nRP * tck_ns),)
    points = []
    for i, row in enumerate(rows):
        where = f"vdd.table[{i}]."
        if not isinstance(row, dict):
            fail(f"vdd.table[{i}]", "must be a table with keys vdd, tRCD_ns, tRAS_ns, tRP_ns")
        _check_keys(where, row, _VDD_POINT_KEYS, fail)
        point = VddPoint(**{k: float(x) for k, x in row.items()})
        for f in fields(VddPoint):
            if not getattr(point, f.name) > 0:
                fail(f"{where}{f.name}", f"must be > 0, got {getattr(point, f.name)}")
        points.append(point)
    points.sort(key=lambda p: p.vdd)
    for a, b in zip(points, points[1:]):
        if a.vdd == b.vdd:
            fail("vdd.table", f"two points at {a.vdd} V")
    nominal = [p for p in points if math.isclose(p.vdd, vdd_nominal, abs_tol=1e-9)]
    if not nominal:
        fail("vdd.table", f"has no point at the nominal VDD {vdd_nominal} V")
    p = nominal[0]
    for attr, n_name in (("tRCD_ns", "nRCD"), ("tRAS_ns", "nRAS"), ("tRP_ns", "nRP")):
        n = cycles_for_ns(getattr(p, attr), tck_ns)
        if n != getattr(t, n_name):
            fail("vdd.table", f"{attr} {getattr(p, attr)} ns at the nominal {vdd_nominal} V is {n} cycles "
                               f"of {tck_ns} ns but timing.{n_name} is {getattr(t, n_name)}")
    return tuple(points)


def spec_digest(spec: DramSpec) -> str:
    """sha256 (hex) of everything that defines ``spec`` as simulated -- organisation, timings (at
    its operating VDD), currents, VDD data, name -- but not the file it was read from. Command
    logs record it so that the checker can tell whether it is checking against the same device."""
    import hashlib
    import json
    from dataclasses import asdict
    doc = asdict(spec)
    doc.pop("source", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=repr).encode()).hexdigest()
