"""Poisson encoder: rates pixel * intensity / 8 Hz (pixel/4 Hz at intensity 2), at most one
spike per input and step, reproducible and independent of the network."""
import numpy as np
import pytest

from snn.encoding import poisson_events
from snn.infer import input_spike_events
from snn.model import Model
from snn.params import NetworkParams

P = NetworkParams()
RAMP = (np.arange(784) % 256).astype(np.uint8)        # every pixel value 0..255, ~3 inputs each


def spike_counts_per_input(attempt, n_images, seed=0):
    counts = np.zeros(784, np.int64)
    for key in range(n_images):
        steps, inputs = poisson_events(P, RAMP, seed=seed, image_key=key, attempt=attempt)
        # Bernoulli per step: an input fires at most once per step
        assert len(np.unique(steps.astype(np.int64) * 784 + inputs)) == len(steps)
        counts += np.bincount(inputs, minlength=784)
    return counts


@pytest.mark.parametrize("attempt", [0, 2])
def test_rates_match_pixel_times_intensity_over_8(attempt):
    """Mean spike counts against n * p with p = pixel * intensity / 8 Hz * dt.

    Counts are sums of independent Bernoulli(p) draws, variance n p (1 - p).  We check the total
    over all inputs and the total over each of 8 pixel-value bands within 5 standard deviations
    (a false alarm has probability < 1e-6 per check), and that pixel 0 never fires."""
    n_images = 40
    counts = spike_counts_per_input(attempt, n_images)
    intensity = P.input_intensity + attempt * P.intensity_step
    p = RAMP * intensity / P.rate_divisor * P.dt_ms * 1e-3
    n = n_images * P.present_steps
    assert counts[RAMP == 0].sum() == 0
    bands = [RAMP > 0] + [(RAMP >= lo) & (RAMP < lo + 32) & (RAMP > 0) for lo in range(0, 256, 32)]
    for band in bands:
        expected = n * p[band].sum()
        sigma = np.sqrt(n * (p[band] * (1 - p[band])).sum())
        assert abs(counts[band].sum() - expected) < 5 * sigma, (band.sum(), expected)
    # the brightest pixel fires at 255 / 4 Hz = 63.75 Hz at intensity 2
    if attempt == 0:
        assert np.isclose(p.max() / (P.dt_ms * 1e-3), 63.75)


def test_reproducible_and_seed_dependent():
    a = poisson_events(P, RAMP, seed=3, image_key=1, attempt=0)
    b = poisson_events(P, RAMP, seed=3, image_key=1, attempt=0)
    c = poisson_events(P, RAMP, seed=4, image_key=1, attempt=0)
    d = poisson_events(P, RAMP, seed=3, image_key=2, attempt=0)
    e = poisson_events(P, RAMP, seed=3, image_key=1, attempt=1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    for other in (c, d, e):
        assert len(other[0]) != len(a[0]) or not np.array_equal(other[1], a[1])


def test_certain_spikes_when_rate_reaches_one_per_step():
    p = NetworkParams(input_intensity=8.0 * 2000.0 / 255.0)   # 2000 Hz at pixel 255, dt 0.5 ms
    img = np.zeros(784, np.uint8)
    img[7] = 255
    steps, inputs = poisson_events(p, img, seed=0)
    np.testing.assert_array_equal(steps, np.arange(p.present_steps))
    assert (inputs == 7).all()


def test_input_spikes_do_not_depend_on_network_size():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(3, 784)).astype(np.uint8)
    images[:, rng.random(784) < 0.7] = 0
    small = Model.new(NetworkParams(n_neurons=5), 1)
    large = Model.new(NetworkParams(n_neurons=40), 2)
    ev_small = input_spike_events(small, images, seed=9)
    ev_large = input_spike_events(large, images, seed=9)
    first = P.present_steps                          # compare the first presentation of each
    keep_s = ev_small[1] < first
    keep_l = ev_large[1] < first
    for x, y in zip(ev_small, ev_large):
        np.testing.assert_array_equal(x[keep_s], y[keep_l])


def test_fast_logarithm_is_within_a_few_ulp_of_numpy():
    """snn.encoding.ln_uniform (the vectorised log behind the spike generator) against np.log on
    random draws and on the edges of its range reduction; the generator trusts it only to
    1e-12 relative, so a margin of 1000x is asked for."""
    from numba import njit

    from snn.encoding import ln_uniform

    @njit(error_model="numpy")
    def worst(zs):
        out = 0.0
        for z in zs:
            u = (np.float64(z >> np.uint64(11)) + 1.0) * (1.0 / 9007199254740992.0)
            exact, fast = np.log(u), ln_uniform(z)
            out = max(out, abs(fast - exact) / abs(exact) if exact != 0.0 else abs(fast))
        return out

    random = np.random.default_rng(0).integers(0, 2 ** 64, 200_000, dtype=np.uint64)
    edges = []
    for e in range(54):                          # u 2^53 near powers of two and near sqrt(2) 2^e
        for m1 in [(1 << e) + d for d in range(-2, 3)] + [int(2 ** 0.5 * (1 << e)) + d for d in range(-3, 4)]:
            if 1 <= m1 <= 1 << 53:
                edges.append((m1 - 1) << 11)
    assert worst(random) < 4e-15
    assert worst(np.array(edges, dtype=np.uint64)) < 4e-15


def test_fast_gap_floors_are_the_exact_floors():
    """Every floor the vectorised batch decides equals floor(np.log(u) * 1/ln(1 - p)) of the scalar
    definition, for rates from pixel 1 at intensity 1 to pixel 255 at intensity 21."""
    from numba import njit

    from snn.encoding import GAP_BATCH, _gap_batch, uniform01

    @njit(error_model="numpy")
    def mismatches(keys, inv_log_qs):
        bad, undecided = 0, 0
        g = np.empty(GAP_BATCH)
        for c in inv_log_qs:
            for key in keys:
                _gap_batch(key, 0, c, g)
                for lane in range(GAP_BATCH):
                    exact = np.floor(np.log(uniform01(key, lane)) * c)
                    if np.isnan(g[lane]):
                        undecided += 1
                    elif g[lane] != exact:
                        bad += 1
        return bad, undecided

    p = np.array([x * i / 8 * 0.5e-3 for x in (1, 2, 17, 128, 255) for i in (1.0, 2.0, 5.0, 21.0)])
    bad, undecided = mismatches(np.arange(1, 20_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15),
                                1.0 / np.log1p(-p[p < 1]))
    assert bad == 0 and undecided < 5
