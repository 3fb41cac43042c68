"""Fault maps: which DRAM cells fail, and how, for an error model at a BER.

A :class:`FaultMap` is a seeded *function* of (device organisation, error model, parameters, BER
or VDD + curve); nothing is stored per cell. Whether a cell fails is decided by a counter-based
hash: ``u = splitmix64(key + cell_id * golden)`` (the splitmix64 sequence of the key, at the cell's
index) turned into a uniform number in [0, 1) and compared with the cell's failure probability
(:mod:`dramsim.errors.models`). Line weakness (models 1/2) uses the same construction with a
second key: line ``L`` reads 16-bit slice ``L % 4`` of hash number ``L // 4``. So DRAM of any size costs nothing until a cell is asked about, and
only the cells that hold weights are evaluated (in numba).

* **Persistent** (default): the key depends on the seed only, so the same cell fails on every
  read (a weak cell at that voltage).
* **Transient** (``persistent=False``): the flip draw also hashes ``read_index``, so each read
  sees fresh flips; which lines are weak (models 1/2) and the region BERs stay fixed, being
  properties of the device.

Cell index: ``(((flat_bank_global * rows + row) * bursts_per_row + column) * burst_bits + bit)``
where ``flat_bank_global = (channel * ranks + rank) * banks + bankgroup * banks_per_group + bank``
and ``bit`` is the position inside the burst. Bit ``b`` of a burst travels in beat
``b // bus_bits`` on lane ``b % bus_bits``, i.e. device ``lane // device_width``, DQ
``lane % device_width``, device column ``column * burst_length + beat``. A word whose LSB sits at
burst bit ``bit_offset`` holds its bit ``j`` (value ``(word >> j) & 1``) at ``bit_offset + j``.

A flipped bit reads as its complement (the mask is XORed into the stored word).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from dramsim.errors.models import ErrorParams, MODEL_NAMES, parse_model, region_ber

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
SALT_CELL = 0xC3A5C85C97CB3127
SALT_LINE = 0xB492B66FBE98F273
SALT_READ = 0x9AE16A3B2F90404F
LOC_FIELDS = ("channel", "rank", "bankgroup", "bank", "subarray", "row", "column", "bit_offset")


def mix64(z: int) -> int:
    """splitmix64 finaliser on Python ints (used to derive kernel keys)."""
    z &= M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


@njit(cache=True)
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _unit(key, index):
    """Uniform [0, 1) number ``index`` of the splitmix64 stream ``key`` (53-bit)."""
    h = _mix64(key + np.uint64(index) * np.uint64(GOLDEN))
    return np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _fault_kernel(words, word_bits, bit_select, ch_a, rk_a, bg_a, ba_a, sa_a, row_a, col_a, off_a,
                  dims, region_p, model, weak_threshold, concentration, f1, f0, cell_key, line_key,
                  masks, probs, want_probs):
    """Flip mask (and optionally per-bit failure probability) of every word.

    dims = (ranks, banks, banks_per_group, subarrays, rows, bursts_per_row, burst_bits,
            bus_bits, device_width, burst_length, device_columns, devices).
    Line ``L`` is weak iff bits ``16 * (L % 4)`` .. ``+15`` of hash number ``L // 4`` of the line
    stream are below ``weak_threshold`` (so four neighbouring lines cost one hash).
    """
    ranks, banks, bpg, subarrays, rows, bursts = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    burst_bits, bus_bits, dw, bl, dcols, devices = dims[6], dims[7], dims[8], dims[9], dims[10], dims[11]
    wf = weak_threshold / 65536.0
    thr = np.uint64(weak_threshold)
    one = np.uint64(1)
    for i in range(words.size):
        bank_g = (np.int64(ch_a[i]) * ranks + rk_a[i]) * banks + np.int64(bg_a[i]) * bpg + ba_a[i]
        sa = np.int64(sa_a[i])
        p = region_p[bank_g * subarrays + sa]
        mask = np.uint64(0)
        if p > 0.0 or want_probs:
            pw = min(1.0, p * concentration / wf)
            ps = max(0.0, (p - wf * pw) / (1.0 - wf))
            p1 = min(1.0, p * f1)
            p0 = min(1.0, p * f0)
            r = np.int64(row_a[i])
            cell_base = ((bank_g * rows + r) * bursts + col_a[i]) * burst_bits + off_a[i]
            w = words[i]
            last_group = np.int64(-1)
            h = np.uint64(0)
            # burst position of bit j, advanced incrementally (no divisions in the bit loop)
            beat = np.int64(off_a[i]) // bus_bits
            lane = np.int64(off_a[i]) - beat * bus_bits
            dev = lane // dw
            dq = lane - dev * dw
            for j in range(word_bits):
                if j > 0:
                    dq += 1
                    if dq == dw:
                        dq = 0
                        dev += 1
                        if dev == devices:
                            dev = 0
                            beat += 1
                if ((bit_select >> np.uint64(j)) & one) == 0:
                    if want_probs:
                        probs[i, j] = 0.0
                    continue
                if model == 0:
                    q = p
                elif model == 3:
                    q = p1 if ((w >> np.uint64(j)) & one) == one else p0
                else:
                    if model == 1:
                        line = (((bank_g * subarrays + sa) * devices + dev) * dcols
                                + np.int64(col_a[i]) * bl + beat) * dw + dq
                    else:
                        line = (bank_g * rows + r) * devices + dev
                    group = line >> 2
                    if group != last_group:
                        h = _mix64(line_key + np.uint64(group) * np.uint64(GOLDEN))
                        last_group = group
                    u16 = (h >> np.uint64(16 * (line & 3))) & np.uint64(0xFFFF)
                    q = pw if u16 < thr else ps
                if want_probs:
                    probs[i, j] = q
                if q > 0.0 and _unit(cell_key, cell_base + j) < q:
                    mask |= one << np.uint64(j)
        masks[i] = mask


def _org_of(org_or_spec):
    return getattr(org_or_spec, "org", org_or_spec)


def _dims(org) -> np.ndarray:
    burst_bits = org.burst_bytes * 8
    return np.array([org.ranks, org.banks, org.banks_per_group, org.subarrays, org.rows,
                     org.columns_per_row_bursts, burst_bits, org.bus_width_bits, org.device_width,
                     org.burst_length, org.columns, org.devices_per_rank], dtype=np.int64)


def location_arrays(loc, org, word_bits: int, n: int | None = None) -> list[np.ndarray]:
    """The per-word coordinate arrays of ``loc`` (any object with the LOC_FIELDS attributes,
    e.g. ``mapping.layout.Layout``) as int32, checked against the organisation."""
    out = []
    limits = {"channel": org.channels, "rank": org.ranks, "bankgroup": org.bankgroups,
              "bank": org.banks_per_group, "subarray": org.subarrays, "row": org.rows,
              "column": org.columns_per_row_bursts, "bit_offset": org.burst_bytes * 8 - word_bits + 1}
    for name in LOC_FIELDS:
        a = np.ascontiguousarray(np.asarray(getattr(loc, name)).reshape(-1))
        if a.dtype.kind not in "iu":
            raise ValueError(f"location field {name} must be integers, got dtype {a.dtype}")
        if n is None:
            n = a.size
        if a.size != n:
            raise ValueError(f"location field {name} has {a.size} entries for {n} words")
        if a.size and (int(a.min()) < 0 or int(a.max()) >= limits[name]):
            k = int(np.argmax((a < 0) | (a >= limits[name])))
            raise ValueError(f"word {k}: location field {name} = {int(a[k])} outside 0..{limits[name] - 1}")
        out.append(a.astype(np.int32, copy=False))
    sub_from_row = out[5] // org.rows_per_subarray
    if not np.array_equal(sub_from_row, out[4]):
        k = int(np.argmax(sub_from_row != out[4]))
        raise ValueError(f"word {k}: subarray {int(out[4][k])} does not match row {int(out[5][k])} "
                         f"(expected {int(sub_from_row[k])} = row // {org.rows_per_subarray})")
    if word_bits > 1 and np.any(out[7] % word_bits):
        k = int(np.argmax(out[7] % word_bits != 0))
        raise ValueError(f"word {k}: bit_offset {int(out[7][k])} is not a multiple of the word size {word_bits}")
    return out


@dataclass(frozen=True, eq=False)
class FaultMap:
    """Seeded description of the failing cells of one device (see the module docstring)."""
    org: object                 # dramsim.spec.Organization
    model: int
    ber: float
    seed: int = 0
    params: ErrorParams = field(default_factory=ErrorParams)
    persistent: bool = True
    vdd: float | None = None    # set when the BER came from a curve
    region_ber: np.ndarray = field(default=None, repr=False)  # default: models.region_ber(...)

    def __post_init__(self):
        object.__setattr__(self, "model", parse_model(self.model))
        object.__setattr__(self, "org", _org_of(self.org))
        if not (0.0 <= float(self.ber) <= 1.0):
            raise ValueError(f"BER must be in [0, 1], got {self.ber}")
        o = self.org
        shape = (o.channels, o.ranks, o.banks, o.subarrays)
        if self.region_ber is None:
            object.__setattr__(self, "region_ber", region_ber(o, float(self.ber), self.params, self.seed))
        else:   # a caller-supplied map of region BERs (any shape with the right size)
            rb = np.asarray(self.region_ber, dtype=np.float64)
            if rb.size != int(np.prod(shape)) or not np.all((rb >= 0) & (rb <= 1)):
                raise ValueError(f"region_ber must hold {int(np.prod(shape))} BERs in [0, 1] "
                                 f"(channels x ranks x banks x subarrays), got {rb.size}")
            object.__setattr__(self, "region_ber", rb.reshape(shape))

    @classmethod
    def build(cls, org_or_spec, model=0, ber: float | None = None, *, vdd: float | None = None,
              curve=None, seed: int = 0, params: ErrorParams | None = None,
              persistent: bool = True) -> "FaultMap":
        """A fault map at ``ber``, or at ``vdd`` on ``curve`` (a ``BerCurve``; BerError outside
        its range)."""
        if (ber is None) == (vdd is None):
            raise ValueError("give exactly one of ber or vdd (with curve)")
        if vdd is not None:
            if curve is None:
                raise ValueError("vdd given without a BER curve")
            ber = curve.ber(vdd)
        return cls(_org_of(org_or_spec), model, float(ber), int(seed), params or ErrorParams(),
                   bool(persistent), vdd)

    @property
    def model_name(self) -> str:
        return MODEL_NAMES[self.model]

    def keys(self, read_index: int = 0) -> tuple[int, int]:
        """(cell key, line key) of the hash streams for one read."""
        s = int(self.seed) & M64
        cell = mix64(s ^ SALT_CELL)
        if not self.persistent:
            cell = mix64(cell ^ mix64((int(read_index) * GOLDEN + SALT_READ) & M64))
        return cell, mix64(s ^ SALT_LINE)

    def _run(self, loc, word_bits, words, read_index, bit_select, want_probs):
        if not 1 <= word_bits <= 64:
            raise ValueError(f"word size must be 1..64 bits, got {word_bits}")
        coords = location_arrays(loc, self.org, word_bits)
        n = coords[0].size
        if words is None:
            if self.model == 3:
                raise ValueError("error model 3 (data-dependent) needs the stored words")
            w = np.zeros(n, dtype=np.uint64)
        else:
            w = np.ascontiguousarray(np.asarray(words).reshape(-1)).astype(np.uint64)
            if w.size != n:
                raise ValueError(f"{w.size} words for {n} locations")
        sel = ((1 << word_bits) - 1) if bit_select is None else int(bit_select) & ((1 << word_bits) - 1)
        r = self.params.ratio_1to0
        masks = np.empty(n, dtype=np.uint64)
        probs = np.empty((n, word_bits) if want_probs else (0, 0), dtype=np.float64)
        cell_key, line_key = self.keys(read_index)
        _fault_kernel(w, int(word_bits), np.uint64(sel), *coords, _dims(self.org),
                      np.ascontiguousarray(self.region_ber.reshape(-1), dtype=np.float64), self.model,
                      int(self.params.weak_threshold), float(self.params.concentration),
                      2.0 * r / (1.0 + r), 2.0 / (1.0 + r), np.uint64(cell_key), np.uint64(line_key),
                      masks, probs, bool(want_probs))
        return masks, probs

    def flip_masks(self, loc, word_bits: int, words=None, read_index: int = 0,
                   bit_select: int | None = None) -> np.ndarray:
        """uint64 XOR mask of the bits that read flipped, one per word at ``loc``.

        ``words`` (the stored values) are needed by model 3 only; ``read_index`` matters only for
        transient maps; ``bit_select`` restricts faults to the word bits set in it.
        """
        return self._run(loc, word_bits, words, read_index, bit_select, False)[0]

    def location_ber(self, loc, word_bits: int = 1) -> np.ndarray:
        """BER of the region (channel, rank, bank, subarray) holding each word at ``loc``."""
        c = location_arrays(loc, self.org, word_bits)
        bank = c[2].astype(np.int64) * self.org.banks_per_group + c[3]
        return self.region_ber[c[0], c[1], bank, c[4]]

    def cell_probabilities(self, loc, word_bits: int, words=None, bit_select: int | None = None) -> np.ndarray:
        """Failure probability of every bit of every word, float64 [n_words, word_bits]."""
        return self._run(loc, word_bits, words, 0, bit_select, True)[1]


def flip_masks_numpy(fmap: FaultMap, loc, word_bits: int, words=None, read_index: int = 0,
                     bit_select: int | None = None) -> np.ndarray:
    """A second, vectorised numpy implementation of ``FaultMap.flip_masks`` (slow; for tests and
    as the benchmark baseline). Must give identical masks."""
    org = fmap.org
    d = dict(zip(LOC_FIELDS, (a.astype(np.int64) for a in location_arrays(loc, org, word_bits))))
    n = d["row"].size
    j = np.arange(word_bits, dtype=np.int64)[None, :]
    bank_g = ((d["channel"] * org.ranks + d["rank"]) * org.banks
              + d["bankgroup"] * org.banks_per_group + d["bank"])[:, None]
    p = fmap.region_ber.reshape(-1)[bank_g * org.subarrays + d["subarray"][:, None]]
    p = np.broadcast_to(p, (n, word_bits))
    cell_key, line_key = (np.uint64(k) for k in fmap.keys(read_index))
    bursts, burst_bits = org.columns_per_row_bursts, org.burst_bytes * 8
    cell = ((bank_g * org.rows + d["row"][:, None]) * bursts + d["column"][:, None]) * burst_bits \
        + d["bit_offset"][:, None] + j

    def hash64(key, idx):
        with np.errstate(over="ignore"):
            z = key + idx.astype(np.uint64) * np.uint64(GOLDEN)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

    def unit(key, idx):
        return (hash64(key, idx) >> np.uint64(11)).astype(np.float64) / 9007199254740992.0

    prm = fmap.params
    if fmap.model == 0:
        q = p
    elif fmap.model == 3:
        r = prm.ratio_1to0
        w = np.asarray(words).reshape(-1).astype(np.uint64)[:, None]
        bit = (w >> j.astype(np.uint64)) & np.uint64(1)
        q = np.where(bit == 1, np.minimum(1.0, p * 2 * r / (1 + r)), np.minimum(1.0, p * 2 / (1 + r)))
    else:
        wf = prm.effective_weak_fraction
        pw = np.minimum(1.0, p * prm.concentration / wf)
        ps = np.maximum(0.0, (p - wf * pw) / (1 - wf))
        o = d["bit_offset"][:, None] + j
        beat, lane = o // org.bus_width_bits, o % org.bus_width_bits
        dev = lane // org.device_width
        if fmap.model == 1:
            sub = bank_g * org.subarrays + d["subarray"][:, None]
            line = ((sub * org.devices_per_rank + dev) * org.columns
                    + d["column"][:, None] * org.burst_length + beat) * org.device_width + lane % org.device_width
        else:
            line = (bank_g * org.rows + d["row"][:, None]) * org.devices_per_rank + dev
        u16 = (hash64(line_key, line >> 2) >> (np.uint64(16) * (line & 3).astype(np.uint64))) & np.uint64(0xFFFF)
        q = np.where(u16 < prm.weak_threshold, pw, ps)
    flip = unit(cell_key, cell) < q
    if bit_select is not None:
        flip &= ((int(bit_select) >> j) & 1).astype(bool)
    return (flip.astype(np.uint64) << j.astype(np.uint64)).sum(axis=1, dtype=np.uint64)
