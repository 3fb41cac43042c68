"""STDP on hand-built input/output spike trains: signs and magnitudes against the rule written
out by hand (Diehl & Cook: pre spike w -= nu_pre * post1; post spike w += nu_post * pre *
post2(before); traces exp(-t/tau) after being set to 1), plus the normalisation invariant."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from snn import discrete, kernels
from snn.model import Model
from snn.params import NetworkParams
from snn.train import train
from snn_images import random_images

DT = 0.5


def run(pre_steps, present_ms, w0, n_inputs=2):
    """One neuron forced to fire whenever not refractory (steps 0, 11, 22, ...) while input 0
    spikes at ``pre_steps``; returns (weights after, post spike steps)."""
    p = NetworkParams(n_inputs=n_inputs, n_neurons=1, present_ms=present_ms, dt_ms=DT)
    cf, _, ci = discrete.constants(p)
    tables = discrete.trace_tables(p)
    t = p.present_steps
    ev_count = np.zeros(t, np.int32)                              # one event slot per step
    ev_count[list(pre_steps)] = 1
    ev_input = np.zeros(t + 4, np.int32)                          # all events are input 0
    w = np.array(w0, np.float32).reshape(n_inputs, 1)
    wx = kernels.extend_weights(w, 1)
    theta = np.array([-100.0], np.float32)                        # threshold far below rest
    thr = theta + cf[discrete.THR_OFF_E]
    scratch = kernels.new_scratch(n_inputs, 1)
    rec = np.zeros((100, 2), np.int32)
    kernels.present(wx, n_inputs, theta, thr, True, ev_count, ev_input, 1,
                    np.zeros((0, 0), np.uint8), cf, ci, tables, scratch,
                    np.zeros(0, np.int32), 0, rec)
    n_rec = int(scratch[kernels.S_N_REC][0])
    return wx[:n_inputs, 0].astype(np.float64), list(rec[:n_rec, 0])


def trace(n_steps, tau_ms):
    return math.exp(-n_steps * DT / tau_ms)


def test_pre_after_post_depresses_by_nu_pre_times_post1():
    w, post = run([5], present_ms=5.0, w0=[0.5, 0.5])          # T = 10 steps
    assert post == [0]
    expected = 0.5 - 1e-4 * trace(5, 20.0)
    assert w[0] < 0.5
    assert math.isclose(w[0], expected, rel_tol=1e-6)
    assert w[1] == np.float32(0.5)                               # silent input: untouched


def test_pre_before_post_potentiates_with_post2_before_update():
    w, post = run([3], present_ms=6.0, w0=[0.5, 0.5])          # T = 12 steps
    assert post == [0, 11]
    depression = 1e-4 * trace(3, 20.0)                           # pre at 3, post at 0
    potentiation = 0.01 * trace(11 - 3, 20.0) * trace(11 - 0, 40.0)   # at post 11
    assert w[0] > 0.5
    assert math.isclose(w[0], 0.5 - depression + potentiation, rel_tol=1e-6)
    assert w[1] == np.float32(0.5)


def test_first_post_spike_of_a_presentation_does_not_potentiate():
    # pre at 0 is processed after the post spike of step 0: the only post spike has post2 = 0
    # before it, so only the depression of the pre spike remains (post1 = 1 at lag 0)
    w, post = run([0], present_ms=5.0, w0=[0.5, 0.5])
    assert post == [0]
    assert math.isclose(w[0], 0.5 - 1e-4, rel_tol=1e-6)


def test_weights_clip_to_zero_and_w_max():
    w, _ = run([5], present_ms=5.0, w0=[1e-6, 0.2])
    assert w[0] == 0.0
    w, _ = run([3], present_ms=6.0, w0=[0.9999, 0.2])
    assert w[0] == 1.0


def test_potentiation_decays_with_pre_post_lag():
    gains = []
    for pre in (10, 8, 5, 2):                                    # lag to the post spike at 11
        w, _ = run([pre], present_ms=6.0, w0=[0.5, 0.5])
        gains.append(w[0] - 0.5 + 1e-4 * trace(pre, 20.0))     # remove the depression part
    assert all(a > b > 0 for a, b in zip(gains, gains[1:]))
    for pre, g in zip((10, 8, 5, 2), gains):
        assert math.isclose(g, 0.01 * trace(11 - pre, 20.0) * trace(11, 40.0), rel_tol=1e-4)


@settings(max_examples=6, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 10_000))
def test_normalisation_invariant(n, seed):
    """After training every neuron's input weights sum to weight_sum (78)."""
    images = random_images(3, seed=seed, lit_min=150, lit_max=151)
    m = Model.new(NetworkParams(n_neurons=n), seed)
    train(m, images, seed=seed, progress=False)
    sums = m.weights.astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(sums, 78.0, rtol=2e-6)
    assert (m.weights >= 0).all()
