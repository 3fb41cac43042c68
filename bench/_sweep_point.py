"""One point of the placement sweep: (policy, VDD, format) -> DRAM metrics and accuracy.

``run_point`` is a top-level function of a JSON point so that ``bench.runner.run_points`` can
run it in this process, in a process pool or on a dask cluster; everything heavy comes from the
stored sweep context (``bench._sweep_context``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bench._sweep_context import load_context
from bench._sweep_dram import simulate_metrics
from dramsim.address import AddressMapper
from dramsim.config import ControllerConfig
from dramsim.errors import ErrorParams, FaultMap, parse_model, region_ber
from dramsim.errors.ber_vdd import curve_by_name_or_path
from dramsim.spec import load_spec
from dramsim.vdd import spec_at_vdd
from mapping.guard import apply_guard
from mapping.inject import count_flipped_bits, flip_masks
from mapping.layout import CapacityError
from mapping.physical import logical_to_requests
from mapping.policies import PlacementRequest, place
from snn.formats import get_format


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


@lru_cache(maxsize=4)
def get_setup(cache_dir: str, cid: str) -> Setup:
    from snn.model_io import load_model
    meta, arrays = load_context(cache_dir, cid)
    spec = load_spec(meta["spec"], channels=meta.get("channels"), ranks=meta.get("ranks"))
    return Setup(meta=meta, arrays=arrays, spec=spec, mapper=AddressMapper(spec, meta["mapping"]),
                 model=load_model(meta["model_path"]) if meta.get("model_path") else None,
                 curve=curve_by_name_or_path(meta["vendor"]),
                 error_params=ErrorParams(**meta.get("error_params", {})),
                 config=ControllerConfig(**meta["controller"]))


def device_region_ber(setup: Setup, vdd: float) -> tuple[float, np.ndarray]:
    """(device BER at ``vdd``, BER of every subarray, flat counters.py order).

    The device's weak and strong regions are fixed by the device seed (``meta['device_seed']``);
    only the BER level changes with VDD.
    """
    ber = float(setup.curve.ber(vdd))
    rb = region_ber(setup.spec.org, ber, setup.error_params, int(setup.meta["device_seed"]))
    return ber, np.asarray(rb, dtype=np.float64).reshape(-1)


def evaluate_accuracy(model, x, y, eval_seed: int, weights) -> float:
    """Accuracy in percent of ``model`` with ``weights`` on images ``x`` (labels ``y``)."""
    from snn.infer import evaluate
    return 100.0 * float(evaluate(model, x, y, seed=eval_seed, weights=weights).accuracy)


def faulty_accuracy(setup: Setup, layout, fmt, region: np.ndarray, ber: float, vdd: float) -> dict:
    """Mean accuracy over the fault seeds of the weights read back from ``layout``'s locations."""
    meta, a = setup.meta, setup.arrays
    words = fmt.encode(setup.model.weights).reshape(-1)
    model_no = parse_model(meta["error_model"])
    accs, flipped = [], []
    for s in meta["fault_seeds"]:
        fm = FaultMap(setup.spec.org, model_no, ber, seed=int(s), params=setup.error_params,
                      persistent=True, vdd=vdd, region_ber=region.reshape(-1))
        masks = flip_masks(words, layout, fm)
        n_flip = count_flipped_bits(masks)
        flipped.append(n_flip)
        if n_flip == 0:  # no bit flipped: inference is deterministic, reuse the clean accuracy
            accs.append(float(meta["clean_accuracy"][fmt.name]))
            continue
        w = apply_guard(fmt.decode(words ^ masks), meta["guard"], fmt.w_max)
        w = w.reshape(setup.model.weights.shape)
        accs.append(evaluate_accuracy(setup.model, a["x_eval"], a["y_eval"], int(meta["eval_seed"]), w))
    return {"accuracy_pct": float(np.mean(accs)), "accuracy_min_pct": float(np.min(accs)),
            "flipped_bits": float(np.mean(flipped))}


def run_point(point: dict) -> dict:
    setup = get_setup(point["cache_dir"], point["context"])
    meta, a = setup.meta, setup.arrays
    policy, vdd = point["policy"], float(point["vdd"])
    fmt = get_format(point["format"])
    spec = setup.spec
    ber, region = device_region_ber(setup, vdd)
    shape = tuple(meta["shape"])
    req = PlacementRequest(spec=spec, mapper=setup.mapper, n_words=int(np.prod(shape)), word_bits=fmt.bits,
                           shape=shape, seed=int(meta["placement_seed"]), region_ber=region,
                           tolerable_ber=meta["tolerable_ber"][point["format"]])
    out = {"policy": policy, "vdd_v": vdd, "format": point["format"], "ber": ber}
    try:
        layout = place(policy, req)
    except CapacityError as exc:
        if policy == "sparkxd":
            safe = int((region <= req.tolerable_ber).sum())
            return {**out, "error": f"does not fit: {safe} of {region.size} subarrays have BER <= "
                                    f"{req.tolerable_ber:.3g}", "detail": str(exc)}
        return {**out, "error": f"does not fit: {exc}"}
    out["ber_used"] = float(region[layout.flat_subarray(spec)].mean())
    out["layout_info"] = {k: v for k, v in layout.info.items() if isinstance(v, (int, float, str))}
    requests = logical_to_requests(a[f"stream_{point['format']}"], layout, spec, setup.mapper,
                                   arrival=meta["arrival"])
    out.update(simulate_metrics(spec_at_vdd(spec, vdd), requests, setup.config, meta["engine"],
                                meta["mapping"], per=float(meta["dram_images"])))
    if setup.model is not None:
        out.update(faulty_accuracy(setup, layout, fmt, region, ber, vdd))
    return out
