"""Meta-PDE task families (Qin et al. 2022, arXiv 2211.01604, Sec. 4): the nonlinear Poisson
family on star domains, its FEA ground truth, and the shared error metric.

A task is a small frozen dataclass sampled from a seed; `task.vector()` packs it into a flat
float array so that learners can vmap over tasks (`PoissonTask.source_of(v, x)` etc. take that
vector and work on JAX arrays). FEA solves reuse one compiled `Problem` per resolution: every
star domain is the unit disk mapped along rays, x -> x r(theta), so a task only changes the
node coordinates, the Dirichlet values and the source bumps in `problem.params()`.
"""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

from ._mesh import Mesh, orient_cells
from ._meshgen import elevate
from ._metapde_models import StarPoisson, gaussian_bumps
from ._problem import Dirichlet, Problem
from ._solve import solve


def relative_mse(pred, truth) -> float:
    """Meta-PDE's relative MSE: mean |pred - truth|^2 / mean |truth|^2 (over points and
    components), the metric of `trainer_util.vmap_validation_error`."""
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    return float(np.mean((pred - truth) ** 2) / max(np.mean(truth ** 2), 1e-300))


# ----- the nonlinear Poisson family ------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PoissonTask:
    """div((1 + 0.1 u^2) grad u) = f on the star r(theta) = 1 + c1 cos 4theta + c2 cos 8theta,
    f(x) = sum_i beta_i exp(-|x - mu_i|^2) (bumps rows (mu_x, mu_y, beta)), u = b on the
    boundary with b(theta) = r0 + (r1 cos theta + r2 sin theta + r3 cos 2theta
    + r4 sin 2theta) / 4 (bc = r)."""

    c1: float
    c2: float
    bumps: tuple
    bc: tuple

    VECTOR_SIZE = 13   # c1, c2, 2 x 3 bumps, 5 boundary coefficients

    def vector(self) -> np.ndarray:
        return np.concatenate([[self.c1, self.c2], np.ravel(self.bumps), self.bc]).astype(float)

    @classmethod
    def from_vector(cls, v) -> PoissonTask:
        v = np.asarray(v, dtype=float)
        return cls(float(v[0]), float(v[1]), tuple(map(tuple, v[2:8].reshape(2, 3))),
                   tuple(v[8:13]))

    # JAX/NumPy functions of the packed vector (vmappable over tasks)
    @staticmethod
    def radius_of(v, theta):
        return 1.0 + v[0] * jnp.cos(4.0 * theta) + v[1] * jnp.cos(8.0 * theta)

    @staticmethod
    def source_of(v, x):
        """The paper's f at x (..., 2)."""
        return gaussian_bumps(x, jnp.reshape(v[2:8], (2, 3)))

    @staticmethod
    def boundary_of(v, x):
        """b(theta(x)) at x (..., 2)."""
        th = jnp.arctan2(x[..., 1], x[..., 0])
        r = v[8:13]
        return r[0] + 0.25 * (r[1] * jnp.cos(th) + r[2] * jnp.sin(th) + r[3] * jnp.cos(2 * th)
                              + r[4] * jnp.sin(2 * th))

    def radius(self, theta):
        return 1.0 + self.c1 * np.cos(4 * theta) + self.c2 * np.cos(8 * theta)

    def contains(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.hypot(x[..., 0], x[..., 1]) < self.radius(np.arctan2(x[..., 1], x[..., 0]))

    def sample_points(self, n: int, seed: int = 0) -> np.ndarray:
        """n points uniform in the domain (rejection from the bounding box); a fixed seed gives
        the fixed evaluation set."""
        rng = np.random.default_rng(seed)
        rmax = 1.0 + abs(self.c1) + abs(self.c2)
        out = np.zeros((0, 2))
        while len(out) < n:
            x = rng.uniform(-rmax, rmax, size=(4 * n, 2))
            out = np.concatenate([out, x[self.contains(x)]])
        return out[:n]


def sample_poisson_tasks(n: int, seed: int) -> list[PoissonTask]:
    """n tasks drawn as in the paper's code: c ~ U(-0.2, 0.2), 2 bumps with (mu, beta) ~ N(0, I),
    boundary coefficients r ~ U(-1, 1)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        c = rng.uniform(-0.2, 0.2, size=2)
        bumps = rng.normal(size=(2, 3))
        r = rng.uniform(-1.0, 1.0, size=5)
        out.append(PoissonTask(float(c[0]), float(c[1]), tuple(map(tuple, bumps)), tuple(r)))
    return out


def disk_mesh(size: float, order: int = 1) -> Mesh:
    """A quasi-uniform mesh of the unit disk (rings of nodes, Delaunay triangles) with facet set
    "boundary"; nodes of the outer ring (and P2 mid-edge nodes there) lie on the unit circle.
    No gmsh: cheap and deterministic, and a star domain is its image under x -> x r(theta)."""
    from scipy.spatial import Delaunay

    if not 0 < size <= 1.0 or order not in (1, 2):
        raise InputError(f"disk_mesh needs 0 < size <= 1 and order 1 or 2, got {size}, {order}")
    rings = max(1, math.ceil(1.0 / size))
    pts = [np.zeros((1, 2))]
    for k in range(1, rings + 1):
        m = max(6, round(2 * math.pi * k))
        th = 2 * math.pi * (np.arange(m) + 0.5 * (k % 2)) / m
        pts.append(k / rings * np.stack([np.cos(th), np.sin(th)], axis=1))
    xy = np.concatenate(pts)
    tri = Delaunay(xy).simplices.astype(np.int64)
    nb = pts[-1].shape[0]
    outer = np.arange(len(xy) - nb, len(xy))
    edges = np.stack([outer, np.roll(outer, -1)], axis=1)
    mesh = orient_cells(Mesh(xy, tri, "tri3", facet_sets={"boundary": edges}))
    if order == 2:
        mesh = elevate(mesh)
        p = np.array(mesh.points)
        b = mesh.node_set("boundary")
        p[b] /= np.hypot(p[b, 0], p[b, 1])[:, None]
        mesh = mesh.with_points(p)
    return mesh


def morph_to_star(points, c1, c2) -> np.ndarray:
    """Disk coordinates mapped onto the star (c1, c2): x -> x r(theta)."""
    p = np.asarray(points, dtype=float)
    th = np.arctan2(p[:, 1], p[:, 0])
    return p * (1.0 + c1 * np.cos(4 * th) + c2 * np.cos(8 * th))[:, None]


def interpolate(mesh: Mesh, u, x) -> np.ndarray:
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


class PoissonFEA:
    """FEA of the Poisson family at one resolution (mesh size h, P1 or P2), with Newton.

    Build once (the kernels compile on the first solve: call `warmup()` and read the seconds it
    returns), then `solve(task)` per task: it returns (mesh, u (n, 1), seconds of the solve)."""

    def __init__(self, size: float, order: int = 1, rtol: float = 1e-10):
        self.size, self.order, self.rtol = size, order, rtol
        self.disk = disk_mesh(size, order)
        self.problem = Problem(self.disk, StarPoisson(), dirichlet=[Dirichlet("boundary", 0.0)])
        self._bnodes = self.disk.node_set("boundary")

    @property
    def n_nodes(self) -> int:
        return self.disk.n_nodes

    def params(self, task: PoissonTask) -> dict:
        p = self.problem.params()
        pts = morph_to_star(self.disk.points, task.c1, task.c2)
        if self.order == 2:   # straight interior edges (curved only on the boundary)
            cells = self.disk.cells
            for j, (a, b) in enumerate(((0, 1), (1, 2), (2, 0))):
                mid = cells[:, 3 + j]
                keep = ~np.isin(mid, self._bnodes)
                pts[mid[keep]] = 0.5 * (pts[cells[keep, a]] + pts[cells[keep, b]])
        bvals = np.asarray(PoissonTask.boundary_of(task.vector(), pts[self._bnodes]))
        mat = {"alpha": p["material"]["alpha"], "bumps": jnp.asarray(np.asarray(task.bumps))}
        return {**p, "points": jnp.asarray(pts), "material": mat,
                "dirichlet": (jnp.asarray(bvals[:, None]),)}

    def warmup(self, task: PoissonTask | None = None) -> float:
        """Compile the kernels (first solve); returns its seconds."""
        t = time.perf_counter()
        self.solve(task or sample_poisson_tasks(1, 12345)[0])
        return time.perf_counter() - t

    def solve(self, task: PoissonTask):
        p = self.params(task)
        t = time.perf_counter()
        sol = solve(self.problem, p, rtol=self.rtol)
        jax.block_until_ready(sol.u)
        seconds = time.perf_counter() - t
        return self.disk.with_points(np.asarray(p["points"])), np.asarray(sol.u), seconds


def poisson_ground_truth(task: PoissonTask, x, *, size: float = 0.04, order: int = 2,
                         fea: PoissonFEA | None = None) -> np.ndarray:
    """The FEA reference solution (n,) at points x (n, 2): P2 on a fine mesh by default."""
    fea = fea or PoissonFEA(size, order)
    mesh, u, _ = fea.solve(task)
    return interpolate(mesh, u, x)[:, 0]
