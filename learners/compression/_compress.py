"""From models to files and back: the trained EPR model, the float32 and 8-bit baselines,
named-array models (.npz) and the per-tensor report."""

from __future__ import annotations

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import DataError, InputError, atomic_write_bytes

from ._format import AFFINE, CodedTensor, decode_tensors, encode_tensors, quantize_table
from ._priors import range_masses
from ._reparam import EPR, path_name


def _table(prior, low: int, high: int, dtype) -> np.ndarray:
    """The prior's bin masses of the latents low ... high, quantised to u16 counts."""
    return quantize_table(range_masses(prior, low, high, dtype))


def epr_tensors(epr: EPR) -> list[CodedTensor]:
    """The trained EPR model as stored tensors: rounded latents, decoders cast to float32,
    probability tables from the learned priors."""
    out = []
    for code, prior, name, dtype in zip(epr.codes, epr.priors, epr.names, epr.dtypes, strict=True):
        symbols = np.asarray(jnp.round(code.latent)).astype(np.int64)
        low, high = int(symbols.min()), int(symbols.max())
        counts = _table(prior, low, high, code.latent.dtype) if high > low else None
        steps = np.exp(np.asarray(code.log_step, np.float64)).astype(np.float32)
        out.append(CodedTensor(name, dtype, code.shape, code.kind, symbols=symbols, steps=steps,
                               offset=np.float32(code.offset), low=low, counts=counts))
    return out


def quantized_arrays(tensors: list[CodedTensor]) -> dict[str, np.ndarray]:
    """name -> the decoded array of each stored tensor (what a reader of the file gets)."""
    return {t.name: t.decode() for t in tensors}


def _float_leaves(model):
    arrays, _ = eqx.partition(model, eqx.is_array)
    return jax.tree_util.tree_flatten_with_path(arrays)[0]


def named_arrays(model) -> dict[str, np.ndarray]:
    """name -> NumPy array of every array leaf of `model` (names from the key paths,
    e.g. 'layers[0].weight'), in pytree order."""
    return {path_name(path): np.asarray(leaf) for path, leaf in _float_leaves(model)}


def load_named(template, arrays: dict[str, np.ndarray]):
    """`template` (an equinox model) with its array leaves replaced by `arrays`, matched by
    name; InputError if a name, shape or count does not match."""
    leaves = _float_leaves(template)
    names = [path_name(path) for path, _ in leaves]
    if sorted(names) != sorted(arrays):
        raise InputError(f"the arrays {sorted(arrays)[:6]}... do not match the model's "
                         f"{names[:6]}...; decode into the architecture they came from")
    new = []
    for name, (_, leaf) in zip(names, leaves, strict=True):
        if tuple(arrays[name].shape) != tuple(leaf.shape):
            raise InputError(f"{name}: shape {arrays[name].shape}, the model wants {leaf.shape}")
        new.append(jnp.asarray(arrays[name], leaf.dtype))
    arrays_tree, rest = eqx.partition(template, eqx.is_array)
    treedef = jax.tree_util.tree_structure(arrays_tree)
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, new), rest)


def raw_tensors(arrays: dict[str, np.ndarray]) -> list[CodedTensor]:
    """Uncompressed stored tensors (the float32 baseline and non-float arrays)."""
    return [CodedTensor(n, np.asarray(a).dtype.name, tuple(np.shape(a)), "raw", raw=np.asarray(a))
            for n, a in arrays.items()]


def ptq8_tensors(arrays: dict[str, np.ndarray], bits: int = 8) -> list[CodedTensor]:
    """Post-training quantisation: each float tensor to 2**bits uniform levels between its
    min and max (affine decoder), coded with its own empirical histogram as the table."""
    out = []
    for name, a in arrays.items():
        a = np.asarray(a)
        if not np.issubdtype(a.dtype, np.floating):
            out += raw_tensors({name: a})
            continue
        lo, hi = float(a.min()), float(a.max())
        step = np.float32((hi - lo) / (2**bits - 1) if hi > lo else 1.0)
        symbols = np.clip(np.round((a.ravel() - np.float32(lo)) / step), 0, 2**bits - 1)
        symbols = symbols.astype(np.int64)
        low, high = int(symbols.min()), int(symbols.max())
        counts = None
        if high > low:
            counts = quantize_table(np.bincount(symbols - low, minlength=high - low + 1))
        out.append(CodedTensor(name, a.dtype.name, a.shape, AFFINE, symbols=symbols,
                               steps=np.asarray(step, np.float32), offset=np.float32(lo),
                               low=low, counts=counts))
    return out


def write_tensors(path, tensors: list[CodedTensor]) -> list[dict]:
    """Encode and write `tensors` atomically to `path`; return the per-tensor report."""
    data, report = encode_tensors(tensors)
    atomic_write_bytes(path, data)
    return report


def read_tensors(path) -> list[CodedTensor]:
    """The tensors in a compressed-model file; DataError if it is not one or is damaged."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist; write it with `morphax compress`")
    return decode_tensors(path.read_bytes(), what=str(path))


def load_npz(path) -> dict[str, np.ndarray]:
    """A MODEL file: a NumPy .npz of named arrays (pickles refused)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist; save a model with "
                         "morphax.learners.compression.save_npz(model, path)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{path} is not a readable .npz of arrays ({err})") from err


def save_npz(path, model_or_arrays) -> pathlib.Path:
    """Write a model's named arrays (or a dict name -> array) as an .npz, atomically."""
    import io

    arrays = model_or_arrays if isinstance(model_or_arrays, dict) else named_arrays(model_or_arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return pathlib.Path(path)


def format_report(report: list[dict], total: int | None = None) -> str:
    """A plain-text table of bytes per tensor."""
    lines = [f"{'tensor':32s} {'shape':>18s} {'kind':>6s} {'bytes':>9s} {'payload':>9s}"]
    for r in report:
        shape = "x".join(map(str, r["shape"])) or "scalar"
        lines.append(f"{r['name'][:32]:32s} {shape:>18s} {r['kind']:>6s} {r['bytes']:9d} "
                     f"{r['payload_bytes']:9d}")
    if total is not None:
        lines.append(f"{'total (file)':32s} {'':>18s} {'':>6s} {total:9d}")
    return "\n".join(lines)
