"""Inference: determinism (seed, threads), weight override, the exact input-spike stream, and
evaluation bookkeeping."""
import numpy as np
import pytest

from snn import reference
from snn.infer import evaluate, input_spike_events, spike_counts, spike_counts_and_attempts
from snn.labels import predict
from snn.model import Model
from snn.params import NetworkParams
from snn.train import train
from snn_images import random_images


@pytest.fixture(scope="module")
def model_and_images():
    images = random_images(16, seed=2, lit_min=60, lit_max=220)
    labels = np.arange(16) % 10
    model = Model.new(NetworkParams(n_neurons=30, max_retries=4), 7)
    train(model, images, labels, seed=1, progress=False)
    return model, images, labels


def test_same_seed_same_counts_any_threads(model_and_images):
    model, images, _ = model_and_images
    a = spike_counts(model, images, seed=4)
    b = spike_counts(model, images, seed=4)
    c = spike_counts(model, images, seed=4, threads=2)
    d = spike_counts(model, images, seed=5)
    assert a.dtype == np.int32 and a.shape == (16, 30)
    assert a.sum() > 0
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, d)
    # an image's counts do not depend on the other images in the call (rested start)
    np.testing.assert_array_equal(spike_counts(model, images[:1], seed=4)[0], a[0])


def test_weights_override(model_and_images):
    model, images, _ = model_and_images
    np.testing.assert_array_equal(spike_counts(model, images, seed=4, weights=model.weights),
                                  spike_counts(model, images, seed=4))
    counts, attempts = spike_counts_and_attempts(model, images[:3], seed=4,
                                                 weights=np.zeros_like(model.weights))
    assert counts.sum() == 0                      # no input current: no spike, every retry used
    assert (attempts == model.params.max_retries + 1).all()
    with pytest.raises(ValueError, match="shape"):
        spike_counts(model, images, weights=np.zeros((784, 3), np.float32))


def test_input_spike_events_are_the_simulated_ones(model_and_images):
    """Rebuilt independently: the numpy encoder's spikes for each presentation the engine used
    (retry a of an image starts at step a * (present + rest steps))."""
    model, images, _ = model_and_images
    p = model.params
    weights = model.weights * np.float32(0.6)    # weaker weights: some images need retries
    _, attempts = spike_counts_and_attempts(model, images, seed=3, weights=weights)
    assert attempts.max() > 1
    img, step, inp = input_spike_events(model, images, seed=3, weights=weights)
    assert img.dtype == step.dtype == inp.dtype == np.int32
    period = p.present_steps + p.rest_steps
    exp_img, exp_step, exp_inp = [], [], []
    for b in range(len(images)):
        for a in range(attempts[b]):
            for k, inputs in enumerate(reference.poisson_events(p, images[b], 3, b, a)):
                exp_img += [b] * len(inputs)
                exp_step += [a * period + k] * len(inputs)
                exp_inp += list(inputs)
    np.testing.assert_array_equal(img, exp_img)
    np.testing.assert_array_equal(step, exp_step)
    np.testing.assert_array_equal(inp, exp_inp)
    order = np.lexsort((inp, step, img))
    np.testing.assert_array_equal(order, np.arange(len(img)))     # time order


def test_evaluate_bookkeeping(model_and_images):
    model, images, labels = model_and_images
    r = evaluate(model, images, labels, seed=2)
    counts = spike_counts(model, images, seed=2)
    np.testing.assert_array_equal(r.predictions, predict(counts, model.labels))
    assert r.accuracy == pytest.approx((r.predictions == labels).mean())
    assert r.confusion.shape == (10, 10) and r.confusion.sum() == len(images)
    assert np.trace(r.confusion) == (r.predictions == labels).sum()
    assert (r.attempts >= 1).all()


def test_bad_input():
    m = Model.new(NetworkParams(n_neurons=4), 0)
    with pytest.raises(ValueError, match="shape"):
        spike_counts(m, np.zeros((2, 10), np.uint8))
    with pytest.raises(ValueError, match="integers"):
        spike_counts(m, np.full((1, 784), 0.5))
    with pytest.raises(ValueError, match="seed"):
        spike_counts(m, np.zeros((1, 784), np.uint8), seed=-1)
    with pytest.raises(ValueError, match="neuron labels"):
        evaluate(m, np.zeros((1, 784), np.uint8), [0])


def test_a_subset_with_its_own_keys_reproduces_those_images(model_and_images):
    model, images, _ = model_and_images
    full = spike_counts(model, images, seed=4)
    pick = np.array([3, 7, 11])
    np.testing.assert_array_equal(spike_counts(model, images[pick], seed=4, keys=pick), full[pick])
    assert not np.array_equal(spike_counts(model, images[pick], seed=4), full[pick])   # keys matter


@pytest.mark.parametrize("trial", range(6))
def test_evaluating_only_the_images_a_change_can_reach_is_exact(model_and_images, trial):
    """Random rows of the weights are destroyed; images are made to miss some of those rows.
    correct_after_change must equal evaluating every image (the independent truth)."""
    from snn.infer import correct_after_change, correct_matrix
    model, images, labels = model_and_images
    rng = np.random.default_rng(trial)
    imgs = images.copy()
    rows = rng.choice(784, size=rng.integers(1, 40), replace=False)
    dark = rng.random(len(imgs)) < 0.5
    imgs[np.ix_(dark, rows)] = 0                       # these images cannot see the change
    w = model.weights.copy()
    w[rows] = rng.random((len(rows), w.shape[1]), dtype=np.float32) * 3.0
    seeds = [11, 12]
    clean = correct_matrix(model, imgs, labels, seeds=seeds)
    truth = correct_matrix(model, imgs, labels, seeds=seeds, weights=w)
    fast = correct_after_change(model, imgs, labels, seeds=seeds, weights=w, clean=clean, changed_rows=rows)
    np.testing.assert_array_equal(fast, truth)
