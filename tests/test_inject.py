"""Bit-error injection into stored words (mapping.inject) and the read guard (mapping.guard)."""
import numpy as np
import pytest

from dramsim.errors import ErrorParams, FaultMap, flip_masks_numpy
from dramsim.spec import load_spec
from mapping.guard import apply_guard, count_out_of_range
from mapping.inject import default_layout, flip_masks, inject, read_weights
from snn.formats import get_format

SPEC = load_spec("DDR3L-1600K")
FLAT = ErrorParams(bank_spread=0.0, subarray_spread=0.0)


def test_hand_built_words_xor_exact():
    """BER 1 on selected bits flips exactly those bits of every word."""
    words = np.array([0x00, 0xFF, 0xA5, 0x3C], dtype=np.uint8)
    lay = default_layout(SPEC, words.size, 8)
    fm = FaultMap.build(SPEC, 0, 1.0, seed=0, params=FLAT)
    out = inject(words, lay, fm, bit_select=0b1000_0001)
    assert out.tolist() == [0x81, 0x7E, 0x24, 0xBD]
    assert words.tolist() == [0x00, 0xFF, 0xA5, 0x3C]          # input untouched
    assert inject(words, lay, fm).tolist() == [0xFF, 0x00, 0x5A, 0xC3]


def test_model3_depends_on_stored_value():
    """A huge 1->0 ratio at BER 0.5: every stored 1 reads 0, (almost surely) no 0 reads 1."""
    words = np.array([0xDEADBEEF, 0x00000000, 0x80000001, 0xFFFFFFFF], dtype=np.uint32)
    lay = default_layout(SPEC, words.size, 32)
    fm = FaultMap.build(SPEC, 3, 0.5, seed=1, params=ErrorParams(ratio_1to0=1e12, bank_spread=0,
                                                                 subarray_spread=0))
    assert inject(words, lay, fm).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("fmt_name", ["fp32", "q16", "q8"])
@pytest.mark.parametrize("model", [0, 1, 2, 3])
def test_inject_equals_xor_of_reference_masks(fmt_name, model):
    fmt = get_format(fmt_name)
    w = np.random.default_rng(2).random((60, 17), dtype=np.float32)
    words = fmt.encode(w)
    lay = default_layout(SPEC, words.size, fmt.bits, shape=words.shape)
    fm = FaultMap.build(SPEC, model, 3e-2, seed=4)
    out = inject(words, lay, fm)
    assert out.dtype == words.dtype and out.shape == words.shape
    ref = flip_masks_numpy(fm, lay, fmt.bits, words.reshape(-1)).astype(words.dtype).reshape(words.shape)
    assert np.array_equal(out, words ^ ref)
    assert np.array_equal(flip_masks(words, lay, fm), ref)
    assert (out != words).any()
    assert np.array_equal(out, inject(words, lay, FaultMap.build(SPEC, model, 3e-2, seed=4)))


def test_zero_ber_reads_back_exactly():
    words = np.arange(1000, dtype=np.uint16)
    lay = default_layout(SPEC, words.size, 16)
    assert np.array_equal(inject(words, lay, FaultMap.build(SPEC, 0, 0.0)), words)


def test_default_layout_is_contiguous():
    lay = default_layout(SPEC, 64, 32)
    assert lay.bit_offset[:17].tolist() == [32 * (i % 16) for i in range(17)]
    # RoBaRaCoCh with one channel and rank: consecutive bursts are consecutive columns of row 0
    assert SPEC.org.channels == 1 and SPEC.org.ranks == 1
    assert np.all(lay.row == 0) and np.all(lay.bank == 0)
    assert lay.column.tolist() == [i // 16 for i in range(64)]


def test_word_and_layout_mismatch():
    lay = default_layout(SPEC, 10, 16)
    fm = FaultMap.build(SPEC, 0, 1e-3)
    with pytest.raises(ValueError, match="16-bit"):
        inject(np.zeros(10, dtype=np.uint32), lay, fm)
    with pytest.raises(ValueError, match="9 words"):
        inject(np.zeros(9, dtype=np.uint16), lay, fm)
    with pytest.raises(ValueError, match="unsigned"):
        inject(np.zeros(10, dtype=np.float32), lay, fm)


def test_guard_modes():
    w = np.array([0.5, -0.1, 1.5, np.inf, -np.inf, np.nan, 0.0, 1.0, 3e38], dtype=np.float32)
    assert count_out_of_range(w) == 6
    np.testing.assert_array_equal(apply_guard(w, "none"), w)
    np.testing.assert_array_equal(apply_guard(w, "clamp"), [0.5, 0, 1, 1, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(apply_guard(w, "zero"), [0.5, 0, 0, 0, 0, 0, 0, 1, 0])
    assert np.isnan(w[5])                                       # input untouched
    buf = w.copy()
    assert apply_guard(buf, "clamp", w_max=2.0, out=buf) is buf and buf[2] == 1.5
    with pytest.raises(ValueError, match="unknown guard"):
        apply_guard(w, "bogus")


def test_read_weights_fp32_exponent_flip_is_guarded():
    fmt = get_format("fp32")
    w = np.full((4, 8), 0.25, dtype=np.float32)
    lay = default_layout(SPEC, w.size, 32, shape=w.shape)
    fm = FaultMap.build(SPEC, 0, 1.0, params=FLAT)
    bit30 = 1 << 30                                          # exponent MSB: 0.25 -> 2**126 * 0.25... huge
    raw = read_weights(w, fmt, lay, fm, "none", bit_select=bit30)
    assert np.all(raw > 1e37)
    assert np.all(read_weights(w, fmt, lay, fm, "clamp", bit_select=bit30) == 1.0)
    assert np.all(read_weights(w, fmt, lay, fm, "zero", bit_select=bit30) == 0.0)
    np.testing.assert_array_equal(read_weights(w, fmt, lay, None), w)
    # q8 decodes only in-range values: the guard has nothing to do
    q = read_weights(w, get_format("q8"), default_layout(SPEC, w.size, 8, shape=w.shape), fm, "none")
    assert count_out_of_range(q) == 0
