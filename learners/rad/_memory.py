"""Exact accounting of what JAX keeps for the backward pass, and the paper's Table 1 model.

`saved_residuals` runs `jax.vjp` and walks the residuals held by the returned VJP function
(a `jax.tree_util.Partial`, i.e. a pytree whose leaves are exactly the arrays the backward
pass will read). Residuals that *are* the function's arguments (weights, inputs) are counted
separately from the ones the forward pass created (activations, masks, samples); a buffer
saved twice is counted once. The test suite cross-checks this against
`jax.ad_checkpoint.print_saved_residuals` and the compiled program's `memory_analysis()`.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np


def _nbytes(leaf) -> int:
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return int(jax.random.key_data(leaf).nbytes)
    return int(np.prod(leaf.shape, dtype=np.int64)) * int(leaf.dtype.itemsize)


@dataclasses.dataclass(frozen=True)
class SavedResiduals:
    """What the backward pass keeps. `residuals` rows: (shape, dtype name, bytes, kind) with
    kind "argument" (an input of the function, e.g. a weight) or "created" (made by the
    forward pass: activations, samples, bit masks, keys)."""

    residuals: tuple
    argument_bytes: int
    created_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.argument_bytes + self.created_bytes


def saved_residuals(fn, *args, **kwargs) -> SavedResiduals:
    """Run `jax.vjp(fn, *args)` and account for every array its backward pass holds.

    `kwargs` (e.g. `key=`) are closed over and not differentiated. Bytes are exact
    (itemsize * size; typed PRNG keys by their key data)."""
    _, vjp_fn = jax.vjp(functools.partial(fn, **kwargs), *args)
    arg_ids = {id(leaf) for leaf in jax.tree_util.tree_leaves(args)}
    seen, rows = set(), []
    arg_bytes = created = 0
    for leaf in jax.tree_util.tree_leaves(vjp_fn):
        if not hasattr(leaf, "dtype") or id(leaf) in seen:
            continue
        seen.add(id(leaf))
        nb = _nbytes(leaf)
        kind = "argument" if id(leaf) in arg_ids else "created"
        rows.append((tuple(leaf.shape), str(leaf.dtype), nb, kind))
        if kind == "argument":
            arg_bytes += nb
        else:
            created += nb
    return SavedResiduals(tuple(rows), arg_bytes, created)


def pytree_bytes(tree) -> int:
    """Bytes of all array leaves of a pytree (e.g. a model's parameters)."""
    return sum(_nbytes(leaf) for leaf in jax.tree_util.tree_leaves(tree)
               if hasattr(leaf, "dtype"))


def table1_memory_bytes(num_params: int, stored_inputs: int, relu_units: int, keep: float,
                        *, relu_bits: bool = True, bytes_per_float: int = 4) -> float:
    """The paper's hand-count behind Table 1 (RAD, Sec. 6): 4 B per weight + keep * 4 B per
    stored layer-input value + 1 bit per ReLU unit (the keep = 1 baseline omits the bits:
    pass relu_bits=False). `stored_inputs` and `relu_units` are totals over the batch."""
    bits = relu_units / 8 if relu_bits else 0.0
    return bytes_per_float * (num_params + keep * stored_inputs) + bits
