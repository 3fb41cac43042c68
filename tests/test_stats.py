"""snn.stats: confidence intervals of accuracies and paired losses, against known answers."""
import numpy as np
import pytest
from scipy import stats as sps

from snn.stats import accuracy_estimate, crossed_mean_interval, mean_interval, paired_loss_estimate


def _coverage(generate, truth, reps=400, seed=0):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        e = crossed_mean_interval(generate(rng))
        hits += e.low <= truth <= e.high
    return hits / reps


def _image_only(rng):
    """One device: per-image loss +1 with p 0.05, -1 with p 0.02 (mean 0.03)."""
    u = rng.random((1, 400))
    return (u < 0.05).astype(float) - ((u >= 0.05) & (u < 0.07))


def _devices_differ(rng):
    """Five devices whose loss rates are drawn from U(0, 0.08) (population mean 0.04)."""
    r = rng.uniform(0.0, 0.08, 5)[:, None]
    return (rng.random((5, 300)) < r).astype(float)


def _images_and_devices(rng):
    """20% of images are susceptible; three devices with rates U(0, 0.5) (mean 0.2 * 0.25)."""
    susceptible = (rng.random(300) < 0.2)[None, :]
    r = rng.uniform(0.0, 0.5, 3)[:, None]
    return (rng.random((3, 300)) < susceptible * r).astype(float)


@pytest.mark.parametrize("generate, truth", [(_image_only, 0.03), (_devices_differ, 0.04),
                                             (_images_and_devices, 0.05)])
def test_95_percent_intervals_cover_the_known_mean(generate, truth):
    """Coverage over 400 synthetic experiments with a known population mean: about 95%
    (binomial standard error ~1.1%; too narrow or too wide intervals both fail)."""
    cover = _coverage(generate, truth)
    assert 0.91 <= cover <= 0.985, cover


def test_one_device_is_the_textbook_t_interval():
    x = np.random.default_rng(3).random(50)
    e = mean_interval(x)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert (e.mean, e.low, e.high) == pytest.approx((x.mean(), lo, hi))


def test_identical_outcomes_give_a_zero_width_interval():
    clean = np.array([[True, False, True, True]])
    e = paired_loss_estimate(clean, np.stack([clean, clean, clean]))
    assert (e.mean, e.low, e.high) == (0.0, 0.0, 0.0)


def test_paired_loss_by_hand():
    """clean: 3 of 4 right under each of 2 spike seeds; device A loses image 0 under seed 0;
    device B loses images 0 and 2 under both seeds. Loss = clean - faulty, positive = worse."""
    clean = np.array([[1, 1, 1, 0], [1, 1, 1, 0]], bool)
    a = clean.copy()
    a[0, 0] = False
    b = clean.copy()
    b[:, [0, 2]] = False
    e = paired_loss_estimate(clean, np.stack([a, b]))
    assert e.mean == pytest.approx((1 / 8 + 4 / 8) / 2)           # 0.3125
    assert e.low < e.mean < e.high and (e.devices, e.seeds, e.images) == (2, 2, 4)
    acc = accuracy_estimate(np.stack([a, b]))
    assert acc.mean == pytest.approx(0.75 - e.mean)
    assert paired_loss_estimate(clean, np.stack([~clean, ~clean])).mean == pytest.approx(0.75 - 0.25)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="seeds x images"):
        paired_loss_estimate(np.ones((2, 5), bool), np.ones((3, 1, 5), bool))
    with pytest.raises(ValueError, match="at least 2 images"):
        crossed_mean_interval(np.ones((3, 1)))


def test_intervals_stay_within_what_accuracy_and_loss_can_be():
    """Two devices, one perfect and one hopeless, on 3 images: the t-interval (df ~ 1) would
    reach far below 0 and above 1."""
    good = np.ones((1, 3), bool)
    bad = np.zeros((1, 3), bool)
    acc = accuracy_estimate(np.stack([good, bad]))
    assert acc.mean == 0.5 and (acc.low, acc.high) == (0.0, 1.0)
    loss = paired_loss_estimate(good, np.stack([good, bad]))
    assert loss.mean == 0.5 and loss.low >= -1.0 and loss.high == 1.0
