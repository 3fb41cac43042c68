"""NetworkParams validation and round trip; Model initialisation as in the original."""
import numpy as np
import pytest

from snn import discrete
from snn.model import Model
from snn.params import NetworkParams


def test_defaults_are_the_original_values():
    p = NetworkParams()
    assert (p.n_inputs, p.dt_ms, p.present_ms, p.rest_ms) == (784, 0.5, 350.0, 150.0)
    assert (p.v_rest_e_mv, p.v_thresh_e_mv, p.theta_offset_mv, p.theta_plus_mv) == (-65, -52, 20, 0.05)
    assert (p.w_ei, p.w_ie, p.nu_pre, p.nu_post, p.weight_sum) == (10.4, 17.0, 1e-4, 0.01, 78.0)
    assert (p.present_steps, p.refrac_e_steps, p.refrac_i_steps) == (700, 10, 4)
    cf, cd, ci = discrete.constants(p)
    assert cf[discrete.F_GE] == np.float32(0.5) and cf[discrete.THR_OFF_E] == -72.0


def test_round_trip_and_validation():
    p = NetworkParams(n_neurons=400, input_delays=True, dt_ms=1.0)
    assert NetworkParams.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError, match="unknown"):
        NetworkParams.from_dict({"n_neurons": 3, "bogus": 1})
    with pytest.raises(ValueError, match="multiple of dt"):
        NetworkParams(dt_ms=0.3)
    with pytest.raises(ValueError):
        NetworkParams(n_neurons=0)
    with pytest.raises(TypeError):
        NetworkParams(n_neurons=2.5)


def test_model_new_initialisation():
    m = Model.new(NetworkParams(n_neurons=50), seed=4)
    assert m.weights.dtype == np.float32 and m.weights.shape == (784, 50)
    assert m.weights.min() >= 0.3 * 0.01 and m.weights.max() < 0.3 * 1.01
    assert abs(m.weights.mean() - 0.3 * 0.51) < 0.002
    assert (m.theta == 20.0).all() and (m.labels == -1).all()
    np.testing.assert_array_equal(Model.new(NetworkParams(n_neurons=50), seed=4).weights, m.weights)
    with pytest.raises(ValueError, match="shape"):
        Model(params=NetworkParams(n_neurons=3), weights=np.zeros((784, 2)), theta=np.zeros(3),
              labels=np.zeros(3))


def test_theta_time_constant_rule():
    """Original 1e7 ms for N >= 400, scaled by N / 400 below; an explicit value wins."""
    assert NetworkParams(n_neurons=400).theta_tau_ms == 1e7
    assert NetworkParams(n_neurons=1600).theta_tau_ms == 1e7
    assert NetworkParams(n_neurons=100).theta_tau_ms == 2.5e6
    assert NetworkParams(n_neurons=100, tau_theta_ms=1e7).theta_tau_ms == 1e7
    p = NetworkParams(n_neurons=100)
    assert p.theta_decay_per_presentation == pytest.approx(np.exp(-500.0 / 2.5e6), rel=1e-15)
    for q in (p, NetworkParams(n_neurons=100, tau_theta_ms=3e6)):
        assert NetworkParams.from_dict(q.to_dict()) == q
    with pytest.raises(ValueError, match="tau_theta"):
        NetworkParams(tau_theta_ms=0.1)
    with pytest.raises(TypeError, match="tau_theta"):
        NetworkParams(tau_theta_ms="1e7")
