"""Point evaluation of nodal fields on triangle meshes."""

from __future__ import annotations

import numpy as np
from jaxtyping import ArrayLike, Float

from ._mesh import Mesh


def interpolate(mesh: Mesh, u: Float[ArrayLike, "n c"],
                x: Float[ArrayLike, "p 2"]) -> Float[np.ndarray, "p c"]:
    """Values (n, c) of the P1/P2 field u (n_nodes, c) on `mesh` at points x (n, 2). Points
    outside the mesh (between a curved boundary and its polygon) are extrapolated from the
    nearest cell."""
    from matplotlib.tri import Triangulation

    pts = np.asarray(mesh.points, dtype=float)
    cells = np.asarray(mesh.cells)
    u = np.asarray(u, dtype=float).reshape(pts.shape[0], -1)
    x = np.asarray(x, dtype=float)
    tri = Triangulation(pts[:, 0], pts[:, 1], cells[:, :3])
    found = np.asarray(tri.get_trifinder()(x[:, 0], x[:, 1]))
    miss = found < 0
    if np.any(miss):
        cent = pts[cells[:, :3]].mean(axis=1)
        d = ((x[miss, None, :] - cent[None]) ** 2).sum(-1)
        found[miss] = np.argmin(d, axis=1)
    v = pts[cells[found, :3]]                                  # (n, 3, 2)
    T = np.stack([v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]], axis=2)   # (n, 2, 2)
    ab = np.linalg.solve(T, (x - v[:, 0])[..., None])[..., 0]
    l1, l2 = ab[:, 0], ab[:, 1]
    l0 = 1.0 - l1 - l2
    if cells.shape[1] == 3:
        N = np.stack([l0, l1, l2], axis=1)
    else:   # tri6: vertices, then mid-edges (0,1), (1,2), (2,0)
        N = np.stack([l0 * (2 * l0 - 1), l1 * (2 * l1 - 1), l2 * (2 * l2 - 1),
                      4 * l0 * l1, 4 * l1 * l2, 4 * l2 * l0], axis=1)
    return np.einsum("nk,nkc->nc", N, u[cells[found]])
