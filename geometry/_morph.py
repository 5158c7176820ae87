"""Differentiable morphing: a mesh of a design whose topology is fixed when it is built and
whose node coordinates are a smooth JAX function of the pore radii.

Each node inside a pore's cell (or large-pore block) is held in polar coordinates (rho, theta)
about the pore centre with a fixed blend weight t = (rho - rho_p) / (rho_c - rho_p) between
the pore curve rho_p(theta) = h r(theta; radii) (the trigonometric interpolant of the radii,
h the half cell size) and the cell boundary rho_c(theta) = h / max(|cos|, |sin|). For new
radii the node moves along its ray to rho_p' + t (rho_c - rho_p'). Pore-boundary nodes have
t = 0 and follow the curve exactly; nodes on cell sides and in solid cells do not move. The
map is affine in the radii (so every derivative is exact and smooth) and is the identity at
the radii the mesh was built with. Lattice-node offsets (params["offsets"], mm) then warp every
node piecewise-bilinearly (`warp_points`); the radius map works in the square reference grid,
so remeshing at new radii (`remesh`) keeps the offsets as parameters.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError, MeshError, describe_cells
from morphax.physics import Mesh

from ._design import CellularSolid
from ._fourier import interpolation_matrix, sample_angles
from ._gmsh_mesh import MeshOptions, raw_mesh
from ._warp import warp_points


@dataclasses.dataclass(frozen=True)
class MorphCheck:
    """Quality of a morphed mesh. valid: every element Jacobian is positive and every angle is
    at least `angle_bound` (degrees). min_jacobian_ratio: the smallest det J over its value in
    the reference mesh. bad_cells: cells that break either condition."""

    valid: bool
    min_jacobian_ratio: float
    min_angle: float
    angle_bound: float
    bad_cells: tuple[int, ...]

    @property
    def message(self) -> str:
        if self.valid:
            return (f"valid: min angle {self.min_angle:.2f} deg >= {self.angle_bound} deg, "
                    f"min Jacobian ratio {self.min_jacobian_ratio:.3g}")
        return (f"the morphed mesh is invalid: min angle {self.min_angle:.2f} deg (bound "
                f"{self.angle_bound} deg), min Jacobian ratio {self.min_jacobian_ratio:.3g}, in "
                f"{describe_cells(self.bad_cells)}; these radii are too far from the ones the mesh "
                "was built with: call remesh(params)")


def triangle_angles(points, cells) -> np.ndarray:
    """Interior angles (m, 3) in degrees of the corner triangles of tri3/tri6 cells."""
    x = np.asarray(points)[np.asarray(cells)[:, :3]]
    out = []
    for a in range(3):
        u = x[:, (a + 1) % 3] - x[:, a]
        v = x[:, (a + 2) % 3] - x[:, a]
        cos = np.sum(u * v, axis=1) / np.maximum(np.linalg.norm(u, axis=1)
                                                 * np.linalg.norm(v, axis=1), 1e-300)
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.stack(out, axis=1)


class _PoreMap:
    """Node data of one group of pores with the same number of radii."""

    def __init__(self, nodes, pore, W, t, direction, centre, rho_c, h):
        self.nodes, self.pore, self.W, self.t = nodes, pore, W, t
        self.direction, self.centre, self.rho_c, self.h = direction, centre, rho_c, h

    def coords(self, radii, dtype, xp=jnp):
        """Coordinates (M, 2) of the map's nodes; xp = jax.numpy (traceable) or numpy."""
        r = xp.asarray(radii, dtype=dtype)
        if r.ndim == 1:
            r = r[None, :]
        W = xp.asarray(self.W, dtype=dtype)
        rho_p = xp.asarray(self.h, dtype=dtype) * xp.sum(W * r[self.pore], axis=1)
        t = xp.asarray(self.t, dtype=dtype)
        rho = rho_p + t * (xp.asarray(self.rho_c, dtype=dtype) - rho_p)
        return xp.asarray(self.centre, dtype=dtype) + rho[:, None] * xp.asarray(
            self.direction, dtype=dtype)


def _min_dets(points: np.ndarray, mesh: Mesh) -> np.ndarray:
    """Smallest Jacobian determinant of each cell over its quadrature points (NumPy)."""
    _, _, dshape = mesh.element.tables(None)
    jac = np.einsum("mkd,qke->mqde", np.asarray(points)[mesh.cells], np.asarray(dshape))
    return (jac[..., 0, 0] * jac[..., 1, 1] - jac[..., 0, 1] * jac[..., 1, 0]).min(axis=1)


class MorphableMesh:
    """A mesh of `design` (topology fixed) and the smooth map params -> node coordinates.

    mesh: the reference Mesh (node coordinates = points(design.params())), with the named
    groups of `morphax.geometry.mesh_design`. points(params): (n, 2) JAX array, differentiable
    (jax.grad, jit, vmap) in params = {"radii": (n_porous, N), "large": tuple of (N_k,)}.
    mesh_at(params): the Mesh with those coordinates, ready for `Problem`/`solve`
    (build the Problem once on `mesh`, then pass `{**problem.params(), "points": points(p)}`).
    """

    def __init__(self, design: CellularSolid, options: MeshOptions):
        self.design, self.options = design, options
        raw = raw_mesh(design, options)
        self._base = np.asarray(raw.points, dtype=float)
        snap = options.pore_segments is None
        self._maps = self._build_maps(raw, snap)
        pts = self._base.copy()
        for m, r in zip(self._maps, (design.radii, *[lp.radii for lp in design.large_pores]),
                        strict=True):
            if m is not None:
                pts[m.nodes] = m.coords(np.asarray(r, dtype=float), float, np)
        self.mesh = raw.with_points(design.warp(pts))
        self._ref_det = _min_dets(np.asarray(self.mesh.points), self.mesh)
        if np.any(self._ref_det <= 0):
            raise MeshError("gmsh produced a mesh with non-positive Jacobians after placing the "
                            "pore nodes on the exact curves; use a finer size or pore_size",
                            np.nonzero(self._ref_det <= 0)[0])

    def _build_maps(self, raw: Mesh, snap: bool):
        d = self.design
        x = self._base
        eps = 1e-9 * d.cell_size
        s = d.cell_size
        pores = d.pores()
        blocks = [(i, j, 1) for (i, j) in d.porous_cells]
        blocks += [(lp.row, lp.col, lp.size) for lp in d.large_pores]
        maps = []
        groups = [list(range(len(d.porous_cells)))]
        groups += [[len(d.porous_cells) + k] for k in range(len(d.large_pores))]
        for group in groups:
            rows = []
            for local, g in enumerate(group):
                name, c, h, r = pores[g]
                i, j, k = blocks[g]
                lo, hi = np.array([j * s, i * s]), np.array([(j + k) * s, (i + k) * s])
                inside = np.nonzero(np.all((x > lo + eps) & (x < hi - eps), axis=1))[0]
                dx = x[inside] - c
                rho = np.linalg.norm(dx, axis=1)
                th = np.arctan2(dx[:, 1], dx[:, 0])
                W = interpolation_matrix(th, r.size)
                rho_p = h * (W @ r)
                rho_c = h / np.maximum(np.abs(np.cos(th)), np.abs(np.sin(th)))
                t = (rho - rho_p) / (rho_c - rho_p)
                if snap:
                    t[np.isin(inside, raw.node_set(name))] = 0.0
                rows.append((inside, np.full(inside.size, local), W, t,
                             np.stack([np.cos(th), np.sin(th)], axis=1),
                             np.tile(c, (inside.size, 1)), rho_c, np.full(inside.size, h)))
            if not rows:
                maps.append(None)
                continue
            cat = [np.concatenate(col) for col in zip(*rows, strict=True)]
            maps.append(_PoreMap(*cat))
        return maps

    # ----- the differentiable map ---------------------------------------------------------
    def points(self, params) -> jax.Array:
        """Node coordinates (n, 2) for shape parameters `params` (see CellularSolid.params;
        without "offsets" the design's own offsets are used)."""
        radii = params["radii"]
        large = tuple(params.get("large", ()))
        if len(large) != len(self.design.large_pores):
            raise InputError(f"params['large'] has {len(large)} entries; the design has "
                             f"{len(self.design.large_pores)} large pores")
        if np.shape(radii) != self.design.radii.shape:
            raise InputError(f"params['radii'] has shape {np.shape(radii)}, expected "
                             f"{self.design.radii.shape} (n_porous, N)")
        leaves = [jnp.asarray(v) for v in (radii, *large)]
        dtype = jnp.result_type(*leaves) if leaves else jnp.result_type(float)
        if not jnp.issubdtype(dtype, jnp.floating):
            dtype = jnp.result_type(float)
        out = jnp.asarray(self._base, dtype=dtype)
        for m, r in zip(self._maps, (radii, *large), strict=True):
            if m is not None:
                out = out.at[m.nodes].set(m.coords(r, dtype))
        offsets = params.get("offsets", self.design.offsets)
        if np.shape(offsets) != self.design.offsets.shape:
            raise InputError(f"params['offsets'] has shape {np.shape(offsets)}, expected "
                             f"{self.design.offsets.shape} (rows + 1, cols + 1, 2)")
        return warp_points(out, offsets, self.design.cell_size)

    def points_numpy(self, params) -> np.ndarray:
        """`points(params)` for concrete parameters, in NumPy (no JAX dispatch: cheap checks)."""
        params = jax.tree_util.tree_map(np.asarray, self.full_params(params))
        out = self._base.copy()
        for m, r in zip(self._maps, (params["radii"], *params.get("large", ())), strict=True):
            if m is not None:
                out[m.nodes] = m.coords(np.asarray(r, dtype=float), float, np)
        return warp_points(out, params["offsets"], self.design.cell_size, np)

    def full_params(self, params) -> dict:
        """`params` with the design's own offsets added when it has none."""
        if "offsets" in params:
            return params
        return {**params, "offsets": self.design.offsets}

    def mesh_at(self, params, *, check: bool = False, min_angle: float = 5.0) -> Mesh:
        """The morphed Mesh. check=True (concrete params only) raises MeshError when the
        morphed mesh is invalid (see `check`)."""
        mesh = self.mesh.with_points(self.points(params))
        if check:
            report = self.check(params, min_angle=min_angle)
            if not report.valid:
                raise MeshError(report.message, report.bad_cells)
        return mesh

    def check(self, params, *, min_angle: float = 5.0) -> MorphCheck:
        """Whether the mesh morphed to `params` is still valid (positive element Jacobians,
        all angles >= min_angle degrees). Concrete parameters only."""
        pts = self.points_numpy(params)
        ratio = _min_dets(pts, self.mesh) / self._ref_det
        ang = triangle_angles(pts, self.mesh.cells).min(axis=1)
        bad = np.nonzero((ratio <= 0) | (ang < min_angle))[0]
        return MorphCheck(bool(bad.size == 0), float(ratio.min()), float(ang.min()),
                          float(min_angle), tuple(int(b) for b in bad))

    def valid_step(self, params, target, *, min_angle: float = 5.0, tol: float = 1e-3) -> float:
        """The largest s in [0, 1] (to `tol`, by bisection) for which the mesh morphed to
        params + s (target - params) passes `check`: how far an optimizer step can go before
        a remesh is needed. 0.0 if even `params` is invalid."""
        params, target = self.full_params(params), self.full_params(target)

        def at(s):
            return jax.tree_util.tree_map(lambda a, b: np.asarray(a) + s * (np.asarray(b)
                                                                           - np.asarray(a)),
                                          params, target)

        if self.check(at(1.0), min_angle=min_angle).valid:
            return 1.0
        if not self.check(at(0.0), min_angle=min_angle).valid:
            return 0.0
        lo, hi = 0.0, 1.0
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.check(at(mid), min_angle=min_angle).valid else (lo, mid)
        return lo

    def remesh(self, params) -> MorphableMesh:
        """A new MorphableMesh built by gmsh at `params` (a new topology), same options.
        Raises DesignError if the parameters violate the design's bounds."""
        return MorphableMesh(self.design.with_params(params), self.options)

    # ----- readout helpers ----------------------------------------------------------------
    def node(self, name: str) -> int:
        """The single node of a one-node set, e.g. "solid_2_2_center" or "corner_bl"."""
        nodes = self.mesh.node_set(name)
        if nodes.size != 1:
            raise InputError(f"node set {name!r} has {nodes.size} nodes, not one")
        return int(nodes[0])

    def pore_nodes(self, name: str) -> np.ndarray:
        """Nodes of the boundary of pore `name` ("pore_<i>_<j>" or "large_pore_<k>") ordered
        counter-clockwise by angle about the pore centre, starting at angle 0."""
        centres = {n: c for n, c, _, _ in self.design.pores()}
        if name not in centres:
            raise InputError(f"the design has no pore {name!r}; it has {sorted(centres)}")
        nodes = self.mesh.node_set(name)
        d = self._base[nodes] - centres[name]
        th = np.mod(np.arctan2(d[:, 1], d[:, 0]), 2.0 * math.pi)
        return nodes[np.argsort(th, kind="stable")]

    def pore_curve(self, params, name: str, n: int = 48) -> jax.Array:
        """(n, 2) points of the exact (warped) pore curve at angles 2 pi k / n
        (differentiable)."""
        for k, (pname, c, h, _) in enumerate(self.design.pores()):
            if pname == name:
                n_cell = len(self.design.porous_cells)
                r = params["radii"][k] if k < n_cell else params["large"][k - n_cell]
                r = jnp.asarray(r)
                th = sample_angles(n)
                W = jnp.asarray(interpolation_matrix(th, r.shape[-1]), dtype=r.dtype)
                rho = h * (W @ r)
                xy = jnp.asarray(c, dtype=r.dtype)[None, :] + rho[:, None] * jnp.asarray(
                    np.stack([np.cos(th), np.sin(th)], axis=1), dtype=r.dtype)
                return warp_points(xy, params.get("offsets", self.design.offsets),
                                   self.design.cell_size)
        raise InputError(f"the design has no pore {name!r}")

    def __repr__(self):
        return f"MorphableMesh({self.mesh!r})"


def morphable_mesh(design: CellularSolid, *, size: float | None = None, order: int = 1,
                   options: MeshOptions | None = None, **kwargs) -> MorphableMesh:
    """Mesh `design` once with gmsh and return the MorphableMesh: the fixed-topology mesh plus
    `points(params)`, the node coordinates as a smooth JAX function of the radii. This is the
    entry point of shape optimization (the NMA learner): build once, then differentiate any
    FEM result computed on `mesh_at(params)` with respect to params."""
    opts = options or MeshOptions()
    changes = dict(kwargs)
    if size is not None:
        changes["size"] = size
    if order != 1:
        changes["order"] = order
    opts = dataclasses.replace(opts, **changes)
    return MorphableMesh(design, opts)
