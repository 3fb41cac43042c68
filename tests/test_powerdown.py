"""Power-down and self-refresh (docs/controller.md, "Power-down and self-refresh"), by hand.

DDR3-1600K / DDR3L-1600K in cycles: nCL 11, nBL 4, nRCD 11, nRP 11, nRAS 28, nRC 39, nRTP 6,
nRFC 208, nREFI 6240; power: nXP 5, nCKE 4, nCKESR 5, nXS 216, nXSDLL 512. DDR3L currents (mA
per device at 1.35 V): IDD2N 28.8, IDD2P 16.2, IDD3N 34.2, IDD3P 34.2, IDD6 18.0; 8 devices.

Rules used below: a rank is idle from the cycle after its last non-power command; it powers
down when it has been idle ``powerdown_idle`` cycles, nothing is queued for it and no refresh is
pending (PDE also waits ACT->PDE nRC, RD->PDE nCL+nBL+1, RDA->PDE max(nCL+nBL+1, nRTP+nRP),
PRE/PREA->PDE nRP, REF->PDE nRFC); a request or a refresh for it wakes it (PDX after PDE + nCKE;
every command nXP after PDX). Self-refresh: idle ``self_refresh_idle`` cycles with every bank
closed (SRX after SRE + nCKESR; ACT/PRE/REF nXS and column commands nXSDLL after SRX).
"""
from __future__ import annotations

import numpy as np
import pytest

from dramsim import engine_fast, engine_simpy
from dramsim.address import AddressMapper
from dramsim.checker import check_log
from dramsim.commands import COMMAND_NAMES, PDE, SRE
from dramsim.config import ConfigError, ControllerConfig, check_config
from dramsim.energy import energy_from_counters, scaled_currents
from dramsim.spec import load_spec

SPEC = load_spec("DDR3-1600K")
SPECL = load_spec("DDR3L-1600K")


def decoded(spec, coords, arrive, writes=None):
    """coords: (bank, row, column) per request (channel 0, rank 0)."""
    m = AddressMapper(spec)
    ba, ro, co = (np.array(x) for x in zip(*coords))
    w = np.zeros(len(ba), bool) if writes is None else np.array(writes, bool)
    return m.decode(m.encode(0, 0, 0, ba, ro, co), w, np.array(arrive))


def run(spec, config, d):
    a, la = engine_simpy.run(spec, config, d, command_log=True)
    b, lb = engine_fast.run(spec, config, d, command_log=True)
    assert a.differences(b) == [] and np.array_equal(la, lb)
    assert check_log(lb, spec, config, requests=d, counters=b) == []
    return b, [(int(r["cycle"]), COMMAND_NAMES[r["command"]]) for r in lb], lb


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    engine_fast.warmup()


def test_active_power_down_between_two_reads():
    """ACT 0, RD 11; idle from 12, so PDE at 12 + 100 = 112 with the row open (active
    power-down); the second read arrives at 1000: PDX at once (PDE + nCKE = 116 passed), its RD
    (a row hit) nXP later at 1005; it ends at 1005 + nCL + nBL = 1020, 5 cycles later than
    without power-down. 1000 - 112 = 888 cycles in active power-down."""
    d = decoded(SPEC, [(0, 5, 0), (0, 5, 1)], [0, 1000])
    c, log, _ = run(SPEC, ControllerConfig(refresh=False, powerdown_idle=100), d)
    assert log == [(0, "ACT"), (11, "RD"), (112, "PDE"), (1000, "PDX"), (1005, "RD")]
    assert c.total_cycles == 1020 and int(c.read_latency_sum[0]) == 26 + 20
    assert (int(c.pd_active_cycles[0]), int(c.pd_precharged_cycles[0])) == (888, 0)
    assert c.active_cycles[0] == 1020                      # the row stays open through it


def test_precharge_power_down_saves_what_the_idle_time_predicts():
    """Closed page: ACT 0, RDA 11 (the bank closes); PDE at 112 (precharge power-down); the
    second read at 1000: PDX 1000, ACT 1005, RDA 1016, end 1031. Without power-down: ACT 1000,
    RDA 1011, end 1026. Both runs have 22 cycles with a row open, so background energy falls by
    (IDD2N - IDD2P) x 888 and grows by IDD2N x 5:
    1.35 V x 1.25 ns x 8 x (12.6 x 888 - 28.8 x 5) = 149,104.8 pJ."""
    d = decoded(SPECL, [(0, 5, 0), (0, 5, 1)], [0, 1000])
    on, log, _ = run(SPECL, ControllerConfig(refresh=False, page_policy="closed", powerdown_idle=100), d)
    off, log_off, _ = run(SPECL, ControllerConfig(refresh=False, page_policy="closed"), d)
    assert log == [(0, "ACT"), (11, "RDA"), (112, "PDE"), (1000, "PDX"), (1005, "ACT"), (1016, "RDA")]
    assert log_off == [(0, "ACT"), (11, "RDA"), (1000, "ACT"), (1011, "RDA")]
    assert (on.total_cycles, off.total_cycles) == (1031, 1026)
    assert int(on.pd_precharged_cycles[0]) == 888 and on.active_cycles[0] == off.active_cycles[0] == 22
    e_on, e_off = (energy_from_counters(SPECL, x).total_by_category_pj for x in (on, off))
    background = lambda e: (e["background_active"] + e["background_precharged"]  # noqa: E731
                            + e["powerdown_active"] + e["powerdown_precharged"] + e["self_refresh"])
    assert background(e_off) - background(e_on) == pytest.approx(1.35 * 1.25 * 8 * (12.6 * 888 - 28.8 * 5))
    assert e_on["powerdown_precharged"] == pytest.approx(1.35 * 1.25 * 8 * 16.2 * 888)


def test_self_refresh_and_its_dll_relock():
    """Self-refresh after 30 idle cycles: SRE at 30 (idle from 0, every bank closed). A read
    arrives at 5000: SRX at once, ACT nXS later (5216), RD nXSDLL after SRX (5512, not ACT +
    nRCD = 5227). IDD6 from SRE + nRFC on: 5000 - 30 - 208 = 4762 cycles; the SRE is charged one
    refresh (DRAMPower 5's implicit REF at self-refresh entry)."""
    d = decoded(SPECL, [(0, 5, 0)], [5000])
    c, log, _ = run(SPECL, ControllerConfig(refresh=False, self_refresh_idle=30), d)
    assert log == [(30, "SRE"), (5000, "SRX"), (5216, "ACT"), (5512, "RD")]
    assert int(c.sr_cycles[0]) == 4762 and c.total_cycles == 5527
    e = energy_from_counters(SPECL, c).total_by_category_pj
    assert e["self_refresh"] == pytest.approx(1.35 * 1.25 * 8 * 18.0 * 4762)
    assert e["refresh"] == pytest.approx(1.35 * (211.5 - 34.2) * 208 * 1.25 * 8)


def test_refresh_wakes_a_powered_down_rank():
    """ACT 0, RD 11, PDE 112 (active). Refresh is raised at 6239 (r2.1): PDX 6239, PREA nXP
    later (6244; it closes the open bank), REF nRP later (6255). Idle from 6256: PDE at REF + nRFC
    = 6463 (> 6256 + 100), now precharge power-down. The read at 7000: PDX, ACT 7005, RD 7016."""
    d = decoded(SPEC, [(0, 5, 0), (0, 5, 1)], [0, 7000])
    c, log, _ = run(SPEC, ControllerConfig(powerdown_idle=100), d)
    assert log == [(0, "ACT"), (11, "RD"), (112, "PDE"), (6239, "PDX"), (6244, "PREA"), (6255, "REF"),
                   (6463, "PDE"), (7000, "PDX"), (7005, "ACT"), (7016, "RD")]
    assert (int(c.pd_active_cycles[0]), int(c.pd_precharged_cycles[0])) == (6239 - 112, 7000 - 6463)
    assert int(c.prea_closed_units[0]) == 1


def test_self_refresh_skips_refresh_ticks():
    """Open page: the row stays open, so self-refresh waits until refresh closes it: PREA at 6239,
    REF at 6250, SRE at 6251 + 500 = 6751. The ticks at 12479 and 18719 find the rank in
    self-refresh (it refreshes itself): no REF. The read at 20000: SRX, ACT 20216, RD 20512."""
    d = decoded(SPEC, [(0, 5, 0), (0, 5, 1)], [0, 20000])
    c, log, _ = run(SPEC, ControllerConfig(self_refresh_idle=500), d)
    assert log == [(0, "ACT"), (11, "RD"), (6239, "PREA"), (6250, "REF"), (6751, "SRE"), (20000, "SRX"),
                   (20216, "ACT"), (20512, "RD")]
    assert int(c.sr_cycles[0]) == 20000 - 6751 - 208


def test_power_down_deepens_into_self_refresh():
    """Closed page, power-down after 100, self-refresh after 1000 idle cycles: PDE 112; at
    12 + 1000 = 1012 the rank leaves power-down (PDX) to enter self-refresh nXP later (1017).
    The read at 3000: SRX, ACT 3216, RDA 3512."""
    d = decoded(SPEC, [(0, 5, 0), (0, 5, 1)], [0, 3000])
    cfg = ControllerConfig(refresh=False, page_policy="closed", powerdown_idle=100, self_refresh_idle=1000)
    c, log, _ = run(SPEC, cfg, d)
    assert log == [(0, "ACT"), (11, "RDA"), (112, "PDE"), (1012, "PDX"), (1017, "SRE"), (3000, "SRX"),
                   (3216, "ACT"), (3512, "RDA")]
    assert (int(c.pd_precharged_cycles[0]), int(c.sr_cycles[0])) == (900, 3000 - 1017 - 208)


def _snn_timed_stream(spec):
    """An SNN weight-read stream with its real timing (--arrival timed): every 1000 ns a few
    input rows spike and their weight rows are read (traces.generate.logical_spikes, linear
    placement, mapping.physical)."""
    from mapping.physical import logical_to_requests
    from mapping.policies import PlacementRequest, linear_policy
    from traces.generate import logical_spikes
    stream = logical_spikes(n_images=2, seed=5, n_rows=64, words_per_row=100, timesteps=20)
    m = AddressMapper(spec)
    layout = linear_policy(PlacementRequest(spec=spec, mapper=m, n_words=6400, word_bits=32, shape=(64, 100)))
    req = logical_to_requests(stream, layout, spec, m, arrival="timed")
    return m.decode_records(req), np.unique(req["arrive"])


@pytest.mark.parametrize("name,page", [("DDR4-2400R", "open"), ("DDR3L-1600K", "closed")])
def test_timed_snn_stream_background_falls_by_the_idle_time(name, page):
    """Each spike step is a burst of reads; between bursts the rank idles. The idle time predicts
    the power-down time exactly: after each burst's last command L the rank powers down at
    L + 1 + P and wakes at the next burst's arrival. Background energy then falls by
    (standby - power-down current) x that time, less the standby cost of the cycles the run grew
    by (the wake-ups' nXP) and of any change in open-row time."""
    spec = load_spec(name)
    d, bursts = _snn_timed_stream(spec)
    P = 64
    on, _, log = run(spec, ControllerConfig(refresh=False, page_policy=page, powerdown_idle=P), d)
    off, _, _ = run(spec, ControllerConfig(refresh=False, page_policy=page), d)
    work = log[log["command"] < PDE]
    predicted = 0
    for nxt in bursts[1:]:
        last = int(work["cycle"][work["cycle"] < nxt].max())
        predicted += max(0, int(nxt) - (last + 1 + P))
    down = int(on.pd_active_cycles.sum() + on.pd_precharged_cycles.sum())
    assert down == predicted > 0.5 * on.total_cycles       # mostly idle: most of the time asleep
    i = scaled_currents(spec)
    stby, pd = ("IDD3N", "IDD3P") if page == "open" else ("IDD2N", "IDD2P")
    grown = int(on.total_cycles - off.total_cycles)
    more_open = int(on.active_cycles.sum() - off.active_cycles.sum())
    k = spec.vdd * spec.tck_ns * spec.org.devices_per_rank
    expected = k * ((i[stby] - i[pd]) * predicted - i["IDD2N"] * (grown - more_open) - i["IDD3N"] * more_open)
    e_on, e_off = (energy_from_counters(spec, x).total_by_category_pj for x in (on, off))
    background = lambda e: sum(v for key, v in e.items() if key.startswith(("background", "powerdown")))  # noqa
    assert background(e_off) - background(e_on) == pytest.approx(expected)
    assert expected > 0


def test_checker_catches_power_management_mistakes():
    d = decoded(SPEC, [(0, 5, 0), (0, 5, 1)], [0, 1000])
    cfg = ControllerConfig(refresh=False, powerdown_idle=100)
    _, _, log = run(SPEC, cfg, d)                          # ACT 0, RD 11, PDE 112, PDX 1000, RD 1005

    def problems(rows, config=cfg):
        return {v.constraint for v in check_log(rows, SPEC, config, requests=d)}

    early = log.copy()
    early["cycle"][2] = 111                                # idle only 99 cycles
    assert problems(early) == {"power.policy"}
    asleep = log.copy()
    asleep["cycle"][3] = 1006                              # RD at 1005 while still powered down
    asleep = asleep[np.argsort(asleep["cycle"], kind="stable")]
    assert "power.asleep" in problems(asleep)
    fast_exit = log.copy()
    fast_exit["cycle"][4] = 1004                           # RD 4 cycles after PDX
    assert "PDX->any nXP" in problems(fast_exit)
    assert "power.disabled" in problems(log, ControllerConfig(refresh=False))
    sre_open = log.copy()
    sre_open["command"][2] = SRE                           # self-refresh with the row open
    sre_cfg = ControllerConfig(refresh=False, powerdown_idle=100, self_refresh_idle=101)
    assert {"power.SRE_open", "power.state"} <= problems(sre_open, sre_cfg)


def test_bad_settings():
    for bad in (0, -5):
        with pytest.raises(ConfigError, match="powerdown_idle"):
            ControllerConfig(powerdown_idle=bad)
    with pytest.raises(ConfigError, match="self_refresh_idle: must be longer"):
        ControllerConfig(powerdown_idle=100, self_refresh_idle=100)
    import dataclasses
    no_idd6 = dataclasses.replace(SPEC, currents=dataclasses.replace(SPEC.currents, IDD6=None))
    check_config(no_idd6, ControllerConfig(powerdown_idle=10))          # power-down alone: fine
    with pytest.raises(ConfigError, match=r"DDR3-1600K.toml: currents.IDD6: missing"):
        check_config(no_idd6, ControllerConfig(self_refresh_idle=10))
    with pytest.raises(ValueError, match="IDD6"):
        engine_fast.run(no_idd6, ControllerConfig(self_refresh_idle=10), decoded(SPEC, [(0, 5, 0)], [0]))


def test_sweep_metric_energy_saved_by_power_down():
    """bench._sweep_dram.simulate_metrics (the sweep's --arrival timed column): the run without
    power-down gives the usual metrics; energy_pd_uj / pd_saved_uj / pd_saved_pct describe the
    same stream with power-down after 64 idle cycles."""
    from bench._sweep_dram import simulate_metrics
    from mapping.physical import logical_to_requests
    from mapping.policies import PlacementRequest, linear_policy
    from traces.generate import logical_spikes
    spec = load_spec("DDR4-2400R")
    m = AddressMapper(spec)
    layout = linear_policy(PlacementRequest(spec=spec, mapper=m, n_words=6400, word_bits=32, shape=(64, 100)))
    req = logical_to_requests(logical_spikes(n_images=2, seed=5, n_rows=64, words_per_row=100, timesteps=20),
                              layout, spec, m, arrival="timed")
    plain = simulate_metrics(spec, req, ControllerConfig(), "fast", "RoBaRaCoCh", per=2)
    got = simulate_metrics(spec, req, ControllerConfig(), "fast", "RoBaRaCoCh", per=2, powerdown_idle=64)
    assert {k: got[k] for k in plain} == plain and "pd_saved_uj" not in plain
    assert got["pd_saved_uj"] == pytest.approx(got["energy_uj"] - got["energy_pd_uj"])
    assert got["pd_saved_pct"] == pytest.approx(100 * got["pd_saved_uj"] / got["energy_uj"])
    assert 0 < got["pd_saved_pct"] < 100
    parts = sum(got[f"energy_{k}_uj"] for k in ("act", "rd", "bg", "ref"))
    assert parts == pytest.approx(got["energy_uj"])


def test_drampower_trace_names_the_power_down_states(tmp_path):
    from dramsim.checker import write_drampower_trace
    d = decoded(SPEC, [(0, 5, 0), (0, 5, 1)], [0, 7000])
    _, _, log = run(SPEC, ControllerConfig(powerdown_idle=100), d)
    write_drampower_trace(tmp_path / "r.drampower", log, SPEC)
    assert (tmp_path / "r.drampower").read_text().splitlines() == [
        "0,ACT,0", "11,RD,0", "112,PDN_F_ACT,0", "6239,PUP_ACT,0", "6244,PREA,0", "6255,REF,0",
        "6463,PDN_F_PRE,0", "7000,PUP_PRE,0", "7005,ACT,0", "7016,RD,0"]
