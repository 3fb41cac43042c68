"""Fit the spatial variation of reduced-voltage errors to the Voltron data, and print the fit.

    python -m bench.fit_spatial [--data DIR] [--seed 0] [--boot 2000] [--json FILE]

Reproduces the ``fitted`` spread model of ``dramsim.errors.spatial`` (bank and subarray
spreads per vendor, with 95 % confidence intervals and a leave-one-DIMM-out check). The data
directory defaults to ``../shared/data`` beside the repository (``$SPARKXD_SHARED_DATA``
overrides); it must hold ``voltron/characterization_results/`` of CMU-SAFARI/DRAM-Voltage-Study
(Chang et al., SIGMETRICS 2017, arXiv 1705.10292). Every random choice (bootstrap, simulation)
is seeded by ``--seed``. Bad input: one line naming file, line and field, exit status 2.

The model being fitted (``dramsim.errors.models``): the BER of a (bank, subarray) region is the
device BER times ``m_bank * m_subarray``, each log-normal with sigma ``bank_spread`` /
``subarray_spread``, normalised to mean 1. Two sources:

**Per-bank error counts** (``retention_time_profile.csv``, paper section 4.6): bit errors per
bank of every DIMM at VDD 1.15/1.2/1.35 V, 20 or 70 C, refresh intervals 64-2048 ms, each
configuration repeated 6-80 times. The repetitions alternate between all-zero rows and rows
with a near-constant count (the data pattern in which the weak cells hold charge), so the
*weak-cell count of a bank* is the mean of its count over the repetitions in which the DIMM
shows any error (``bank_counts``). We use 20 C (the temperature of the voltage tests; 70 C
was measured for fewer DIMMs) and the 2048 ms interval only: below 1024 ms nearly every count
is 0, and the cells failing at 1024/1536 ms are largely the same cells as at 2048 ms, so
adding those intervals would count them twice (1536 ms is fitted too, as a robustness check).
Counts K[d, b] ~ Poisson(exp(mu_d) * m_b), ln m_b ~ N(0, sigma^2): sigma is fitted by maximum
likelihood with one free level mu_d per DIMM (profiled out), the log-normal integrated by
Gauss-Hermite quadrature; the 95 % interval is the profile-likelihood interval (drop 1.92),
and a bootstrap over DIMMs is printed beside it. DIMMs without any error carry no
information about sigma and drop out. Bank 0 stands out in many DIMMs of vendors B and C
(more than 80 % of all weak cells), so the fit is also given without bank 0.

*Caveat*: these are retention errors at a 32x longer refresh interval, not the
activation/precharge errors the BER curve measures; they tell how unevenly weak cells are
spread over banks, not that voltage errors follow the same banks.

**Spatial-locality pictures** (``spatial_locality/*.pdf``, section 4.3): one heat map per
DIMM and VDD of Pr(row with >1-bit error) over 8 banks (x) and the 32 K rows of a bank (y),
measured with the reduced tRCD = tRP = 4 cycles of the file names. Each PDF holds one
raster for the map and one for its colour bar (``read_heatmap``): the pixels are decoded
from the PDF streams (Flate, PNG predictors, soft masks), each colour is mapped to the
nearest point of the cubehelix colour map (Green 2011; start 0, rotation 0.4, hue 0.8,
lightness 0.95 at the bottom of the colour bar to 0.15 at its top), giving a fraction t of
the colour-bar range, and t to a value through the colour bar's tick labels (text in the
content stream: value = linear fit of label against its position, evaluated at the colour
bar's ends). Pixel columns are assigned to the bank whose tick label they sit under, pixel
rows to DRAM rows through the row-axis labels. Validation (printed per file, and by
tests/test_fit_spatial.py): every colour lies on the colour map (largest RGB distance), the
colour-bar pixels decode to the values their position implies, the values fall on the
multiples of 1/128 a bin of 128 rows gives (checked where the colour resolution allows), a
DIMM with no error in the cache-line data at that VDD shows none in its picture, and the
faulty-row fraction lies between the faulty-line fraction f and 128 f (a 8 KiB row holds 128
lines) where the DIMM names match. Files whose tick labels are outlines instead of text are
skipped (named in the output).

From a picture, each pixel's value u becomes a rate x = -ln(1 - u) (independent errors;
u <= 255/256), the rows of a bank are cut into the spec's 8 subarrays (4096 rows each of
32 K), and the log-normal spreads follow from a variance decomposition: within-bank
between-subarray variance of the subarray means less the part explained by pixel-to-pixel
noise, as a squared coefficient of variation CV^2, sigma^2 = ln(1 + CV^2) (and the same for
banks). Pictures enter if at least 20 of their pixels are non-zero and their mean u is at
most 0.5 (saturated maps say little about ratios). The vendor value is the median over
DIMMs of each DIMM's median over its pictures; its 95 % interval is a bootstrap over DIMMs;
the leave-one-DIMM-out check asks whether each DIMM falls inside the 2.5-97.5 % range of the
other DIMMs.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BANKS = 8
ROWS_PER_BANK = 32768                   # 2 Gb x8 chips of the study's 2 GiB SO-DIMMs
REGIONS_PER_BANK = 8                    # the bundled specs' subarrays per bank
RETENTION_FILE = "voltron/characterization_results/retention_time_profile.csv"
PICTURE_DIR = "voltron/characterization_results/spatial_locality"
CACHELINE_FILE = "voltron_faulty_cachelines.csv"
RET_HEADER = ("dimm_name", "vendor", "vdd", "temperature(C)", "refresh_interval(ms)",
              *(f"bank{i}_bit_err_count" for i in range(BANKS)), "total_dimm_bit_err_count")
LIGHT, DARK = 0.95, 0.15                # cubehelix lightness at colour-bar bottom / top
U_MAX = 255 / 256
MIN_NONZERO_PIXELS, MAX_MEAN_U = 20, 0.5


class DataError(ValueError):
    """Bad input data; the message is one line naming file, line and field."""


def default_data_dir() -> Path:
    env = os.environ.get("SPARKXD_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


# ------------------------------------------------------------------------------------------
# per-bank retention error counts

@dataclass(frozen=True)
class RetentionRow:
    dimm: str
    vendor: str
    vdd: float
    temp_c: float
    interval_ms: int
    banks: tuple[float, ...]


def _read_text(path: Path) -> str:
    """The text of a CSV data file (a UTF-8 byte-order mark skipped); DataError if it cannot be
    read or is not text."""
    from traces.cli import read_text_bytes
    return read_text_bytes(path, "CSV text", DataError).decode("utf-8", "replace")


def load_retention(path: Path) -> list[RetentionRow]:
    """Strict parse of retention_time_profile.csv (rows without a DIMM name are skipped)."""
    text = _read_text(path)
    rows = []
    reader = csv.reader(text.splitlines())
    for lineno, rec in enumerate(reader, 1):
        if lineno == 1:
            if tuple(c.strip() for c in rec) != RET_HEADER:
                raise DataError(f"{path}:1: header: expected {','.join(RET_HEADER)}")
            continue
        if not rec:
            continue
        if len(rec) != len(RET_HEADER):
            raise DataError(f"{path}:{lineno}: expected {len(RET_HEADER)} fields, got {len(rec)}")
        vals = []
        for name, s in zip(RET_HEADER[2:], rec[2:]):
            try:
                x = float(s)
            except ValueError:
                raise DataError(f"{path}:{lineno}: field '{name}': {s!r} is not a number") from None
            if not math.isfinite(x) or x < 0:
                raise DataError(f"{path}:{lineno}: field '{name}': {s!r} must be a finite number >= 0")
            vals.append(x)
        if abs(sum(vals[3:3 + BANKS]) - vals[-1]) > 0.5:
            raise DataError(f"{path}:{lineno}: field 'total_dimm_bit_err_count': {vals[-1]:g} is not the sum "
                            f"of the bank counts ({sum(vals[3:3 + BANKS]):g})")
        if not rec[0].strip():
            continue                      # 12 rows of vendor "Other" carry no DIMM name
        rows.append(RetentionRow(rec[0].strip(), rec[1].strip(), vals[0], vals[1], int(vals[2]),
                                 tuple(vals[3:3 + BANKS])))
    if not rows:
        raise DataError(f"{path}: no data rows")
    return rows


def bank_counts(rows, vdd: float, interval_ms: int = 2048, temp_c: float = 20) -> dict[str, tuple[str, np.ndarray]]:
    """{dimm: (vendor, weak-cell count per bank)} for one configuration (module docstring)."""
    groups: dict[str, list[RetentionRow]] = {}
    for r in rows:
        if math.isclose(r.vdd, vdd) and r.interval_ms == interval_ms and r.temp_c == temp_c:
            groups.setdefault(r.dimm, []).append(r)
    out = {}
    for dimm, rs in sorted(groups.items()):
        x = np.array([r.banks for r in rs])
        active = x.sum(1) > 0
        k = x[active].mean(0) if active.any() else np.zeros(BANKS)
        out[dimm] = (rs[0].vendor, np.rint(k).astype(np.int64))
    return out


_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(48)
_GH_W = _GH_W / _GH_W.sum()


def _loglik_dimm(k: np.ndarray, sigma: float) -> float:
    """max over mu of log P(k | Poisson-lognormal(mu, sigma)) for one DIMM's bank counts."""
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln
    lk = k[:, None] * (sigma * _GH_X[None, :]) - gammaln(k + 1)[:, None]

    def nll(mu):
        lam = np.exp(mu + sigma * _GH_X)[None, :]
        t = k[:, None] * mu + lk - lam
        mx = t.max(1, keepdims=True)
        return -float(np.sum(mx[:, 0] + np.log((np.exp(t - mx) * _GH_W).sum(1))))

    m0 = math.log(max(k.mean(), 1e-3))
    res = minimize_scalar(nll, bounds=(m0 - 3 - 3 * sigma ** 2, m0 + 3), method="bounded",
                          options={"xatol": 1e-6})
    return -res.fun


def profile_loglik(counts: list[np.ndarray], sigmas: np.ndarray) -> np.ndarray:
    return np.array([sum(_loglik_dimm(k, s) for k in counts) for s in sigmas])


SIGMA_GRID = np.round(np.arange(0.0, 4.0001, 0.02), 4)


def fit_sigma(counts: list[np.ndarray]) -> dict:
    """ML sigma with its 95 % profile-likelihood interval (grid step 0.02)."""
    counts = [np.asarray(k) for k in counts if np.sum(k) > 0]
    if not counts:
        return {"sigma": math.nan, "low": math.nan, "high": math.nan, "n_dimms": 0}
    ll = profile_loglik(counts, SIGMA_GRID)
    i = int(np.argmax(ll))
    inside = SIGMA_GRID[ll >= ll[i] - 1.92]
    return {"sigma": float(SIGMA_GRID[i]), "low": float(inside.min()), "high": float(inside.max()),
            "n_dimms": len(counts), "at_grid_edge": bool(i == len(SIGMA_GRID) - 1)}


def bootstrap_sigma(counts: list[np.ndarray], n_boot: int, seed: int) -> tuple[float, float]:
    counts = [np.asarray(k) for k in counts if np.sum(k) > 0]
    if len(counts) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    grid = SIGMA_GRID[::5]
    per = np.array([[_loglik_dimm(k, s) for s in grid] for k in counts])   # dimm x sigma
    est = [grid[int(np.argmax(per[rng.integers(0, len(counts), len(counts))].sum(0)))] for _ in range(n_boot)]
    return float(np.quantile(est, 0.025)), float(np.quantile(est, 0.975))


def dispersion(k: np.ndarray) -> float:
    m = k.mean()
    return float(((k - m) ** 2).sum() / m) if m > 0 else 0.0


def leave_one_out(counts: dict[str, np.ndarray], seed: int, n_sim: int = 2000) -> list[dict]:
    """For each DIMM with errors: sigma fitted on the others, and the predictive p-value of its
    across-bank dispersion (simulated at its own mean count) under that sigma, 0.5 and 0."""
    names = [d for d, k in counts.items() if k.sum() > 0]
    rng = np.random.default_rng(seed)
    out = []
    for d in names:
        fit = fit_sigma([counts[e] for e in names if e != d])
        k = counts[d]
        obs = dispersion(k)
        row = {"dimm": d, "sigma_others": fit["sigma"], "dispersion": obs}
        for label, s in (("fitted", fit["sigma"]), ("0.5", 0.5), ("0", 0.0)):
            z = rng.standard_normal((n_sim, len(k)))
            m = np.exp(s * z)
            m /= m.mean(1, keepdims=True)
            sim = rng.poisson(k.mean() * m)
            ds = np.array([dispersion(x) for x in sim])
            row[f"p_{label}"] = float((ds >= obs).mean())
        out.append(row)
    return out


# ------------------------------------------------------------------------------------------
# spatial-locality pictures

_NAME = re.compile(r"(?P<dimm>[A-Z]\d+)_rcd(?P<rcd>\d+)_rp(?P<rp>\d+)_temp(?P<temp>\d+)_volt(?P<vdd>[\d.]+)\.pdf$")


def cubehelix(lam):
    """The cubehelix colour scheme (D. A. Green, Bull. Astr. Soc. India 39, 289, 2011), RGB in
    [0, 1], start 0, rotation 0.4, hue 0.8, gamma 1."""
    lam = np.asarray(lam, dtype=np.float64)
    amp = 0.8 * lam * (1 - lam) / 2
    phi = 2 * np.pi * 0.4 * lam
    c, s = np.cos(phi), np.sin(phi)
    rgb = np.stack([lam + amp * (-0.14861 * c + 1.78277 * s), lam + amp * (-0.29227 * c - 0.90649 * s),
                    lam + amp * (1.97294 * c)], -1)
    return np.clip(rgb, 0, 1)


_LAM = np.linspace(DARK - 0.05, LIGHT + 0.04, 20001)
_CURVE = cubehelix(_LAM) * 255


def colour_to_fraction(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fraction t of the colour-bar range, RGB distance to the colour map) of each colour."""
    flat = rgb.reshape(-1, 3).astype(np.float64)
    uniq, inv = np.unique(flat, axis=0, return_inverse=True)
    d2 = ((uniq[:, None, :] - _CURVE[None, :, :]) ** 2).sum(-1)
    j = d2.argmin(1)
    t = np.clip((LIGHT - _LAM[j]) / (LIGHT - DARK), 0.0, 1.0)
    dist = np.sqrt(d2[np.arange(len(uniq)), j])
    shape = rgb.shape[:-1]
    return t[inv.reshape(-1)].reshape(shape), dist[inv.reshape(-1)].reshape(shape)


def _png_unfilter(raw: bytes, w: int, h: int, bpp: int) -> np.ndarray:
    stride, out, pos = w * bpp, np.zeros((h, w * bpp), np.uint8), 0
    prev = np.zeros(stride, np.int64)
    for r in range(h):
        ft, line = raw[pos], np.frombuffer(raw[pos + 1:pos + 1 + stride], np.uint8).astype(np.int64)
        pos += 1 + stride
        if ft == 0:
            cur = line
        elif ft == 2:
            cur = (line + prev) & 255
        else:
            cur = np.zeros(stride, np.int64)
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                if ft == 1:
                    p = a
                elif ft == 3:
                    p = (a + b) // 2
                elif ft == 4:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                else:
                    raise DataError(f"PNG filter type {ft} unknown")
                cur[i] = (line[i] + p) & 255
        out[r] = cur
        prev = cur
    return out


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}


def _stream(obj: bytes) -> tuple[bytes, bytes]:
    i = obj.find(b"stream")
    head, body = obj[:i], obj[i + 6:obj.rfind(b"endstream")]
    body = body[2:] if body.startswith(b"\r\n") else body[1:] if body.startswith(b"\n") else body
    return head, (zlib.decompress(body) if b"FlateDecode" in head else body)


def _images(objs) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{width: (RGB pixels, alpha)} of the images that are not soft masks."""
    masks = {int(m) for o in objs.values() for m in re.findall(rb"/SMask (\d+) 0 R", o[:o.find(b"stream")])}
    out = {}
    for n, o in objs.items():
        head = o[:o.find(b"stream")] if b"stream" in o else o
        if b"/Subtype /Image" not in head or n in masks:
            continue
        _, raw = _stream(o)
        w, h = (int(re.search(rb"/%s (\d+)" % k, head).group(1)) for k in (b"Width", b"Height"))
        cs = re.search(rb"/ColorSpace (\d+) 0 R", head)
        if cs:
            ref = objs[int(cs.group(1))]
            ncomp = int(re.search(rb"/N (\d)", ref).group(1)) if b"/N " in ref else 3
        else:
            ncomp = 3 if b"/DeviceRGB" in head else 1
        pred = re.search(rb"/Predictor (\d+)", head)
        arr = _png_unfilter(raw, w, h, ncomp) if pred and int(pred.group(1)) >= 10 else np.frombuffer(raw, np.uint8)
        arr = arr.reshape(h, w, ncomp)
        if ncomp == 1:
            arr = np.repeat(arr, 3, 2)
        sm = re.search(rb"/SMask (\d+) 0 R", head)
        alpha = (np.frombuffer(_stream(objs[int(sm.group(1))])[1], np.uint8).reshape(h, w) if sm
                 else np.full((h, w), 255, np.uint8))
        out[w] = (arr, alpha)
    return out


_TOKEN = re.compile(rb"\((?:\\.|[^\\)])*\)|/[^\s/\[\]()<>]+|[-+]?\d*\.?\d+|[A-Za-z*'\"]+")


def _unescape(s: bytes) -> str:
    return re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                  else m.group(1), s[1:-1]).decode("latin-1")


def _layout(content: bytes) -> dict:
    """Text labels (x, y, string), image placements {name: (x, y, w, h)} and clip rectangles."""
    stack, texts, places, clips, td = [], [], {}, [], (0.0, 0.0)
    last_cm = None
    for tok in _TOKEN.findall(content):
        if tok[:1] in b"0123456789-+.":
            stack.append(float(tok))
            continue
        if tok.startswith(b"(") or tok.startswith(b"/"):
            stack.append(tok)
            continue
        op = tok
        if op == b"Td" and len(stack) >= 2:
            td = (stack[-2], stack[-1])
        elif op == b"Tm" and len(stack) >= 6:
            td = (stack[-2], stack[-1])
        elif op == b"Tj" and stack and isinstance(stack[-1], bytes):
            texts.append((td[0], td[1], _unescape(stack[-1])))
        elif op == b"cm" and len(stack) >= 6:
            last_cm = tuple(stack[-6:])
        elif op == b"Do" and stack and last_cm is not None:
            a, _, _, d, e, f = last_cm
            places[stack[-1].decode()[1:]] = (e, f, a, d)
        elif op == b"re" and len(stack) >= 4:
            clips.append(tuple(stack[-4:]))
        stack = []
    return {"texts": texts, "places": places, "rects": clips}


@dataclass
class Heatmap:
    path: Path
    dimm: str
    vdd: float
    trcd: int
    trp: int
    values: np.ndarray          # pixel rows x banks, Pr(row with error), from the top (row 0)
    dram_row: np.ndarray        # the DRAM row at each pixel row's centre
    vmax: float
    colour_residual: float      # largest RGB distance of a used pixel to the colour map
    colourbar_error: float      # largest |decoded - expected| colour-bar fraction
    info: dict = field(default_factory=dict)


def parse_picture_name(path: Path) -> dict:
    m = _NAME.search(Path(path).name)
    if not m:
        raise DataError(f"{path}: file name is not DIMM_rcdN_rpN_tempT_voltV.pdf")
    return {"dimm": m["dimm"], "trcd": int(m["rcd"]), "trp": int(m["rp"]), "temp": int(m["temp"]),
            "vdd": float(m["vdd"])}


def read_heatmap(path) -> Heatmap:
    """Decode one spatial-locality picture (module docstring). DataError if it cannot be read."""
    path = Path(path)
    meta = parse_picture_name(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    objs = _objects(data)
    try:
        imgs = _images(objs)
    except (zlib.error, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: image streams: cannot decode ({exc})") from None
    if len(imgs) != 2:
        raise DataError(f"{path}: expected 2 images (map, colour bar), found {len(imgs)}")
    (cb, cb_a), (im, im_a) = imgs[min(imgs)], imgs[max(imgs)]
    lay = None
    for o in objs.values():
        if b"stream" not in o or b"/Subtype /Image" in o[:o.find(b"stream")]:
            continue
        try:
            content = _stream(o)[1]
        except zlib.error:
            continue
        if b" Do" in content and b"Tj" in content:
            cand = _layout(content)
            if len(cand["places"]) == 2:
                lay = cand
    if lay is None:
        raise DataError(f"{path}: content stream: no text labels beside the two images "
                        f"(labels drawn as outlines?); skipped")
    (mx, my, mw, mh), (cx, cy, cw, ch) = sorted(lay["places"].values(), key=lambda p: -p[2])
    num = []
    for x, y, s in lay["texts"]:
        try:
            num.append((x, y, float(s)))
        except ValueError:
            pass
    base = 1.546875   # baseline of a 6 pt tick label below its tick (matplotlib, both files kinds)
    cbar = sorted((y + base, v) for x, y, v in num if x > cx + cw)
    banks = sorted((x, v) for x, y, v in num if y < my - 2 and mx <= x <= mx + mw)
    rows = sorted((y + base, v) for x, y, v in num if x < mx and my <= y + base <= my + mh + 2)
    if len(cbar) < 2 and len(banks) == BANKS and len(np.unique(im[im_a == 255], axis=0)) == 1:
        # one colour and no colour-bar ticks: matplotlib's picture of an all-zero map (vmin = vmax)
        return Heatmap(path, meta["dimm"], meta["vdd"], meta["trcd"], meta["trp"], np.zeros((0, BANKS)),
                       np.zeros(0), 0.0, 0.0, 0.0, {"blank": True})
    if len(cbar) < 2 or len(banks) != BANKS or len(rows) < 2:
        raise DataError(f"{path}: content stream: axis labels not found (colour bar {len(cbar)}, "
                        f"banks {len(banks)}, rows {len(rows)})")
    rect = [r for r in lay["rects"] if r[0] > mx + mw and r[2] < 2 * cw + 1]
    y0, y1 = (rect[0][1], rect[0][1] + rect[0][3]) if rect else (my, my + mh)
    a, b = np.polyfit([y for y, _ in cbar], [v for _, v in cbar], 1)
    vmin, vmax = a * y0 + b, a * y1 + b
    # colour bar check: its pixels against the fraction their position implies
    H = cb.shape[0]
    col = cb[:, cb.shape[1] // 2]
    ok = cb_a[:, cb.shape[1] // 2] == 255
    yc = cy + ch - (np.arange(H) + 0.5) * ch / H
    expect = np.clip((yc - y0) / (y1 - y0), 0, 1)
    t_cb, _ = colour_to_fraction(col[None])
    inside = ok & (yc > y0 + 0.5 * ch / H) & (yc < y1 - 0.5 * ch / H)
    cb_err = float(np.abs(t_cb[0][inside] - expect[inside]).max())
    # the map: bank of each pixel column, DRAM row of each pixel row
    W, Hm = im.shape[1], im.shape[0]
    xc = mx + (np.arange(W) + 0.5) * mw / W
    centres = np.array([x for x, _ in banks]) + 1.7   # label x is its left edge; digits are ~3.3 pt wide
    pitch = float(np.median(np.diff(centres)))
    ra, rb = np.polyfit([y for y, _ in rows], [v for _, v in rows], 1)
    ycm = my + mh - (np.arange(Hm) + 0.5) * mh / Hm
    dram_row = (ra * ycm + rb) * 1000.0
    opaque = im_a == 255                     # matplotlib leaves a transparent 1-pixel border
    keep_r = (dram_row >= 0) & (dram_row < ROWS_PER_BANK) & (opaque.sum(1) > W / 2)
    vals = np.zeros((int(keep_r.sum()), BANKS))
    t_all, dist = colour_to_fraction(im)
    residual = 0.0
    for bnk, c in enumerate(centres):
        cols = np.flatnonzero((np.abs(xc - c) < 0.35 * pitch) & (opaque.sum(0) > Hm / 2))
        if not len(cols):
            raise DataError(f"{path}: no pixel column under bank {bnk}")
        block = t_all[keep_r][:, cols]
        residual = max(residual, float(dist[keep_r][:, cols].max()))
        if np.ptp(block, axis=1).max() > 1.5 / 255:
            raise DataError(f"{path}: pixel columns of bank {bnk} disagree")
        vals[:, bnk] = vmin + block.mean(1) * (vmax - vmin)
    vals = np.clip(vals, 0.0, 1.0)
    return Heatmap(path, meta["dimm"], meta["vdd"], meta["trcd"], meta["trp"], vals, dram_row[keep_r], float(vmax),
                   residual, cb_err, {"vmin": float(vmin), "pixels": vals.shape, "blank": False})


def region_spread(h: Heatmap, regions: int = REGIONS_PER_BANK) -> dict | None:
    """Log-normal bank and subarray sigmas of one picture (module docstring), or None."""
    u = np.minimum(h.values, U_MAX)
    if not u.size or (u > 0).sum() < MIN_NONZERO_PIXELS or u.mean() > MAX_MEAN_U:
        return None
    x = -np.log1p(-u)
    reg = np.minimum((h.dram_row * regions / ROWS_PER_BANK).astype(int), regions - 1)
    sub_num = sub_den = 0.0
    bank_means, bank_noise = [], []
    for b in range(BANKS):
        means = np.array([x[reg == j, b].mean() for j in range(regions)])
        noise = np.array([x[reg == j, b].var(ddof=1) / (reg == j).sum() for j in range(regions)])
        mb = means.mean()
        bank_means.append(mb)
        bank_noise.append(means.var(ddof=1) / regions)
        if mb > 0:
            sub_num += means.var(ddof=1) - noise.mean()
            sub_den += mb ** 2
    bm = np.array(bank_means)
    cv2_sub = max(sub_num / sub_den, 0.0) if sub_den > 0 else 0.0
    cv2_bank = max((bm.var(ddof=1) - np.mean(bank_noise)) / bm.mean() ** 2, 0.0) if bm.mean() > 0 else 0.0
    return {"subarray": math.sqrt(math.log1p(cv2_sub)), "bank": math.sqrt(math.log1p(cv2_bank)),
            "mean_u": float(h.values.mean())}


def summarize_pictures(per: dict[str, list[float]], n_boot: int, seed: int) -> dict:
    """Median over DIMMs of per-DIMM medians, bootstrap CI over DIMMs, leave-one-DIMM-out check."""
    names = sorted(per)
    if not names:
        return {"sigma": math.nan, "low": math.nan, "high": math.nan, "n_dimms": 0}
    dimm_val = np.array([np.median(per[d]) for d in names])
    rng = np.random.default_rng(seed)
    boot = [np.median(dimm_val[rng.integers(0, len(names), len(names))]) for _ in range(n_boot)]
    loo = []
    for i, d in enumerate(names):
        others = np.delete(dimm_val, i)
        if len(others) >= 2:
            lo, hi = np.quantile(others, [0.025, 0.975])
            loo.append({"dimm": d, "value": float(dimm_val[i]), "others_median": float(np.median(others)),
                        "inside": bool(lo <= dimm_val[i] <= hi)})
    return {"sigma": float(np.median(dimm_val)), "low": float(np.quantile(boot, 0.025)),
            "high": float(np.quantile(boot, 0.975)), "n_dimms": len(names),
            "per_dimm": dict(zip(names, map(float, dimm_val))), "leave_one_out": loo}


def cacheline_fractions(path: Path) -> dict[tuple[str, float], float]:
    out = {}
    lines = _read_text(path).splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if not line.startswith("#")]
    reader = csv.DictReader(line for _, line in numbered)
    for k, rec in enumerate(reader, 1):
        lineno = numbered[min(k, len(numbered) - 1)][0]
        try:
            out[(rec["dimm_name"], round(float(rec["vdd"]), 3))] = float(rec["error_cacheline_percent"]) / 100
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}:{lineno}: expected dimm_name, vdd and error_cacheline_percent ({exc})") from None
    return out


# ------------------------------------------------------------------------------------------
# the whole fit

def fit_all(data: Path, seed: int = 0, n_boot: int = 2000, log=print) -> dict:
    ret_path = data / RETENTION_FILE
    rows = load_retention(ret_path)
    result = {"retention": {}, "pictures": {}, "sources": {"retention": str(ret_path), "pictures": str(data / PICTURE_DIR)}}
    log(f"Per-bank weak-cell counts ({ret_path.name}; 20 C; count = mean over the repetitions with errors)")
    for interval in (2048, 1536):
        for vdd in (1.15, 1.2, 1.35):
            counts = bank_counts(rows, vdd, interval)
            for vendor in ("A", "B", "C"):
                for drop0 in (False, True):
                    ks = {d: (k[1:] if drop0 else k) for d, (v, k) in counts.items() if v == vendor}
                    fit = fit_sigma(list(ks.values()))
                    key = f"{vendor}/{vdd}/{interval}/{'banks1-7' if drop0 else 'all'}"
                    if interval == 2048 and vdd == 1.15 and fit["n_dimms"] >= 2:
                        fit["bootstrap"] = bootstrap_sigma(list(ks.values()), min(n_boot, 400), seed)
                        fit["leave_one_out"] = leave_one_out(ks, seed)
                    result["retention"][key] = fit
                    if interval == 2048 or not drop0:
                        log(f"  vendor {vendor}, VDD {vdd} V, {interval} ms, {'banks 1-7' if drop0 else 'all banks'}: "
                            f"sigma {fit['sigma']:.2f} [{fit['low']:.2f}, {fit['high']:.2f}] from {fit['n_dimms']} DIMMs"
                            + (f"; bootstrap over DIMMs [{fit['bootstrap'][0]:.2f}, {fit['bootstrap'][1]:.2f}]"
                               if "bootstrap" in fit else ""))
    bank0 = {}
    counts = bank_counts(rows, 1.15, 2048)
    for d, (v, k) in counts.items():
        if k.sum() > 0:
            bank0[d] = float(k[0] / k.sum())
    result["bank0_share"] = bank0
    log("  share of weak cells in bank 0 (1.15 V, 2048 ms): " + ", ".join(f"{d} {s:.2f}" for d, s in bank0.items()))
    for key, fit in result["retention"].items():
        if "leave_one_out" in fit:
            loo = fit["leave_one_out"]
            log(f"  leave-one-DIMM-out {key}: predictive p of each DIMM's bank dispersion under the others' fit / 0.5 / 0: "
                + "; ".join(f"{r['dimm']} {r['p_fitted']:.2f}/{r['p_0.5']:.2f}/{r['p_0']:.2f}" for r in loo))

    pics = sorted((data / PICTURE_DIR).glob("*.pdf"))
    lines = cacheline_fractions(data / CACHELINE_FILE) if (data / CACHELINE_FILE).exists() else {}
    log(f"\nSpatial-locality pictures ({len(pics)} files in {PICTURE_DIR})")
    per = {"A": {}, "B": {}, "C": {}}
    per_bank = {"A": {}, "B": {}, "C": {}}
    checks = {"skipped": [], "max_colour_residual": 0.0, "max_colourbar_error": 0.0, "blank": [],
              "nominal_vdd_max": 0.0, "row_vs_line_fraction": [], "timings": set()}
    for p in pics:
        try:
            h = read_heatmap(p)
        except DataError as exc:
            checks["skipped"].append(str(exc))
            continue
        checks["timings"].add((h.trcd, h.trp))
        checks["max_colour_residual"] = max(checks["max_colour_residual"], h.colour_residual)
        checks["max_colourbar_error"] = max(checks["max_colourbar_error"], h.colourbar_error)
        if h.info.get("blank"):
            checks["blank"].append(p.name)
        if math.isclose(h.vdd, 1.35) and h.values.size:
            checks["nominal_vdd_max"] = max(checks["nominal_vdd_max"], float(h.values.max()))
        f = lines.get((h.dimm, round(h.vdd, 3)))
        if f is not None and h.values.size:
            fr = float(h.values.mean())
            checks["row_vs_line_fraction"].append((p.name, f, fr, bool(f <= fr <= min(1.0, 128 * f))))
        s = region_spread(h)
        if s is not None:
            per[h.dimm[0]].setdefault(h.dimm, []).append(s["subarray"])
            per_bank[h.dimm[0]].setdefault(h.dimm, []).append(s["bank"])
    checks["timings"] = sorted(checks["timings"])
    result["picture_checks"] = checks
    log(f"  read {len(pics) - len(checks['skipped'])}, skipped {len(checks['skipped'])}: "
        + "; ".join(checks["skipped"]))
    log(f"  largest RGB distance of a pixel to the colour map {checks['max_colour_residual']:.2f} (of 441); "
        f"largest colour-bar decoding error {checks['max_colourbar_error']:.4f} of its range; "
        f"tRCD/tRP cycles in the names {checks['timings']}")
    log(f"  all-zero (blank) pictures: {len(checks['blank'])}; largest value in a 1.35 V picture: "
        f"{checks['nominal_vdd_max']:.3g}")
    rv = checks["row_vs_line_fraction"]
    log(f"  (report) faulty-row fraction within [f, 128 f] of the same-named DIMM's faulty-line fraction f: "
        f"{sum(r[3] for r in rv)} of {len(rv)} -- names differ between the two files, see the docstring")
    for name, store in (("subarray", per), ("bank", per_bank)):
        for vendor in ("A", "B", "C"):
            summ = summarize_pictures(store[vendor], n_boot, seed)
            result["pictures"][f"{vendor}/{name}"] = summ
            inside = sum(r["inside"] for r in summ.get("leave_one_out", []))
            log(f"  vendor {vendor} {name} sigma (pictures): {summ['sigma']:.2f} [{summ['low']:.2f}, {summ['high']:.2f}] "
                f"from {summ['n_dimms']} DIMMs; left-out DIMM inside the others' 95 % range: "
                f"{inside} of {len(summ.get('leave_one_out', []))}")
    return result


PROG = "python -m bench.fit_spatial"


def build_parser():
    from traces.cli import Parser, int_in, seed_int
    ap = Parser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="shared data directory (default $SPARKXD_SHARED_DATA, else ../shared/data)")
    ap.add_argument("--seed", type=seed_int, default=0, help="seed of the bootstrap and simulations (default 0)")
    ap.add_argument("--boot", type=int_in(10, 1_000_000), default=2000,
                    help="bootstrap resamples, 10..10^6 (default 2000)")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the fit as JSON (the directory must exist)")
    return ap


def check_data_dir(data: Path, option: str, needed) -> None:
    """CliError unless ``data`` is a directory holding every path of ``needed``."""
    from traces.cli import CliError
    if not data.exists():
        raise CliError(f"{option} {data}: no such directory")
    if not data.is_dir():
        raise CliError(f"{option} {data}: not a directory")
    for rel in needed:
        if not (data / rel).exists():
            raise CliError(f"{option} {data}: {rel} is missing (the Voltron data of CMU-SAFARI/DRAM-Voltage-Study)")


def _main(argv) -> int:
    from traces.cli import CliError, check_outputs
    a = build_parser().parse_args(argv)
    data = a.data or default_data_dir()
    check_data_dir(data, "--data" if a.data else "data directory", [RETENTION_FILE, PICTURE_DIR])
    check_outputs({"--json": a.json})
    try:
        res = fit_all(data, a.seed, a.boot)
    except DataError as exc:
        raise CliError(str(exc)) from None
    if a.json:
        from traces.atomic import atomic_output
        with atomic_output(a.json, "w") as fh:
            fh.write(json.dumps(res, indent=1, default=str))
    return 0


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 2 bad input or data (nothing written), 130 interrupted."""
    from traces.cli import run
    return run(PROG, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
