"""snn.formats: word encodings of weights and their round-trip guarantees."""
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from snn.formats import FORMATS, get_format

unit_weights = hnp.arrays(np.float32, st.integers(0, 64),
                          elements=st.floats(0.0, 1.0, width=32, allow_subnormal=True))


def test_registry():
    assert set(FORMATS) == {"fp32", "q16", "q8"}
    for name, bits, dtype in (("fp32", 32, np.uint32), ("q16", 16, np.uint16), ("q8", 8, np.uint8)):
        fmt = get_format(name)
        assert fmt.name == name and fmt.bits == bits and fmt.word_dtype == dtype and fmt.w_max == 1.0
        assert np.dtype(dtype).itemsize * 8 == bits
    with pytest.raises(ValueError, match="unknown weight format 'q4'"):
        get_format("q4")


def test_fp32_words_are_ieee_binary32():
    w = np.array([0.0, 1.0, 0.5, 0.1], dtype=np.float32)
    expected = [struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in w]
    assert get_format("fp32").encode(w).tolist() == expected
    assert get_format("fp32").encode(w).dtype == np.uint32


def test_fixed_point_hand_values():
    q8 = get_format("q8")
    # word k stands for k/255; 0.5*255 = 127.5 -> ties to even -> 128; saturation outside [0, 1]
    assert q8.encode([0.0, 1.0, 0.5, 1 / 255, 2.0, -0.3, np.inf, -np.inf]).tolist() == \
        [0, 255, 128, 1, 255, 0, 255, 0]
    assert q8.decode(np.array([0, 51, 255], np.uint8)).tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert get_format("q16").encode([1.0, 1 / 65535]).tolist() == [65535, 1]
    with pytest.raises(ValueError, match="NaN"):
        q8.encode([np.nan])


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=60, deadline=None)
@given(w=unit_weights)
def test_values_round_trip_within_half_a_quantum(name, w):
    fmt = get_format(name)
    words = fmt.encode(w)
    assert words.dtype == fmt.word_dtype and words.shape == w.shape
    back = fmt.decode(words)
    assert back.dtype == np.float32 and back.shape == w.shape
    if fmt.kind == "float":
        np.testing.assert_array_equal(back, w)
    else:
        # half a quantum, plus the float32 rounding of the decoded value
        tol = fmt.quantum / 2 + np.finfo(np.float32).eps
        assert np.all(np.abs(back.astype(np.float64) - w.astype(np.float64)) <= tol)


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_word_decodes_and_re_encodes_to_itself(name, data):
    fmt = get_format(name)
    words = data.draw(hnp.arrays(fmt.word_dtype, st.integers(0, 64)))
    np.testing.assert_array_equal(fmt.encode(fmt.decode(words)), words)


def test_fp32_corrupted_words_decode_as_is():
    fp32 = get_format("fp32")
    one = int(fp32.encode(np.float32(1.0)))
    flipped = np.array([one ^ (1 << 30), 0x7F800000, 0xFF800000, 0x7FC00001], dtype=np.uint32)
    out = fp32.decode(flipped)
    assert np.isinf(out[0]) or out[0] > 1e38  # exponent MSB flipped: 1.0 -> 2**128 = inf
    assert out[1] == np.inf and out[2] == -np.inf and np.isnan(out[3])
    np.testing.assert_array_equal(fp32.encode(out), flipped)  # NaN payload kept


def test_decode_checks_foreign_word_types():
    q8 = get_format("q8")
    assert q8.decode(np.array([0, 255], dtype=np.int64)).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="0..255"):
        q8.decode(np.array([256]))
    with pytest.raises(ValueError, match="integers"):
        q8.decode(np.array([0.5]))
