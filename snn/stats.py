"""Accuracy with its uncertainty: means and 95 % confidence intervals over images and devices.

An accuracy measured under bit errors varies with three random things: which test images were
drawn, which cells of the device fail (the fault map, a *device*), and the Poisson input
spikes (the spike seed). The tools evaluate every (device, spike seed, image) combination and
keep, per image, whether it was classified correctly. For a loss the same images and spike
seeds are run error-free, so the loss of one image under one device and seed is
``clean - faulty`` in {-1, 0, 1}: the pair shares everything but the bit errors.

Method (two-way crossed random effects, method of moments). Spike seeds are nested in images
(image ``b`` under seed ``s`` has its own Poisson stream), so the per-image value is the mean
over spike seeds, ``d[f, i]`` for device ``f`` and image ``i``. The estimate is the grand mean
of ``d``. Modelling ``d[f, i] = mu + a_i + b_f + e_fi`` with images and devices both random
draws from their populations, the variance of the grand mean is

    V = sigma_a^2 / n + sigma_b^2 / F + sigma_e^2 / (n F),

estimated from the two-way ANOVA mean squares (MS_img, MS_dev, MS_res) with each variance
component floored at zero; the interval is ``mean +- t * sqrt(V)`` with Satterthwaite's degrees
of freedom. With one device (or an error-free run) this is the usual t-interval over images.
Few devices give few degrees of freedom, and a wide interval when devices disagree: that is
the honest price of measuring few devices (a bootstrap over 3 devices sees only 3 values and
covers less). If every ``d`` is equal (e.g. no bit flipped anywhere) the interval has zero
width. Accuracy intervals are cut to [0, 1] and loss intervals to [-1, 1], the values they can
take. Coverage is checked on synthetic data with a known mean in tests/test_stats.py.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean with its two-sided confidence interval (same unit as the mean)."""
    mean: float
    low: float
    high: float
    images: int
    devices: int
    seeds: int

    def scaled(self, factor: float) -> "Estimate":
        """The same estimate in another unit (e.g. ``100`` for percent)."""
        return Estimate(self.mean * factor, self.low * factor, self.high * factor,
                        self.images, self.devices, self.seeds)

    def as_dict(self) -> dict:
        return asdict(self)

    def clipped(self, lo: float, hi: float) -> "Estimate":
        """The interval cut to the values the quantity can take (a t-interval over few devices
        can reach past them)."""
        return Estimate(self.mean, max(self.low, lo), min(self.high, hi), self.images, self.devices, self.seeds)


def _t_quantile(df: float, confidence: float) -> float:
    from scipy.stats import t
    return float(t.ppf(0.5 + confidence / 2.0, df))


def crossed_mean_interval(values, confidence: float = CONFIDENCE, seeds: int = 1) -> Estimate:
    """Mean of ``values[F, n]`` (devices x images) with its confidence interval (module doc)."""
    d = np.asarray(values, dtype=np.float64)
    if d.ndim == 1:
        d = d[None, :]
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"need a non-empty [devices, images] array, got shape {d.shape}")
    n_dev, n_img = d.shape
    mean = float(d.mean())
    if n_img < 2:
        raise ValueError("a confidence interval needs at least 2 images")
    img_means = d.mean(axis=0)
    ms_img = n_dev * float(((img_means - mean) ** 2).sum()) / (n_img - 1)
    if n_dev == 1:
        terms = [(ms_img / n_img, n_img - 1)]
    else:
        dev_means = d.mean(axis=1)
        ms_dev = n_img * float(((dev_means - mean) ** 2).sum()) / (n_dev - 1)
        resid = d - img_means[None, :] - dev_means[:, None] + mean
        df_res = (n_img - 1) * (n_dev - 1)
        ms_res = float((resid ** 2).sum()) / df_res
        # V = [max(MS_img - MS_res, 0) + max(MS_dev - MS_res, 0) + MS_res] / (n F), written as a
        # sum of mean squares with coefficients for Satterthwaite's approximation
        scale = 1.0 / (n_img * n_dev)
        terms = [(scale * ms_res, df_res)]
        for ms, df in ((ms_img, n_img - 1), (ms_dev, n_dev - 1)):
            if ms > ms_res:
                terms += [(scale * ms, df), (-scale * ms_res, df_res)]
    var = sum(c for c, _ in terms)
    if var <= 0.0:
        return Estimate(mean, mean, mean, n_img, n_dev, int(seeds))
    df = var ** 2 / sum(c * c / df for c, df in terms if c != 0.0)
    half = _t_quantile(max(df, 1.0), confidence) * math.sqrt(var)
    return Estimate(mean, mean - half, mean + half, n_img, n_dev, int(seeds))


def _as_3d(correct, what: str) -> np.ndarray:
    a = np.asarray(correct)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"{what}: expected [devices, seeds, images] (or [seeds, images]), got {a.shape}")
    return a.astype(np.float64)


def accuracy_estimate(correct, confidence: float = CONFIDENCE) -> Estimate:
    """Accuracy (fraction) of ``correct[F, S, n]`` (bool: device, spike seed, image) with its CI;
    ``[S, n]`` is one device (an error-free run)."""
    a = _as_3d(correct, "correct")
    return crossed_mean_interval(a.mean(axis=1), confidence, seeds=a.shape[1]).clipped(0.0, 1.0)


def paired_loss_estimate(clean, faulty, confidence: float = CONFIDENCE) -> Estimate:
    """Accuracy loss (fraction; positive = worse than error-free) of ``faulty[F, S, n]`` against
    ``clean[S, n]``, the error-free run on the same images and spike seeds, with its CI."""
    c = np.asarray(clean)
    f = _as_3d(faulty, "faulty")
    if c.shape != f.shape[1:]:
        raise ValueError(f"clean run {c.shape} and faulty runs {f.shape} differ in seeds x images")
    loss = c.astype(np.float64)[None] - f
    return crossed_mean_interval(loss.mean(axis=1), confidence, seeds=f.shape[1]).clipped(-1.0, 1.0)


def mean_interval(values, confidence: float = CONFIDENCE) -> Estimate:
    """Mean of independent samples (e.g. energy per image) with its t-interval."""
    return crossed_mean_interval(np.asarray(values, dtype=np.float64).reshape(1, -1), confidence)
