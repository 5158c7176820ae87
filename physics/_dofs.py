"""Degrees of freedom fixed by Dirichlet conditions, shared by every problem type."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError


class FixedDofs:
    """dofs: one integer array per Dirichlet condition (the dofs it fixes, in the order of its
    values). `fixed` and `free` are sorted; where conditions overlap, the later one wins."""

    def __init__(self, ndof: int, dofs: list[np.ndarray]):
        all_dofs = np.concatenate(dofs) if dofs else np.zeros(0, np.int64)
        self.fixed = np.unique(all_dofs)
        self.free = np.setdiff1d(np.arange(ndof), self.fixed)
        self.positions = tuple(np.searchsorted(self.fixed, d) for d in dofs)
        if self.free.size == 0:
            raise InputError("every degree of freedom is prescribed; nothing to solve")

    def values(self, dirichlet, lam=1.0, dtype=None) -> jax.Array:
        """Values (n_fixed,) of the fixed dofs at load factor lam, from one array per
        condition (traceable)."""
        out = jnp.zeros(self.fixed.size, dtype=dtype)
        for pos, val in zip(self.positions, dirichlet, strict=True):
            out = out.at[pos].set(jnp.ravel(val))
        return lam * out

    def host_values(self, dirichlet) -> np.ndarray:
        """`values(dirichlet)` at full load as a NumPy array, for concrete values."""
        out = np.zeros(self.fixed.size)
        for pos, val in zip(self.positions, dirichlet, strict=True):
            out[pos] = np.ravel(np.asarray(val))
        return out
