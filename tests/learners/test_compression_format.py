"""The compressed-model file: bit-exact round trips, coded size against the ideal code length,
and clear DataErrors for foreign, damaged, truncated and newer files."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from morphax._core import DataError, InputError
from morphax.learners.compression import (
    FORMAT_VERSION,
    CodedTensor,
    decode_tensors,
    encode_tensors,
    ptq8_tensors,
    rdft_basis,
)
from morphax.learners.compression._format import MAGIC, quantize_table


def _geometric_tensor(name="w", size=20000, seed=0):
    rng = np.random.default_rng(seed)
    symbols = (rng.geometric(0.35, size) - 1) * rng.choice([-1, 1], size)
    low, high = int(symbols.min()), int(symbols.max())
    hist = np.bincount(symbols - low, minlength=high - low + 1).astype(float)
    return CodedTensor(name, "float32", (size,), "affine", symbols=symbols.astype(np.int64),
                       steps=np.asarray(0.01, np.float32), offset=np.float32(-0.5), low=low,
                       counts=quantize_table(hist + 0.5))


def _mixed_tensors():
    rng = np.random.default_rng(1)
    conv = CodedTensor("conv.weight", "float64", (4, 2, 3, 3), "dft",
                       symbols=rng.integers(-3, 4, (8, 9)).astype(np.int64),
                       steps=rng.uniform(0.01, 0.1, 9).astype(np.float32), low=-3,
                       counts=quantize_table(np.ones(7)))
    const = CodedTensor("b", "float32", (5,), "affine", symbols=np.full(5, 2, np.int64),
                        steps=np.asarray(0.5, np.float32), offset=np.float32(1), low=2)
    raw = [CodedTensor(f"raw_{dt}", dt, (3, 2), "raw", raw=rng.normal(size=(3, 2)).astype(dt))
           for dt in ("float32", "float64", "float16", "int64", "uint8")]
    return [_geometric_tensor(), conv, const, *raw]


def test_rdft_basis_is_orthonormal_and_spans_real_kernels():
    for h, w in ((5, 5), (3, 4), (2, 2), (4, 1)):
        basis = rdft_basis(h, w)
        assert basis.shape == (h * w, h * w)
        np.testing.assert_allclose(basis @ basis.T, np.eye(h * w), atol=1e-12)
    # the DC row is the mean (times sqrt(hw)) of the kernel
    np.testing.assert_allclose(rdft_basis(5, 5)[0], np.full(25, 0.2), atol=1e-12)


def test_round_trip_is_bit_exact():
    tensors = _mixed_tensors()
    data, report = encode_tensors(tensors)
    back = decode_tensors(data)
    assert [t.name for t in back] == [t.name for t in tensors]
    for a, b in zip(tensors, back, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype and a.kind == b.kind
        da, db = a.decode(), b.decode()
        assert da.dtype == db.dtype and da.tobytes() == db.tobytes()
        if a.kind != "raw":
            np.testing.assert_array_equal(a.symbols, b.symbols)
    assert sum(r["bytes"] for r in report) + len(MAGIC) + 1 + 1 + 4 == len(data)


def test_coded_size_is_within_one_percent_of_the_ideal_code_length():
    t = _geometric_tensor(size=50000)
    _, report = encode_tensors([t])
    ideal = t.code_length_bits()
    assert ideal > 50000          # about 2.5 bits per symbol: a real test of the coder
    assert 8 * report[0]["payload_bytes"] <= 1.01 * ideal + 64
    assert 8 * report[0]["payload_bytes"] >= ideal - 64


def test_ptq8_error_is_at_most_half_a_step():
    rng = np.random.default_rng(0)
    arrays = {"w": rng.normal(size=(40, 30)).astype(np.float32), "n": np.arange(4)}
    tensors = ptq8_tensors(arrays)
    w = tensors[0].decode()
    step = (arrays["w"].max() - arrays["w"].min()) / 255
    assert np.max(np.abs(w - arrays["w"])) <= 0.5001 * step
    assert tensors[1].kind == "raw" and np.array_equal(tensors[1].decode(), arrays["n"])


def test_every_single_byte_flip_and_truncation_raises_data_error():
    data, _ = encode_tensors(_mixed_tensors()[1:4])
    for pos in range(len(data)):
        damaged = bytearray(data)
        damaged[pos] ^= 0x5A
        with pytest.raises(DataError):
            decode_tensors(bytes(damaged))
    for length in range(len(data)):
        with pytest.raises(DataError):
            decode_tensors(data[:length])


def test_foreign_and_newer_files_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(DataError, match="not a morphax compressed model"):
        decode_tensors(b"PK\x03\x04" + bytes(100))
    data, _ = encode_tensors(_mixed_tensors()[2:3])
    newer = bytearray(data)
    newer[len(MAGIC)] = FORMAT_VERSION + 1
    with pytest.raises(DataError, match="version"):
        decode_tensors(bytes(newer))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_decode_and_never_crash(blob):
    with pytest.raises(DataError):
        decode_tensors(blob)
    with pytest.raises(DataError):
        decode_tensors(MAGIC + bytes([FORMAT_VERSION]) + blob)


def test_latents_outside_the_table_are_refused_before_writing():
    t = _geometric_tensor(size=100)
    bad = CodedTensor("w", "float32", (100,), "affine", symbols=t.symbols + 1000,
                      steps=t.steps, low=t.low, counts=t.counts)
    with pytest.raises(InputError, match="outside"):
        encode_tensors([bad])
