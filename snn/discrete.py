"""The discrete-time model shared by the numba engine (snn.kernels) and the numpy reference
(snn.reference): float32 per-step constants and the STDP trace tables, derived once from
NetworkParams so that both implementations perform the very same float32 operations.

Kernels take plain arrays, so the constants travel as one float32 array ``cf`` indexed by the
module-level integers below, one float64 array ``cd`` and one int64 array ``ci``.
"""
from __future__ import annotations

import numpy as np

from snn.params import NetworkParams

# ---- float32 constants (cf) ------------------------------------------------------------------
A_E = 0            # dt / tau_e           (Euler factor of the excitatory membrane)
A_I = 1            # dt / tau_i
F_GE = 2           # 1 - dt / tau_ge      (Euler decay of excitatory conductances, both layers)
F_GI = 3           # 1 - dt / tau_gi
V_REST_E = 4
V_RESET_E = 5
THR_OFF_E = 6      # v_thresh_e - theta_offset: spike when v > theta + THR_OFF_E
E_EXC = 7
E_INH_E = 8
V_REST_I = 9
V_RESET_I = 10
V_THRESH_I = 11
THETA_PLUS = 12
W_EI = 13
W_IE = 14
NU_PRE = 15
NU_POST = 16
W_MAX = 17
THETA_DECAY = 18   # per presentation + rest: exp(-(present+rest)/tau_theta)
G_FLUSH = 19       # conductances below this are set to 0 (see CONDUCTANCE_FLUSH)
N_CF = 20

# ---- float64 constants (cd) ------------------------------------------------------------------
D_WEIGHT_SUM = 0
D_INTENSITY = 1
D_INTENSITY_STEP = 2
D_RATE_DIVISOR = 3
D_DT_MS = 4
N_CD = 5

# ---- int64 constants (ci) --------------------------------------------------------------------
I_T = 0            # steps per presentation
I_R_E = 1          # refractory steps, excitatory
I_R_I = 2          # refractory steps, inhibitory
I_D = 3            # largest input delay in steps (0 = no delays)
I_MIN_SPIKES = 4
I_MAX_RETRIES = 5
I_REST = 6         # rest steps (only used to place retries on the time axis)
N_CI = 7

#: Conductances (both layers) below this are set to 0 after their decay.  1e-6 moves v by at
#: most 1e-6 * 100 mV * dt/tau <= 3e-6 mV in a step, below the float32 resolution of v near
#: -60 mV (3.8e-6 mV), so the flush (almost) never changes a value of v; it keeps decaying
#: conductances out of the denormal range (where x86 arithmetic is ~100x slower) and lets an
#: inhibitory neuron go dormant ~25 steps after its input instead of ~150.
CONDUCTANCE_FLUSH = 1e-6


def constants(params: NetworkParams):
    """(cf float32, cd float64, ci int64) for ``params``."""
    p = params
    cf = np.zeros(N_CF, dtype=np.float32)
    cf[A_E] = p.dt_ms / p.tau_e_ms
    cf[A_I] = p.dt_ms / p.tau_i_ms
    cf[F_GE] = 1.0 - p.dt_ms / p.tau_ge_ms
    cf[F_GI] = 1.0 - p.dt_ms / p.tau_gi_ms
    cf[V_REST_E] = p.v_rest_e_mv
    cf[V_RESET_E] = p.v_reset_e_mv
    cf[THR_OFF_E] = p.v_thresh_e_mv - p.theta_offset_mv
    cf[E_EXC] = p.e_exc_mv
    cf[E_INH_E] = p.e_inh_e_mv
    cf[V_REST_I] = p.v_rest_i_mv
    cf[V_RESET_I] = p.v_reset_i_mv
    cf[V_THRESH_I] = p.v_thresh_i_mv
    cf[THETA_PLUS] = p.theta_plus_mv
    cf[W_EI] = p.w_ei
    cf[W_IE] = p.w_ie
    cf[NU_PRE] = p.nu_pre
    cf[NU_POST] = p.nu_post
    cf[W_MAX] = p.w_max
    cf[THETA_DECAY] = p.theta_decay_per_presentation
    cf[G_FLUSH] = CONDUCTANCE_FLUSH
    cd = np.zeros(N_CD, dtype=np.float64)
    cd[D_WEIGHT_SUM] = p.weight_sum
    cd[D_INTENSITY] = p.input_intensity
    cd[D_INTENSITY_STEP] = p.intensity_step
    cd[D_RATE_DIVISOR] = p.rate_divisor
    cd[D_DT_MS] = p.dt_ms
    ci = np.zeros(N_CI, dtype=np.int64)
    ci[I_T] = p.present_steps
    ci[I_R_E] = p.refrac_e_steps
    ci[I_R_I] = p.refrac_i_steps
    ci[I_D] = p.max_delay_steps
    ci[I_MIN_SPIKES] = p.min_spikes
    ci[I_MAX_RETRIES] = p.max_retries
    ci[I_REST] = p.rest_steps
    return cf, cd, ci


def trace_tables(params: NetworkParams) -> np.ndarray:
    """float32 [3, T + D + 1]: row r, column n = exp(-n dt / tau_r) for pre, post1, post2.

    Traces are set to 1 on a spike and decay exponentially (exact, as Brian integrates linear
    equations exactly); a trace ``n`` steps after its last spike is ``table[r, n]``.  Traces are
    reset at the start of every presentation, so ``n`` never exceeds T + D.
    """
    p = params
    n = np.arange(p.present_steps + p.max_delay_steps + 1, dtype=np.float64)
    taus = (p.tau_pre_ms, p.tau_post1_ms, p.tau_post2_ms)
    return np.stack([np.exp(-n * p.dt_ms / tau) for tau in taus]).astype(np.float32)


def input_delays(params: NetworkParams, seed: int) -> np.ndarray:
    """uint8 [n_inputs, n_neurons] per-synapse delays in steps, uniform on 0..D (empty if off).

    Like the original (which drew them when building the network and did not save them), the
    delays are not stored in the model; they are redrawn from the model's seed.
    """
    p = params
    if not p.input_delays:
        return np.zeros((0, 0), dtype=np.uint8)
    if p.max_delay_steps > 255:
        raise ValueError("NetworkParams: max_input_delay_ms / dt_ms must be <= 255")
    rng = np.random.default_rng([int(seed), 0xDE1A])
    return rng.integers(0, p.max_delay_steps + 1, size=(p.n_inputs, p.n_neurons), dtype=np.uint8)
