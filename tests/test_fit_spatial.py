"""Spread models (dramsim.errors.spatial) and the analysis behind them (bench.fit_spatial,
bench.spice_vdd_timing). Tests that read ../shared/data skip where it is absent."""
import math

import numpy as np
import pytest

from bench import fit_spatial as fs
from bench import spice_vdd_timing as sp
from dramsim.errors import ErrorParams, error_params_for
from dramsim.errors.spatial import FITTED_BANK, FITTED_SUBARRAY, SPREAD_MODELS, describe, spreads

DATA = fs.default_data_dir()
PICS = DATA / fs.PICTURE_DIR
needs_data = pytest.mark.skipif(not (DATA / fs.RETENTION_FILE).exists(), reason="shared Voltron data absent")


def test_spread_models():
    assert SPREAD_MODELS[0] == "fitted"
    assert spreads("assumed") == (0.5, 0.5) and spreads("none") == (0.0, 0.0)
    assert spreads("fitted", "B") == (FITTED_BANK["B"].sigma, FITTED_SUBARRAY["B"].sigma)
    assert spreads("fitted", "B7") == spreads("fitted", "B:median") == spreads("fitted", "B")
    assert spreads("fitted", "all") == spreads("fitted", "my.csv") == (0.36, 0.48)   # medians of A, B, C
    p = error_params_for("fitted", "A", ErrorParams(weak_fraction=0.02))
    assert (p.bank_spread, p.subarray_spread, p.weak_fraction) == (1.18, 0.48, 0.02)
    assert ErrorParams().bank_spread == 0.5          # the library default is unchanged
    assert "95% CI" in describe("fitted", "C") and "assumption" in describe("assumed", "B")
    with pytest.raises(ValueError, match="--spread 'wide': choose one of fitted"):
        spreads("wide")
    for s in list(FITTED_BANK.values()) + list(FITTED_SUBARRAY.values()):
        assert s.low <= s.sigma <= s.high


def test_poisson_lognormal_fit_recovers_sigma():
    rng = np.random.default_rng(1)
    for true in (0.0, 0.8):
        counts = [rng.poisson(40 * np.exp(true * rng.standard_normal(8))) for _ in range(30)]
        fit = fs.fit_sigma(counts)
        assert fit["low"] <= true <= fit["high"] and fit["n_dimms"] == 30


def test_retention_parser_rejects_bad_rows(tmp_path):
    head = ",".join(fs.RET_HEADER)
    p = tmp_path / "r.csv"
    p.write_text(head + "\nA1,A,1.15,20,2048,1,0,0,0,0,0,0,0,1\nA1,A,1.15,20,2048,1,x,0,0,0,0,0,0,1\n")
    with pytest.raises(fs.DataError, match=r"r.csv:3: field 'bank1_bit_err_count'"):
        fs.load_retention(p)
    p.write_text(head + "\nA1,A,1.15,20,2048,1,0,0,0,0,0,0,0,5\n")
    with pytest.raises(fs.DataError, match=r"r.csv:2: field 'total_dimm_bit_err_count'"):
        fs.load_retention(p)
    p.write_text(head + "\nA1,A,1.15,20,2048,0,0,0,0,0,0,0,0,0\nA1,A,1.15,20,2048,4,2,0,0,0,0,0,0,6\n"
                 "A1,A,1.15,20,2048,6,2,0,0,0,0,0,0,8\n")
    (vendor, k), = fs.bank_counts(fs.load_retention(p), 1.15).values()
    assert vendor == "A" and list(k) == [5, 2, 0, 0, 0, 0, 0, 0]    # mean over repetitions with errors


@needs_data
def test_picture_reading_is_validated():
    h = fs.read_heatmap(PICS / "B6_rcd4_rp4_temp20_volt1.025000.pdf")
    assert h.values.shape == (106, 8) and (h.trcd, h.trp) == (4, 4) and h.vdd == 1.025
    assert h.colour_residual < 1.5            # every colour is on the cubehelix map
    assert h.colourbar_error < 0.01           # the colour bar decodes to its own positions
    assert h.vmax == pytest.approx(1.0) and 0 <= h.dram_row[0] < 400 and h.dram_row[-1] < 32768
    h2 = fs.read_heatmap(PICS / "B12_rcd4_rp4_temp20_volt1.050000.pdf")   # the other PDF layout
    assert h2.vmax == pytest.approx(1 / 128, rel=1e-3) and h2.colourbar_error < 0.01
    blank = fs.read_heatmap(PICS / "A1_rcd4_rp4_temp20_volt1.350000.pdf")
    assert blank.info["blank"] and blank.values.size == 0
    with pytest.raises(fs.DataError, match="labels drawn as outlines"):
        fs.read_heatmap(PICS / "B8_rcd4_rp4_temp20_volt1.100000.pdf")
    with pytest.raises(fs.DataError, match="file name"):
        fs.parse_picture_name(PICS / "x.pdf")


@needs_data
def test_every_nominal_vdd_picture_is_error_free():
    for p in sorted(PICS.glob("*volt1.350000.pdf")):
        try:
            h = fs.read_heatmap(p)
        except fs.DataError:
            continue
        assert not h.values.size or h.values.max() == 0, p.name


@needs_data
def test_netlist_conversion_connects_every_pin():
    asc = DATA / "voltron" / "SPICE_circuit_model" / "voltron_spice.asc"
    elements, directives = sp.netlist_elements(asc)
    names = [e.split()[0] for e in elements]
    assert {"M1", "M13", "Cmbit0", "Vra0", "RVra0_ser", "CVra0_par"} <= set(names)
    m3 = next(e.split() for e in elements if e.startswith("M3 "))
    assert m3[1:5] == ["bitline0", "bitline1", "n001", "0"]          # cross-coupled latch
    assert any(d.startswith(".tran") for d in directives)
    assert sp._orient(48, 0, "M90") == (0, 48) and sp._orient(48, 0, "M270") == (0, -48)


def test_settle_time():
    t = np.linspace(0, 10e-9, 101)
    y = np.minimum(t / 5e-9, 1.0)
    assert sp.settle_time(t, y, 0.5, 0.0) * 1e9 == pytest.approx(2.5)
    assert math.isnan(sp.settle_time(t, y, 2.0, 0.0))
