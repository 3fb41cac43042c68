"""Fault-aware training hook and schedule (mapping.fault_aware)."""
import numpy as np
import pytest

from dramsim.errors import ErrorParams
from mapping.fault_aware import FaultAwareHook, scheduled_ber, train_fault_aware
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


def _hook(mode, ber=0.05, guard="zero", n_images=100):
    store = StoredWeights.default((64, 10), "fp32")
    return FaultAwareHook(store, n_images=n_images, target_ber=ber, params=FLAT, schedule="constant",
                          guard=guard, mode=mode, seed=3)


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


def test_train_fault_aware_tiny_network_is_reproducible():
    from snn.model import Model
    from snn.params import NetworkParams
    rng = np.random.default_rng(5)                           # synthetic images: speed, not accuracy
    x = (rng.random((100, 784)) < 0.15).astype(np.uint8) * 255
    y = np.arange(100) % 10
    nets, hooks = [], []
    for _ in range(2):
        m = Model.new(NetworkParams(n_neurons=10), seed=0)
        hooks.append(train_fault_aware(m, x, y, target_ber=1e-3, seed=0, every=7, guard="clamp"))
        nets.append(m)
    assert np.array_equal(nets[0].weights, nets[1].weights)
    assert hooks[0].calls == -(-100 // 7) and hooks[0].flipped_bits > 0
    bers = [b for _, b, _ in hooks[0].history]
    assert bers[0] == pytest.approx(1e-6) and bers[-1] == pytest.approx(1e-3)
    assert all(b2 >= b1 for b1, b2 in zip(bers, bers[1:]))
    assert np.all(np.isfinite(nets[0].weights)) and (nets[0].labels >= 0).any()
