"""snn.access: the weight-access stream of each dataflow, its timing rules and its file layout."""
import numpy as np
import pytest

import snn.access as access
from snn.access import ACCESS_DTYPE, save_access_stream, stream_metadata, weight_access_stream
from snn.infer import input_spike_events
from snn.model import Model
from snn.params import NetworkParams

N = 12


@pytest.fixture(scope="module")
def model():
    # 20 ms presentations (40 steps), 5 ms rest; untrained weights are fine for access patterns
    return Model.new(NetworkParams(n_neurons=N, present_ms=20.0, rest_ms=5.0), seed=1)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, size=(4, 784)).astype(np.uint8)
    x[rng.random(x.shape) < 0.8] = 0  # sparse, like digits
    x[2] = 0                          # a blank image: no spikes, retried to the limit
    return x


def test_dtype_matches_traces_contract():
    from traces.records import LOGICAL_ACCESS_DTYPE
    assert ACCESS_DTYPE == LOGICAL_ACCESS_DTYPE


def test_event_reads_one_row_per_input_spike(model, images):
    img, step, inp = input_spike_events(model, images, seed=3)
    s = weight_access_stream(model, images, dataflow="event", seed=3)
    assert s.dtype == ACCESS_DTYPE and s.size == img.size > 0
    assert s["n_words"].sum() == N * img.size
    np.testing.assert_array_equal(s["row"], inp)
    np.testing.assert_array_equal(s["image"], img)
    assert np.all(s["first_word"] == 0)   # whole rows, counted within the row
    assert np.all(s["n_words"] == N)


def test_timestep_batches_each_steps_rows_in_input_order(model, images):
    img, step, inp = input_spike_events(model, images, seed=3)
    s = weight_access_stream(model, images, dataflow="timestep", seed=3)
    # one group per (image, step) with spikes, in time order; compare with a plain-Python grouping
    groups = {}
    for b, t, i in zip(img.tolist(), step.tolist(), inp.tolist()):
        groups.setdefault((b, t), []).append(i)
    times = s["time_ns"]
    boundaries = np.flatnonzero(np.diff(times)) + 1
    chunks = np.split(np.arange(s.size), boundaries)
    assert len(chunks) == len(groups)
    for chunk, ((b, _), rows) in zip(chunks, groups.items()):
        assert s["row"][chunk].tolist() == sorted(rows) == rows
        assert np.all(s["image"][chunk] == b)
    assert np.all(np.diff(times[boundaries - 1]) >= 0)


def test_dense_reads_the_whole_matrix_once_per_image(model, images):
    s = weight_access_stream(model, images, dataflow="dense", seed=3)
    n_in = model.params.n_inputs
    assert s.size == len(images) * n_in
    assert s["n_words"].sum() == len(images) * n_in * N
    for b in range(len(images)):
        mine = s[s["image"] == b]
        assert mine["row"].tolist() == list(range(n_in))
        assert np.all(mine["first_word"] == 0)
    assert s["image"].tolist() == sorted(s["image"].tolist())


@pytest.mark.parametrize("dataflow", access.DATAFLOWS)
@pytest.mark.parametrize("clock_mhz,cycles_per_step,bus_bits", [(200.0, 400, 128), (333.3, 1, 32),
                                                                 (1000.0, 50, 512)])
def test_times_never_decrease_and_seed_is_reproducible(model, images, dataflow, clock_mhz,
                                                       cycles_per_step, bus_bits):
    kw = dict(dataflow=dataflow, seed=5, clock_mhz=clock_mhz, cycles_per_step=cycles_per_step,
              bus_bits=bus_bits)
    s = weight_access_stream(model, images, **kw)
    assert np.all(np.diff(s["time_ns"]) >= 0) and s["time_ns"][0] >= 0
    assert weight_access_stream(model, images, **kw).tobytes() == s.tobytes()


def test_seed_changes_event_stream(model, images):
    a = weight_access_stream(model, images, seed=1)
    b = weight_access_stream(model, images, seed=2)
    assert a.size != b.size or not np.array_equal(a["row"], b["row"])


def test_timing_rules_on_hand_made_spikes(monkeypatch):
    """Hand-computed times (see snn.access docstring) for a fixed spike list.

    T = 4 steps (2 ms / 0.5 ms), rest 2 steps -> presentation a starts at step 6a.  Image 0:
    step 0 inputs 3, 5; step 2 input 1; retry (a = 1) step 7 = 6 + 1 input 2.  Image 1: step 3
    input 0.  row_cycles = ceil(12 * 32 / 128) = 3, cycles_per_step = 5, 250 MHz -> 4 ns/cycle.
    Simulated steps: image 0 has 2 presentations (steps 0..7), image 1 one (steps 8..11).
    Step 0 has 2 rows: lasts max(5, 6) = 6 cycles; every other step lasts 5.
    Step starts (cycles): g0 0, g1 6, g2 11, ..., g5 26, ..., g11 56.
    """
    params = NetworkParams(n_inputs=6, n_neurons=N, present_ms=2.0, rest_ms=1.0)
    model = Model.new(params, seed=0)
    events = (np.array([0, 0, 0, 0, 1], np.int32), np.array([0, 0, 2, 7, 3], np.int32),
              np.array([3, 5, 1, 2, 0], np.int32))
    monkeypatch.setattr(access, "input_spike_events", lambda m, x, seed=0, weights=None: events)
    kw = dict(seed=0, clock_mhz=250.0, cycles_per_step=5, bus_bits=128, word_bits=32)
    images = np.zeros((2, 6), np.uint8)
    ev = weight_access_stream(model, images, dataflow="event", **kw)
    assert ev["time_ns"].tolist() == [0, 12, 44, 104, 224]
    assert ev["row"].tolist() == [3, 5, 1, 2, 0] and ev["image"].tolist() == [0, 0, 0, 0, 1]
    ts = weight_access_stream(model, images, dataflow="timestep", **kw)
    assert ts["time_ns"].tolist() == [0, 0, 44, 104, 224]
    dense = weight_access_stream(model, images, dataflow="dense", **kw)
    # image 0 lasts 6 rows * 3 + 8 steps * 5 = 58 cycles; image 1 starts at 58 * 4 = 232 ns
    assert dense["time_ns"].tolist() == [12 * r for r in range(6)] + [232 + 12 * r for r in range(6)]
    # q8 words: a 12-word row is 96 bits -> 1 cycle on a 128-bit port
    q8 = weight_access_stream(model, images, dataflow="event", **dict(kw, word_bits=8))
    assert q8["time_ns"].tolist() == [0, 4, 40, 100, 220]


def test_bad_arguments(model, images):
    with pytest.raises(ValueError, match="unknown dataflow 'sparse'"):
        weight_access_stream(model, images, dataflow="sparse")
    with pytest.raises(ValueError, match="clock_mhz"):
        weight_access_stream(model, images, clock_mhz=0)
    with pytest.raises(ValueError, match="cycles_per_step"):
        weight_access_stream(model, images, cycles_per_step=0)


def test_saved_stream_reads_back_through_traces(model, images, tmp_path):
    from traces.logical import read_logical
    s = weight_access_stream(model, images, dataflow="event", seed=3)
    meta = stream_metadata(model, n_images=len(images), dataflow="event", seed=3)
    assert meta["word_bits"] == 32 and meta["n_neurons"] == N and meta["n_inputs"] == 784
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save_access_stream(a, s, meta)
    save_access_stream(b, s, meta)
    assert a.read_bytes() == b.read_bytes()
    back, back_meta = read_logical(a)
    np.testing.assert_array_equal(back, s)
    assert back_meta == meta
    with pytest.raises(ValueError, match="lacks clock_mhz"):
        save_access_stream(a, s, {k: v for k, v in meta.items() if k != "clock_mhz"})
    with pytest.raises(ValueError, match="dtype"):
        save_access_stream(a, np.zeros(3), meta)


def test_weights_override_drives_the_retries(model, images):
    silent = np.zeros_like(model.weights)  # no neuron can fire: every image is retried to the limit
    img, step, _ = input_spike_events(model, images, seed=3, weights=silent)
    s = weight_access_stream(model, images, seed=3, weights=silent)
    assert s.size == img.size > weight_access_stream(model, images, seed=3).size
    period = model.params.present_steps + model.params.rest_steps
    assert step.max() // period == model.params.max_retries
