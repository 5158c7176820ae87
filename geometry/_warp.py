"""Lattice-node offsets: a piecewise-bilinear warp of the cell grid.

A design's lattice nodes (the cell corners, (rows + 1, cols + 1) of them, node (a, b) at
(b s, a s) mm) may carry offsets d (rows + 1, cols + 1, 2) in mm (Varmint's "mesh
perturbation", Oktay et al. ICLR 2023). A point x of the square reference grid in cell (i, j)
with local coordinates (xi, eta) = x / s - (j, i) in [0, 1]^2 maps to

    x + (1 - xi)(1 - eta) d[i, j] + xi (1 - eta) d[i, j + 1] + (1 - xi) eta d[i + 1, j]
      + xi eta d[i + 1, j + 1],

which is continuous across cells, maps cell sides to straight segments and pores to the
bilinear image of their curves. Works on NumPy and JAX arrays (smooth in x and d inside each
cell).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def warp_points(points, offsets, cell_size: float, xp=jnp):
    """Warped coordinates (n, 2) of reference points (n, 2) in mm for offsets
    (rows + 1, cols + 1, 2) in mm; xp = jax.numpy (traceable) or numpy."""
    x = xp.asarray(points)
    d = xp.asarray(offsets, dtype=x.dtype)
    rows, cols = d.shape[0] - 1, d.shape[1] - 1
    g = x / cell_size
    jf = xp.clip(xp.floor(g[:, 0]), 0, cols - 1)
    i_f = xp.clip(xp.floor(g[:, 1]), 0, rows - 1)
    j, i = jf.astype(int), i_f.astype(int)
    xi = (g[:, 0] - jf)[:, None]
    eta = (g[:, 1] - i_f)[:, None]
    shift = ((1 - xi) * (1 - eta) * d[i, j] + xi * (1 - eta) * d[i, j + 1]
             + (1 - xi) * eta * d[i + 1, j] + xi * eta * d[i + 1, j + 1])
    return x + shift


def corner_jacobians(offsets, cell_size: float, xp=jnp):
    """det of the warp's Jacobian at the four corners of every cell, (rows, cols, 4), in
    units of s^2 (1 for zero offsets). The bilinear map of a cell is one-to-one when all four
    are positive."""
    d = xp.asarray(offsets) / cell_size
    rows, cols = d.shape[0] - 1, d.shape[1] - 1
    ja, jb = np.meshgrid(np.arange(cols + 1), np.arange(rows + 1))
    p = d + xp.asarray(np.stack([ja, jb], axis=-1), dtype=d.dtype)   # corners in cell units
    p00, p01, p10, p11 = p[:-1, :-1], p[:-1, 1:], p[1:, :-1], p[1:, 1:]

    def det(u, v):
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]

    return xp.stack([det(p01 - p00, p10 - p00), det(p01 - p00, p11 - p01),
                     det(p11 - p10, p10 - p00), det(p11 - p10, p11 - p01)], axis=-1)
