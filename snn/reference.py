"""Plain-numpy, time-stepped reference of the discrete model documented in snn.kernels.

Written for reading, not speed: dense arrays, every neuron and synapse updated every step, the
equations in the order of the kernels' docstring.  It uses the same float32 constants
(snn.discrete) and performs the same float32 operations in the same order, so for the same
input spikes it produces bit-identical spikes, weights and thresholds (tests/test_snn_reference
checks this).  The Poisson encoder is re-implemented here with vectorised numpy uint64 arithmetic
as an independent check of snn.encoding.
"""
from __future__ import annotations

import numpy as np

from snn import discrete as d
from snn.params import NetworkParams

def _mix64(z):
    z = z.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def poisson_events(params: NetworkParams, pixels, seed, image_key, attempt):
    """List over steps of the (increasing) input indices spiking at that step."""
    t_steps = params.present_steps
    intensity = params.input_intensity + attempt * params.intensity_step
    pixels = np.asarray(pixels, dtype=np.uint8).reshape(-1)
    inputs = np.flatnonzero(pixels)
    p = pixels[inputs] * (intensity / params.rate_divisor * params.dt_ms * 1e-3)
    seed_u = np.array([seed], dtype=np.uint64)
    h = _mix64(seed_u ^ np.uint64(0x5DEECE66D1234567))
    h = _mix64(h ^ np.uint64(image_key))
    keys = _mix64(h ^ ((np.uint64(attempt) << np.uint64(32)) | inputs.astype(np.uint64)))
    every_step = p >= 1.0
    with np.errstate(divide="ignore"):
        inv_log_q = np.where(every_step, 0.0, 1.0 / np.log1p(-np.minimum(p, 0.5)))
    per_step = [[] for _ in range(t_steps)]
    t = np.full(inputs.shape, -1, dtype=np.int64)
    alive = np.ones(inputs.shape, dtype=bool)
    draw = 0
    while alive.any():
        z = _mix64(keys + np.uint64((draw * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF))
        u = ((z >> np.uint64(11)).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)
        g = np.log(u) * inv_log_q
        gap = np.where(every_step, 1, np.floor(np.minimum(g, t_steps)).astype(np.int64) + 1)
        t = np.where(alive, t + gap, t)
        alive &= t < t_steps
        for i, s in zip(inputs[alive], t[alive]):
            per_step[s].append(i)
        draw += 1
    return [np.array(sorted(x), dtype=np.int64) for x in per_step]


def present(params: NetworkParams, w, theta, learn, events, delays=None):
    """One presentation from the rested state; w and theta are modified in place if learn.

    Returns (exc_spikes [(step, neuron), ...], counts int32 [N], changed bool [N]) where changed
    marks the columns to normalise (fired, or clipped to w_max by a row clip).
    """
    cf, _, ci = d.constants(params)
    tab_pre, tab_post1, tab_post2 = d.trace_tables(params)
    n_in, n = w.shape
    f32 = np.float32
    v_e = np.full(n, cf[d.V_REST_E], f32)
    ge_e = np.zeros(n, f32)
    gi_e = np.zeros(n, f32)
    ref_e = np.full(n, -1)
    v_i = np.full(n, cf[d.V_REST_I], f32)
    ge_i = np.zeros(n, f32)
    ref_i = np.full(n, -1)
    last_pre = np.full(n_in, -1)
    last_post = np.full(n, -1)
    thr = theta + cf[d.THR_OFF_E]
    counts = np.zeros(n, np.int32)
    clipped = np.zeros(n, bool)
    n_slots = params.max_delay_steps + 1
    ring = np.zeros((n_slots, n), f32)
    zero = f32(0)
    spikes = []
    for k in range(ci[d.I_T]):
        # 0 input drive: rows of this step's input spikes (weights as at the step's start)
        if delays is not None:
            for i in events[k]:
                ring[(k + delays[i].astype(np.int64)) % n_slots, np.arange(n)] += w[i]
            x = ring[k % n_slots].copy()
            ring[k % n_slots] = zero
        else:
            x = np.zeros(n, f32)
            if len(events[k]):
                x = w[events[k][0]].copy()
                for i in events[k][1:]:
                    x += w[i]
        # 1-2 excitatory update and spikes
        free = ref_e < k
        v_new = v_e + ((cf[d.V_REST_E] - v_e) + ge_e * (cf[d.E_EXC] - v_e)
                       + gi_e * (cf[d.E_INH_E] - v_e)) * cf[d.A_E]
        v_new = np.minimum(np.maximum(v_new, cf[d.E_INH_E]), cf[d.E_EXC])
        v_e = np.where(free, v_new, v_e)
        ge_e = ge_e * cf[d.F_GE]
        gi_e = gi_e * cf[d.F_GI]
        ge_e[ge_e < cf[d.G_FLUSH]] = zero
        ge_e += x
        gi_e[gi_e < cf[d.G_FLUSH]] = zero
        spk = free & (v_e > thr)
        v_e[spk] = cf[d.V_RESET_E]
        ref_e[spk] = k + ci[d.I_R_E]
        counts += spk
        spikes += [(k, j) for j in np.flatnonzero(spk)]
        if learn:
            theta[spk] += cf[d.THETA_PLUS]
            thr[spk] = theta[spk] + cf[d.THR_OFF_E]
        # 3-4 inhibitory update and spikes
        free_i = ref_i < k
        v_new = v_i + ((cf[d.V_REST_I] - v_i) + ge_i * (cf[d.E_EXC] - v_i)) * cf[d.A_I]
        v_i = np.where(free_i, v_new, v_i)
        ge_i = ge_i * cf[d.F_GE]
        ge_i[ge_i < cf[d.G_FLUSH]] = zero
        spk_i = free_i & (v_i > cf[d.V_THRESH_I])
        v_i[spk_i] = cf[d.V_RESET_I]
        ref_i[spk_i] = k + ci[d.I_R_I]
        # 5a excitatory spikes: inhibitory partners, potentiation of their columns
        ge_i[spk] += cf[d.W_EI]
        for j in np.flatnonzero(spk):
            if learn:
                post2b = tab_post2[k - last_post[j]] if last_post[j] >= 0 else zero
                pre = np.where(last_pre >= 0, tab_pre[k - last_pre], zero)
                w[:, j] = np.clip(w[:, j] + cf[d.NU_POST] * pre * post2b, zero, cf[d.W_MAX])
            last_post[j] = k
        # 5b inhibitory spikes: every other excitatory neuron
        for j in np.flatnonzero(spk_i):
            gi_e += np.where(np.arange(n) != j, cf[d.W_IE], zero)
        # 5c input spikes: pre traces, depression of their rows
        if learn:
            for i in events[k]:
                last_pre[i] = k
                post1 = np.where(last_post >= 0, tab_post1[k - last_post], zero)
                row = w[i] - cf[d.NU_PRE] * post1
                clipped |= row > cf[d.W_MAX]
                w[i] = np.clip(row, zero, cf[d.W_MAX])
    return spikes, counts, clipped | (last_post >= 0)


def normalise(params: NetworkParams, w, cols):
    """Rescale columns ``cols`` to sum weight_sum (float64, rows summed in order)."""
    sums = np.zeros(len(cols), np.float64)
    for i in range(w.shape[0]):
        sums += w[i, cols]
    factor = np.where(sums > 0, params.weight_sum / np.where(sums > 0, sums, 1.0), 1.0)
    w[:, cols] = (w[:, cols].astype(np.float64) * factor).astype(np.float32)


def train(params: NetworkParams, w, theta, images, keys, seed, delays=None):
    """Training presentations of images (in place); returns (attempts, all spikes)."""
    cf, _, _ = d.constants(params)
    attempts, all_spikes = [], []
    for b, image in enumerate(images):
        attempt = 0
        while True:
            events = poisson_events(params, image, seed, keys[b], attempt)
            spikes, counts, changed = present(params, w, theta, True, events, delays)
            all_spikes.append(spikes)
            normalise(params, w, np.flatnonzero(changed))
            theta *= cf[d.THETA_DECAY]
            attempt += 1
            if counts.sum() >= params.min_spikes or attempt > params.max_retries:
                break
        attempts.append(attempt)
    return np.array(attempts), all_spikes


def spike_counts(params: NetworkParams, w, theta, images, seed, key0=0, delays=None):
    """Frozen-network spike counts (int32 [n_images, N]) and presentations per image."""
    counts_out = np.zeros((len(images), w.shape[1]), np.int32)
    attempts = np.zeros(len(images), np.int64)
    for b, image in enumerate(images):
        attempt = 0
        while True:
            events = poisson_events(params, image, seed, key0 + b, attempt)
            _, counts, _ = present(params, w, theta.copy(), False, events, delays)
            attempt += 1
            if counts.sum() >= params.min_spikes or attempt > params.max_retries:
                break
        counts_out[b] = counts
        attempts[b] = attempt
    return counts_out, attempts
