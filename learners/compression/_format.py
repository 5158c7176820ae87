"""The compressed-model file (version 1): integer latents entropy-coded with a range coder
(`constriction`), plus every piece of side information needed to rebuild the tensors.

Layout (little-endian; varint = unsigned LEB128, zigzag varint for signed integers):

    magic  b"\\x89MXEPR\\r\\n" (8 bytes), version u8 (= 1), varint number of tensors,
    per tensor: varint name length + UTF-8 name, u8 dtype code, u8 ndim + varint dims,
                u8 kind (0 raw, 1 affine, 2 dft) and then
                raw:    the array's bytes;
                affine: f32 step, f32 offset, symbols;
                dft:    f32 step per frequency (kh*kw), symbols;
    symbols = zigzag varint smallest latent, varint number of symbols n; if n > 1: n x u16
              probability counts (each >= 1), varint number of coded words, u32 words,
    crc32 (u32) of everything before it.

Reading checks the magic, the version, the checksum and every length before decoding, so
a foreign, damaged or truncated file raises `DataError` and never yields wrong weights.
"""

from __future__ import annotations

import dataclasses
import math
import struct
import zlib

import numpy as np

from morphax._core import DataError, InputError

from ._reparam import AFFINE, DFT, rdft_basis

MAGIC = b"\x89MXEPR\r\n"
FORMAT_VERSION = 1
"""Version byte of the compressed-model file that this module writes and reads."""
DTYPES = ("float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "bool")
KINDS = ("raw", AFFINE, DFT)
#: probability counts are u16: the table's total and the widest symbol range
TABLE_TOTAL = 1 << 16
MAX_SYMBOLS = 4096


@dataclasses.dataclass(frozen=True, eq=False)
class CodedTensor:
    """One tensor as stored. kind "raw": `raw` holds the array. kind "affine" / "dft":
    `symbols` (int64, (size,) or (slices, kh*kw)) are the integer latents, `steps` float32
    (() or (kh*kw,)), `offset` float32, and `counts` (n,) the quantised probability table of
    the symbols low, low + 1, ..., low + n - 1 (None when every symbol is `low`)."""

    name: str
    dtype: str
    shape: tuple
    kind: str
    raw: np.ndarray | None = None
    symbols: np.ndarray | None = None
    steps: np.ndarray | None = None
    offset: np.float32 = np.float32(0)
    low: int = 0
    counts: np.ndarray | None = None

    def decode(self) -> np.ndarray:
        """The tensor (shape, dtype) in NumPy, bit for bit the same wherever it is called."""
        if self.kind == "raw":
            return self.raw
        latent = self.symbols.astype(np.float32)
        if self.kind == AFFINE:
            theta = latent * self.steps + self.offset
        else:
            theta = (latent * self.steps[None, :]) @ rdft_basis(*self.shape[2:]).astype(np.float32)
        return theta.astype(self.dtype).reshape(self.shape)

    def code_length_bits(self) -> float:
        """-sum log2 of the quantised table's probabilities of the symbols: what an ideal
        coder would spend on them (0 when there is no table)."""
        if self.counts is None:
            return 0.0
        counts = self.counts.astype(np.float64)
        probs = counts[self.symbols.ravel() - self.low] / counts.sum()
        return float(-np.sum(np.log2(probs)))


def quantize_table(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities (n,), n >= 2, -> u16 counts >= 1 with sum close to 2**16."""
    p = np.asarray(probabilities, np.float64)
    p = np.maximum(p, 0) / max(p.sum(), 1e-300)
    return (1 + np.floor(p * (TABLE_TOTAL - 1 - len(p)))).astype(np.uint16)


# ---------------------------------------------------------------- writing

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _zigzag(n: int) -> bytes:
    return _varint(2 * n if n >= 0 else -2 * n - 1)


def _model(counts: np.ndarray):
    import constriction

    probs = counts.astype(np.float64) / float(counts.sum())
    return constriction.stream.model.Categorical(probs, perfect=False)


def _symbols_bytes(t: CodedTensor) -> tuple[bytes, int]:
    """The symbols section and the number of bytes of coded words in it."""
    head = _zigzag(int(t.low))
    if t.counts is None:
        return head + _varint(1), 0
    import constriction

    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode((t.symbols.ravel() - t.low).astype(np.int32), _model(t.counts))
    words = encoder.get_compressed().astype("<u4")
    return (head + _varint(len(t.counts)) + t.counts.astype("<u2").tobytes()
            + _varint(len(words)) + words.tobytes()), 4 * len(words)


def tensor_bytes(t: CodedTensor) -> tuple[bytes, int]:
    """The bytes of one tensor record and how many of them are coded payload (the rest is
    side information: name, shape, decoder, table)."""
    name = t.name.encode()
    head = (_varint(len(name)) + name + bytes([DTYPES.index(t.dtype), len(t.shape)])
            + b"".join(_varint(d) for d in t.shape) + bytes([KINDS.index(t.kind)]))
    if t.kind == "raw":
        data = np.ascontiguousarray(t.raw).astype(np.dtype(t.dtype).newbyteorder("<")).tobytes()
        return head + data, len(data)
    steps = np.asarray(t.steps, "<f4").ravel().tobytes()
    decoder = steps + (struct.pack("<f", t.offset) if t.kind == AFFINE else b"")
    symbols, payload = _symbols_bytes(t)
    return head + decoder + symbols, payload


def check_tensor(t: CodedTensor) -> None:
    """Raise InputError if `t` cannot be written."""
    if t.dtype not in DTYPES or t.kind not in KINDS:
        raise InputError(f"{t.name}: cannot store dtype {t.dtype!r} / kind {t.kind!r}; "
                         f"dtypes {DTYPES}, kinds {KINDS}")
    if t.kind == "raw":
        return
    if t.counts is not None and not 2 <= len(t.counts) <= MAX_SYMBOLS:
        raise InputError(f"{t.name}: {len(t.counts)} distinct latent values, the coder takes "
                         f"2 ... {MAX_SYMBOLS}; raise lambda (or the step sizes)")
    sym = t.symbols.ravel() - t.low
    n = 1 if t.counts is None else len(t.counts)
    if sym.size and (sym.min() < 0 or sym.max() >= n):
        raise InputError(f"{t.name}: latents outside the probability table")


def encode_tensors(tensors: list[CodedTensor]) -> tuple[bytes, list[dict]]:
    """The file bytes for `tensors` and a per-tensor report (name, shape, kind, bytes,
    payload_bytes, ideal_bits)."""
    for t in tensors:
        check_tensor(t)
    parts, report = [MAGIC, bytes([FORMAT_VERSION]), _varint(len(tensors))], []
    for t in tensors:
        record, payload = tensor_bytes(t)
        parts.append(record)
        report.append({"name": t.name, "shape": list(t.shape), "kind": t.kind,
                       "bytes": len(record), "payload_bytes": payload,
                       "ideal_bits": t.code_length_bits()})
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body)), report


# ---------------------------------------------------------------- reading

class _Reader:
    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DataError(f"{self.what} is truncated or damaged (needs {n} bytes at offset "
                            f"{self.pos}, has {len(self.data) - self.pos}); write it again")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value
            if shift > 63:
                raise DataError(f"{self.what}: a length field is damaged (over 64 bits)")

    def zigzag(self) -> int:
        n = self.varint()
        return n // 2 if n % 2 == 0 else -(n + 1) // 2

    def array(self, dtype: str, count: int) -> np.ndarray:
        dt = np.dtype(dtype)
        return np.frombuffer(self.take(count * dt.itemsize), dt).copy()


def _read_symbols(r: _Reader, name: str, shape: tuple) -> dict:
    low, n = r.zigzag(), r.varint()
    if not 1 <= n <= MAX_SYMBOLS:
        raise DataError(f"{r.what}: tensor {name!r} claims {n} symbols; the file is damaged")
    if n == 1:
        return {"low": low, "symbols": np.full(shape, low, np.int64)}
    counts = r.array("<u2", n)
    if counts.min() == 0:
        raise DataError(f"{r.what}: tensor {name!r} has a zero probability; the file is damaged")
    words = r.array("<u4", r.varint())
    import constriction

    decoder = constriction.stream.queue.RangeDecoder(words.astype(np.uint32))
    symbols = decoder.decode(_model(counts), math.prod(shape)).astype(np.int64) + low
    return {"low": low, "counts": counts.astype(np.uint16), "symbols": symbols.reshape(shape)}


def _read_tensor(r: _Reader) -> CodedTensor:
    try:
        name = r.take(r.varint()).decode()
    except UnicodeDecodeError as err:
        raise DataError(f"{r.what}: a tensor name is not UTF-8; the file is damaged") from err
    code, ndim = r.u8(), r.u8()
    dims = tuple(r.varint() for _ in range(ndim))
    kind_code = r.u8()
    if code >= len(DTYPES) or kind_code >= len(KINDS) or math.prod(dims) > 2**34:
        raise DataError(f"{r.what}: tensor {name!r} has an unknown dtype/kind or an impossible "
                        "shape; the file is damaged or from a newer morphax")
    dtype, kind, size = DTYPES[code], KINDS[kind_code], math.prod(dims)
    if kind == "raw":
        raw = r.array(np.dtype(dtype).newbyteorder("<").str, size).astype(dtype).reshape(dims)
        return CodedTensor(name, dtype, dims, kind, raw=raw)
    if kind == AFFINE:
        steps, offset = r.array("<f4", 1).reshape(()), np.float32(r.array("<f4", 1)[0])
        latent_shape = (size,)
    else:
        if ndim != 4:
            raise DataError(f"{r.what}: DFT tensor {name!r} is not 4-D; the file is damaged")
        steps, offset = r.array("<f4", dims[2] * dims[3]), np.float32(0)
        latent_shape = (dims[0] * dims[1], dims[2] * dims[3])
    fields = _read_symbols(r, name, latent_shape)
    return CodedTensor(name, dtype, dims, kind, steps=steps.astype(np.float32), offset=offset,
                       **fields)


def decode_tensors(data: bytes, what: str = "the compressed model") -> list[CodedTensor]:
    """The tensors stored in file bytes `data`; DataError for anything not written by
    `encode` (foreign, newer version, damaged or truncated)."""
    if data[:len(MAGIC)] != MAGIC:
        raise DataError(f"{what} is not a morphax compressed model (bad magic "
                        f"{data[:8]!r}); write one with `morphax compress`")
    if len(data) < len(MAGIC) + 5:
        raise DataError(f"{what} is truncated ({len(data)} bytes); write it again")
    if data[len(MAGIC)] != FORMAT_VERSION:
        raise DataError(f"{what} has format version {data[len(MAGIC)]}, this morphax reads "
                        f"version {FORMAT_VERSION}; upgrade morphax")
    body, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    if zlib.crc32(body) != crc:
        raise DataError(f"{what} is damaged or truncated (checksum mismatch); write it again")
    r = _Reader(body, what)
    r.take(len(MAGIC) + 1)
    tensors = [_read_tensor(r) for _ in range(r.varint())]
    if r.pos != len(body):
        raise DataError(f"{what} has {len(body) - r.pos} unexpected bytes after the last "
                        "tensor; the file is damaged")
    return tensors
