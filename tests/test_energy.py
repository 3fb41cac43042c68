"""Energy: one- and two-request runs computed by hand from the TOML currents.

The arithmetic below is written out independently of dramsim/energy.py: mA * V * ns = pJ, times
8 devices per rank. DDR3L-1600K: tCK 1.25 ns, nRAS 28, nRP 11, nBL 4 (from DDR3-1600K.toml),
IDD0 49.5, IDD2N 28.8, IDD3N 34.2, IDD4R 141.3, IDD4W 112.5, IDD5B 211.5, IDD2P 16.2, IDD3P 34.2,
IDD6 18.0 mA at 1.35 V; nRFC 208.
"""
import tomllib
from pathlib import Path

import numpy as np
import pytest

from dramsim.commands import ACT, PDE, PDX, PRE, PREA, RD, RDA, REF, SRE, SRX, WRA
from dramsim.counters import RawCounters
from dramsim.energy import CATEGORIES, energy_from_counters
from dramsim.spec import load_spec
from dramsim.vdd import spec_at_vdd

SPEC = load_spec("DDR3L-1600K")


def test_hand_values_match_toml():
    raw = tomllib.loads((Path(SPEC.source)).read_text())
    assert raw["currents"] == {"IDD0": 49.5, "IDD2N": 28.8, "IDD3N": 34.2, "IDD4R": 141.3,
                               "IDD4W": 112.5, "IDD5B": 211.5, "IDD2P": 16.2, "IDD3P": 34.2, "IDD6": 18.0}
    assert raw["vdd"]["nominal"] == 1.35
    assert (SPEC.tck_ns, SPEC.timing.nRAS, SPEC.timing.nRP, SPEC.timing.nBL) == (1.25, 28, 11, 4)
    assert SPEC.org.devices_per_rank == 8


def _counters(total_cycles, active_cycles, cmds, reads=0, writes=0):
    c = RawCounters.zeros(1, 1, 8, 8)
    for code, n in cmds.items():
        c.commands[0, code] = n
    c.active_cycles[0] = active_cycles
    c.total_cycles = total_cycles
    c.reads[0] = reads
    c.writes[0] = writes
    return c


def test_one_read():
    """ACT @0, RD @11 (nRCD), data ends at 11 + 11 + 4 = 26; the row stays open (open page)."""
    e = energy_from_counters(SPEC, _counters(26, 26, {ACT: 1, RD: 1}, reads=1))
    act = 1.35 * (49.5 - 34.2) * (28 * 1.25) * 8            # 5783.4 pJ
    rd = 1.35 * (141.3 - 34.2) * (4 * 1.25) * 8             # 5783.4 pJ
    bg_active = 1.35 * 34.2 * (26 * 1.25) * 8               # 12004.2 pJ
    assert e.total_by_category_pj["act"] == pytest.approx(act)
    assert e.total_by_category_pj["read"] == pytest.approx(rd)
    assert e.total_by_category_pj["background_active"] == pytest.approx(bg_active)
    for k in ("pre", "write", "refresh", "background_precharged"):
        assert e.total_by_category_pj[k] == 0
    assert e.total_pj == pytest.approx(23571.0)
    assert e.pj_per_request == pytest.approx(23571.0)
    assert e.average_power_mw == pytest.approx(23571.0 / (26 * 1.25))  # pJ / ns = mW
    assert e.devices_per_rank == 8 and "all chips" in e.note


def test_two_requests_closed_page_at_reduced_vdd():
    """At 1.2 V: ACT@0 RDA@11, ACT@39 (nRC) WRA@50, data ends 50+8+4 = 62; open cycles 11 + 11.

    Currents scale by 1.2/1.35; ACT/PRE use the nominal tRAS/tRP (28, 11 cycles); RDA and WRA each
    count one precharge.
    """
    s = 1.2 / 1.35
    spec = spec_at_vdd(SPEC, 1.2)
    assert spec.timing.nRAS > 28  # slower array at 1.2 V, but the per-ACT charge stays nominal
    e = energy_from_counters(spec, _counters(62, 22, {ACT: 2, RDA: 1, WRA: 1}, reads=1, writes=1))
    act = 2 * 1.2 * (49.5 - 34.2) * s * (28 * 1.25) * 8
    pre = 2 * 1.2 * (49.5 - 28.8) * s * (11 * 1.25) * 8
    rd = 1 * 1.2 * (141.3 - 34.2) * s * (4 * 1.25) * 8
    wr = 1 * 1.2 * (112.5 - 34.2) * s * (4 * 1.25) * 8
    bg_a = 1.2 * 34.2 * s * (22 * 1.25) * 8
    bg_p = 1.2 * 28.8 * s * ((62 - 22) * 1.25) * 8
    got = e.total_by_category_pj
    assert got["act"] == pytest.approx(act)
    assert got["pre"] == pytest.approx(pre)
    assert got["read"] == pytest.approx(rd)
    assert got["write"] == pytest.approx(wr)
    assert got["background_active"] == pytest.approx(bg_a)
    assert got["background_precharged"] == pytest.approx(bg_p)
    total = act + pre + rd + wr + bg_a + bg_p
    assert e.total_pj == pytest.approx(total)
    assert e.pj_per_request == pytest.approx(total / 2)
    assert e.vdd == 1.2


def test_refresh_and_prea_per_rank():
    """Two ranks: rank 1 does one PREA (closing 3 banks) + one REF + one PRE; rank 0 idles
    precharged. A PREA costs one PRE per bank it actually closed."""
    c = RawCounters.zeros(1, 2, 8, 8)
    c.commands[1, PREA] = 1
    c.prea_closed_units[1] = 3
    c.commands[1, PRE] = 1
    c.commands[1, REF] = 1
    c.total_cycles = 1000
    e = energy_from_counters(SPEC, c)
    ref = 1.35 * (211.5 - 34.2) * (208 * 1.25) * 8
    pre = 4 * 1.35 * (49.5 - 28.8) * (11 * 1.25) * 8       # 1 PRE + 3 banks closed by the PREA
    assert e.per_rank_pj["refresh"].tolist() == pytest.approx([0.0, ref])
    assert e.per_rank_pj["pre"].tolist() == pytest.approx([0.0, pre])
    bg = 1.35 * 28.8 * (1000 * 1.25) * 8
    assert e.per_rank_pj["background_precharged"].tolist() == pytest.approx([bg, bg])
    assert e.pj_per_request is None and e.n_requests == 0


def test_power_down_and_self_refresh_by_hand():
    """One rank, 10,000 cycles: 1,000 with a row open (200 of them in active power-down),
    3,000 in precharge power-down, one self-refresh stay of 2,208 cycles whose first nRFC = 208
    count as its entry refresh (DRAMPower 5): IDD6 for 2,000 cycles."""
    c = _counters(10_000, 1000, {SRE: 1, SRX: 1, PDE: 2, PDX: 2})
    c.pd_active_cycles[0], c.pd_precharged_cycles[0], c.sr_cycles[0] = 200, 3000, 2000
    got = energy_from_counters(SPEC, c).total_by_category_pj
    k = 1.35 * 1.25 * 8                                    # V x tCK x devices
    assert got["background_active"] == pytest.approx(34.2 * 800 * k)
    assert got["powerdown_active"] == pytest.approx(34.2 * 200 * k)          # IDD3P = IDD3N here
    assert got["powerdown_precharged"] == pytest.approx(16.2 * 3000 * k)
    assert got["self_refresh"] == pytest.approx(18.0 * 2000 * k)
    # precharged standby: 10,000 - 1,000 open - 3,000 PPD - 2,000 IDD6 = 4,000 (incl. the 208)
    assert got["background_precharged"] == pytest.approx(28.8 * 4000 * k)
    assert got["refresh"] == pytest.approx(1.35 * (211.5 - 34.2) * (208 * 1.25) * 8)   # the SRE's


def test_energy_scales_with_vdd_squared_for_fixed_counts():
    c = _counters(100, 50, {ACT: 3, PRE: 2, RD: 5})
    lo = energy_from_counters(spec_at_vdd(SPEC, 1.1), c).total_pj
    hi = energy_from_counters(SPEC, c).total_pj
    assert lo == pytest.approx(hi * (1.1 / 1.35) ** 2)


def test_as_dict_is_json_ready():
    import json
    d = energy_from_counters(SPEC, _counters(26, 26, {ACT: 1, RD: 1}, reads=1)).as_dict()
    assert set(d["per_rank_pj"]) == set(CATEGORIES)
    json.dumps(d)
    assert isinstance(d["per_rank_pj"]["act"], list) and np.isfinite(d["total_pj"])
