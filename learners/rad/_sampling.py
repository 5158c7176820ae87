"""Random matrix injection for stored activations (RAD paper, Sec. 3.2).

A stored activation matrix x (rows, d) is replaced in the backward pass by x P with a random
P (d, d), E[P] = I, so every gradient that is linear in x stays unbiased:

* ``"same"``: P = (d/k) sum_{s=1..k} e_{i_s} e_{i_s}^T with i_s drawn uniformly *with
  replacement*, the same k indices for every row (path sampling, "same sample").
* ``"per_example"``: independent indices for every row ("different sample").
* ``"project"``: P = R R^T with a Rademacher R (d, k), R_ij = +-1/sqrt(k) (random projection).

Only the k values per row (x[:, idx], or x R) are stored, plus the PRNG key; the indices or
R are regenerated from the key in the backward pass. keep >= 1 means "no sampling": the full
x is stored and the gradient is exact.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from morphax._core import InputError

MODES = ("same", "per_example", "project")
"""RAD modes: the same sampled indices for every row, independent indices per row, or a
Rademacher random projection."""


def check_mode(mode: str, keep: float) -> None:
    if mode not in MODES:
        raise InputError(f"unknown RAD mode {mode!r}; use one of {', '.join(MODES)}")
    if not 0.0 < keep <= 1.0:
        raise InputError(f"keep fraction must be in (0, 1], got {keep}")


def num_kept(d: int, keep: float) -> int:
    """k = round(keep * d), at least 1: the stored values per row out of d."""
    return max(1, min(d, int(round(keep * d))))


def is_exact(keep: float) -> bool:
    return keep >= 1.0


def _indices(key, rows: int, d: int, k: int, mode: str) -> jax.Array:
    shape = (k,) if mode == "same" else (rows, k)
    return jax.random.randint(key, shape, 0, d)


def _projection(key, d: int, k: int, dtype) -> jax.Array:
    return jax.random.rademacher(key, (d, k), dtype=dtype) / math.sqrt(k)


def compress(x: jax.Array, *, keep: float, mode: str, key) -> jax.Array:
    """What the backward pass stores of x (rows, d): (rows, k) values, or x itself at keep 1."""
    if is_exact(keep):
        return x
    rows, d = x.shape
    k = num_kept(d, keep)
    if mode == "project":
        return x @ _projection(key, d, k, x.dtype)
    idx = _indices(key, rows, d, k, mode)
    if mode == "same":
        return x[:, idx]
    return jnp.take_along_axis(x, idx, axis=1)


def expand(stored: jax.Array, d: int, *, keep: float, mode: str, key) -> jax.Array:
    """The unbiased reconstruction x P (rows, d) from `compress`'s output: E[expand] = x."""
    if is_exact(keep):
        return stored
    rows, k = stored.shape
    if mode == "project":
        return stored @ _projection(key, d, k, stored.dtype).T
    idx = _indices(key, rows, d, k, mode)
    scaled = stored * (d / k)
    out = jnp.zeros((rows, d), stored.dtype)
    if mode == "same":
        return out.at[:, idx].add(scaled)
    return out.at[jnp.arange(rows)[:, None], idx].add(scaled)


def sample(x: jax.Array, *, keep: float, mode: str, key) -> jax.Array:
    """x P in one go (rows, d) -> (rows, d): an unbiased random sparsification/projection."""
    return expand(compress(x, keep=keep, mode=mode, key=key), x.shape[1], keep=keep, mode=mode,
                  key=key)
