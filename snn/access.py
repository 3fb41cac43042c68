"""The SNN accelerator's weight-access stream: which weight words it reads from DRAM, and when.

The weight matrix is stored input-major (row ``i`` = the ``N`` weights from input ``i`` to all
neurons), so a *row read* of input ``i`` is the ``N`` consecutive words starting at word
``i * N`` of the flattened matrix.  Each record (``ACCESS_DTYPE``, identical to
traces.records.LOGICAL_ACCESS_DTYPE) says: at ``time_ns`` read ``n_words`` words of weight row
``row`` starting at word ``first_word`` *within that row* (0 for a whole-row read) while
processing image ``image`` (index into the images given).

Dataflows
---------
* ``event``: event-driven.  Every input spike fetches its input's row, one row after another:
  a row is requested when the previous one has been consumed.
* ``timestep``: step-batched.  At the start of each time step the accelerator requests the rows
  of all inputs that spiked in that step, in input order, as one batch (all records of a step
  carry the step's start time; DRAM sees a burst).
* ``dense``: spike-agnostic.  The whole matrix is read once per image, rows 0..n_inputs-1 in
  order (row-major), before the image's time steps run from on-chip storage.

Time (a simple, explicit accelerator model)
-------------------------------------------
One cycle lasts ``1000 / clock_mhz`` ns.  Consuming a row takes
``row_cycles = ceil(N * word_bits / bus_bits)`` cycles (the weight port moves ``bus_bits`` per
cycle).  A simulated time step (``dt`` of network time) takes ``cycles_per_step`` cycles (the
neuron updates) or, if longer, the time to consume the rows it fetched:

* event / timestep: step ``s`` with ``k_s`` input spikes lasts ``max(cycles_per_step,
  k_s * row_cycles)``; steps follow each other without gaps; the j-th spike (0-based, input
  order) of step ``s`` is read at ``start_s + j * row_cycles`` (event) or at ``start_s``
  (timestep).
* dense: image ``b`` lasts ``n_inputs * row_cycles + steps_b * cycles_per_step``; row ``r`` is
  read at ``start_b + r * row_cycles``.

Steps of an image: the network shows an image for ``T = present_ms / dt`` steps and re-presents
it (retries) when too few neurons fired; rest between presentations is a state reset that
costs no time, so an image with ``a`` presentations simulates ``a * T`` steps, one after the
other, and images follow each other back to back.  The number of presentations is recovered
from the spike steps of snn.infer.input_spike_events (presentation ``a`` starts at step
``a * (T + rest steps)``); an image without any input spike counts one presentation.
``time_ns = floor(cycles * 1000 / clock_mhz)``, so times never decrease along the stream.
"""
from __future__ import annotations

import json

import numpy as np

from snn.formats import get_format
from snn.infer import input_spike_events
from snn.npzfile import json_array, write_npz

ACCESS_DTYPE = np.dtype([
    ("time_ns", np.int64),
    ("row", np.int32),
    ("first_word", np.int64),
    ("n_words", np.int32),
    ("image", np.int32),
])
DATAFLOWS = ("event", "timestep", "dense")
DEFAULT_CLOCK_MHZ = 200.0
DEFAULT_CYCLES_PER_STEP = 400   # one neuron update per cycle for the 400-neuron network
DEFAULT_BUS_BITS = 128
METADATA_KEYS = ("n_inputs", "n_neurons", "word_bits", "dataflow", "clock_mhz", "seed")


def _check(dataflow, clock_mhz, cycles_per_step, bus_bits, word_bits):
    if dataflow not in DATAFLOWS:
        raise ValueError(f"unknown dataflow {dataflow!r}; known: {', '.join(DATAFLOWS)}")
    if not clock_mhz > 0:
        raise ValueError(f"clock_mhz must be > 0, got {clock_mhz}")
    for name, value in (("cycles_per_step", cycles_per_step), ("bus_bits", bus_bits),
                        ("word_bits", word_bits)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")


def row_cycles(n_neurons: int, word_bits: int, bus_bits: int = DEFAULT_BUS_BITS) -> int:
    """Cycles to consume one row of ``n_neurons`` words of ``word_bits`` over a ``bus_bits`` port."""
    return -(-n_neurons * word_bits // bus_bits)


def _exclusive_cumsum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(a.size, dtype=np.int64)
    np.cumsum(a[:-1], out=out[1:])
    return out


def _simulated_steps(params, n_images, image, step):
    """(steps per image [n_images], global simulated step of each spike) -- see module doc."""
    t, period = params.present_steps, params.present_steps + params.rest_steps
    attempt = step // period
    presentations = np.ones(n_images, dtype=np.int64)
    np.maximum.at(presentations, image, attempt + 1)
    steps = presentations * t
    local = attempt * t + step % period
    return steps, _exclusive_cumsum(steps)[image] + local


def weight_access_stream(model, images, *, dataflow: str = "event", seed: int = 0,
                         clock_mhz: float = DEFAULT_CLOCK_MHZ,
                         cycles_per_step: int = DEFAULT_CYCLES_PER_STEP,
                         bus_bits: int = DEFAULT_BUS_BITS, word_bits: int | None = None,
                         weights=None) -> np.ndarray:
    """Weight reads of ``model`` processing ``images`` (uint8 [count, n_inputs]) in inference.

    ``word_bits`` defaults to the width of the model's weight format; ``seed`` drives the
    Poisson input spikes exactly as snn.infer does; ``weights`` (optional) replaces
    model.weights in the inference that decides retries.  Returns an ``ACCESS_DTYPE`` array in
    time order (see the module docstring for the dataflows and the time rules).
    """
    word_bits = get_format(model.weight_format).bits if word_bits is None else word_bits
    _check(dataflow, clock_mhz, cycles_per_step, bus_bits, word_bits)
    images = np.asarray(images)
    if images.ndim == 1:
        images = images[None, :]
    p = model.params
    n = p.n_neurons
    rc = row_cycles(n, int(word_bits), int(bus_bits))
    events = input_spike_events(model, images, seed=seed, weights=weights)
    image, step, inp = (np.asarray(a, dtype=np.int64) for a in events)
    order = np.argsort(image * (int(step.max(initial=0)) + 1) + step, kind="stable")
    image, step, inp = image[order], step[order], inp[order]
    image_steps, g = _simulated_steps(p, len(images), image, step)

    if dataflow == "dense":
        image_cycles = p.n_inputs * rc + image_steps * int(cycles_per_step)
        start = _exclusive_cumsum(image_cycles)
        row = np.tile(np.arange(p.n_inputs, dtype=np.int64), len(images))
        image = np.repeat(np.arange(len(images), dtype=np.int64), p.n_inputs)
        cycles = start[image] + row * rc
    else:
        k = np.bincount(g, minlength=int(image_steps.sum()))
        start = _exclusive_cumsum(np.maximum(int(cycles_per_step), k * rc))
        cycles = start[g]
        if dataflow == "event":
            rank = np.arange(g.size) - _exclusive_cumsum(k)[g]
            cycles = cycles + rank * rc
        row = inp

    out = np.empty(row.size, dtype=ACCESS_DTYPE)
    out["time_ns"] = np.floor(cycles * (1000.0 / clock_mhz)).astype(np.int64)
    out["row"] = row
    out["first_word"] = 0          # whole-row reads start at the row's first word
    out["n_words"] = n
    out["image"] = image
    return out


def stream_metadata(model, *, n_images: int, dataflow: str = "event", seed: int = 0,
                    clock_mhz: float = DEFAULT_CLOCK_MHZ, cycles_per_step: int = DEFAULT_CYCLES_PER_STEP,
                    bus_bits: int = DEFAULT_BUS_BITS, word_bits: int | None = None) -> dict:
    """The metadata that describes a stream made by :func:`weight_access_stream` with these args."""
    word_bits = get_format(model.weight_format).bits if word_bits is None else int(word_bits)
    return {"n_inputs": model.params.n_inputs, "n_neurons": model.params.n_neurons,
            "word_bits": word_bits, "dataflow": dataflow, "clock_mhz": float(clock_mhz),
            "seed": int(seed), "cycles_per_step": int(cycles_per_step), "bus_bits": int(bus_bits),
            "row_cycles": row_cycles(model.params.n_neurons, word_bits, int(bus_bits)),
            "n_images": int(n_images), "weight_format": model.weight_format,
            "dt_ms": model.params.dt_ms}


def save_access_stream(path, array: np.ndarray, metadata: dict) -> None:
    """Write ``array`` as ``.npz`` key ``accesses`` plus ``metadata`` (JSON in a 0-d string array).

    This is the layout traces.read_logical reads.  ``metadata`` must hold at least
    ``METADATA_KEYS``; the write is atomic and reproducible.
    """
    array = np.asarray(array)
    if array.dtype != ACCESS_DTYPE:
        raise ValueError(f"access stream has dtype {array.dtype}, expected {ACCESS_DTYPE}")
    if array.ndim != 1 or array.size == 0:
        raise ValueError("access stream must be a non-empty 1-d array")
    missing = [k for k in METADATA_KEYS if k not in metadata]
    if missing:
        raise ValueError(f"access-stream metadata lacks {', '.join(missing)}")
    write_npz(path, {"accesses": array, "metadata": json_array(json.dumps(metadata, sort_keys=True))})
