"""The Meta-PDE nonlinear Poisson family (Qin et al. 2022, arXiv 2211.01604, Sec. 4.1): tasks on
star domains, their FEA ground truth, and the shared error metric.

A task is a small frozen dataclass sampled from a seed; `task.vector()` packs it into a flat
float array so that learners can vmap over tasks (`PoissonTask.source_of(v, x)` etc. take that
vector and work on JAX arrays). FEA solves reuse one compiled `Problem` per resolution: every
star domain is the unit disk mapped along rays, x -> x r(theta), so a task only changes the
node coordinates, the Dirichlet values and the source bumps in `problem.params()`.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from morphax.geometry import StarDomain
from morphax.physics import Dirichlet, NonlinearPoisson, Problem, Source, disk_mesh, interpolate, solve


def gaussian_bumps(x: Float[ArrayLike, "... 2"], bumps: Float[ArrayLike, "b 3"]) -> Float[ArrayLike, "..."]:
    """f(x) = sum_i beta_i exp(-|x - mu_i|^2) for x (..., 2) and bumps (n, 3) rows
    (mu_x, mu_y, beta): the Meta-PDE Poisson source. Works on NumPy and JAX arrays."""
    xp = jnp if not isinstance(x, np.ndarray) or not isinstance(bumps, np.ndarray) else np
    b = xp.reshape(bumps, (1,) * (x.ndim - 1) + tuple(bumps.shape))
    d2 = (x[..., None, 0] - b[..., 0]) ** 2 + (x[..., None, 1] - b[..., 1]) ** 2
    return xp.sum(b[..., 2] * xp.exp(-d2), axis=-1)


def morph_to_star(points: Float[ArrayLike, "n 2"], c1: float, c2: float) -> Float[np.ndarray, "n 2"]:
    """Coordinates (n, 2) of a unit-disk mesh mapped onto the star (c1, c2): x -> x r(theta)."""
    return StarDomain().morph(np.asarray(points, dtype=float), float(c1), float(c2))


def star_source(x: Float[Array, "2"], bumps: Float[Array, "b 3"]) -> Float[Array, "1"]:
    """The source of `NonlinearPoisson` for the paper's div((1 + 0.1 u^2) grad u) = f: morphax
    solves -div(...) = source, so source = -f with f the Gaussian bumps (n_bumps, 3)."""
    return -jnp.reshape(gaussian_bumps(x, bumps), (1,))


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
        """r(theta) of the packed task vector v (JAX)."""
        return StarDomain.radius_of(theta, v[0], v[1])

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

    @property
    def domain(self) -> StarDomain:
        """The task's star domain."""
        return StarDomain(self.c1, self.c2)

    def contains(self, x) -> np.ndarray:
        """Whether points x (..., 2) lie inside the domain."""
        return self.domain.contains(x)

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


class PoissonFEA:
    """FEA of the Poisson family at one resolution (mesh size h, P1 or P2), with Newton.

    Build once (the kernels compile on the first solve: call `warmup()` and read the seconds it
    returns), then `solve(task)` per task: it returns (mesh, u (n, 1), seconds of the solve)."""

    def __init__(self, size: float, order: int = 1, rtol: float = 1e-10):
        self.size, self.order, self.rtol = size, order, rtol
        self.disk = disk_mesh(size, order)
        self.problem = Problem(self.disk, NonlinearPoisson(alpha=0.1),
                               dirichlet=[Dirichlet("boundary", 0.0)],
                               source=Source(star_source, np.zeros((2, 3))))
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
        return {**p, "points": jnp.asarray(pts), "source": jnp.asarray(np.asarray(task.bumps)),
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
