"""Poisson rate coding of images into input spike events.

Input ``i`` of an image with pixel value ``x`` fires at ``rate_hz = x * intensity / 8`` (the
original's ``data * input_intensity / 8``; intensity 2 gives pixel/4 Hz, at most 63.75 Hz).
As in Brian's PoissonGroup, each input fires in each time step independently with probability
``p = rate_hz * dt``, at most once per step.

Fast generation: instead of one random number per input and step (784 x 700 per image), we draw
the gaps between an input's spikes directly: the number of steps to the next spike of a
Bernoulli(p)-per-step process is geometric, ``gap = floor(ln U / ln(1 - p)) + 1`` with
U ~ U(0, 1] (P(gap > g) = (1 - p)^g, exactly the Bernoulli process).  So the work is one random
number per *spike* (~2,300 per MNIST image) and pixels that are 0 cost nothing.

Random numbers come from a counter-based generator (SplitMix64 finaliser over a key): the
stream of input ``i`` in presentation ``attempt`` of image ``image_key`` under ``seed`` is a pure
function of those four integers.  The spikes of an image therefore do not depend on the network
(its size, weights, or which other images are processed, in what order or on how many threads);
only the *number* of presentations (retries) depends on the network.
"""
from __future__ import annotations

import numpy as np
from numba import njit

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
    # + 4: present() reads up to four entries past a step's events (never uses them)
    return (np.zeros(n_steps, np.int32), np.zeros(n_steps * n_inputs + 4, np.int32), cache)


@njit(cache=True)
def _fill_buckets(pixels, p_scale, n_steps, seed, image_key, attempt, ev_count, ev_input, cache,
                  stride):
    """Generate the spikes into ``stride``-slot step buckets; -1 if a bucket overflows."""
    for s in range(n_steps):
        ev_count[s] = 0
    n = 0
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
        while True:
            g = np.log(uniform01(key, draw)) * inv_log_q
            draw += 1
            if g >= n_steps:
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
    return n


@njit(cache=True)
def encode_presentation(pixels, intensity, rate_divisor, dt_ms, n_steps, seed, image_key,
                        attempt, ev_count, ev_input, cache):
    """Input spikes of one presentation, bucketed by step; returns (n_events, stride).

    pixels: uint8 [n_inputs].  Out: the ``ev_count[s]`` inputs spiking at step ``s`` are
    ``ev_input[s * stride : s * stride + ev_count[s]]``, in increasing input order (inputs are
    generated in that order, so no sort is needed); stride = 16 (a step's bucket is one cache
    line), or the number of lit pixels (the most spikes a step can have) if some step has more
    than 16 spikes.  Buffers from new_event_buffers().
    """
    p_scale = intensity / rate_divisor * dt_ms * 1e-3
    if cache[256] != intensity or cache[257] != rate_divisor or cache[258] != dt_ms:
        cache[:256] = np.nan
        cache[256] = intensity
        cache[257] = rate_divisor
        cache[258] = dt_ms
    n_lit = 0
    for i in range(pixels.shape[0]):
        n_lit += pixels[i] != 0
    # a step holds at most n_lit spikes; try a compact 16-slot (one cache line) bucket first and
    # fall back to n_lit slots when a step overflows (rare below ~4x the base intensity)
    stride = max(min(n_lit, BUCKET), 1)
    while True:
        n = _fill_buckets(pixels, p_scale, n_steps, seed, image_key, attempt, ev_count,
                          ev_input, cache, stride)
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
