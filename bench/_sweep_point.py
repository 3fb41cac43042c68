"""One point of the placement sweep: (policy, VDD, format) -> DRAM metrics and accuracy.

``run_point`` is a top-level function of a JSON point so that ``bench.runner.run_points`` can
run it in this process, in a process pool or on a dask cluster; everything heavy comes from the
stored sweep context (``bench._sweep_context``).

DRAM: the weight reads of each sampled test image are simulated on their own, so energy per
inference is a mean over images with a confidence interval (``snn.stats.mean_interval``); the
other DRAM columns are means over the same images.

Accuracy: for every fault map (device) the stored words are read back through the faults at
this point's layout and VDD (``mapping.inject.read_back``) and the network classifies the
validation and the test images under every input-spike seed. With ``training == "fat"`` the
network is also calibrated to every device that flips any bit, at this layout and VDD
(``bench._sweep_network.calibrated_model``), and the calibrated network replaces it on that
device where it classifies more VALIDATION images correctly (the test images follow that
choice). Losses are paired against the reference network's error-free fp32 run on the same
images and spike seeds (with FAT: the control trained the same extra epoch without faults);
means and 95 % intervals come from ``snn.stats``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench._sweep_context import load_context
from bench._sweep_dram import simulate_metrics
from bench._sweep_timing import TIMING_KEY, phase
from bench._sweep_timing import take as take_timing
from dramsim.address import AddressMapper
from dramsim.config import ControllerConfig
from dramsim.errors import ErrorParams, FaultMap, parse_model, region_ber
from dramsim.errors.ber_vdd import curve_by_name_or_path
from dramsim.spec import load_spec
from dramsim.vdd import spec_at_vdd
from mapping.fault_aware import firing_ceiling_mv
from mapping.inject import count_flipped_bits, flip_masks, read_back
from mapping.layout import CapacityError
from mapping.physical import logical_to_requests
from mapping.policies import PlacementRequest, place
from mapping.tolerance import StoredWeights
from snn.formats import get_format
from snn.stats import accuracy_estimate, mean_interval, paired_loss_estimate
from traces.records import REQUEST_DTYPE

#: the image sets accuracy is measured on: validation chooses, test reports
IMAGE_SETS = ("val", "test")


@dataclass
class Setup:
    meta: dict
    arrays: dict
    spec: object
    mapper: AddressMapper
    model: object
    curve: object
    error_params: ErrorParams
    config: ControllerConfig
    fat_from: object = None       # --training fat: the plain network calibrations start from
    requests: dict = field(default_factory=dict)   # image_requests' cache


@lru_cache(maxsize=4)
def get_setup(cache_dir: str, cid: str) -> Setup:
    from snn.model_io import load_model
    meta, arrays = load_context(cache_dir, cid)
    spec = load_spec(meta["spec"], channels=meta.get("channels"), ranks=meta.get("ranks"))
    return Setup(meta=meta, arrays=arrays, spec=spec, mapper=AddressMapper(spec, meta["mapping"]),
                 model=load_model(meta["model_path"]) if meta.get("model_path") else None,
                 curve=curve_by_name_or_path(meta["vendor"], dimm=meta.get("dimm"),
                                             statistic=meta.get("dimm_statistic")),
                 error_params=ErrorParams(**meta.get("error_params", {})),
                 config=ControllerConfig(**meta["controller"]),
                 fat_from=load_model(meta["fat_from_path"]) if meta.get("fat_from_path") else None)


def device_region_ber(setup: Setup, vdd: float) -> tuple[float, np.ndarray]:
    """(device BER at ``vdd``, BER of every subarray, flat counters.py order).

    The device's weak and strong regions are fixed by the device seed (``meta['device_seed']``);
    only the BER level changes with VDD.
    """
    ber = float(setup.curve.ber(vdd))
    rb = region_ber(setup.spec.org, ber, setup.error_params, int(setup.meta["device_seed"]))
    return ber, np.asarray(rb, dtype=np.float64).reshape(-1)


def _correct(model, x, y, weights, seeds, threads: int = 1) -> np.ndarray:
    from snn.infer import correct_matrix
    return correct_matrix(model, x, y, seeds=seeds, weights=weights, threads=threads)


def _correct_after_flips(model, x, y, weights, seeds, clean, masks, threads: int = 1) -> np.ndarray:
    """Outcomes with the flipped weights, evaluating only the images a flipped row can reach
    (``snn.infer.correct_after_change``: identical to evaluating all of them)."""
    from mapping.tolerance import changed_rows
    from snn.infer import correct_after_change
    return correct_after_change(model, x, y, seeds=seeds, weights=weights, clean=clean,
                                changed_rows=changed_rows(masks, model.weights.shape), threads=threads)


#: Bytes of request streams a setup keeps (per process; at least the latest layout's). Points
#: run policy by policy, so a layout's VDDs reuse its streams; at N = 6400 one layout's ten
#: images hold ~64 MB of addresses, and keeping eight layouts per worker took a two-worker
#: sweep past 2 GB.
_REQUESTS_KEPT_BYTES = 256 * 2 ** 20


def image_requests(setup: Setup, layout, fmt_name: str) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The physical read requests of each sampled image under ``layout``, kept compact as
    (addresses, arrival cycles or None when all are -1); :func:`as_requests` makes the
    ``REQUEST_DTYPE`` array of one. They do not depend on the VDD, so the points of one layout
    at several VDDs build them once (per process)."""
    key = (fmt_name, layout_digest(layout))
    kept = setup.requests
    if key not in kept:
        stream = setup.arrays[f"stream_{fmt_name}"]
        word_addr, burst_ids = layout.addresses(setup.mapper), layout.burst_ids(setup.spec)
        kept[key] = [_compact(logical_to_requests(stream[stream["image"] == image], layout, setup.spec,
                                                  setup.mapper, arrival=setup.meta["arrival"],
                                                  word_addr=word_addr, burst_ids=burst_ids))
                     for image in np.unique(stream["image"])]
        while len(kept) > 1 and _nbytes(kept) > _REQUESTS_KEPT_BYTES:
            kept.pop(next(iter(kept)))
    return kept[key]


def _compact(requests: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(addresses, arrival cycles or None when all are -1) of weight reads (``is_write`` False):
    8 bytes a request instead of 17 while they are kept."""
    if requests["is_write"].any():
        raise ValueError("weight streams are reads: a write request cannot be kept compact")
    arrive = requests["arrive"]
    return requests["addr"].copy(), (None if (arrive == -1).all() else arrive.copy())


def as_requests(compact: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
    """The ``REQUEST_DTYPE`` read requests of one image from its compact form."""
    addr, arrive = compact
    out = np.empty(addr.size, dtype=REQUEST_DTYPE)
    out["addr"] = addr
    out["is_write"] = False
    out["arrive"] = -1 if arrive is None else arrive
    return out


def _nbytes(kept: dict) -> int:
    return sum(part.nbytes for streams in kept.values() for image in streams for part in image
               if part is not None)


def layout_digest(layout) -> str:
    """Digest of where every word is stored."""
    h = hashlib.sha256(str(layout.word_bits).encode())
    for name in ("channel", "rank", "bankgroup", "bank", "row", "column", "bit_offset"):
        h.update(np.ascontiguousarray(getattr(layout, name)).tobytes())
    return h.hexdigest()


def dram_metrics(setup: Setup, layout, fmt_name: str, vdd: float) -> dict:
    """Mean DRAM metrics per inference over the sampled images, each image simulated alone;
    energy with its 95 % interval over the images."""
    spec_v = spec_at_vdd(setup.spec, vdd, timing=setup.meta.get("vdd_timing", "alpha"))
    per_image = []
    for compact in image_requests(setup, layout, fmt_name):
        requests = as_requests(compact)
        with phase("dram", len(requests)):
            per_image.append(simulate_metrics(spec_v, requests, setup.config, setup.meta["engine"],
                                              setup.meta["mapping"],
                                              powerdown_idle=setup.meta.get("powerdown_idle"),
                                              self_refresh_idle=setup.meta.get("self_refresh_idle")))
    out = {k: float(np.mean([m[k] for m in per_image])) for k in per_image[0]}
    if "pd_saved_uj" in out:      # the share of the mean energy, not a mean of per-image shares
        out["pd_saved_pct"] = 100.0 * out["pd_saved_uj"] / out["energy_uj"]
    energy = mean_interval([m["energy_uj"] for m in per_image])
    out.update(energy_ci_low_uj=energy.low, energy_ci_high_uj=energy.high,
               energy_per_image_uj=[float(m["energy_uj"]) for m in per_image],
               energy_image_min_uj=float(min(m["energy_uj"] for m in per_image)),
               energy_image_max_uj=float(max(m["energy_uj"] for m in per_image)))
    return out


def _network_for(setup: Setup, point: dict, store, fault_map):
    """The network evaluated on this device: the plain one, or (``--training fat``) the plain
    one calibrated to this device, layout and VDD (the context's ``model`` is then the
    calibration's error-free control, ``bench._sweep_network.fat_control``)."""
    meta = setup.meta
    if meta["training"] != "fat":
        return setup.model
    from bench._sweep_network import calibrated_model
    a = setup.arrays
    return calibrated_model(setup.fat_from, meta["fat_from_path"], a["x_train"], a["y_train"], store, fault_map,
                            seed=int(meta["train_seed"]), guard=meta["guard"], cache=Path(point["cache_dir"]))[0]


def accuracy_metrics(setup: Setup, point: dict, layout, fmt, region: np.ndarray, ber: float, vdd: float) -> dict:
    """Accuracy and paired loss (percent, with 95 % intervals) on validation and test images,
    over the fault maps (devices) x input-spike seeds of the context."""
    meta, a = setup.meta, setup.arrays
    store = StoredWeights(fmt, layout, setup.spec)
    spikes = [int(s) for s in meta["spike_seeds"]]
    model_no = parse_model(meta["error_model"])
    plain_words = fmt.encode(setup.model.weights)
    outcomes = {s: [] for s in IMAGE_SETS}
    flipped, calibrated, retired = [], 0, []
    for seed in meta["fault_seeds"]:
        fm = FaultMap(setup.spec.org, model_no, ber, seed=int(seed), params=setup.error_params,
                      persistent=True, vdd=vdd, region_ber=region)
        with phase("fault_maps", plain_words.size):
            masks = flip_masks(plain_words, layout, fm)
        if count_flipped_bits(masks) == 0:   # every word reads back intact: the error-free run, exactly
            flipped.append(0)
            for s in IMAGE_SETS:
                outcomes[s].append(a[f"clean_{s}_{fmt.name}"])
            continue
        shape = setup.model.weights.shape
        w = read_back(fmt, plain_words, masks, meta["guard"]).reshape(shape)
        n_flipped = count_flipped_bits(masks)
        threads = int(meta.get("threads", 1))
        if meta.get("shortcuts", True):
            run = lambda s: _correct_after_flips(setup.model, a[f"x_{s}"], a[f"y_{s}"], w, spikes,  # noqa: E731
                                                 a[f"clean_{s}_{fmt.name}"], masks, threads)
        else:
            run = lambda s: _correct(setup.model, a[f"x_{s}"], a[f"y_{s}"], w, spikes, threads)  # noqa: E731
        n_val, n_test = len(a["y_val"]) * len(spikes), len(a["y_test"]) * len(spikes)
        with phase("faulty_inference", n_val):
            found = {"val": run("val")}
        net = _network_for(setup, point, store, fm)
        if net is not setup.model:   # calibrated: kept where it pays on the validation images
            words = fmt.encode(net.weights)
            with phase("fault_maps", words.size):
                cal_masks = flip_masks(words, layout, fm)
            w_cal = read_back(fmt, words, cal_masks, meta["guard"]).reshape(shape)
            with phase("faulty_inference", n_val):
                val = _correct(net, a["x_val"], a["y_val"], w_cal, spikes, threads)
            if val.mean() > found["val"].mean():
                with phase("faulty_inference", n_test):
                    found = {"val": val, "test": _correct(net, a["x_test"], a["y_test"], w_cal, spikes, threads)}
                n_flipped = count_flipped_bits(cal_masks)
                calibrated += 1
                retired.append(int((net.theta > firing_ceiling_mv(net.params)).sum()))
        if "test" not in found:
            with phase("faulty_inference", n_test):
                found["test"] = run("test")
        flipped.append(n_flipped)
        for s in IMAGE_SETS:
            outcomes[s].append(found[s])
    out = {"flipped_bits": float(np.mean(flipped)), "devices_calibrated": calibrated,
           "neurons_retired": float(np.mean(retired)) if retired else 0.0}
    for s in IMAGE_SETS:
        faulty = np.stack(outcomes[s])
        acc = accuracy_estimate(faulty).scaled(100.0)
        loss = paired_loss_estimate(a[f"clean_{s}_fp32"], faulty).scaled(100.0)
        pre = "" if s == "test" else "val_"
        out.update({f"{pre}accuracy_pct": acc.mean, f"{pre}accuracy_ci_low": acc.low,
                    f"{pre}accuracy_ci_high": acc.high, f"{pre}accuracy_loss": loss.mean,
                    f"{pre}loss_ci_low": loss.low, f"{pre}loss_ci_high": loss.high})
    return out


def place_point(setup: Setup, point: dict):
    """(layout or the CapacityError that stopped it, request) of a point's policy, format and
    placement VDD (``layout_vdd``, default ``vdd``: place as at that VDD but run at ``vdd``,
    to split a saving into its terms)."""
    meta = setup.meta
    fmt = get_format(point["format"])
    placed_region = device_region_ber(setup, float(point.get("layout_vdd", point["vdd"])))[1]
    shape = tuple(meta["shape"])
    req = PlacementRequest(spec=setup.spec, mapper=setup.mapper, n_words=int(np.prod(shape)), word_bits=fmt.bits,
                           shape=shape, seed=int(meta["placement_seed"]), region_ber=placed_region,
                           tolerable_ber=point.get("tolerable_ber", meta["tolerable_ber"][point["format"]]))
    try:
        return place(point["policy"], req), req
    except CapacityError as exc:
        return exc, req


def _layout_notes(layout) -> dict:
    return {k: v for k, v in layout.info.items() if isinstance(v, (int, float, str))}


def layout_identity(point: dict) -> tuple[str, dict | None]:
    """(key, layout notes): points with equal keys store the same words at the same cells and
    run at the same VDD, so they give the same result but for the policy's name and notes."""
    setup = get_setup(point["cache_dir"], point["context"])
    layout = place_point(setup, point)[0] if setup.curve.operates(float(point["vdd"])) else None
    if layout is None or isinstance(layout, Exception):      # nothing to share: keyed by the point itself
        return "unplaced:" + json.dumps(point, sort_keys=True), None
    h = hashlib.sha256(json.dumps({k: point.get(k) for k in ("vdd", "format", "dram_only")},
                                  sort_keys=True).encode())
    h.update(layout_digest(layout).encode())
    return h.hexdigest(), _layout_notes(layout)


def run_point(point: dict) -> dict:
    setup = get_setup(point["cache_dir"], point["context"])
    policy, vdd = point["policy"], float(point["vdd"])
    fmt = get_format(point["format"])
    spec = setup.spec
    if not setup.curve.operates(vdd):     # the DIMM the curve describes stops working here
        return {"policy": policy, "vdd_v": vdd, "format": point["format"],
                "error": f"does not operate: {setup.curve.source} at {vdd:g} V"}
    ber, region = device_region_ber(setup, vdd)
    out = {"policy": policy, "vdd_v": vdd, "format": point["format"], "ber": ber}
    layout, req = place_point(setup, point)
    if isinstance(layout, CapacityError):
        if policy == "sparkxd":
            safe = int((req.region_ber <= req.tolerable_ber).sum())
            return {**out, "error": f"does not fit: {safe} of {region.size} subarrays have BER <= "
                                    f"{req.tolerable_ber:.3g}", "detail": str(layout)}
        return {**out, "error": f"does not fit: {layout}"}
    out["ber_used"] = float(region[layout.flat_subarray(spec)].mean())
    out["layout_info"] = _layout_notes(layout)
    out.update(dram_metrics(setup, layout, point["format"], vdd))
    if setup.model is not None and not point.get("dram_only"):
        out.update(accuracy_metrics(setup, point, layout, fmt, region, ber, vdd))
    out[TIMING_KEY] = take_timing()
    return out
