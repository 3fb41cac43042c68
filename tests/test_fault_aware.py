"""Fault-aware training hook and schedule (mapping.fault_aware)."""
import numpy as np
import pytest

from dramsim.errors import ErrorParams, FaultMap
from mapping.fault_aware import FaultAwareHook, quantised_ber, scheduled_ber, train_fault_aware
from mapping.inject import flip_masks
from mapping.tolerance import StoredWeights

FLAT = ErrorParams(bank_spread=0.0, subarray_spread=0.0)


def test_schedule_ramps_log_linearly_then_holds():
    assert scheduled_ber(0.0, 1e-3) == pytest.approx(1e-6)
    assert scheduled_ber(0.25, 1e-3) == pytest.approx(10 ** -4.5)
    assert scheduled_ber(0.5, 1e-3) == pytest.approx(1e-3)
    assert scheduled_ber(0.9, 1e-3) == pytest.approx(1e-3)
    assert scheduled_ber(0.1, 1e-3, "constant") == 1e-3
    assert scheduled_ber(0.0, 1e-2, start_ber=1e-4, ramp=1.0) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="schedule"):
        scheduled_ber(0.1, 1e-3, "zigzag")


def _hook(mode, ber=0.05, guard="zero", n_images=100, faults="fresh", seed=3):
    store = StoredWeights.default((64, 10), "fp32")
    return FaultAwareHook(store, n_images=n_images, target_ber=ber, params=FLAT, schedule="constant",
                          guard=guard, mode=mode, faults=faults, seed=seed)


def test_hook_corrupts_like_a_guarded_read_with_fresh_faults():
    w0 = np.random.default_rng(0).random((64, 10), dtype=np.float32) * 0.5
    h = _hook("writeback")
    w = w0.copy()
    h(w, 0)
    changed = w != w0
    assert changed.any() and h.flipped_bits > 0 and h.calls == 1
    assert np.all((w >= 0) & (w <= 1))                      # guard "zero" applied
    w1 = w.copy()
    h(w, 10)                                                 # next call: fresh (transient) faults
    assert ((w != w1) & ~changed).any()
    # deterministic: a new hook with the same seed reproduces the same sequence
    h2, v = _hook("writeback"), w0.copy()
    h2(v, 0)
    assert np.array_equal(v, w1)


def test_restore_mode_undoes_previous_corruption():
    w0 = np.random.default_rng(1).random((64, 10), dtype=np.float32) * 0.5
    h = _hook("restore", ber=0.02)
    w = w0.copy()
    h(w, 0)
    first = w != w0
    assert first.any()
    w[...] += 0.0                                           # (training would update here)
    h(w, 1)
    # entries corrupted only by the first call are back to their original values
    second = w != w0
    assert not np.any(first & ~second & (w != w0))
    assert np.array_equal(w[first & ~second], w0[first & ~second])
    with pytest.raises(ValueError, match="mode"):
        _hook("sometimes")
    with pytest.raises(ValueError, match="restore"):
        _hook("writeback", faults="device")
    with pytest.raises(ValueError, match="faults"):
        _hook("restore", faults="cosmic")


def test_device_hook_reads_what_the_tolerance_analysis_reads():
    """Device faults = the persistent map of that seed: the hook's reads equal StoredWeights.read
    (the evaluation path) with FaultMap(seed) at that BER, on every call; restore undoes them."""
    w0 = np.random.default_rng(2).random((64, 10), dtype=np.float32) * 0.5
    h = _hook("restore", ber=0.01, guard="none", faults="device", seed=5)
    expected, flipped = h.store.read(w0, FaultMap.build(h.store.spec, 0, 0.01, seed=5, params=FLAT), "none")
    assert flipped > 0
    w = w0.copy()
    for call in range(3):                                    # same cells, same way, every read
        h(w, call)
        np.testing.assert_array_equal(w, expected)           # (NaN compares equal here)
    assert h.flipped_bits == 3 * flipped
    h.restore(w)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(h.device_view(w0), expected)


@pytest.mark.parametrize("model", [0, 1, 2])
def test_device_faults_only_grow_as_the_ber_rises(model):
    """A ramped BER on one device is that device's VDD going down: the cells failing at a BER
    are a subset of those failing at any higher BER of the same map."""
    store = StoredWeights.default((784, 20), "fp32")
    words = store.fmt.encode(np.full((784, 20), 0.1, np.float32))
    prev = None
    for ber in (1e-5, 1e-4, 1e-3, 1e-2):
        m = flip_masks(words, store.layout, FaultMap.build(store.spec, model, ber, seed=9, params=FLAT))
        if prev is not None:
            assert not np.any(prev & ~m) and np.any(m & ~prev)
        prev = m


def test_device_schedule_levels():
    levels = [quantised_ber(b, 1e-4, 8) for b in np.logspace(-8, -3, 400)]
    assert all(lv <= 1e-4 for lv in levels) and levels[-1] == 1e-4
    assert all(b <= lv * (1 + 1e-9) for b, lv in zip(np.logspace(-8, -3, 400), levels) if b <= 1e-4)
    assert len(set(levels)) == 4 * 8 + 1                     # 1e-8 .. 1e-4 at 8 levels a decade
    h = _hook("restore", ber=1e-3, faults="device")
    h.schedule = "ramp"
    assert h.ber_at(0) == pytest.approx(1e-6) and h.ber_at(100) == 1e-3


def _busy_pixel_images(n=300, seed=7):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 784)) < 0.12).astype(np.uint8) * 200
    x[:, 400] = 255                                          # a pixel active in every image
    return x


def test_training_with_a_catastrophic_read_saturates_that_neurons_threshold():
    """The mechanism device FAT relies on: a weight that reads ~1e37 on a busy pixel makes its
    neuron win every image of a plain net; trained with that read (persistent, restore
    semantics), the neuron's adaptive threshold climbs to the firing ceiling, and once it is
    held there (retired) the neuron stays silent and the others take over."""
    from mapping.fault_aware import SATURATION_MARGIN_MV, firing_ceiling_mv
    from snn.infer import spike_counts
    from snn.model import Model
    from snn.params import NetworkParams
    from snn.train import train
    x = _busy_pixel_images()
    net = Model.new(NetworkParams(n_neurons=10), seed=1)
    train(net, x[:100], epochs=1, seed=1, progress=False)
    j, huge = 3, np.float32(1e37)

    def faulty(w):
        v = w.copy()
        v[400, j] = huge
        return v

    counts = spike_counts(net, x[200:], seed=2, weights=faulty(net.weights))
    assert (counts.argmax(axis=1) == j).mean() > 0.9         # the faulty neuron wins everything
    saved = {}

    def hook(w, i):
        if saved:
            w[400, j] = saved["v"]
        saved["v"] = w[400, j]
        w[400, j] = huge
    train(net, x[:200], epochs=1, seed=1, progress=False, weight_hook=hook, hook_every=1)
    net.weights[400, j] = saved["v"]
    ceiling = firing_ceiling_mv(net.params)
    assert ceiling == 72.0
    others = np.delete(net.theta, j)
    assert net.theta[j] >= ceiling - SATURATION_MARGIN_MV and others.max() < ceiling - 10
    net.theta[j] = ceiling + SATURATION_MARGIN_MV             # what train_fault_aware's retire does
    counts = spike_counts(net, x[200:], seed=2, weights=faulty(net.weights))
    assert counts[:, j].sum() == 0 and (counts.sum(axis=1) >= 5).mean() > 0.9


def test_device_fat_retires_exactly_the_saturated_neurons_and_keeps_clean_weights():
    from mapping.fault_aware import firing_ceiling_mv
    from snn.infer import spike_counts
    from snn.model import Model
    from snn.params import NetworkParams
    x = _busy_pixel_images(300, seed=11)
    y = np.arange(300) % 10
    net = Model.new(NetworkParams(n_neurons=10), seed=0)
    # device 2 at BER 1e-2 holds an exponent-MSB flip that saturates one neuron (seeded, found by search)
    hook = train_fault_aware(net, x, y, target_ber=1e-2, seed=0, params=FLAT, guard="none",
                             fault_seed=2, ramp=0.2)
    ceiling = firing_ceiling_mv(net.params)
    assert hook.saturated is not None and hook.saturated.any()
    assert np.all(net.theta[hook.saturated] > ceiling) and np.all(net.theta[~hook.saturated] < ceiling)
    assert np.all(np.isfinite(net.weights)) and net.weights.max() < 10   # the stored, clean weights
    counts = spike_counts(net, x, seed=0, weights=hook.device_view(net.weights))
    assert counts[:, hook.saturated].sum() == 0
    assert hook.history[-1][1] == 1e-2 and len({b for _, b, _ in hook.history}) == 3 * 8 + 1


FAT_CLI = ["--neurons", "10", "--n-train", "100", "--val-images", "60", "--n-test", "40", "--seeds", "2",
           "--bers", "1e-4", "1e-2", "--fat-target-ber", "1e-2", "--no-progress"]


def test_cli_trains_one_fat_network_per_device_and_evaluates_it_there(tmp_path, capsys):
    import json
    from bench.fault_aware import main
    from bench.tolerance import TEST_SALT
    out = tmp_path / "fat"
    argv = FAT_CLI + ["--cross-device", "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    res = json.loads((tmp_path / "fat.json").read_text())
    seen = {(r["variant"], r["guard"], r["seed"], r["images"]) for r in res["rows"]}
    # the plain (control) network with its own guard and with the comparison guard (zero), FAT on
    # its own device and on the other one; each on validation and test images
    assert seen == {(v, g, s, i) for v, g in (("plain", "none"), ("plain", "zero"), ("fat", "none"),
                                             ("fat-other", "none"))
                    for s in (0, 1) for i in ("validation", "test")}
    assert len(res["rows"]) == 4 * 2 * 2 * 2 and all("correct" not in r for r in res["rows"])
    assert len(list((tmp_path / "cache").glob("model_fat_*.npz"))) == 2          # one per device
    (t,) = res["comparison"]
    assert t["faults"] == "device" and 0 <= t["silent_fat"] <= 10
    assert {"ratio", "ratio_best_plain", "ratio_other", "ratio_crossing_other", "ratio_own",
            "tolerable_fat_own", "test_fat_own_loss", "test_fat_own_loss_ci_high"} <= set(t)
    assert {r["fat_device"] for r in res["rows"] if r["variant"] != "plain"} == {0, 1}
    own = [s for s in res["fat_own_summary"] if s["images"] == "validation"]
    assert [s["ber"] for s in own] == [1e-4, 1e-2] and all(s["loss_ci_low"] <= s["loss_ci_high"] for s in own)
    assert (tmp_path / "fat_fat_own.csv").read_text().startswith("variant,train_seed")
    # the best plain guard is the plain guard with the largest VALIDATION tolerable BER
    tol = {g: t[f"tolerable_plain_{g}"] for g in ("none", "zero")}
    assert t["best_plain_guard"] in tol and t["tolerable_best_plain"] == tol[t["best_plain_guard"]]
    assert all((x or 0) <= (t["tolerable_best_plain"] or 0) for x in tol.values())
    for k in ("clean_plain_val", "clean_plain_test", "clean_fat_val", "clean_fat_test"):
        assert t[f"{k}_ci_low"] <= t[k] <= t[f"{k}_ci_high"]
    val = {(s["variant"], s["guard"], s["ber"]): s for s in res["summary"] if s["images"] == "validation"}
    for name, key in (("plain", ("plain", "none")), ("fat", ("fat", "none"))):
        if t[f"tolerable_{name}"] is not None:
            assert val[key + (t[f"tolerable_{name}"],)]["loss_ci_high"] <= 0.01 + 1e-12
    sets = res["image_sets"]["0"]
    assert (sets["validation_images"], sets["validation_seed"], sets["train_images_used"]) == (60, 0, 100)
    assert sets["test_images_used"] == 40 and sets["test_sample_seed"] == [0, TEST_SALT]
    assert len(res["spike_seeds"]) == 2 and res["fault_seeds"] == [0, 1]
    comp_header = (tmp_path / "fat_comparison.csv").read_text().splitlines()[0].split(",")
    assert {"tolerable_fat", "test_fat_loss_ci_low", "test_fat_loss_ci_high", "best_plain_guard"} <= set(comp_header)
    assert "best plain (guard)" in printed and "chosen on the VALIDATION images" in printed
    assert "geometric means" in printed
    # the device's network is evaluated on its own device: re-running reuses the cached models
    assert main(argv) == 0 and json.loads((tmp_path / "fat.json").read_text())["rows"] == res["rows"]
    assert len(list((tmp_path / "cache").glob("model_fat_*.npz"))) == 2
    # without comparison guards only the control's own guard is evaluated
    assert main(FAT_CLI + ["--compare-guard", "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]) == 0
    res = json.loads((tmp_path / "fat.json").read_text())
    assert {(r["variant"], r["guard"]) for r in res["rows"]} == {("plain", "none"), ("fat", "none")}
    assert res["comparison"][0]["best_plain_guard"] == "none"


def test_best_plain_guard_is_the_largest_validation_tolerable_ber():
    from bench.fault_aware import best_plain
    order = ["none", "zero", "clamp"]
    assert best_plain({"none": 1e-6, "zero": 3e-3, "clamp": 1e-3}, {g: None for g in order}, order) == "zero"
    assert best_plain({"none": None, "zero": None, "clamp": None}, {g: None for g in order}, order) == "none"
    assert best_plain({"none": 1e-3, "zero": 1e-3, "clamp": 1e-4}, {"none": 1e-3, "zero": 2e-3, "clamp": 1e-4},
                      order) == "zero"                       # tie on the grid: the larger crossing
    assert best_plain({"none": 1e-3, "zero": 1e-3}, {"none": None, "zero": None}, ["none", "zero"]) == "none"


def test_own_loss_is_paired_against_each_devices_own_network():
    """'FAT vs own': each device's network against its own error-free run, so a calibration that
    costs accuracy everywhere shows no loss where nothing flips, and a real loss where it does."""
    from bench.fault_aware import own_loss_summary
    rng = np.random.default_rng(0)
    n = 200
    clean = {d: rng.random((2, n)) < 0.8 for d in (0, 1)}
    worse = {d: clean[d] & (np.arange(n) >= 20) for d in (0, 1)}     # loses its first 20 images
    rows = [{"ber": b, "fat_device": d, "correct": c[d], "accuracy": float(c[d].mean())}
            for b, c in ((1e-6, clean), (1e-4, worse)) for d in (0, 1)]
    s = own_loss_summary(rows, {d: {"validation": clean[d]} for d in (0, 1)}, "validation")
    assert [r["ber"] for r in s] == [1e-6, 1e-4]
    assert s[0]["loss"] == s[0]["loss_ci_low"] == s[0]["loss_ci_high"] == 0.0
    expected = np.mean([clean[d].mean() - worse[d].mean() for d in (0, 1)])
    assert s[1]["loss"] == pytest.approx(expected) and s[1]["loss_ci_low"] < expected < s[1]["loss_ci_high"]
    assert s[1]["loss_ci_low"] > 0 and s[1]["mean"] == pytest.approx(np.mean([worse[d].mean() for d in (0, 1)]))


def test_cli_fat_comparison_is_chosen_on_validation(tmp_path, monkeypatch):
    """As for bench.tolerance: rigged test images that shrug off every bit error would choose the
    top of the grid; the tolerable BERs do not move, they come from the (untouched) validation
    images, and the rigged test curve is what gets reported."""
    import json
    import bench.fault_aware as bf
    from mapping.tolerance import tolerable_ber
    real = bf.spike_seed_evaluator

    def rigged(spikes):
        inner = real(spikes)

        def correct(model, x, y, weights):
            return inner(model, x, y, model.weights if len(x) == 40 else weights)   # test: error-free
        return correct
    argv = FAT_CLI + ["--compare-guard", "--cache-dir", str(tmp_path / "cache")]
    assert bf.main(argv + ["--out", str(tmp_path / "honest")]) == 0
    monkeypatch.setattr(bf, "spike_seed_evaluator", rigged)
    assert bf.main(argv + ["--out", str(tmp_path / "rigged")]) == 0
    honest, rigged_res = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("honest", "rigged"))
    (h,), (r,) = honest["comparison"], rigged_res["comparison"]
    test_plain = [s for s in rigged_res["summary"] if s["images"] == "test" and s["variant"] == "plain"]
    assert tolerable_ber(test_plain, 0.01) == 1e-2 != h["tolerable_plain"]   # test would choose otherwise
    for k in ("tolerable_plain", "tolerable_fat", "crossing_plain", "crossing_fat"):
        assert r[k] == h[k]
    if r["tolerable_plain"] is not None:
        assert r["test_plain_loss"] == 0.0                         # the rigged test figures are reported


@pytest.mark.parametrize("bad, option", [(["--spike-seeds", "0"], "--spike-seeds"),
                                         (["--fault-maps", "0"], "--fault-maps"),
                                         (["--val-images", "0"], "--val-images"),
                                         (["--val-images", "4000"], "--val-images"),
                                         (["--train-seeds", "0,-1"], "--train-seeds"),
                                         (["--fat-epochs", "0"], "--fat-epochs")])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, bad, option, capsys):
    from bench.fault_aware import main
    rc = main(["--neurons", "10", "--no-progress", "--cache-dir", str(tmp_path / "cache"),
               "--out", str(tmp_path / "out" / "fat")] + bad)
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m bench.fault_aware: error: ") and option in err[0]
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_cli_rejects_writeback_on_device_faults(tmp_path, capsys):
    from bench.fault_aware import main
    assert main(["--fat-mode", "writeback", "--no-progress", "--cache-dir", str(tmp_path)]) == 2
    assert "restore" in capsys.readouterr().err


def test_device_reads_encode_only_the_faulty_words_and_match_a_full_read():
    """After the first read of a level, the hook encodes just the known faulty words; the
    values it returns must equal reading the whole matrix through the same faults."""
    from mapping.inject import read_back
    rng = np.random.default_rng(5)
    store = StoredWeights.default((64, 10), "fp32")
    hook = FaultAwareHook(store, n_images=10, target_ber=0.02, params=FLAT, schedule="constant",
                          guard="zero", faults="device", seed=4)
    for step in range(3):
        w = rng.random((64, 10), dtype=np.float32)
        idx, vals, n = hook.read(w, 0.02)
        fm = FaultMap.build(store.spec, 0, 0.02, seed=4, params=FLAT)
        words = store.fmt.encode(w)
        masks = flip_masks(words, store.layout, fm).reshape(-1)
        full = read_back(store.fmt, words.reshape(-1), masks, "zero")
        assert idx.size and np.array_equal(idx, np.flatnonzero(masks))
        np.testing.assert_array_equal(vals, full[idx])
        assert hook._cache_hit(0.02)                     # the level is known after the first read
