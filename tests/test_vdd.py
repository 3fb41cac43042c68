"""Reduced-VDD timings: table points reproduced exactly, linear in between, clear errors outside."""
import math

import numpy as np

import pytest

from dramsim.spec import load_spec
from dramsim.vdd import VddError, core_latencies_ns, spec_at_vdd, table_voltages, vdd_range

DDR3L = load_spec("DDR3L-1600K")


def test_nominal_is_identity():
    for name in ("DDR3-1600K", "DDR3L-1600K", "DDR4-2400R"):
        s = load_spec(name)
        at = spec_at_vdd(s, s.vdd_nominal)
        assert at.timing == s.timing and at.vdd == s.vdd_nominal
        assert s.at_vdd(s.vdd_nominal) == at


@pytest.mark.parametrize("point", DDR3L.vdd_table, ids=lambda p: f"{p.vdd}V")
def test_table_points_reproduced(point):
    s = spec_at_vdd(DDR3L, point.vdd)
    assert s.vdd == point.vdd
    assert s.timing.nRCD == math.ceil(point.tRCD_ns / 1.25 - 1e-9)
    assert s.timing.nRAS == math.ceil(point.tRAS_ns / 1.25 - 1e-9)
    assert s.timing.nRP == math.ceil(point.tRP_ns / 1.25 - 1e-9)
    assert s.timing.nRC == s.timing.nRAS + s.timing.nRP
    lat = core_latencies_ns(DDR3L, point.vdd)
    assert (lat.tRCD_ns, lat.tRAS_ns, lat.tRP_ns) == (point.tRCD_ns, point.tRAS_ns, point.tRP_ns)


def test_linear_between_points():
    a, b = DDR3L.vdd_table[0], DDR3L.vdd_table[1]  # sorted ascending by the loader
    mid = core_latencies_ns(DDR3L, (a.vdd + b.vdd) / 2)
    assert mid.tRCD_ns == pytest.approx((a.tRCD_ns + b.tRCD_ns) / 2)
    assert mid.tRAS_ns == pytest.approx((a.tRAS_ns + b.tRAS_ns) / 2)
    quarter = core_latencies_ns(DDR3L, a.vdd + 0.25 * (b.vdd - a.vdd))
    assert quarter.tRP_ns == pytest.approx(a.tRP_ns + 0.25 * (b.tRP_ns - a.tRP_ns))


def test_lower_vdd_never_faster():
    volts = table_voltages(DDR3L)
    prev = None
    for v in sorted(volts, reverse=True):
        t = spec_at_vdd(DDR3L, v).timing
        if prev is not None:
            assert t.nRCD >= prev.nRCD and t.nRAS >= prev.nRAS and t.nRP >= prev.nRP
        prev = t
    assert spec_at_vdd(DDR3L, min(volts)).timing.nRCD > DDR3L.timing.nRCD


def test_other_timings_untouched():
    s = spec_at_vdd(DDR3L, 1.1)
    for f in ("nCL", "nCWL", "nBL", "nRTP", "nWR", "nFAW", "nRFC", "nREFI"):
        assert getattr(s.timing, f) == getattr(DDR3L.timing, f)
    assert s.currents == DDR3L.currents  # currents scale in energy.py, not here


def test_out_of_range():
    lo, hi = vdd_range(DDR3L)
    assert (lo, hi) == (1.025, 1.35)
    with pytest.raises(VddError,
                       match=r"VDD 1\.0 V is outside the range of DDR3L-1600K's VDD table \(1\.025 V \.\. 1\.35 V"):
        spec_at_vdd(DDR3L, 1.0)
    with pytest.raises(VddError, match="outside"):
        spec_at_vdd(DDR3L, 1.4)
    ddr4 = load_spec("DDR4-2400R")
    with pytest.raises(VddError, match=r"only 1\.2 V"):
        spec_at_vdd(ddr4, 1.1)
    assert issubclass(VddError, ValueError)


def test_ddr3l_table_follows_documented_model():
    """The DDR3L table header documents t(V) = t(1.35) * ((1.35 - 0.45) / (V - 0.45)) ** 1.3."""
    for p in DDR3L.vdd_table:
        f = ((1.35 - 0.45) / (p.vdd - 0.45)) ** 1.3
        assert p.tRCD_ns == pytest.approx(13.75 * f, abs=0.006)
        assert p.tRP_ns == pytest.approx(13.75 * f, abs=0.006)
        assert p.tRAS_ns == pytest.approx(35.0 * f, abs=0.006)
    assert len(DDR3L.vdd_table) == 14


# ---------------------------------------------------------------- timing models
from dramsim.vdd import TIMING_MODELS, core_latencies_model_ns, spice_increase_table  # noqa: E402


def test_timing_models_default_is_the_table_and_nominal_is_flat():
    assert TIMING_MODELS == ("alpha", "spice", "nominal")
    for v in (1.35, 1.2, 1.1, 1.025):
        assert spec_at_vdd(DDR3L, v) == spec_at_vdd(DDR3L, v, "alpha")
        t = spec_at_vdd(DDR3L, v, "nominal").timing
        assert (t.nRCD, t.nRAS, t.nRP, t.nRC) == (11, 28, 11, 39)
        assert spec_at_vdd(DDR3L, v, "nominal").vdd == v


def test_spice_model_is_datasheet_plus_simulated_increase():
    rows = spice_increase_table()
    assert rows[-1][0] == 1.35 and rows[-1][1:] == (0.0, 0.0, 0.0) and rows[0][0] == 1.0
    for col in (1, 2, 3):                                   # never faster at a lower VDD
        assert all(a[col] >= b[col] for a, b in zip(rows, rows[1:]))
    p = core_latencies_model_ns(DDR3L, 1.025, "spice")
    assert (p.tRCD_ns, p.tRAS_ns, p.tRP_ns) == pytest.approx((13.75 + 2.99, 35.0 + 7.72, 13.75 + 3.20))
    t = spec_at_vdd(DDR3L, 1.025, "spice").timing
    assert (t.nRCD, t.nRAS, t.nRP, t.nRC) == (14, 35, 14, 49)
    alpha = spec_at_vdd(DDR3L, 1.025).timing                # the alpha-power law is the upper bound
    assert (alpha.nRCD, alpha.nRAS, alpha.nRP) == (20, 51, 20)
    for v in np.linspace(1.025, 1.35, 14):
        a, s = core_latencies_model_ns(DDR3L, v), core_latencies_model_ns(DDR3L, v, "spice")
        assert s.tRCD_ns <= a.tRCD_ns + 1e-9 and s.tRAS_ns <= a.tRAS_ns + 1e-9 and s.tRP_ns <= a.tRP_ns + 1e-9


def test_timing_model_errors():
    with pytest.raises(VddError, match=r"--vdd-timing 'fast': choose one of alpha, spice, nominal"):
        spec_at_vdd(DDR3L, 1.1, "fast")
    with pytest.raises(VddError, match=r"1.35 V DDR3L array; DDR4-2400R has nominal VDD 1.2 V"):
        spec_at_vdd(load_spec("DDR4-2400R"), 1.2, "spice")
    with pytest.raises(VddError, match="outside"):         # no model opens voltages the spec lacks
        spec_at_vdd(DDR3L, 1.0, "nominal")


def test_spice_table_strict_parse(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("# c\nvdd,dtRCD_ns,dtRAS_ns,dtRP_ns\n1.35,0,0,0\n1.2,x,1,1\n")
    with pytest.raises(VddError, match=r"t.csv:4: field 'dtRCD_ns'"):
        spice_increase_table(str(bad))
