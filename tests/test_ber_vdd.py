"""BER(VDD) curves from the Voltron data and user CSVs (dramsim.errors.ber_vdd)."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from dramsim.errors.ber_vdd import (DETECTION_FLOOR_BER, STATISTICS, BerCurve, BerError, NotOperatingError,
                                    curve_by_name_or_path, dimm_names, line_fraction_to_ber, load_voltron_table,
                                    voltron_curve, voltron_names, voltron_path)


@pytest.fixture(scope="module")
def raw():
    """The shipped table read independently with pandas."""
    return pd.read_csv(voltron_path(), comment="#")


def test_shipped_table_complete_and_parsed_identically(raw):
    assert len(raw) == 212 and set(raw.vendor) == {"A", "B", "C"}
    recs = load_voltron_table()
    assert len(recs) == len(raw)
    assert all(r.dimm == d and r.vdd == v and r.faulty_fraction == pytest.approx(p / 100, rel=1e-15)
               for r, (d, v, p) in zip(recs, raw[["dimm_name", "vdd", "error_cacheline_percent"]].values))


def test_line_fraction_conversion_inverts_independent_flips():
    for p in (1e-9, 1e-6, 1e-3, 5e-3):
        f = 1 - (1 - p) ** 512
        # -ln(1-f)/512 = -ln(1-p): the exact inverse 1-(1-f)**(1/512) up to a relative p/2
        assert line_fraction_to_ber(f) == pytest.approx(-math.log1p(-p), rel=1e-9)
        assert line_fraction_to_ber(f) == pytest.approx(p, rel=p)
    assert line_fraction_to_ber(0.0) == 0.0
    assert DETECTION_FLOOR_BER == pytest.approx(2.0 ** -25 / 512, rel=1e-5)


def test_every_curve_returns_measured_values_at_measured_voltages():
    for name in voltron_names():
        c = voltron_curve(name)
        for v, b in c.points:
            assert c.ber(v) == b


def test_dimm_curve_matches_raw_data(raw):
    for _, r in raw.iterrows():
        c = voltron_curve(r.dimm_name)
        expect = -math.log1p(-r.error_cacheline_percent / 100) / 512
        assert c.ber(r.vdd) == pytest.approx(expect, rel=1e-12, abs=0)


def test_vendor_curve_is_mean_ber_of_operating_dimms(raw):
    raw = raw.assign(ber=-np.log1p(-raw.error_cacheline_percent / 100) / 512)
    # at 1.075 V and 1.2 V every vendor-B DIMM that operates was measured directly
    for v in (1.075, 1.2):
        sel = raw[(raw.vendor == "B") & np.isclose(raw.vdd, v)]
        assert voltron_curve("B").ber(v) == pytest.approx(sel.ber.mean(), rel=1e-12)
    # vendor A at 1.10 V: A3 was not measured below 1.125 V (failed to operate) -> 9 DIMMs
    a = voltron_curve("A")
    assert a.n_operating[0] == 9
    sel = raw[(raw.vendor == "A") & np.isclose(raw.vdd, 1.1)]
    assert a.ber(1.1) == pytest.approx(sel.ber.mean(), rel=1e-12)


def test_all_is_mean_of_vendors_on_common_range():
    c = voltron_curve("all")
    assert c.vdd_range == (1.1, 1.35)
    for v in (1.1, 1.15, 1.2, 1.25):
        assert c.ber(v) == pytest.approx(np.mean([voltron_curve(x).ber(v) for x in "ABC"]), rel=1e-12)


def test_log_linear_between_points_and_zero_above_error_free():
    c = voltron_curve("B")
    (v0, b0), (v1, b1) = c.points[1], c.points[2]     # 1.05 V, 1.075 V, both > 0
    assert c.ber((v0 + v1) / 2) == pytest.approx(math.sqrt(b0 * b1), rel=1e-9)
    grid = np.linspace(v0, v1, 11)
    assert np.all(np.diff(c.ber(grid)) < 0)
    z = c.error_free_vdd()
    assert z == pytest.approx(1.15)
    assert np.all(c.ber(np.linspace(z, 1.35, 30)) == 0)
    assert c.ber(z - 0.001) > 0


def test_dimm_below_its_lowest_measured_voltage_does_not_operate():
    c = voltron_curve("A3")   # measured from 1.125 V only
    assert c.vdd_range[0] == 1.125
    with pytest.raises(NotOperatingError, match=r"A3.*does not operate at VDD 1.1 V.*1.125 V"):
        c.ber(1.1)
    assert not c.operates(1.1) and c.operates(1.125) and c.operates(1.2)
    with pytest.raises(BerError, match="outside the measured range"):   # above: not "not operating"
        c.ber(1.4)


@pytest.mark.parametrize("v", [1.0, 1.4, float("nan")])
def test_out_of_range_vdd_raises(v):
    with pytest.raises(ValueError, match="outside the measured range"):
        voltron_curve("B").ber(v)


def test_unknown_curve_name():
    with pytest.raises(BerError, match="unknown Voltron curve 'Z9'.*A, B, C, all"):
        voltron_curve("Z9")


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["A", "B", "C", "all", "B7", "C4"]),
       log_t=st.floats(min_value=-11, max_value=-2.5))
def test_min_vdd_is_lowest_voltage_within_budget(name, log_t):
    c = voltron_curve(name)
    t = 10.0 ** log_t
    if c.points[-1][1] > t:
        with pytest.raises(BerError):
            c.min_vdd(t)
        return
    v = c.min_vdd(t)
    above = np.linspace(v, c.vdd_range[1], 400)
    assert np.all(c.ber(above) <= t * (1 + 1e-9))
    if v > c.vdd_range[0] + 1e-6:
        assert c.ber(max(c.vdd_range[0], v - 2e-4)) > t


def test_user_csv_roundtrip(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("# my chip\nvdd,ber\n1.20,0\n1.10,1e-6\n1.00,1e-3\n")
    c = BerCurve.from_csv(p)
    assert c.name == "mine" and c.vdd_range == (1.0, 1.2)
    assert c.ber(1.0) == 1e-3 and c.ber(1.2) == 0.0
    assert c.ber(1.05) == pytest.approx(math.sqrt(1e-9), rel=1e-9)


@pytest.mark.parametrize("body, where", [
    ("vdd,ber\n1.1,abc\n1.2,0\n", ":2: field 'ber'"),
    ("vdd,ber\n1.1,1e-3\n1.2,2\n", ":3: field 'ber'"),
    ("vdd,ber\n1.1,1e-3\n-1.2,0\n", ":3: field 'vdd'"),
    ("vdd,ber\n1.1,1e-3\n1.1,0\n", ":3: field 'vdd'"),
    ("vdd,ber\n1.1,1e-3,7\n", ":2: expected 2 fields"),
    ("volts,ber\n1.1,1e-3\n", ":1: header"),
    ("vdd,ber\n1.1,1e-3\n", "field 'vdd': need at least two"),
    ("", "header: file is empty"),
])
def test_user_csv_errors_name_file_line_field(tmp_path, body, where):
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(BerError) as e:
        BerCurve.from_csv(p)
    msg = str(e.value)
    assert str(p) in msg and where in msg and "\n" not in msg


def test_missing_file(tmp_path):
    with pytest.raises(BerError, match="cannot read"):
        BerCurve.from_csv(tmp_path / "nope.csv")


# ---------------------------------------------------------------- per-DIMM curves and statistics
def _ber(pct):
    return -math.log1p(-pct / 100) / 512


def test_statistics_by_hand_from_the_csv():
    # vendor B at 1.05 V (CSV): B1 .004578, B10 31.961086, B11 .064614, B2 .222728, B3 .007728,
    # B4 .027207, B7 .131187, B8 .003016, B9 .024709 %; B5 and B12 not measured (not operating)
    ops = [0.004578, 31.961086, 0.064614, 0.222728, 0.007728, 0.027207, 0.131187, 0.003016, 0.024709]
    med = curve_by_name_or_path("B", statistic="median")
    # 11 DIMMs, 2 count as worst: the 6th of 11 is the 6th smallest of the 9 operating ones
    assert med.ber(1.05) == pytest.approx(_ber(sorted(ops)[5]), rel=1e-5)   # CSV values rounded here
    assert med.n_operating[0] == 9 and med.n_dimms == 11 and med.vdd_range[0] == 1.05
    # worst and strict mean need all 11: from 1.075 V; at 1.075 V the worst is B5 (.165990 %)
    worst = curve_by_name_or_path("B", statistic="worst")
    assert worst.vdd_range[0] == 1.075 and worst.ber(1.075) == pytest.approx(_ber(0.165990), rel=1e-5)
    mean = curve_by_name_or_path("B", statistic="mean")
    assert mean.ber(1.075) == pytest.approx(voltron_curve("B").ber(1.075), rel=1e-12)   # all operate there
    # the survivor mean at 1.025 V averages B1, B7, B8, B9 only
    surv = curve_by_name_or_path("B", statistic="mean-operating")
    assert surv.ber(1.025) == pytest.approx(np.mean([_ber(x) for x in (0.003728, 56.378609, 1.818904, 20.107093)]),
                                            rel=1e-5)
    assert surv == voltron_curve("B") and curve_by_name_or_path("B") is voltron_curve("B")   # legacy default unchanged


@pytest.mark.parametrize("stat, vendor, vdd", [("median", "B", 1.025), ("worst", "B", 1.05), ("mean", "B", 1.05),
                                               ("worst", "A", 1.1), ("mean", "C", 1.175)])
def test_statistic_undefined_where_dimms_stop_operating(stat, vendor, vdd):
    c = curve_by_name_or_path(vendor, statistic=stat)
    assert not c.operates(vdd)
    with pytest.raises(NotOperatingError, match=f"does not operate at VDD {vdd} V") as e:
        c.ber(vdd)
    assert "\n" not in str(e.value)


def test_named_dimm_and_bad_selections():
    assert curve_by_name_or_path("B", dimm="B7") is voltron_curve("B7")
    assert curve_by_name_or_path("all", dimm="C4") is voltron_curve("C4")
    assert dimm_names("A")[-1] == "A10" and len(dimm_names("B")) == 11
    with pytest.raises(BerError, match=r"--dimm B7: it is a DIMM of vendor B; vendor A's DIMMs are A1"):
        curve_by_name_or_path("A", dimm="B7")
    with pytest.raises(BerError, match=r"--dimm Z9: no such DIMM"):
        curve_by_name_or_path("B", dimm="Z9")
    with pytest.raises(BerError, match=r"--dimm-statistic 'avg': choose one of"):
        curve_by_name_or_path("B", statistic="avg")
    with pytest.raises(BerError, match=r"needs --vendor"):
        curve_by_name_or_path("x.csv", statistic="median")
    with pytest.raises(BerError, match=r"one or the other"):
        curve_by_name_or_path("B", dimm="B7", statistic="median")
    assert set(STATISTICS) == {"mean-operating", "mean", "median", "worst"}


def test_user_csv_must_not_rise_with_vdd(tmp_path):
    p = tmp_path / "up.csv"
    p.write_text("vdd,ber\n1.0,1e-4\n1.1,1e-3\n1.2,0\n")
    with pytest.raises(BerError, match=r"up.csv:3: field 'ber': 0.001 at 1.1 V exceeds"):
        BerCurve.from_csv(p)
    c = BerCurve.from_csv(_write(tmp_path, "ok.csv", "vdd,ber\n1.2,0\n1.0,1e-3\n"))
    assert c.operates(1.1) and not c.operates(0.9)
    with pytest.raises(BerError) as e:          # a user curve says nothing about operation below
        c.ber(0.9)
    assert not isinstance(e.value, NotOperatingError)


def _write(d, name, text):
    p = d / name
    p.write_text(text)
    return p
