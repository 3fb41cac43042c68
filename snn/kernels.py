"""Event-driven numba engine of the Diehl & Cook (2015) network.

The discrete-time model (snn.reference implements the same equations with dense numpy arrays;
tests check that both produce bit-identical spikes, weights and thresholds)
---------------------------------------------------------------------------------------------
A *presentation* shows one image for T = present_ms / dt steps.  It starts from the rested
state: v_e = v_rest_e, v_i = v_rest_i, all conductances 0, nobody refractory, all STDP traces
0.  Step k = 0 .. T-1 does, in this order:

0. Input drive: x = the sum of the weight rows w[i, :] of the inputs spiking at step k (in
   increasing input order; one DRAM row read per input spike), read before any weight change
   of this step.
1. Excitatory update (every neuron not refractory; a refractory neuron keeps v = v_reset):
   ``v += ((v_rest_e - v) + ge (E_exc - v) + gi (E_inh_e - v)) * dt/tau_e`` (explicit Euler
   with the conductances of the previous step, as Brian 1 integrates these nonlinear
   equations), clamped to [E_inh_e, E_exc]; then ``ge = ge (1 - dt/tau_ge) + x``,
   ``gi *= 1 - dt/tau_gi`` (Euler too), decayed values below 1e-6 flushed to 0
   (discrete.CONDUCTANCE_FLUSH).
2. Excitatory spikes: not refractory and ``v > theta + (v_thresh_e - offset)``.  Reset
   v = v_reset_e; refractory during steps k+1 .. k+R_e; when learning, theta += theta_plus.
3. Inhibitory update, same Euler form (they receive no inhibition), refractory R_i steps.
4. Inhibitory spikes: ``v > v_thresh_i``, reset to v_reset_i.
5. Propagation of this step's spikes, felt from step k+1 on:
   a. excitatory spike j: ge_i[j] += w_ei; if learning, potentiation of column j:
      ``w[:,j] = clip(w[:,j] + nu_post * pre * post2_j, 0, w_max)`` with post2_j taken
      before its own update, then post1_j = post2_j = 1;
   b. inhibitory spike j: gi_e[n] += w_ie for every n != j;
   c. input spike i (in increasing order), if learning: pre_i = 1 and depression of row i:
      ``w[i,:] = clip(w[i,:] - nu_pre * post1, 0, w_max)``.
   Traces decay exactly: a trace n steps after its last spike is exp(-n dt / tau)
   (discrete.trace_tables).  Like Brian's STDP, the clip applies to the whole row/column.

After the presentation, if learning: every column that changed (its neuron fired, or a row clip
lowered one of its weights) is rescaled to sum to weight_sum (sum and scale in float64,
sequential over inputs); theta of every neuron decays by exp(-(present + rest)/tau_theta).
If fewer than min_spikes excitatory spikes occurred, the image is presented again (same rested
start, new random input stream) with intensity + 1, at most max_retries times.

Deviations from the original Brian 1 code, and why
---------------------------------------------------
* v is clamped to [E_inh, E_exc] after each Euler step.  Explicit Euler is unstable when
  ``dt/tau_e * (1 + ge + gi) > 2``, i.e. when 24 or more inhibitory neurons fire in the same
  step (gi > 400).  Without the clamp a group of still-untrained neurons with equal theta that
  crosses threshold together (it happened after ~220 images at N = 400) drives v to -1000 mV,
  the next step overshoots to +1000 mV, every neuron fires, every theta jumps and training
  collapses (theta ~70 mV, every image retried 20 times: the failure seen in a quick
  reimplementation at N = 1600).  The continuous equations keep v inside [E_inh, E_exc], so the
  clamp only removes the numerical artefact; it never binds in normal operation.
* Rest (150 ms of silence between images) is applied as a reset to the rested state (v to
  rest, conductances and traces to 0) instead of being simulated.  In the original, 150 ms
  leave 22% of v's deviation (tau 100 ms), 2.4% of post2 and ~0.05% of the pre/post1 traces.
  The reset makes every presentation independent of the previous one, which lets inference
  evaluate images in parallel with results identical to a sequential run and makes the
  weight-access stream of an image a function of that image alone.  It also means a neuron's
  first spike in a presentation never potentiates (post2 = 0), while in the original it
  potentiates by at most 2.4% of a normal update.
* theta decays once per presentation (exact exponential) rather than every step: in float32
  ``1 - dt/tau_theta = 1 - 5e-8`` rounds to 1 - 6e-8 (20% too fast a decay), and the within-image
  decay (5e-5 relative) is far below anything that matters.
* theta's time constant is 1e7 ms (the original) only for N >= 400; smaller networks use
  1e7 ms x N / 400 (NetworkParams.theta_tau_ms; set tau_theta_ms to override).  theta settles
  where theta_plus per spike balances its decay, a level that grows as 1 / N (the spikes of an
  image are shared by N neurons).  At N = 100 with the original constant, theta kept rising
  over the 3 passes of the default split (mean 42.6 mV), the trained net needed 2.17
  presentations per test image (6,500 images/s) and accuracy fell after pass 2 (76.4, 77.0,
  74.6%).  Measured alternatives (N = 100, default split, 3 passes, seeds 0/1): tau_theta
  2.5e6 ms 82.5/81.3% at 1.04 presentations (13,000-13,900 images/s); 2e6 ms 80.5/82.4%;
  5e6 ms 83.4/82.6% at 1.26 presentations; theta_plus 0.025 mV 82.2/81.3% but only 69-70%
  after pass 1; reshuffling the images every pass: no gain (74.1/72.9%).  At N = 400 a
  shorter tau_theta hurts (5e6 ms: 85.8%, 2e6 ms: 85.2% vs 86.6% with 1e7 ms), hence the
  N-dependent rule.
* Retries are bounded (max_retries = 20 re-presentations; the original loops until it gets
  5 spikes): an image that never reaches 5 spikes keeps the counts of its last presentation.
* The original's "timer" refractory condition is ignored: ``dtimer/dt = 100`` makes it expire
  after one step, so the 5 ms refractory period is what acts.
* Input delays (option ``input_delays``) are off by default.  The original draws a random
  0-10 ms delay per input->excitatory synapse.  With the clamp above, training without them is
  stable up to N = 6400, and they did not change accuracy (N = 400, default split, 2 passes:
  85.5% with, 84.7% without) while making inference ~9x slower (every input spike scatters N
  weights into a ring).  Here the delivery to ge is delayed per synapse (a ring buffer of D + 1 future ge
  vectors), but STDP uses the emission time of the input spike (pre trace and depression at
  emission), which keeps learning O(active) per spike.  Delays are redrawn from the model seed
  (the original redrew them at every run, too).
* Same-step ordering (input read first, post before pre, inhibition after excitation) is our
  choice; Brian 1's order within a step differs in details of no measurable consequence.
* Conductances below 1e-6 are flushed to 0 (see discrete.CONDUCTANCE_FLUSH: below float32
  resolution of v).  Inhibitory neurons receive no inhibitory input, so their gi is dropped.

Engine (why it is fast)
-----------------------
* Input spikes are an event list bucketed by step (snn.encoding): one contiguous weight row
  per input spike, nothing for silent inputs.  The kernels work on an *extended* weight matrix
  ``wx``: rows [0, n_in) are the weights, row n_in is all zeros, row n_in + 1 holds a partial
  sum and, with delays, rows n_in + 2 .. are the delay ring.  The rows of a step are summed
  inside the excitatory pass itself, left to right (((r0 + r1) + r2) + ..., missing rows =
  the zero row, x + 0 = x), so a step touches ge once: four rows in one variant of the pass
  (MNIST digits: ~3 input spikes per step), eight in the other (Fashion-MNIST's images carry
  2.2x the ink: ~7 per step).  A step with more than eight pre-sums all but the last seven
  into the partial-sum row, four rows per pass over the neurons.
* Input spikes cost ~10 ns each to generate: one random draw per spike, its logarithm
  vectorised with an exact fallback (snn.encoding).
* The excitatory layer is one branch-free pass per step (LLVM vectorises it, ~0.25 ns per
  neuron and step); spikes are searched only in steps where the pass reports one.
* Lateral inhibition is O(N) per inhibitory spike (no N x N matrix).
* Inhibitory neurons are updated only while active: after an excitatory spike until their ge
  has decayed to 0 with v below threshold; then they are dormant (v can only relax towards
  v_rest, no spike is possible) and the skipped updates are replayed, exactly, when their
  excitatory partner fires again.
* STDP touches only the inputs that fired in this presentation (potentiation) and only the
  neurons that fired (depression; a step's decrement of each fired column is computed once for
  all its input spikes); normalisation rescales only the columns that changed.
* Why Fashion-MNIST costs more per image than MNIST digits (N = 400, published constants,
  measured after one pass): 2.2x the input spikes (5,000 vs 2,300 per presentation: more
  drive rows and random draws), 1.57 presentations per image instead of 1.05 (theta settles
  near 50 mV instead of 22 mV, so a third of the images get too few spikes and are shown again
  at a higher intensity, with even more input spikes), and 3x the neurons firing per
  presentation early in training (more depression and normalisation work).

Note: numba's on-disk cache (cache=True) is keyed on this file only.  After editing
snn/encoding.py or snn/discrete.py (whose code and index constants are compiled into these
kernels), delete snn/__pycache__/*.nbi and *.nbc, or the kernels keep the old code.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from snn import discrete as d
from snn.encoding import encode_presentation, new_event_buffers

# indices into the scratch tuple of new_scratch()
S_LAST_POST = 11
S_POST_LIST = 12
S_COUNTS = 13
S_N_REC = 16
S_CHANGED = 17
S_OVER = 18


@njit(cache=True, inline="always")
def _excitatory_step(k, v, ge, gi, ref, thr, wx, r0, r1, r2, r3, cf):
    """Euler step of all excitatory neurons; ge gains ((wx[r0] + wx[r1]) + wx[r2]) + wx[r3].

    Returns whether any neuron crossed threshold.  Branch-free with an OR-reduction and 32-bit
    compares, so LLVM vectorises it.
    """
    a = cf[d.A_E]
    vr = cf[d.V_REST_E]
    e_exc = cf[d.E_EXC]
    e_inh = cf[d.E_INH_E]
    f_ge = cf[d.F_GE]
    f_gi = cf[d.F_GI]
    flush = cf[d.G_FLUSH]
    zero = np.float32(0.0)
    k32 = np.int32(k)
    any_spike = False
    for n in range(v.shape[0]):
        vn = v[n]
        g1 = ge[n]
        g2 = gi[n]
        vu = vn + ((vr - vn) + g1 * (e_exc - vn) + g2 * (e_inh - vn)) * a
        vu = vu if vu > e_inh else e_inh     # clamp to [E_inh, E_exc] (Euler overshoot)
        vu = vu if vu < e_exc else e_exc
        free = ref[n] < k32
        vn = vu if free else vn
        v[n] = vn
        g1 = g1 * f_ge
        g2 = g2 * f_gi
        ge[n] = (g1 if g1 >= flush else zero) + (((wx[r0, n] + wx[r1, n]) + wx[r2, n])
                                                 + wx[r3, n])
        gi[n] = g2 if g2 >= flush else zero
        any_spike |= (vn > thr[n]) & free
    return any_spike


@njit(cache=True, inline="always")
def _excitatory_step8(k, v, ge, gi, ref, thr, wx, r0, r1, r2, r3, r4, r5, r6, r7, cf):
    """_excitatory_step with eight rows: ge gains (((wx[r0] + wx[r1]) + ...) + wx[r7]).

    The neuron update is written out again rather than shared through an inlined helper: the
    helper version vectorised worse (0.30 -> 0.34 ns per neuron and step for four rows, 0.37
    -> 0.46 for eight, measured).
    """
    a = cf[d.A_E]
    vr = cf[d.V_REST_E]
    e_exc = cf[d.E_EXC]
    e_inh = cf[d.E_INH_E]
    f_ge = cf[d.F_GE]
    f_gi = cf[d.F_GI]
    flush = cf[d.G_FLUSH]
    zero = np.float32(0.0)
    k32 = np.int32(k)
    any_spike = False
    for n in range(v.shape[0]):
        vn = v[n]
        g1 = ge[n]
        g2 = gi[n]
        vu = vn + ((vr - vn) + g1 * (e_exc - vn) + g2 * (e_inh - vn)) * a
        vu = vu if vu > e_inh else e_inh     # clamp to [E_inh, E_exc] (Euler overshoot)
        vu = vu if vu < e_exc else e_exc
        free = ref[n] < k32
        vn = vu if free else vn
        v[n] = vn
        g1 = g1 * f_ge
        g2 = g2 * f_gi
        x = ((((((wx[r0, n] + wx[r1, n]) + wx[r2, n]) + wx[r3, n]) + wx[r4, n]) + wx[r5, n])
             + wx[r6, n]) + wx[r7, n]
        ge[n] = (g1 if g1 >= flush else zero) + x
        gi[n] = g2 if g2 >= flush else zero
        any_spike |= (vn > thr[n]) & free
    return any_spike


@njit(cache=True, inline="always")
def _sum_rows(wx, dst, a0, a1, a2, a3):
    """wx[dst] = ((wx[a0] + wx[a1]) + wx[a2]) + wx[a3]."""
    for m in range(wx.shape[1]):
        wx[dst, m] = ((wx[a0, m] + wx[a1, m]) + wx[a2, m]) + wx[a3, m]


@njit(cache=True, inline="always")
def _acc_rows(wx, dst, a0, a1, a2, a3):
    """wx[dst] = (((wx[dst] + wx[a0]) + wx[a1]) + wx[a2]) + wx[a3]."""
    for m in range(wx.shape[1]):
        wx[dst, m] = (((wx[dst, m] + wx[a0, m]) + wx[a1, m]) + wx[a2, m]) + wx[a3, m]


@njit(cache=True)
def extend_weights(w, n_slots):
    """The extended matrix ``wx`` (see module docstring) holding a copy of w."""
    n_in, n = w.shape
    wx = np.zeros((n_in + 2 + (n_slots if n_slots > 1 else 0), n), np.float32)
    wx[:n_in] = w
    return wx


@njit(cache=True)
def present(wx, n_in, theta, thr, learn, ev_count, ev_input, stride, delays, cf, ci, tables, st,
            over_list, n_over, rec):
    """Simulate one presentation (see module docstring); returns (exc spikes, n_fired).

    wx: extended weights (rows [0, n_in) modified if learn); theta, thr: float32 [N] (modified
    if learn); ev_count/ev_input/stride: input events bucketed by step (snn.encoding: step k's
    inputs are ev_input[k * stride:][:ev_count[k]]); delays: uint8 [n_in, N] or empty;
    st: scratch (new_scratch): on return st[S_COUNTS] holds per-neuron spike counts,
    st[S_POST_LIST][:n_fired] the neurons that fired, st[S_CHANGED] marks row-clipped columns;
    over_list[:n_over]: columns that may hold weights > w_max; rec: int32 [cap, 2] receives
    (step, neuron) of excitatory spikes while it has room (st[S_N_REC] counts all of them).
    """
    n = wx.shape[1]
    t_steps = ci[d.I_T]
    r_e = ci[d.I_R_E]
    r_i = ci[d.I_R_I]
    n_slots = ci[d.I_D] + 1
    use_delays = delays.shape[0] > 0
    zero_row = n_in
    sum_row = n_in + 1
    ring0 = n_in + 2
    (v_e, ge_e, gi_e, ref_e, v_i, ge_i, ref_i, dormant, inh_list, last_pre, pre_list,
     last_post, post_list, counts, spk_e, spk_i, n_rec, changed, over, dep) = st
    tab_pre = tables[0]
    tab_post1 = tables[1]
    tab_post2 = tables[2]
    zero = np.float32(0.0)
    v_rest_e = cf[d.V_REST_E]
    v_reset_e = cf[d.V_RESET_E]
    thr_off = cf[d.THR_OFF_E]
    theta_plus = cf[d.THETA_PLUS]
    v_rest_i = cf[d.V_REST_I]
    v_reset_i = cf[d.V_RESET_I]
    v_thresh_i = cf[d.V_THRESH_I]
    a_i = cf[d.A_I]
    e_exc = cf[d.E_EXC]
    f_ge = cf[d.F_GE]
    flush = cf[d.G_FLUSH]
    w_ei = cf[d.W_EI]
    w_ie = cf[d.W_IE]
    nu_pre = cf[d.NU_PRE]
    nu_post = cf[d.NU_POST]
    w_max = cf[d.W_MAX]
    can_sleep = v_rest_i <= v_thresh_i

    # rested state
    for j in range(n):
        v_e[j] = v_rest_e
        ge_e[j] = zero
        gi_e[j] = zero
        ref_e[j] = -1
        v_i[j] = v_rest_i
        ge_i[j] = zero
        ref_i[j] = -1
        dormant[j] = 0                       # at rest: dormant from step 0
        last_post[j] = -1
        counts[j] = 0
    if learn:
        for i in range(n_in):
            last_pre[i] = -1
    if use_delays:
        wx[ring0:, :] = zero
    n_active = 0
    n_pre = 0
    n_post = 0
    total = 0
    n_rec[0] = 0

    for k in range(t_steps):
        # 0. input drive: rows of this step's input spikes, before this step's weight changes
        e0 = k * stride
        e1 = e0 + ev_count[k]
        r0 = zero_row
        r1 = zero_row
        r2 = zero_row
        r3 = zero_row
        if use_delays:
            base = k % n_slots
            for e in range(e0, e1):
                i = ev_input[e]
                for m in range(n):
                    slot = base + delays[i, m]
                    if slot >= n_slots:
                        slot -= n_slots
                    wx[ring0 + slot, m] += wx[i, m]
            r0 = ring0 + base
        else:
            n_ev = e1 - e0
            if n_ev > 8:
                # all rows but the last seven are summed into sum_row, up to four per pass
                # over the neurons (same order: ((w0 + w1) + w2) + ...; a missing row is the
                # zero row, x + 0 = x); the last seven join it in the excitatory pass
                e_last = e1 - 7
                q2 = ev_input[e0 + 2]
                q3 = ev_input[e0 + 3]
                _sum_rows(wx, sum_row, ev_input[e0], ev_input[e0 + 1],
                          q2 if e0 + 2 < e_last else zero_row,
                          q3 if e0 + 3 < e_last else zero_row)
                for e in range(e0 + 4, e_last, 4):
                    q1 = ev_input[e + 1]
                    q2 = ev_input[e + 2]
                    q3 = ev_input[e + 3]
                    _acc_rows(wx, sum_row, ev_input[e],
                              q1 if e + 1 < e_last else zero_row,
                              q2 if e + 2 < e_last else zero_row,
                              q3 if e + 3 < e_last else zero_row)
                r0 = sum_row
                b0 = e_last - 1              # the rows: sum_row, then b0 + 1 .. e1 - 1
            else:
                r0 = ev_input[e0]
                b0 = e0
            if n_ev > 4:
                q1 = ev_input[b0 + 1]
                q2 = ev_input[b0 + 2]
                q3 = ev_input[b0 + 3]
                q4 = ev_input[b0 + 4]
                q5 = ev_input[b0 + 5]
                q6 = ev_input[b0 + 6]
                q7 = ev_input[b0 + 7]
                m_ev = e1 - b0
                r4 = q4
                r5 = q5 if m_ev > 5 else zero_row
                r6 = q6 if m_ev > 6 else zero_row
                r7 = q7 if m_ev > 7 else zero_row
                any_e = _excitatory_step8(k, v_e, ge_e, gi_e, ref_e, thr, wx, r0, q1, q2, q3,
                                          r4, r5, r6, r7, cf)
            else:                            # branch-free: n_ev is random, 0..4
                q0 = ev_input[e0]            # (stale entries are read but not selected)
                q1 = ev_input[e0 + 1]
                q2 = ev_input[e0 + 2]
                q3 = ev_input[e0 + 3]
                r0 = q0 if n_ev > 0 else zero_row
                r1 = q1 if n_ev > 1 else zero_row
                r2 = q2 if n_ev > 2 else zero_row
                r3 = q3 if n_ev > 3 else zero_row
                any_e = _excitatory_step(k, v_e, ge_e, gi_e, ref_e, thr, wx, r0, r1, r2, r3, cf)
        if use_delays:
            any_e = _excitatory_step(k, v_e, ge_e, gi_e, ref_e, thr, wx, r0, r1, r2, r3, cf)
        # 1-2. excitatory layer (its pass is above), spikes
        n_se = 0
        if any_e:
            for j in range(n):
                if ref_e[j] < k and v_e[j] > thr[j]:
                    spk_e[n_se] = j
                    n_se += 1
                    v_e[j] = v_reset_e
                    ref_e[j] = k + r_e
                    counts[j] += 1
                    if learn:
                        theta[j] += theta_plus
                        thr[j] = theta[j] + thr_off
                    if n_rec[0] < rec.shape[0]:
                        rec[n_rec[0], 0] = k
                        rec[n_rec[0], 1] = j
                    n_rec[0] += 1
            total += n_se
        if use_delays:
            for m in range(n):
                wx[r0, m] = zero             # ring slot consumed
        # 3-4. active inhibitory neurons
        n_si = 0
        a = 0
        while a < n_active:
            j = inh_list[a]
            g = ge_i[j]
            g2 = g * f_ge
            g2 = g2 if g2 >= flush else zero
            ge_i[j] = g2
            if ref_i[j] >= k:
                a += 1
                continue
            vn = v_i[j]
            vu = vn + ((v_rest_i - vn) + g * (e_exc - vn)) * a_i
            if vu > v_thresh_i:
                v_i[j] = v_reset_i
                ref_i[j] = k + r_i
                spk_i[n_si] = j
                n_si += 1
                a += 1
            else:
                v_i[j] = vu
                if g2 == zero and can_sleep:
                    # no input left and v <= threshold: v only relaxes towards v_rest, so no
                    # spike is possible before the next excitatory spike; skip its updates
                    dormant[j] = k + 1
                    n_active -= 1
                    inh_list[a] = inh_list[n_active]
                else:
                    a += 1
        # 5a. excitatory spikes -> inhibitory partners; potentiation
        for s in range(n_se):
            j = spk_e[s]
            if dormant[j] >= 0:
                # replay the skipped updates (ge = 0, not refractory, no spike possible):
                # exactly the dense update, which with ge = 0 is v += (v_rest - v) * a
                vn = v_i[j]
                for _ in range(dormant[j], k + 1):
                    vu = vn + (v_rest_i - vn) * a_i
                    if vu == vn:
                        break                # fixed point reached
                    vn = vu
                v_i[j] = vn
                dormant[j] = -1
                inh_list[n_active] = j
                n_active += 1
            ge_i[j] += w_ei
            lp = last_post[j]
            if learn:
                if lp >= 0:
                    post2b = tab_post2[k - lp]
                    for q in range(n_pre):
                        i = pre_list[q]
                        wv = wx[i, j] + nu_post * tab_pre[k - last_pre[i]] * post2b
                        wx[i, j] = wv if wv < w_max else w_max
                if over[j]:                  # the rest of the column may exceed w_max
                    for i in range(n_in):
                        if wx[i, j] > w_max:
                            wx[i, j] = w_max
            if lp < 0:
                post_list[n_post] = j
                n_post += 1
            last_post[j] = k
        # 5b. inhibitory spikes -> all other excitatory neurons
        for s in range(n_si):
            j = spk_i[s]
            for m in range(j):
                gi_e[m] += w_ie
            for m in range(j + 1, n):
                gi_e[m] += w_ie
        # 5c. input spikes: pre traces, depression of their rows
        if learn and e1 > e0:
            for q in range(n_post):          # this step's depression of each fired column
                dep[q] = nu_pre * tab_post1[k - last_post[post_list[q]]]
            for e in range(e0, e1):
                i = ev_input[e]
                if last_pre[i] < 0:
                    pre_list[n_pre] = i
                    n_pre += 1
                last_pre[i] = k
                for q in range(n_post):
                    j = post_list[q]
                    wv = wx[i, j] - dep[q]
                    wv = wv if wv > zero else zero
                    wx[i, j] = wv if wv < w_max else w_max
                for q in range(n_over):      # clip the rest of row i (Brian clips rows)
                    j = over_list[q]
                    if wx[i, j] > w_max:
                        wx[i, j] = w_max
                        changed[j] = True
    return total, n_post


@njit(cache=True)
def new_scratch(n_in, n):
    """Per-thread state arrays of ``present`` (a tuple; see its unpacking)."""
    return (np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.float32),
            np.empty(n, np.int32), np.empty(n, np.float32), np.empty(n, np.float32),
            np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int32),
            np.full(n_in, -1, np.int64), np.empty(n_in, np.int32), np.empty(n, np.int64),
            np.empty(n, np.int32), np.zeros(n, np.int32), np.empty(n, np.int32),
            np.empty(n, np.int32), np.zeros(1, np.int64), np.zeros(n, np.bool_),
            np.zeros(n, np.bool_), np.empty(n, np.float32))


@njit(cache=True)
def normalise_columns(w, n_rows, cols, n_cols, weight_sum, w_max, over):
    """Rescale columns ``cols[:n_cols]`` of w[:n_rows] to sum ``weight_sum``.

    Sum and product in float64, rows in increasing order (the reference does the same), the
    result rounded once to float32.  over[j] is set to whether column j now exceeds w_max.
    """
    sums = np.zeros(n_cols, np.float64)
    for i in range(n_rows):
        for q in range(n_cols):
            sums[q] += w[i, cols[q]]
    for q in range(n_cols):
        sums[q] = weight_sum / sums[q] if sums[q] > 0.0 else 1.0
        over[cols[q]] = False
    for i in range(n_rows):
        for q in range(n_cols):
            j = cols[q]
            wv = np.float32(np.float64(w[i, j]) * sums[q])
            w[i, j] = wv
            if wv > w_max:
                over[j] = True


@njit(cache=True)
def _over_list(over, out):
    m = 0
    for j in range(over.shape[0]):
        if over[j]:
            out[m] = j
            m += 1
    return m


@njit(cache=True)
def train_images(w, theta, images, keys, seed, delays, cf, cd, ci, tables, pending,
                 attempts_out):
    """Train on images[b] in order (STDP, adaptive theta, normalisation, retries).

    w: float32 [n_in, N] and theta: float32 [N], updated in place.  keys[b]: image key of the
    Poisson streams.  pending[j]: column j was changed outside (weight hook) and must be
    normalised after the first presentation.  attempts_out[b]: presentations used.  Returns
    the total number of excitatory spikes.
    """
    n_in, n = w.shape
    t_steps = ci[d.I_T]
    w_max = cf[d.W_MAX]
    wx = extend_weights(w, ci[d.I_D] + 1)
    st = new_scratch(n_in, n)
    last_post = st[S_LAST_POST]
    changed = st[S_CHANGED]
    over = st[S_OVER]
    for i in range(n_in):
        for j in range(n):
            if w[i, j] > w_max:
                over[j] = True
    for j in range(n):
        changed[j] = pending[j]
    over_list = np.empty(n, np.int32)
    cols = np.empty(n, np.int32)
    n_over = _over_list(over, over_list)
    ev_count, ev_input, rcache = new_event_buffers(n_in, t_steps)
    rec = np.zeros((0, 2), np.int32)
    thr = np.empty(n, np.float32)
    for j in range(n):
        thr[j] = theta[j] + cf[d.THR_OFF_E]
    decay = cf[d.THETA_DECAY]
    total = 0
    for b in range(images.shape[0]):
        intensity = cd[d.D_INTENSITY]
        attempt = 0
        while True:
            _, stride = encode_presentation(images[b], intensity, cd[d.D_RATE_DIVISOR],
                                            cd[d.D_DT_MS], t_steps, seed, keys[b], attempt,
                                            ev_count, ev_input, rcache)
            n_spk, n_post = present(wx, n_in, theta, thr, True, ev_count, ev_input, stride,
                                    delays, cf, ci, tables, st, over_list, n_over, rec)
            total += n_spk
            n_cols = 0
            for j in range(n):
                if last_post[j] >= 0 or changed[j]:
                    cols[n_cols] = j
                    n_cols += 1
                    changed[j] = False
            normalise_columns(wx, n_in, cols, n_cols, cd[d.D_WEIGHT_SUM], w_max, over)
            n_over = _over_list(over, over_list)
            for j in range(n):
                theta[j] = theta[j] * decay
                thr[j] = theta[j] + cf[d.THR_OFF_E]
            attempt += 1
            if n_spk >= ci[d.I_MIN_SPIKES] or attempt > ci[d.I_MAX_RETRIES]:
                break
            intensity += cd[d.D_INTENSITY_STEP]
        attempts_out[b] = attempt
    w[:, :] = wx[:n_in]
    return total


@njit(cache=True)
def _infer_range(w, theta, images, keys, seed, delays, cf, cd, ci, tables, lo, hi, counts_out,
                 attempts_out):
    n_in, n = w.shape
    t_steps = ci[d.I_T]
    wx = extend_weights(w, ci[d.I_D] + 1)
    st = new_scratch(n_in, n)
    counts = st[S_COUNTS]
    over_list = np.empty(0, np.int32)
    ev_count, ev_input, rcache = new_event_buffers(n_in, t_steps)
    rec = np.zeros((0, 2), np.int32)
    thr = np.empty(n, np.float32)
    for j in range(n):
        thr[j] = theta[j] + cf[d.THR_OFF_E]
    for b in range(lo, hi):
        intensity = cd[d.D_INTENSITY]
        attempt = 0
        while True:
            _, stride = encode_presentation(images[b], intensity, cd[d.D_RATE_DIVISOR],
                                            cd[d.D_DT_MS], t_steps, seed, keys[b], attempt,
                                            ev_count, ev_input, rcache)
            n_spk, _ = present(wx, n_in, theta, thr, False, ev_count, ev_input, stride, delays,
                               cf, ci, tables, st, over_list, 0, rec)
            attempt += 1
            if n_spk >= ci[d.I_MIN_SPIKES] or attempt > ci[d.I_MAX_RETRIES]:
                break
            intensity += cd[d.D_INTENSITY_STEP]
        for j in range(n):
            counts_out[b, j] = counts[j]
        attempts_out[b] = attempt


@njit(cache=True, parallel=True)
def infer_images_parallel(w, theta, images, keys, seed, delays, cf, cd, ci, tables, n_chunks,
                          counts_out, attempts_out):
    """Frozen-network spike counts of every image; chunks run in parallel (prange).

    Image b uses Poisson key ``keys[b]`` (int64; normally its index in the data set it was
    drawn from, so a subset of images reproduces their results exactly); every presentation
    starts from the rested state, so
    the result does not depend on n_chunks or on the number of threads (numba.set_num_threads;
    with one thread the chunks simply run one after the other in the calling thread).
    """
    n_img = images.shape[0]
    for c in prange(n_chunks):
        lo = c * n_img // n_chunks
        hi = (c + 1) * n_img // n_chunks
        _infer_range(w, theta, images, keys, seed, delays, cf, cd, ci, tables, lo, hi,
                     counts_out, attempts_out)


@njit(cache=True)
def input_events_of(images, attempts, key0, seed, cd, ci, n_inputs):
    """All input spikes of the given presentations: (image, step, input) int32 arrays.

    step counts from the start of the image's first presentation; presentation ``a`` (retry
    number a) starts at step a * (T + rest steps).
    """
    t_steps = ci[d.I_T]
    period = t_steps + ci[d.I_REST]
    ev_count, ev_input, rcache = new_event_buffers(n_inputs, t_steps)
    cap = 1 << 16
    out_img = np.empty(cap, np.int32)
    out_step = np.empty(cap, np.int32)
    out_in = np.empty(cap, np.int32)
    m = 0
    for b in range(images.shape[0]):
        intensity = cd[d.D_INTENSITY]
        for a in range(attempts[b]):
            n_ev, stride = encode_presentation(images[b], intensity, cd[d.D_RATE_DIVISOR],
                                               cd[d.D_DT_MS], t_steps, seed, key0 + b, a,
                                               ev_count, ev_input, rcache)
            if m + n_ev > out_img.shape[0]:
                new_cap = max(2 * out_img.shape[0], m + n_ev)
                out_img = _grow(out_img, new_cap)
                out_step = _grow(out_step, new_cap)
                out_in = _grow(out_in, new_cap)
            for s in range(t_steps):
                for e in range(s * stride, s * stride + ev_count[s]):
                    out_img[m] = b
                    out_step[m] = a * period + s
                    out_in[m] = ev_input[e]
                    m += 1
            intensity += cd[d.D_INTENSITY_STEP]
    return out_img[:m].copy(), out_step[:m].copy(), out_in[:m].copy()


@njit(cache=True)
def _grow(a, cap):
    b = np.empty(cap, a.dtype)
    b[:a.shape[0]] = a
    return b


def simulate_presentation(params, weights, theta, learn, pixels, *, seed, image_key=0,
                          attempt=0, delays=None, max_record=100_000):
    """One presentation from Python (tests, debugging): returns (spikes [(step, neuron)],
    counts int32 [N]); weights and theta are modified in place if ``learn`` (no normalisation,
    no theta decay: those belong to the training loop)."""
    cf, _, ci = d.constants(params)
    tables = d.trace_tables(params)
    n_in, n = weights.shape
    t_steps = params.present_steps
    ev_count, ev_input, rcache = new_event_buffers(n_in, t_steps)
    intensity = params.input_intensity + attempt * params.intensity_step
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    _, stride = encode_presentation(pixels, float(intensity), float(params.rate_divisor),
                                    float(params.dt_ms), t_steps, int(seed), int(image_key),
                                    int(attempt), ev_count, ev_input, rcache)
    st = new_scratch(n_in, n)
    over = st[S_OVER]
    over[:] = (weights > params.w_max).any(axis=0)
    over_list = np.flatnonzero(over).astype(np.int32)
    thr = (theta + cf[d.THR_OFF_E]).astype(np.float32)
    rec = np.zeros((max_record, 2), np.int32)
    if delays is None:
        delays = np.zeros((0, 0), np.uint8)
    wx = extend_weights(weights, params.max_delay_steps + 1)
    present(wx, n_in, theta, thr, bool(learn), ev_count, ev_input, stride, delays, cf, ci, tables,
            st, over_list, len(over_list), rec)
    weights[:] = wx[:n_in]
    n_rec = int(st[S_N_REC][0])
    if n_rec > max_record:
        raise ValueError(f"simulate_presentation: more than {max_record} spikes")
    return [(int(k), int(j)) for k, j in rec[:n_rec]], st[S_COUNTS].copy()
