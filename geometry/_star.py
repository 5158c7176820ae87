"""Star-shaped domains r(theta) = 1 + c1 cos 4 theta + c2 cos 8 theta (the Meta-PDE nonlinear
Poisson domains, Qin et al. 2022, with c1, c2 ~ U(-0.2, 0.2), and the Bertoldi pore shape).
This is the one place the formula is written."""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from morphax._core import InputError, gmsh_session
from morphax.physics import Mesh, elevate, orient_cells


@dataclasses.dataclass(frozen=True)
class StarDomain:
    """The domain {(rho cos theta, rho sin theta): rho < r(theta)} about the origin, with
    r(theta) = 1 + c1 cos(4 theta) + c2 cos(8 theta). Needs |c1| + |c2| < 1 (r > 0)."""

    c1: float = 0.0
    c2: float = 0.0

    def __post_init__(self):
        if not abs(self.c1) + abs(self.c2) < 1.0:
            raise InputError(f"a star domain needs |c1| + |c2| < 1 so that r(theta) > 0, got "
                             f"c1 = {self.c1}, c2 = {self.c2}")

    @staticmethod
    def radius_of(theta, c1, c2):
        """r(theta) = 1 + c1 cos(4 theta) + c2 cos(8 theta): NumPy in, NumPy out; JAX values
        (traced ones too) give a JAX array, differentiable in theta, c1 and c2."""
        xp = np if all(isinstance(a, np.ndarray | float | int) for a in (theta, c1, c2)) else jnp
        return 1.0 + c1 * xp.cos(4.0 * theta) + c2 * xp.cos(8.0 * theta)

    def radius(self, theta):
        """r(theta) of this domain."""
        return self.radius_of(theta, self.c1, self.c2)

    def boundary(self, n: int = 128) -> np.ndarray:
        """(n, 2) boundary points at the angles 2 pi k / n, counter-clockwise."""
        th = 2.0 * np.pi * np.arange(n) / n
        r = self.radius(th)
        return np.stack([r * np.cos(th), r * np.sin(th)], axis=1)

    def contains(self, x) -> np.ndarray:
        """Whether points x (..., 2) lie strictly inside."""
        x = np.asarray(x, dtype=float)
        return np.hypot(x[..., 0], x[..., 1]) < self.radius(np.arctan2(x[..., 1], x[..., 0]))

    def area(self) -> float:
        """Exact area pi (1 + (c1^2 + c2^2) / 2)."""
        return math.pi * (1.0 + 0.5 * (self.c1 ** 2 + self.c2 ** 2))

    def mesh(self, size: float = 0.1, order: int = 1, spline_points: int = 64) -> Mesh:
        """A gmsh mesh (tri3 or tri6) with boundary nodes on the exact curve; facet set
        "boundary"."""
        if order not in (1, 2) or not size > 0:
            raise InputError(f"star mesh needs order 1 or 2 and size > 0, got {order}, {size}")
        with gmsh_session("star") as gmsh:
            geo = gmsh.model.geo
            pts = self.boundary(spline_points)
            tags = [geo.addPoint(float(x), float(y), 0.0, size) for x, y in pts]
            q = spline_points // 4
            cuts = [0, q, 2 * q, 3 * q, spline_points]
            curves = [geo.addSpline([tags[m % spline_points] for m in range(a, b + 1)])
                      for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
            surf = geo.addPlaneSurface([geo.addCurveLoop(curves)])
            geo.synchronize()
            gmsh.option.setNumber("Mesh.MeshSizeMax", size)
            gmsh.option.setNumber("Mesh.Algorithm", 6)
            gmsh.model.mesh.generate(2)
            ntags, coords, _ = gmsh.model.mesh.getNodes()
            order_ = np.argsort(ntags)
            ntags = np.asarray(ntags)[order_]
            xy = np.asarray(coords).reshape(-1, 3)[order_, :2]
            types, _, nodes = gmsh.model.mesh.getElements(2, surf)
            tri = np.searchsorted(ntags, nodes[list(types).index(2)]).reshape(-1, 3)
            lines = []
            for c in curves:
                types, _, nodes = gmsh.model.mesh.getElements(1, c)
                lines.append(np.searchsorted(ntags, nodes[list(types).index(1)]).reshape(-1, 2))
        used = np.unique(tri)
        renum = np.full(len(xy), -1)
        renum[used] = np.arange(used.size)
        mesh = orient_cells(Mesh(xy[used], renum[tri], "tri3",
                                 facet_sets={"boundary": renum[np.concatenate(lines)]}))
        if order == 2:
            mesh = elevate(mesh)
        return mesh.with_points(self.snap(np.asarray(mesh.points), mesh.node_set("boundary")))

    def snap(self, points: np.ndarray, nodes) -> np.ndarray:
        """Points with `nodes` moved radially onto the exact boundary."""
        out = np.array(points, dtype=float)
        r = self.radius(np.arctan2(out[nodes, 1], out[nodes, 0]))
        out[nodes] *= (r / np.hypot(out[nodes, 0], out[nodes, 1]))[:, None]
        return out

    def morph(self, points, c1, c2):
        """Coordinates of a mesh of this domain mapped onto the star (c1, c2): each point moves
        along its ray, x' = x r(theta; c1, c2) / r(theta; self.c1, self.c2). Smooth (linear) in
        c1, c2, so meshes built once can be differentiated with respect to the domain.
        points (n, 2); NumPy in (with float c1, c2) gives NumPy out."""
        xp = np if isinstance(points, np.ndarray) and isinstance(c1 + c2, float | int) else jnp
        x = xp.asarray(points)
        th = xp.arctan2(x[:, 1], x[:, 0])
        scale = self.radius_of(th, c1, c2) / self.radius(th)
        return x * scale[:, None]
