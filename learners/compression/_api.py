"""One-call compression: a trained EPR model or any model's arrays to a file, and back."""

from __future__ import annotations

import pathlib

import jax
import numpy as np

from morphax._core import InputError

from ._compress import (
    epr_tensors,
    load_named,
    ptq8_tensors,
    quantized_arrays,
    raw_tensors,
    read_tensors,
    write_tensors,
)
from ._train import fit_arrays


def save_compressed(path, epr) -> list[dict]:
    """Entropy-code a trained EPR model to `path` (atomically). Returns the per-tensor report
    (name, shape, kind, bytes, payload_bytes, ideal_bits)."""
    return write_tensors(path, epr_tensors(epr))


def load_compressed(path, template=None):
    """Decode a compressed-model file: a dict name -> NumPy array, or, with `template` (a
    model of the same architecture), that model with the decoded weights."""
    arrays = quantized_arrays(read_tensors(path))
    return arrays if template is None else load_named(template, arrays)


def compress_arrays(arrays: dict[str, np.ndarray], path, *, lam: float = 1.0,
                    method: str = "epr", steps: int = 300, key: jax.Array | None = None,
                    progress: bool = False) -> list[dict]:
    """Compress named arrays (e.g. a .npz model) without task data and write `path`.

    method "epr": data-free EPR (relative weight error + lam * bits/param, `steps` Adam
    steps); "ptq8": 8-bit uniform quantisation per tensor; "raw": stored as is. Non-float
    arrays are always stored raw. Returns the per-tensor report."""
    if method not in ("epr", "ptq8", "raw"):
        raise InputError(f"method must be 'epr', 'ptq8' or 'raw', got {method!r}")
    floats = {k: v for k, v in arrays.items() if np.issubdtype(np.asarray(v).dtype, np.floating)
              and np.asarray(v).size > 0}
    others = {k: v for k, v in arrays.items() if k not in floats}
    for name, value in floats.items():
        if not np.all(np.isfinite(value)):
            raise InputError(f"{name} holds NaN or infinite values; cannot compress it")
    if method == "raw" or not floats:
        tensors = raw_tensors(arrays)
    elif method == "ptq8":
        tensors = ptq8_tensors(floats) + raw_tensors(others)
    else:
        epr = fit_arrays(floats, lam=lam, steps=steps, key=key if key is not None
                         else jax.random.key(0), progress=progress)
        tensors = epr_tensors(epr) + raw_tensors(others)
    order = {name: i for i, name in enumerate(arrays)}
    tensors.sort(key=lambda t: order[t.name])
    return write_tensors(path, tensors)


def file_size(path) -> int:
    """Bytes on disk."""
    return pathlib.Path(path).stat().st_size
