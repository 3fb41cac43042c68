"""Poisson rate coding of images into input spike events.

Input ``i`` of an image with pixel value ``x`` fires at ``rate_hz = x * intensity / 8`` (the
original's ``data * input_intensity / 8``; intensity 2 gives pixel/4 Hz, at most 63.75 Hz).
As in Brian's PoissonGroup, each input fires in each time step independently with probability
``p = rate_hz * dt``, at most once per step.

Fast generation: instead of one random number per input and step (784 x 700 per image), we draw
the gaps between an input's spikes directly: the number of steps to the next spike of a
Bernoulli(p)-per-step process is geometric, ``gap = floor(ln U / ln(1 - p)) + 1`` with
U ~ U(0, 1] (P(gap > g) = (1 - p)^g, exactly the Bernoulli process).  So the work is one random
number per *spike* (~2,300 per MNIST image, ~5,000 per Fashion-MNIST image) and pixels that are
0 cost nothing.  The draws of an input come in vectors of GAP_BATCH lanes, their logarithm
computed branch-free (:func:`ln_uniform`, within ~1e-15 of np.log) and only the floor kept; a
draw whose floor that precision cannot settle (|g - integer| < 1e-12 |g|, essentially never)
is computed with np.log, so the spikes are exactly those of the scalar definition.

Random numbers come from a counter-based generator (SplitMix64 finaliser over a key): the
stream of input ``i`` in presentation ``attempt`` of image ``image_key`` under ``seed`` is a pure
function of those four integers.  The spikes of an image therefore do not depend on the network
(its size, weights, or which other images are processed, in what order or on how many threads);
only the *number* of presentations (retries) depends on the network.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.cpython.unsafe.numbers import viewer

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SEED_SALT = np.uint64(0x5DEECE66D1234567)
_TWO_M53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64 finaliser: a bijective avalanche mix of a uint64."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def stream_key(seed, image_key, attempt, input_idx):
    """Key of the random stream of one input in one presentation of one image."""
    h = mix64(np.uint64(seed) ^ _SEED_SALT)
    h = mix64(h ^ np.uint64(image_key))
    h = mix64(h ^ ((np.uint64(attempt) << np.uint64(32)) | np.uint64(input_idx)))
    return h


@njit(cache=True, inline="always")
def uniform01(key, counter):
    """The ``counter``-th U(0, 1] draw of stream ``key`` (53-bit resolution)."""
    z = mix64(key + np.uint64(counter) * _GOLDEN)
    return (np.float64(z >> np.uint64(11)) + 1.0) * _TWO_M53


#: slots per step in the compact event layout: 16 int32 = one cache line
BUCKET = 16


@njit(cache=True)
def new_event_buffers(n_inputs, n_steps):
    """(ev_count, ev_input, rate cache) for encode_presentation, reusable across calls.

    The rate cache holds 1/ln(1 - p) per pixel value and the (intensity, rate divisor, dt) it
    was computed for, so the logarithms are taken once per intensity.
    """
    cache = np.full(256 + 3, np.nan)
    # + 8: present() reads up to eight entries past a step's events (never uses them)
    return (np.zeros(n_steps, np.int32), np.zeros(n_steps * n_inputs + 8, np.int32), cache)


#: draws of one input's stream computed together (one vector of float64 lanes)
GAP_BATCH = 16
_LN2 = 0.6931471805599453
_SQRT2 = 1.4142135623730951
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.uint64(0x3FF0000000000000)
#: the fast logarithm's result is trusted only where this relative distance from an integer
#: (and from n_steps) separates it from the exact value; its own error is ~1e-15 relative
_FAST_TOL = 1e-12


@njit(cache=True, inline="always", error_model="numpy")
def ln_uniform(z):
    """ln(u) for u = ((z >> 11) + 1) 2^-53 (uniform01's value of the mixed counter z), branch-
    free so that a loop of it vectorises; within ~1e-15 relative of the correctly rounded value.

    u = m 2^e with m in [sqrt(1/2), sqrt(2)) (exponent and mantissa read from the bits of the
    exact float64 u 2^53), and ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by nine
    terms of its series (truncation below 1e-15 relative).
    """
    f = np.float64((z >> np.uint64(11)) + np.uint64(1))             # u * 2^53, exact
    bits = viewer(f, types.uint64)
    e = np.int64(bits >> np.uint64(52)) - 1023 - 53
    m = viewer((bits & _MANTISSA) | _ONE_BITS, types.float64)       # in [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    sv = (m - 1.0) / (m + 1.0)
    s2 = sv * sv
    poly = 1.0 / 17.0
    poly = poly * s2 + 1.0 / 15.0
    poly = poly * s2 + 1.0 / 13.0
    poly = poly * s2 + 1.0 / 11.0
    poly = poly * s2 + 1.0 / 9.0
    poly = poly * s2 + 1.0 / 7.0
    poly = poly * s2 + 1.0 / 5.0
    poly = poly * s2 + 1.0 / 3.0
    poly = poly * s2 + 1.0
    return e * _LN2 + 2.0 * sv * poly


@njit(cache=True, inline="always", error_model="numpy")
def _gap_batch(key, draw0, inv_log_q, gbuf):
    """gbuf[l] = floor(ln(u) * inv_log_q) of draws draw0 + l of stream ``key`` (l < GAP_BATCH),
    or NaN where the fast logarithm cannot decide the floor (the caller then computes that draw
    exactly, as the scalar code does).

    Only the floor of g = ln(u) * inv_log_q is used (g >= 0; its comparisons with the integer
    n_steps follow from it), so a lane whose fast g lies within 1e-12 |g| of an integer is left
    to the exact path: everywhere else the fast floor is the floor of the exact float64 g (the
    fast logarithm is within ~1e-15 relative of np.log's, tests/test_snn_encoding.py).
    """
    for l in range(GAP_BATCH):
        z = mix64(key + np.uint64(draw0 + l) * _GOLDEN)
        g = ln_uniform(z) * inv_log_q
        tol = _FAST_TOL * abs(g) + 1e-300
        lo = np.floor(g - tol)
        hi = np.floor(g + tol)
        gbuf[l] = lo if lo == hi else np.nan


@njit(cache=True, error_model="numpy")   # no ZeroDivisionError branch: _gap_batch vectorises
def _fill_buckets(pixels, p_scale, n_steps, seed, image_key, attempt, ev_count, ev_input, cache,
                  stride, gbuf):
    """Generate the spikes into ``stride``-slot step buckets; -1 if a bucket overflows.

    Input i's spike steps: t = -1, then t += floor(ln(u_d) * inv_log_q) + 1 for its draws d =
    0, 1, ... until the gap reaches n_steps or t does (module docstring).  The floors come in
    batches of GAP_BATCH from _gap_batch; a draw it cannot decide is computed here exactly.
    """
    for s in range(n_steps):
        ev_count[s] = 0
    n = 0
    t_end = np.float64(n_steps)
    for i in range(pixels.shape[0]):
        x = pixels[i]
        if x == 0:
            continue
        inv_log_q = cache[x]
        if np.isnan(inv_log_q):
            p = x * p_scale
            inv_log_q = 1.0 / np.log1p(-p) if p < 1.0 else 0.0   # 0: a spike every step
            cache[x] = inv_log_q
        if inv_log_q == 0.0:
            for t in range(n_steps):
                c = ev_count[t]
                if c == stride:
                    return -1
                ev_input[t * stride + c] = i
                ev_count[t] = c + 1
            n += n_steps
            continue
        key = stream_key(seed, image_key, attempt, i)
        t = -1
        draw = 0
        while t < n_steps:
            _gap_batch(key, draw, inv_log_q, gbuf)
            for l in range(GAP_BATCH):
                g = gbuf[l]
                if np.isnan(g):               # undecided: the exact computation
                    g = np.log(uniform01(key, draw + l)) * inv_log_q
                if g >= t_end:
                    t = n_steps
                    break
                t += int(g) + 1
                if t >= n_steps:
                    break
                c = ev_count[t]
                if c == stride:
                    return -1
                ev_input[t * stride + c] = i
                ev_count[t] = c + 1
                n += 1
            draw += GAP_BATCH
    return n


@njit(cache=True)
def encode_presentation(pixels, intensity, rate_divisor, dt_ms, n_steps, seed, image_key,
                        attempt, ev_count, ev_input, cache):
    """Input spikes of one presentation, bucketed by step; returns (n_events, stride).

    pixels: uint8 [n_inputs].  Out: the ``ev_count[s]`` inputs spiking at step ``s`` are
    ``ev_input[s * stride : s * stride + ev_count[s]]``, in increasing input order (inputs are
    generated in that order, so no sort is needed); stride = whole cache lines of 16 slots,
    enough for the image's expected spikes per step, or the number of lit pixels (the most
    spikes a step can have) if some step has more than that.  Buffers from new_event_buffers().
    """
    p_scale = intensity / rate_divisor * dt_ms * 1e-3
    if cache[256] != intensity or cache[257] != rate_divisor or cache[258] != dt_ms:
        cache[:256] = np.nan
        cache[256] = intensity
        cache[257] = rate_divisor
        cache[258] = dt_ms
    n_lit = 0
    ink = 0
    for i in range(pixels.shape[0]):
        n_lit += pixels[i] != 0
        ink += pixels[i]
    # a step holds at most n_lit spikes; buckets of whole cache lines (16 slots), enough of
    # them for the image's expected spikes per step (lam) plus 4 standard deviations and 4
    # (MNIST digits: lam ~3, one line; Fashion-MNIST: lam ~7, two lines), so a step rarely
    # overflows; one that does falls back to n_lit slots (the spikes are generated again,
    # identically)
    lam = ink * p_scale
    want = int(lam + 4.0 * np.sqrt(lam) + 4.0)
    stride = max(min(n_lit, (want // BUCKET + 1) * BUCKET), 1)
    gbuf = np.empty(GAP_BATCH)
    while True:
        n = _fill_buckets(pixels, p_scale, n_steps, seed, image_key, attempt, ev_count,
                          ev_input, cache, stride, gbuf)
        if n >= 0:
            break
        stride = n_lit
    return n, stride


def intensity_of_attempt(params, attempt: int) -> float:
    """Input intensity of presentation ``attempt`` (0 = first) of an image."""
    return params.input_intensity + attempt * params.intensity_step


def poisson_events(params, pixels, *, seed: int, image_key: int = 0, attempt: int = 0):
    """Convenience wrapper: (steps int32, inputs int32) of one presentation, in time order."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1)
    if pixels.shape[0] != params.n_inputs:
        raise ValueError(f"poisson_events: image has {pixels.shape[0]} pixels, expected "
                         f"{params.n_inputs}")
    t = params.present_steps
    ev_count, ev_input, cache = new_event_buffers(params.n_inputs, t)
    _, stride = encode_presentation(pixels, float(intensity_of_attempt(params, attempt)),
                                    float(params.rate_divisor), float(params.dt_ms), t,
                                    int(seed), int(image_key), int(attempt), ev_count, ev_input,
                                    cache)
    steps = np.repeat(np.arange(t, dtype=np.int32), ev_count)
    inputs = np.concatenate([ev_input[k * stride:k * stride + ev_count[k]] for k in range(t)])
    return steps, inputs.astype(np.int32)
