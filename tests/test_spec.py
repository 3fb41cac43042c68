"""Device-spec loading: every bundled spec loads, every validation path names file and key."""
from pathlib import Path

import pytest

from dramsim.spec import SPECS_DIR, DramSpec, SpecError, bundled_spec_names, load_spec

BUNDLED = bundled_spec_names()


def test_bundled_names():
    assert {"DDR3-1600K", "DDR3L-1600K", "DDR4-2400R"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_spec_loads(name):
    spec = load_spec(name)
    assert isinstance(spec, DramSpec)
    assert spec.vdd == spec.vdd_nominal
    assert spec.timing.nRAS < spec.timing.nRC
    assert spec.org.rows % spec.org.subarrays == 0


def test_ddr3l_textbook_values():
    """DDR3L-1600K: 11-11-11 at 1.25 ns, 1.35 V, 4 Gb x8 -> 4 GiB per 8-chip rank."""
    s = load_spec("ddr3l-1600k")  # case-insensitive
    assert (s.timing.nCL, s.timing.nRCD, s.timing.nRP) == (11, 11, 11)
    assert s.tck_ns == 1.25 and s.vdd_nominal == 1.35
    assert s.org.capacity_bytes == 8 * 4 * 2**30 // 8  # eight 4 Gbit chips
    assert s.org.burst_bytes == 64 and s.org.banks == 8


def test_ddr4_bank_groups():
    s = load_spec("DDR4-2400R")
    assert s.org.bankgroups == 4 and s.org.banks == 16
    assert s.timing.nCCD_L > s.timing.nCCD_S
    assert s.org.capacity_bytes == 8 * 2**30  # eight 8 Gbit chips


def test_channel_rank_overrides():
    s = load_spec("DDR3L-1600K", channels=2, ranks=4)
    assert s.org.channels == 2 and s.org.ranks == 4
    assert s.org.capacity_bytes == 8 * 4 * 2**30


def test_unknown_name():
    with pytest.raises(SpecError, match="no such spec"):
        load_spec("DDR9-9999")


def _write(tmp_path: Path, text: str, name="user.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_override_with_base(tmp_path):
    p = _write(tmp_path, 'base = "DDR3L-1600K"\n[timing]\nnCL = 12\n')
    s = load_spec(p)
    assert s.timing.nCL == 12
    assert s.timing.nRCD == 11  # inherited
    assert s.name == "DDR3L-1600K+user"
    assert len(s.vdd_table) == len(load_spec("DDR3L-1600K").vdd_table)


def test_override_chain_relative_base(tmp_path):
    _write(tmp_path, 'base = "DDR3L-1600K"\nname = "mid"\n[organization]\nsubarrays = 16\n', "mid.toml")
    p = _write(tmp_path, 'base = "mid.toml"\n[organization]\nranks = 2\n')
    s = load_spec(p)
    assert s.org.subarrays == 16 and s.org.ranks == 2


def test_complete_user_file_equals_bundled(tmp_path):
    bundled = Path(load_spec("DDR4-2400R").source)
    p = _write(tmp_path, bundled.read_text())
    assert load_spec(p).timing == load_spec("DDR4-2400R").timing


def test_power_keys_are_optional(tmp_path):
    """A spec without the power-down keys loads; power management on it names what is missing."""
    from dramsim.spec import power_data_error
    text = "\n".join(line for line in (SPECS_DIR / "DDR3-1600K.toml").read_text().splitlines()
                     if not line.startswith(("nXP", "nXPDLL", "nCKE", "nXS", "IDD2P", "IDD3P", "IDD6")))
    p = _write(tmp_path, text)
    spec = load_spec(p)
    assert spec.timing.nXP is None and spec.currents.IDD6 is None
    assert power_data_error(spec, False, False) is None
    assert power_data_error(spec, True, False) == (f"{p}: timing.nXP: missing; power-down needs nXP, nCKE and "
                                                    "IDD2P, IDD3P")
    bundled = load_spec("DDR4-2400R")
    assert power_data_error(bundled, True, True) is None and bundled.timing.nXPDLL is None


def test_subarrays_default_to_8(tmp_path):
    text = Path(load_spec("DDR4-2400R").source).read_text().replace("subarrays = 8\n", "")
    assert load_spec(_write(tmp_path, text)).org.subarrays == 8


# (override TOML, key expected in the message, fragment of the message)
BAD = [
    ('[timing]\nnRAS = 40\n', "timing.nRAS", "nRAS (40) > nRC (39)"),
    ('[timing]\nnRP = 39\n', "timing.nRP", ">= nRC"),
    ('[timing]\nnRCD = 29\n', "timing.nRCD", "nRCD (29) > nRAS"),
    ('[timing]\nnCL = 11.5\n', "timing.nCL", "must be an integer"),
    ('[timing]\nnCL = true\n', "timing.nCL", "must be an integer"),
    ('[timing]\nnCL = 0\n', "timing.nCL", "must be >= 1"),
    ('[timing]\nnRTRS = -1\n', "timing.nRTRS", "must be >= 0"),
    ('[timing]\ntck_ns = 0\n', "timing.tck_ns", "must be > 0"),
    ('[timing]\ntck_ns = -1.25\n', "timing.tck_ns", "must be > 0"),
    ('[timing]\ntck_ns = "fast"\n', "timing.tck_ns", "finite number"),
    ('[timing]\nnBL = 8\n', "timing.nBL", "burst_length/2"),
    ('[timing]\nnRFC = 7000\n', "timing.nRFC", ">= nREFI"),
    ('[timing]\nnRRD_L = 6\n', "timing.nRRD_L", "without bank groups"),
    ('[timing]\nnFOO = 1\n', "timing.nFOO", "unknown key"),
    ('[organization]\nbanks_per_group = 6\n', "organization.banks_per_group", "power of two"),
    ('[organization]\nchannels = 3\n', "organization.channels", "power of two"),
    ('[organization]\nranks = 0\n', "organization.ranks", "must be >= 1"),
    ('[organization]\nsubarrays = 131072\n', "organization.subarrays", "do not divide"),
    ('[organization]\nsubarrays = 12\n', "organization.subarrays", "power of two"),
    ('[organization]\nburst_length = 2048\n', "organization.burst_length", "exceeds"),
    ('[currents]\nIDD0 = 0\n', "currents.IDD0", "must be > 0"),
    ('[currents]\nIDD0 = 20\n', "currents.IDD0", "< IDD3N"),
    ('[currents]\nIDD3N = 20\n', "currents.IDD3N", "< precharge standby"),
    ('[currents]\nIDD2P = 30\n', "currents.IDD2P", "> IDD2N"),
    ('[currents]\nIDD6 = 0\n', "currents.IDD6", "must be > 0"),
    ('[timing]\nnXSDLL = 100\n', "timing.nXSDLL", "nXSDLL (100) < nXS (216)"),
    ('[timing]\nnXS = 100\n', "timing.nXS", "nXS (100) < nRFC (208)"),
    ('[timing]\nnCKESR = 3\n', "timing.nCKESR", "< nCKE"),
    ('[timing]\nnXP = 0\n', "timing.nXP", "must be >= 1"),
    ('[vdd]\nnominal = -1\n', "vdd.nominal", "must be > 0"),
    ('[vdd]\ncurrent_exponent = -0.5\n', "vdd.current_exponent", "must be >= 0"),
    ('[vdd]\nnominal = 1.31\n', "vdd.table", "no point at the nominal"),
    ('[vdd]\ntable = [{vdd = 1.35, tRCD_ns = 15.0, tRAS_ns = 35.0, tRP_ns = 13.75}]\n', "vdd.table",
     "timing.nRCD is 11"),
    ('[vdd]\ntable = [{vdd = 1.35, tRCD_ns = 13.75, tRAS_ns = 35.0, tRP_ns = 13.75},'
     ' {vdd = 1.35, tRCD_ns = 13.75, tRAS_ns = 35.0, tRP_ns = 13.75}]\n', "vdd.table", "two points"),
    ('[vdd]\ntable = [{vdd = 1.35, tRCD_ns = 13.75, tRAS_ns = 35.0}]\n', "vdd.table[0].tRP_ns", "missing"),
    ('[vdd]\ntable = [{vdd = 1.35, tRCD_ns = -1.0, tRAS_ns = 35.0, tRP_ns = 13.75}]\n',
     "vdd.table[0].tRCD_ns", "must be > 0"),
    ('[vdd]\ntable = 3\n', "vdd.table", "array of tables"),
    ('colour = "red"\n', "colour", "unknown key"),
    ('timing = 5\n', "timing", "must be a table"),
]


@pytest.mark.parametrize("override,key,fragment", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_validation_errors(tmp_path, override, key, fragment):
    p = _write(tmp_path, 'base = "DDR3L-1600K"\n' + override)
    with pytest.raises(SpecError) as info:
        load_spec(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: {key}: "), msg
    assert fragment in msg, msg
    assert "\n" not in msg


def test_missing_key(tmp_path):
    text = Path(load_spec("DDR3-1600K").source).read_text().replace("nFAW = 24", "")
    p = _write(tmp_path, text)
    with pytest.raises(SpecError, match=r"timing\.nFAW: missing"):
        load_spec(p)


def test_missing_section(tmp_path):
    p = _write(tmp_path, 'name = "x"\n')
    with pytest.raises(SpecError, match=r": organization: missing"):
        load_spec(p)


def test_ddr4_bankgroup_spacing_error(tmp_path):
    p = _write(tmp_path, 'base = "DDR4-2400R"\n[timing]\nnCCD_L = 3\n')
    with pytest.raises(SpecError, match=r"timing\.nCCD_L: nCCD_L \(3\) < nCCD_S \(4\)"):
        load_spec(p)


def test_bad_toml_syntax(tmp_path):
    p = _write(tmp_path, "[timing\nnCL = 3\n")
    with pytest.raises(SpecError, match="invalid TOML"):
        load_spec(p)


def test_unknown_base(tmp_path):
    p = _write(tmp_path, 'base = "nope"\n')
    with pytest.raises(SpecError, match=r": base: unknown spec 'nope'"):
        load_spec(p)


def test_circular_base(tmp_path):
    _write(tmp_path, 'base = "b.toml"\n', "a.toml")
    p = _write(tmp_path, 'base = "a.toml"\n', "b.toml")
    with pytest.raises(SpecError, match="circular"):
        load_spec(p)


def test_bad_override_argument():
    with pytest.raises(SpecError, match="organization.channels: must be a power of two"):
        load_spec("DDR3L-1600K", channels=3)


def test_spec_error_is_value_error():
    assert issubclass(SpecError, ValueError)
