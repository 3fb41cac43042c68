"""The numba engine against the plain-numpy reference (a second, dense, time-stepped
implementation of the same discrete model): identical input spikes, exc spike rasters, weights,
thresholds, spike counts and retry counts, bit for bit."""
import numpy as np
import pytest

from snn import discrete, kernels, reference
from snn.encoding import poisson_events
from snn.model import Model
from snn.params import NetworkParams
from snn_images import random_images


@pytest.fixture(scope="module")
def images():
    return random_images(6, seed=5)


def _model(params, seed=3):
    m = Model.new(params, seed)
    reference.normalise(params, m.weights, np.arange(params.n_neurons))
    return m


def test_encoder_matches_numpy_reimplementation(images):
    p = NetworkParams()
    for b, attempt in [(0, 0), (1, 2), (2, 7)]:
        steps, inputs = poisson_events(p, images[b], seed=11, image_key=b, attempt=attempt)
        per_step = reference.poisson_events(p, images[b], 11, b, attempt)
        ref_steps = np.concatenate([np.full(len(e), k) for k, e in enumerate(per_step)])
        assert len(steps) > 1000
        np.testing.assert_array_equal(steps, ref_steps)
        np.testing.assert_array_equal(inputs, np.concatenate(per_step))


@pytest.mark.parametrize("learn", [False, True])
def test_single_presentation_raster(images, learn):
    p = NetworkParams(n_neurons=24)
    m = _model(p)
    w_fast, th_fast = m.weights.copy(), m.theta.copy()
    w_slow, th_slow = m.weights.copy(), m.theta.copy()
    spikes, counts = kernels.simulate_presentation(p, w_fast, th_fast, learn, images[0], seed=4,
                                                   image_key=9, attempt=1)
    events = reference.poisson_events(p, images[0], 4, 9, 1)
    ref_spikes, ref_counts, _ = reference.present(p, w_slow, th_slow, learn, events)
    assert len(spikes) >= 5
    assert spikes == ref_spikes
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(w_fast, w_slow)
    np.testing.assert_array_equal(th_fast, th_slow)


CASES = {
    "default": dict(n_neurons=16),
    "retries": dict(n_neurons=12, min_spikes=30, max_retries=3),
    "delays": dict(n_neurons=10, input_delays=True),
    "dt_1ms": dict(n_neurons=12, dt_ms=1.0),
    # weights above w_max after normalisation: exercises the row/column clipping paths
    "clipping": dict(n_neurons=8, weight_sum=700.0, min_spikes=3),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_and_inference_identical(images, case):
    p = NetworkParams(**CASES[case])
    m = _model(p)
    n_img = 3
    keys = np.arange(n_img, dtype=np.int64) * 5 + 1
    delays = discrete.input_delays(p, m.seed)
    cf, cd, ci = discrete.constants(p)
    tables = discrete.trace_tables(p)
    w_fast, th_fast = m.weights.copy(), m.theta.copy()
    attempts = np.zeros(n_img, np.int64)
    kernels.train_images(w_fast, th_fast, images[:n_img], keys, 7, delays, cf, cd, ci, tables,
                         np.zeros(p.n_neurons, np.bool_), attempts)
    w_slow, th_slow = m.weights.copy(), m.theta.copy()
    ref_attempts, ref_spikes = reference.train(p, w_slow, th_slow, images[:n_img], keys, 7,
                                               delays if p.input_delays else None)
    assert sum(len(s) for s in ref_spikes) > 10
    np.testing.assert_array_equal(attempts, ref_attempts)
    np.testing.assert_array_equal(w_fast, w_slow)
    np.testing.assert_array_equal(th_fast, th_slow)
    assert not np.array_equal(w_fast, m.weights)            # it did learn
    if case == "retries":
        assert attempts.max() > 1
    if case == "clipping":
        assert (m.weights > p.w_max).any()

    counts = np.zeros((n_img, p.n_neurons), np.int32)
    inf_attempts = np.zeros(n_img, np.int64)
    keys = np.arange(n_img, dtype=np.int64)
    kernels.infer_images_parallel(w_fast, th_fast, images[3:3 + n_img], keys, 2, delays, cf, cd, ci,
                                  tables, 1, counts, inf_attempts)
    ref_counts, ref_inf_attempts = reference.spike_counts(
        p, w_slow, th_slow, images[3:3 + n_img], 2, 0, delays if p.input_delays else None)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(inf_attempts, ref_inf_attempts)
