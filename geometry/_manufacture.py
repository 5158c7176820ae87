"""Manufacturability of cellular-solid designs: radius bounds, ligament (wall) widths, design
validation with errors that name the cell, and a projection helper for optimizers.

Every `design` argument is a `morphax.geometry.CellularSolid`. This module sits below the
class (a design validates itself on construction with `validate_design`), so it reads designs
through their methods only and does not import `_design`.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from scipy.spatial import cKDTree

from ._constraints import Constraints, DesignError
from ._fourier import interpolation_matrix, sample_angles
from ._warp import corner_jacobians

_DENSE = 256   # angles at which pore curves are sampled for the bound checks
#: the smallest corner Jacobian (in s^2) a cell warped by lattice-node offsets may keep
MIN_CELL_JACOBIAN = 0.1


@dataclasses.dataclass(frozen=True)
class Ligament:
    """The thinnest wall (mm) around pore `pore` (a name such as "pore_2_3"): to the pore
    `other`, or to the free boundary (other = "boundary"). points: the two closest points
    (2, 2) in mm. cell: (row, col) of the pore (bottom-left cell of a large-pore block)."""

    width: float
    pore: str
    other: str
    points: np.ndarray
    cell: tuple[int, int]


def _pore_blocks(design):
    """name -> (cell, (row0, col0, size), centre, h, radii) for every pore."""
    out = {}
    pores = design.pores()
    blocks = [((i, j), (i, j, 1)) for (i, j) in design.porous_cells]
    blocks += [((lp.row, lp.col), (lp.row, lp.col, lp.size)) for lp in design.large_pores]
    for (name, c, h, r), (cell, block) in zip(pores, blocks, strict=True):
        out[name] = (cell, block, c, h, r)
    return out


def free_segments(design, *, warped: bool = True) -> np.ndarray:
    """(f, 2, 2) cell sides between material and empty space or the outside (mm), moved with
    the lattice-node offsets (warped=False: in the square reference grid)."""
    s = design.cell_size
    segs = []
    for i in range(design.rows):
        for j in range(design.cols):
            if not design.material(i, j):
                continue
            x0, y0, x1, y1 = j * s, i * s, (j + 1) * s, (i + 1) * s
            if not design.material(i - 1, j):
                segs.append([[x0, y0], [x1, y0]])
            if not design.material(i + 1, j):
                segs.append([[x0, y1], [x1, y1]])
            if not design.material(i, j - 1):
                segs.append([[x0, y0], [x0, y1]])
            if not design.material(i, j + 1):
                segs.append([[x1, y0], [x1, y1]])
    segs = np.asarray(segs, dtype=float).reshape(-1, 2, 2)
    if warped and segs.size and design.warped:
        segs = design.warp(segs.reshape(-1, 2)).reshape(-1, 2, 2)
    return segs


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray):
    """Distances (n, m) from points p (n, 2) to segments a -> b (m, 2), and the closest points
    (n, m, 2)."""
    d = b - a
    L2 = np.maximum(np.sum(d * d, axis=1), 1e-300)
    t = np.clip(np.einsum("nmk,mk->nm", p[:, None, :] - a[None], d) / L2, 0.0, 1.0)
    q = a[None] + t[..., None] * d[None]
    return np.linalg.norm(p[:, None, :] - q, axis=-1), q


def ligaments(design, n: int = _DENSE) -> list[Ligament]:
    """The thinnest wall around every pore (one Ligament per pore; width inf when the pore is
    surrounded by solid material only). Pore curves are sampled at n angles."""
    blocks = _pore_blocks(design)
    polys = {name: design.pore_polygon(name, n) for name in blocks}
    segs = free_segments(design)
    trees = {name: cKDTree(p) for name, p in polys.items()}
    out = []
    for name, (cell, (r0, c0, size), _, _, _) in blocks.items():
        best = (np.inf, "boundary", np.full((2, 2), np.nan))
        lo = np.array([c0 - 1, r0 - 1]) * design.cell_size
        hi = np.array([c0 + size + 1, r0 + size + 1]) * design.cell_size
        if segs.size:
            near = np.all((segs.max(axis=1) >= lo) & (segs.min(axis=1) <= hi), axis=1)
            if near.any():
                dist, q = point_segment_distance(polys[name], segs[near, 0], segs[near, 1])
                k = np.unravel_index(np.argmin(dist), dist.shape)
                if dist[k] < best[0]:
                    best = (float(dist[k]), "boundary", np.stack([polys[name][k[0]], q[k]]))
        for other, (_, (r1, c1, size1), _, _, _) in blocks.items():
            if other == name:
                continue
            if r1 > r0 + size or r1 + size1 < r0 or c1 > c0 + size or c1 + size1 < c0:
                continue
            dist, idx = trees[other].query(polys[name])
            k = int(np.argmin(dist))
            if dist[k] < best[0]:
                best = (float(dist[k]), other, np.stack([polys[name][k], polys[other][idx[k]]]))
        out.append(Ligament(best[0], name, best[1], best[2], cell))
    return out


def min_ligament(design) -> Ligament | None:
    """The thinnest wall of the design (None without pores)."""
    ligs = ligaments(design)
    return min(ligs, key=lambda g: g.width) if ligs else None


def _where(name: str, cell) -> str:
    return f"the pore of cell {cell}" if name.startswith("pore_") else \
        f"large pore {name.rsplit('_', 1)[1]} (block at cell {cell})"


def validate_design(design, constraints: Constraints | None = None) -> None:
    """Raise DesignError for the first violated bound: radii outside (0, 1) (samples, then the
    smooth curve between them), radii outside [r_min, r_max], cells touching only at a corner
    (zero-width joints), walls thinner than min_ligament. The error names the cell."""
    cons = constraints or design.constraints
    blocks = _pore_blocks(design)
    theta = sample_angles(_DENSE)
    for name, (cell, _, _, _, r) in blocks.items():
        where = _where(name, cell)
        bad = np.nonzero(~((r > 0.0) & (r < 1.0)))[0]
        if bad.size:
            k = int(bad[0])
            raise DesignError(f"{where}: radius {k} (angle {360.0 * k / r.size:.1f} deg) is "
                              f"{r[k]:.6g}, outside (0, 1) (fraction of the half cell size); "
                              "radii must be positive and keep the pore inside its cell",
                              cell, "radius range")
        dense = interpolation_matrix(theta, r.size) @ r
        k = int(np.argmax(np.maximum(dense - 1.0, -dense)))
        if not 0.0 < dense[k] < 1.0:
            raise DesignError(f"{where}: between the given radii the smooth pore curve reaches "
                              f"r = {dense[k]:.6g} at {np.degrees(theta[k]):.1f} deg, outside "
                              "(0, 1): the pore would overlap its cell walls (or fold through its"
                              " centre); smooth the radii or move them away from the bounds",
                              cell, "radius range")
        tol = 1e-9
        if dense.min() < cons.r_min - tol or dense.max() > cons.r_max + tol:
            k = int(np.argmax(np.maximum(dense - cons.r_max, cons.r_min - dense)))
            raise DesignError(f"{where}: the pore radius r = {dense[k]:.6g} at "
                              f"{np.degrees(theta[k]):.1f} deg is outside the radius bounds "
                              f"[{cons.r_min}, {cons.r_max}]; use morphax.geometry.project_params"
                              " or relax Constraints(r_min=..., r_max=...)", cell,
                              "radius bounds")
    if design.warped:
        det = corner_jacobians(design.offsets, design.cell_size, np).min(axis=-1)
        i, j = np.unravel_index(np.argmin(det), det.shape)
        if det[i, j] < MIN_CELL_JACOBIAN:
            raise DesignError(f"the lattice-node offsets fold cell {(int(i), int(j))}: its corner "
                              f"Jacobian is {det[i, j]:.3g} s^2 (bound {MIN_CELL_JACOBIAN}); move "
                              "its corners less", (int(i), int(j)), "offsets")
    for i in range(design.rows + 1):
        for j in range(design.cols + 1):
            m = [design.material(i - 1, j - 1), design.material(i - 1, j),
                 design.material(i, j - 1), design.material(i, j)]
            if m == [True, False, False, True] or m == [False, True, True, False]:
                cell = (i - 1, j - 1) if m[0] else (i - 1, j)
                raise DesignError(f"cells meet only at the corner point {j, i} (grid units) next"
                                  f" to cell {cell}: a zero-width joint that cannot be meshed or "
                                  "printed; fill one of the two other cells around that corner",
                                  cell, "min ligament")
    if cons.min_ligament > 0.0 and blocks:
        for lig in ligaments(design):
            if lig.width < cons.min_ligament:
                other = "the free boundary" if lig.other == "boundary" else \
                    _where(lig.other, _pore_blocks(design)[lig.other][0])
                raise DesignError(f"{_where(lig.pore, lig.cell)}: the wall to {other} is "
                                  f"{lig.width:.4g} mm thick, thinner than the bound "
                                  f"min_ligament = {cons.min_ligament} mm (near x, y = "
                                  f"{lig.points.mean(axis=0).round(3).tolist()}); shrink the "
                                  "pores or use morphax.geometry.project_params", lig.cell,
                                  "min ligament")


def radius_caps(design, constraints: Constraints | None = None):
    """Per pore (lo, hi) bounds on r(theta) that guarantee the radius bounds *and* the
    ligament bound: a pore within r <= 1 - a / h keeps a >= w / 2 from its cell sides (w next
    to free boundary), so neighbouring walls are >= w (in the square reference grid: lattice-node
    offsets can thin walls, which `PrintPenalty` and `print_check` watch). Returns
    (lo (n_pores,), hi (n_pores,))
    in the order of `design.pores()`."""
    cons = constraints or design.constraints
    segs = free_segments(design, warped=False)
    lo, hi = [], []
    for (_, (r0, c0, size), _, h, _) in _pore_blocks(design).values():
        s = design.cell_size
        inner_lo, inner_hi = np.array([c0, r0]) * s, np.array([c0 + size, r0 + size]) * s
        eps = 1e-9 * s
        touches = bool(segs.size) and bool(np.any(np.all(
            (segs.max(axis=1) >= inner_lo - eps) & (segs.min(axis=1) <= inner_hi + eps), axis=1)))
        a = cons.min_ligament if touches else 0.5 * cons.min_ligament
        lo.append(max(cons.r_min, 0.0))
        hi.append(min(cons.r_max, 1.0 - a / h))
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def project_params(params, design, constraints: Constraints | None = None, *,
                   margin: float = 1e-6):
    """Map shape parameters into the feasible set, for projected-gradient optimizers.

    Each pore's radii are clipped into [lo + margin, hi - margin] (`radius_caps`), then shrunk
    towards their mean until the smooth curve r(theta) (sampled densely) lies inside too. It is
    the identity on feasible parameters, continuous, and works on NumPy or JAX arrays (jit-able;
    not the Euclidean projection). The result satisfies the radius and ligament bounds.
    """
    lo, hi = radius_caps(design, constraints)
    lo = lo + margin
    hi = hi - margin
    if np.any(hi <= lo):
        raise DesignError(f"the ligament bound leaves no room for pores (largest allowed radius "
                          f"{hi.min():.4g} <= smallest {lo.max():.4g}); lower min_ligament or "
                          "r_min", None, "min ligament")
    n_cell = len(design.porous_cells)

    def one(r, lo_k, hi_k):
        r = jnp.asarray(r)
        n = r.shape[-1]
        W = jnp.asarray(interpolation_matrix(sample_angles(_DENSE), n),
                        dtype=r.dtype)
        lo_k = jnp.asarray(lo_k, dtype=r.dtype)
        hi_k = jnp.asarray(hi_k, dtype=r.dtype)
        r = jnp.clip(r, lo_k[..., None], hi_k[..., None])
        mean = jnp.mean(r, axis=-1, keepdims=True)
        dense = r @ W.T
        over = jnp.max(dense, axis=-1, keepdims=True) - mean
        under = mean - jnp.min(dense, axis=-1, keepdims=True)
        tiny = jnp.asarray(1e-300, dtype=r.dtype)
        alpha = jnp.minimum(1.0, jnp.minimum((hi_k[..., None] - mean) / jnp.maximum(over, tiny),
                                             (mean - lo_k[..., None]) / jnp.maximum(under, tiny)))
        return mean + alpha * (r - mean)

    radii = one(params["radii"], lo[:n_cell], hi[:n_cell]) if n_cell else \
        jnp.asarray(params["radii"])
    large = tuple(one(r, lo[n_cell + k], hi[n_cell + k])
                  for k, r in enumerate(params.get("large", ())))
    out = {"radii": radii, "large": large}
    if "offsets" in params:
        out["offsets"] = params["offsets"]
    return out


def constraint_penalty(params, design, constraints: Constraints | None = None):
    """A smooth penalty (JAX scalar) that is zero exactly when every pore curve lies inside its
    `radius_caps`: the sum over dense angles of max(0, r - hi)^2 + max(0, lo - r)^2."""
    lo, hi = radius_caps(design, constraints)
    n_cell = len(design.porous_cells)
    groups = [(params["radii"], lo[:n_cell], hi[:n_cell])] if n_cell else []
    groups += [(jnp.asarray(r)[None], lo[n_cell + k:n_cell + k + 1], hi[n_cell + k:n_cell + k + 1])
               for k, r in enumerate(params.get("large", ()))]
    total = jnp.asarray(0.0)
    for r, lo_k, hi_k in groups:
        r = jnp.asarray(r)
        W = jnp.asarray(interpolation_matrix(sample_angles(_DENSE),
                                                      r.shape[-1]), dtype=r.dtype)
        dense = r @ W.T
        total = total + jnp.sum(jnp.maximum(dense - jnp.asarray(hi_k, dtype=r.dtype)[:, None],
                                            0.0) ** 2
                                + jnp.maximum(jnp.asarray(lo_k, dtype=r.dtype)[:, None] - dense,
                                              0.0) ** 2)
    return total
