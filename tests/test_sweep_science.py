"""The science path of the main sweep, against answers computed here by hand.

A device with a few subarrays whose every cell fails (BER 1) and perfect cells elsewhere makes
the expected bit flips of each policy exact: 32 x the fp32 words that policy puts in those
subarrays, and none for sparkxd, which must avoid them. The accuracy loss is recomputed from
the weights as they read back (complemented words, decoded by hand) and the error-free run on
the same images and spike seeds. The tolerable BER must come from the validation images.
"""
import csv

import numpy as np
import pytest

import bench._sweep_main as sweep_main
import bench._sweep_point as sweep_point
from bench._sweep_network import ACCURACY_SALT, sample_test_images, spike_seeds
from bench.sweep_mappings import main
from dramsim.address import AddressMapper
from dramsim.spec import load_spec
from mapping.policies import PlacementRequest, place
from snn.data import load_default_split
from snn.infer import correct_matrix

SPEC = load_spec("DDR3L-1600K")
TINY = ["--neurons", "10", "--train-images", "60", "--val-images", "100", "--images", "60",
        "--dram-images", "2", "--vdd", "1.35,1.05", "--fault-maps", "2", "--spike-seeds", "2", "--no-progress",
        "--preset", "paper", "--training", "plain", "--policies", "linear,drmap,sparkxd,random",
        "--jobs", "1"]                         # in this process: the tests patch module functions
SHAPE = (784, 10)


def _read_csv(path):
    with open(path, newline="") as fh:
        return {(r["policy"], float(r["vdd_v"])): r for r in csv.DictReader(fh)}


def _layout(policy, region, tolerable):
    req = PlacementRequest(spec=SPEC, mapper=AddressMapper(SPEC, "RoBaRaCoCh"), n_words=SHAPE[0] * SHAPE[1],
                           word_bits=32, shape=SHAPE, seed=0, region_ber=region, tolerable_ber=tolerable)
    return place(policy, req)


def _weak_device():
    """Per-subarray BER at 1.05 V: 1.0 in the subarray holding linear's first words and in the
    subarray holding most of random's words outside linear's; 0 everywhere else."""
    n = SPEC.org.channels * SPEC.org.ranks * SPEC.org.banks * SPEC.org.subarrays
    zero = np.zeros(n)
    linear_sa = _layout("linear", zero, 1.0).flat_subarray(SPEC)
    random_sa = _layout("random", zero, 1.0).flat_subarray(SPEC)
    only_random = random_sa[~np.isin(random_sa, linear_sa)]
    weak = [int(linear_sa[0]), int(np.bincount(only_random).argmax())]
    region = zero.copy()
    region[weak] = 1.0
    return region, weak


@pytest.fixture
def weak_sweep(tmp_path, monkeypatch):
    region, weak = _weak_device()

    def fake_region_ber(setup, vdd):
        r = region if vdd < 1.2 else np.zeros_like(region)
        return float(r.mean()), r
    monkeypatch.setattr(sweep_point, "device_region_ber", fake_region_ber)
    out = tmp_path / "out"
    argv = [*TINY, "--tolerable-ber", "1e-3", "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    return _read_csv(out / "sweep.csv"), region, weak, tmp_path


@pytest.mark.slow
def test_flips_land_where_each_policy_put_the_words(weak_sweep):
    rows, region, weak, _ = weak_sweep
    expected = {}
    for policy in ("linear", "drmap", "sparkxd", "random"):
        layout = _layout(policy, region, 1e-3)
        expected[policy] = 32 * int(np.isin(layout.flat_subarray(SPEC), weak).sum())
        assert float(rows[(policy, 1.05)]["flipped_bits"]) == expected[policy], policy
        assert float(rows[(policy, 1.35)]["flipped_bits"]) == 0.0
    assert expected["sparkxd"] == 0 and expected["linear"] > 0 and expected["random"] > 0
    assert expected["random"] != expected["linear"]          # injecting at the wrong layout shows
    assert rows[("sparkxd", 1.05)]["note"].startswith("62/64 subarrays")


@pytest.mark.slow
def test_accuracy_loss_recomputed_by_hand(weak_sweep):
    """random at 1.05 V: every word in a weak subarray reads complemented (BER 1, no guard)."""
    rows, region, weak, tmp_path = weak_sweep
    from snn.model_io import load_model
    model = load_model(next((tmp_path / "cache" / "models").glob("*.npz")))
    layout = _layout("random", region, 1e-3)
    words = model.weights.reshape(-1).view(np.uint32).copy()
    hit = np.isin(layout.flat_subarray(SPEC), weak)
    words[hit] = ~words[hit]
    read = words.view(np.float32).reshape(SHAPE)
    data = load_default_split()
    _, x, y = sample_test_images(data.x_test, data.y_test, 60, 0, ACCURACY_SALT)
    seeds = spike_seeds(0, 2)
    clean = correct_matrix(model, x, y, seeds=seeds)
    faulty = correct_matrix(model, x, y, seeds=seeds, weights=read)
    loss = 100.0 * (clean.mean() - faulty.mean())
    row = rows[("random", 1.05)]
    assert float(row["accuracy_loss"]) == pytest.approx(loss, abs=1e-9)
    assert float(row["accuracy_pct"]) == pytest.approx(100.0 * faulty.mean(), abs=1e-9)
    assert loss > 0                                           # destroyed weights must cost accuracy
    assert float(row["loss_ci_low"]) < float(row["accuracy_loss"]) < float(row["loss_ci_high"])


@pytest.mark.slow
def test_tolerable_ber_is_measured_on_validation_images(tmp_path, monkeypatch):
    seen = []
    original = sweep_main.tolerable_ber

    def spy(model, x_val, y_val, fmt, **kw):
        seen.append(np.array(x_val))
        return original(model, x_val, y_val, fmt, **kw)
    monkeypatch.setattr(sweep_main, "tolerable_ber", spy)
    argv = [*TINY, "--vdd", "1.35", "--policies", "sparkxd", "--out", str(tmp_path / "o"),
            "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    validation = load_default_split().with_validation(100, 0).x_val
    assert len(seen) == 1 and np.array_equal(seen[0], validation)
