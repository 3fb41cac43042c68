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

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench._sweep_context import load_context
from bench._sweep_dram import simulate_metrics
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


@lru_cache(maxsize=4)
def get_setup(cache_dir: str, cid: str) -> Setup:
    from snn.model_io import load_model
    meta, arrays = load_context(cache_dir, cid)
    spec = load_spec(meta["spec"], channels=meta.get("channels"), ranks=meta.get("ranks"))
    return Setup(meta=meta, arrays=arrays, spec=spec, mapper=AddressMapper(spec, meta["mapping"]),
                 model=load_model(meta["model_path"]) if meta.get("model_path") else None,
                 curve=curve_by_name_or_path(meta["vendor"]),
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


def _correct(model, x, y, weights, seeds) -> np.ndarray:
    from snn.infer import correct_matrix
    return correct_matrix(model, x, y, seeds=seeds, weights=weights)


def dram_metrics(setup: Setup, layout, fmt_name: str, vdd: float) -> dict:
    """Mean DRAM metrics per inference over the sampled images, each image simulated alone;
    energy with its 95 % interval over the images."""
    stream = setup.arrays[f"stream_{fmt_name}"]
    spec_v = spec_at_vdd(setup.spec, vdd)
    word_addr = layout.addresses(setup.mapper)
    per_image = []
    for image in np.unique(stream["image"]):
        part = stream[stream["image"] == image]
        requests = logical_to_requests(part, layout, setup.spec, setup.mapper, arrival=setup.meta["arrival"],
                                       word_addr=word_addr)
        per_image.append(simulate_metrics(spec_v, requests, setup.config, setup.meta["engine"],
                                          setup.meta["mapping"]))
    out = {k: float(np.mean([m[k] for m in per_image])) for k in per_image[0]}
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
        masks = flip_masks(plain_words, layout, fm)
        if count_flipped_bits(masks) == 0:   # every word reads back intact: the error-free run, exactly
            flipped.append(0)
            for s in IMAGE_SETS:
                outcomes[s].append(a[f"clean_{s}_{fmt.name}"])
            continue
        w = read_back(fmt, plain_words, masks, meta["guard"]).reshape(setup.model.weights.shape)
        found = {s: _correct(setup.model, a[f"x_{s}"], a[f"y_{s}"], w, spikes) for s in IMAGE_SETS}
        n_flipped = count_flipped_bits(masks)
        net = _network_for(setup, point, store, fm)
        if net is not setup.model:   # calibrated: kept where it pays on the validation images
            words = fmt.encode(net.weights)
            cal_masks = flip_masks(words, layout, fm)
            w = read_back(fmt, words, cal_masks, meta["guard"]).reshape(setup.model.weights.shape)
            val = _correct(net, a["x_val"], a["y_val"], w, spikes)
            if val.mean() > found["val"].mean():
                found = {"val": val, "test": _correct(net, a["x_test"], a["y_test"], w, spikes)}
                n_flipped = count_flipped_bits(cal_masks)
                calibrated += 1
                retired.append(int((net.theta > firing_ceiling_mv(net.params)).sum()))
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


def run_point(point: dict) -> dict:
    setup = get_setup(point["cache_dir"], point["context"])
    meta = setup.meta
    policy, vdd = point["policy"], float(point["vdd"])
    fmt = get_format(point["format"])
    spec = setup.spec
    ber, region = device_region_ber(setup, vdd)
    # "layout_vdd": place as at that VDD but run at "vdd" (splitting a saving into its terms)
    placed_region = device_region_ber(setup, float(point["layout_vdd"]))[1] if "layout_vdd" in point else region
    shape = tuple(meta["shape"])
    req = PlacementRequest(spec=spec, mapper=setup.mapper, n_words=int(np.prod(shape)), word_bits=fmt.bits,
                           shape=shape, seed=int(meta["placement_seed"]), region_ber=placed_region,
                           tolerable_ber=point.get("tolerable_ber", meta["tolerable_ber"][point["format"]]))
    out = {"policy": policy, "vdd_v": vdd, "format": point["format"], "ber": ber}
    try:
        layout = place(policy, req)
    except CapacityError as exc:
        if policy == "sparkxd":
            safe = int((placed_region <= req.tolerable_ber).sum())
            return {**out, "error": f"does not fit: {safe} of {region.size} subarrays have BER <= "
                                    f"{req.tolerable_ber:.3g}", "detail": str(exc)}
        return {**out, "error": f"does not fit: {exc}"}
    out["ber_used"] = float(region[layout.flat_subarray(spec)].mean())
    out["layout_info"] = {k: v for k, v in layout.info.items() if isinstance(v, (int, float, str))}
    out.update(dram_metrics(setup, layout, point["format"], vdd))
    if setup.model is not None and not point.get("dram_only"):
        out.update(accuracy_metrics(setup, point, layout, fmt, region, ber, vdd))
    return out
