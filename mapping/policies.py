"""Weight placement policies and their registry.

A policy is a function ``fn(req: PlacementRequest) -> Layout``. Built-in policies:

* ``linear``  -- the baseline: the weight array stored contiguously from address 0 in natural
  (row-major ``[input][neuron]``) order, located by the spec's default address mapping.
* ``drmap``   -- DRMap (Putra et al., DAC 2020): words in the order the accelerator consumes
  them fill one DRAM row first (row-buffer hits), successive rows go to different banks (bank
  groups interleaved first on DDR4: bank-level parallelism), then to different subarrays of a
  bank (subarray-level parallelism, which SALP-MASA DRAM exploits), then to other ranks and
  channels; only after all of those does the row index inside a subarray advance.
* ``sparkxd`` -- SparkXD (Putra et al., DAC 2021): error-aware DRMap. At the operating VDD only
  subarrays whose bit-error rate is within the network's tolerable BER hold weights, filled in
  the DRMap order; the layout reports capacity used and excluded, and placement fails with a
  clear ``CapacityError`` when the weights do not fit in the safe regions.
* ``random``  -- a worst case: each 64-byte block of weights goes to a burst slot drawn
  uniformly without replacement from the whole memory (seeded).

Users add their own with ``register_policy(name, fn)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from dramsim.spec import DramSpec
from mapping.layout import CapacityError, Layout, bursts_needed, layout_from_slots, linear, total_bursts


@dataclass
class PlacementRequest:
    """Everything a policy may use to place ``n_words`` words of ``word_bits`` bits.

    ``region_ber`` is the bit-error rate of every subarray at the operating VDD, indexed by the
    flat subarray index of dramsim/counters.py (None when no error model is in play);
    ``tolerable_ber`` is the largest BER the network tolerates within the accuracy target.
    """
    spec: DramSpec
    mapper: object
    n_words: int
    word_bits: int
    shape: tuple[int, int] | None = None
    seed: int = 0
    region_ber: np.ndarray | None = None
    tolerable_ber: float | None = None
    options: dict = field(default_factory=dict)


PolicyFn = Callable[[PlacementRequest], Layout]
_REGISTRY: dict[str, PolicyFn] = {}


def register_policy(name: str, fn: PolicyFn, *, replace: bool = False) -> None:
    """Make ``fn`` available as policy ``name`` (e.g. to ``--policies`` of the sweep)."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"policy name {name!r} must be alphanumeric (with - or _)")
    if name in _REGISTRY and not replace:
        raise ValueError(f"policy {name!r} is already registered (pass replace=True to override)")
    _REGISTRY[name] = fn


def get_policy(name: str) -> PolicyFn:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown placement policy {name!r}; known: {', '.join(policy_names())}") from None


def policy_names() -> list[str]:
    return list(_REGISTRY)


def place(policy: str, req: PlacementRequest) -> Layout:
    """Run policy ``policy`` and check its result covers every word."""
    layout = get_policy(policy)(req)
    if layout.n_words != req.n_words or layout.word_bits != req.word_bits:
        raise ValueError(f"policy {policy!r} returned a layout of {layout.n_words} words of "
                         f"{layout.word_bits} bits for {req.n_words} words of {req.word_bits} bits")
    return layout


# ----------------------------------------------------------------------------------------------
# DRMap slot order

def drmap_units(spec: DramSpec, allowed: np.ndarray | None = None) -> dict:
    """The (channel, rank, subarray, bank) units in DRMap order, bank fastest.

    Banks are enumerated bank-group-first (flat bank ``j`` -> group ``j % bankgroups``, bank
    ``j // bankgroups``) so that successive rows alternate bank groups on DDR4. ``allowed`` is
    a boolean mask over flat subarray indices (counters.py convention); excluded units are
    skipped. Returns int arrays channel, rank, bankgroup, bank, subarray and flat_subarray.
    """
    o = spec.org
    ch, rk, sa, j = np.meshgrid(np.arange(o.channels), np.arange(o.ranks), np.arange(o.subarrays),
                                np.arange(o.banks), indexing="ij")
    ch, rk, sa, j = (a.ravel() for a in (ch, rk, sa, j))
    bg = j % o.bankgroups
    ba = j // o.bankgroups
    flat_bank = ((ch * o.ranks + rk) * o.bankgroups + bg) * o.banks_per_group + ba
    flat_sa = flat_bank * o.subarrays + sa
    keep = np.ones(len(ch), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)[flat_sa]
    return {"channel": ch[keep], "rank": rk[keep], "bankgroup": bg[keep], "bank": ba[keep],
            "subarray": sa[keep], "flat_subarray": flat_sa[keep]}


def drmap_slots(spec: DramSpec, n_slots: int, allowed: np.ndarray | None = None) -> dict:
    """The first ``n_slots`` burst slots in DRMap order (column fastest, then unit, then row).

    Raises ``CapacityError`` if the allowed units hold fewer slots.
    """
    o = spec.org
    units = drmap_units(spec, allowed)
    n_units = len(units["channel"])
    cols = o.columns_per_row_bursts
    capacity = n_units * cols * o.rows_per_subarray
    if n_slots > capacity:
        raise CapacityError(f"need {n_slots} bursts but the {n_units} usable subarrays of {spec.name} "
                            f"hold only {capacity} bursts ({capacity * o.burst_bytes} B)")
    k = np.arange(n_slots, dtype=np.int64)
    col = k % cols
    u = (k // cols) % n_units
    row_in_sa = k // (cols * n_units)
    return {"channel": units["channel"][u], "rank": units["rank"][u],
            "bankgroup": units["bankgroup"][u], "bank": units["bank"][u],
            "row": units["subarray"][u] * o.rows_per_subarray + row_in_sa, "column": col}


def _slots_from_flat(spec: DramSpec, slot: np.ndarray) -> dict:
    """Decompose flat burst-slot ids (channel, rank, bankgroup, bank, row, column; column fastest)."""
    o = spec.org
    slot = slot.astype(np.int64)
    col = slot % o.columns_per_row_bursts
    rest = slot // o.columns_per_row_bursts
    row = rest % o.rows
    rest //= o.rows
    ba = rest % o.banks_per_group
    rest //= o.banks_per_group
    bg = rest % o.bankgroups
    rest //= o.bankgroups
    rk = rest % o.ranks
    ch = rest // o.ranks
    return {"channel": ch, "rank": rk, "bankgroup": bg, "bank": ba, "row": row, "column": col}


# ----------------------------------------------------------------------------------------------
# built-in policies

def linear_policy(req: PlacementRequest) -> Layout:
    return linear(req.spec, req.n_words, req.word_bits, req.mapper, shape=req.shape,
                  base_addr=int(req.options.get("base_addr", 0)))


def drmap_policy(req: PlacementRequest) -> Layout:
    need = bursts_needed(req.n_words, req.word_bits, req.spec)
    return layout_from_slots(req.spec, "drmap", req.n_words, req.word_bits,
                             drmap_slots(req.spec, need), shape=req.shape)


def safe_subarrays(region_ber: np.ndarray, tolerable_ber: float) -> np.ndarray:
    """Mask of subarrays whose BER is within the tolerable BER."""
    return np.asarray(region_ber, dtype=np.float64) <= float(tolerable_ber)


def sparkxd_policy(req: PlacementRequest) -> Layout:
    """Error-aware DRMap: only subarrays with BER <= tolerable BER hold weights."""
    spec, o = req.spec, req.spec.org
    n_sa = o.channels * o.ranks * o.banks * o.subarrays
    if req.region_ber is None or req.tolerable_ber is None:
        raise ValueError("sparkxd needs the per-subarray BER at the operating VDD and the tolerable BER")
    region_ber = np.asarray(req.region_ber, dtype=np.float64)
    if region_ber.shape != (n_sa,):
        raise ValueError(f"sparkxd: region_ber has shape {region_ber.shape}, expected ({n_sa},) "
                         f"(one BER per subarray of {spec.name})")
    allowed = safe_subarrays(region_ber, req.tolerable_ber)
    need = bursts_needed(req.n_words, req.word_bits, spec)
    sa_bursts = o.rows_per_subarray * o.columns_per_row_bursts
    info = {"tolerable_ber": float(req.tolerable_ber),
            "subarrays_safe": int(allowed.sum()), "subarrays_excluded": int((~allowed).sum()),
            "bytes_safe": int(allowed.sum()) * sa_bursts * o.burst_bytes,
            "bytes_excluded": int((~allowed).sum()) * sa_bursts * o.burst_bytes}
    try:
        slots = drmap_slots(spec, need, allowed)
    except CapacityError as exc:
        raise CapacityError(f"sparkxd: weights do not fit in the subarrays with BER <= "
                            f"{req.tolerable_ber:.3g}: {exc}") from None
    layout = layout_from_slots(spec, "sparkxd", req.n_words, req.word_bits, slots, shape=req.shape, info=info)
    used_sa = np.unique(layout.flat_subarray(spec))
    layout.info["subarrays_used"] = int(used_sa.size)
    layout.info["max_ber_used"] = float(region_ber[used_sa].max()) if used_sa.size else 0.0
    return layout


def random_policy(req: PlacementRequest) -> Layout:
    """Each burst-sized block of words goes to a uniformly drawn free burst slot (seeded)."""
    need = bursts_needed(req.n_words, req.word_bits, req.spec)
    total = total_bursts(req.spec)
    if need > total:
        raise CapacityError(f"random: need {need} bursts, {req.spec.name} has {total}")
    rng = np.random.default_rng(req.seed)
    slot = rng.choice(total, size=need, replace=False)
    return layout_from_slots(req.spec, "random", req.n_words, req.word_bits,
                             _slots_from_flat(req.spec, slot), shape=req.shape, info={"seed": int(req.seed)})


for _name, _fn in (("linear", linear_policy), ("drmap", drmap_policy),
                   ("sparkxd", sparkxd_policy), ("random", random_policy)):
    register_policy(_name, _fn)
