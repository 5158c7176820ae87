"""The Meta-PDE hyperelastic task family (Qin et al. 2022, arXiv 2211.01604, Sec. 4.3): a
porous unit square compressed by 12 %, its FEA ground truth, and the mirror-min error.

Material: `IsochoricNeoHookean` with E = 1, nu = 0.49. Bottom u = 0, top u = (0, -0.12); the sides
and pores are traction free. Pores are circular with one radius per task,
r = s L0 sqrt(2 phi) / sqrt(2 pi) (phi = 0.5, L0 = 0.25, s ~ U(0.2 h, 1.5 h)), and tasks whose
ligament (L0 - 2 r) / L0 is below 0.05 are rejected and redrawn (the paper's code).

Lattice: the paper centres its pores at linspace(0, 1, 5)^2, so the pores on the sides and at
the corners are cut by the boundary. Here the square is meshed by `morphax.geometry.pore_lattice`
with a 4 x 4 lattice of whole pores centred at (k + 1/2) L0: the same spacing L0, radii,
ligaments and porosity (16 pore areas either way), shifted by half a period.

Because the compressed lattice can buckle either way, a prediction is scored against the truth
and against its left-right mirror image (x -> 1 - x, u_x -> -u_x), and the smaller error counts.
"""

from __future__ import annotations

import dataclasses
import math
import time

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from morphax._core import InputError
from morphax.geometry import mesh_design, pore_lattice
from morphax.physics import Dirichlet, IsochoricNeoHookean, Problem, interpolate, solve

from ._metrics import relative_mse

L0 = 0.25
PHI = 0.5
YOUNG, NU = 1.0, 0.49
TOP_DISPLACEMENT = (0.0, -0.12)
MIN_LIGAMENT = 0.05
N_CELLS = 4


def radius_of_scale(scale):
    """Pore radius r = s L0 sqrt(2 phi) / sqrt(2 pi) of the radius scale s (float or array)."""
    return scale * (L0 * math.sqrt(2.0 * PHI) / math.sqrt(2.0 * math.pi))


def max_scale() -> float:
    """The largest radius scale whose ligament (L0 - 2 r) / L0 is MIN_LIGAMENT (about 1.19)."""
    return (1.0 - MIN_LIGAMENT) * L0 / 2.0 / radius_of_scale(1.0)


def pore_centres() -> np.ndarray:
    """(16, 2) pore centres (k + 1/2) L0."""
    c = (np.arange(N_CELLS) + 0.5) * L0
    return np.stack(np.meshgrid(c, c, indexing="xy"), axis=-1).reshape(-1, 2)


@dataclasses.dataclass(frozen=True)
class HyperTask:
    """One hyperelastic task: the pore radius scale s (radius = s L0 sqrt(2 phi)/sqrt(2 pi))."""

    scale: float

    @property
    def radius(self) -> float:
        return radius_of_scale(self.scale)

    @property
    def ligament(self) -> float:
        """(L0 - 2 r) / L0, the relative width of the wall between neighbouring pores."""
        return (L0 - 2.0 * self.radius) / L0

    def vector(self) -> np.ndarray:
        return np.array([self.scale])

    def inside(self, x) -> np.ndarray:
        """Mask of points x (n, 2) in the material (unit square minus the pores)."""
        x = np.asarray(x, dtype=float)
        d = np.linalg.norm(x[:, None, :] - pore_centres()[None], axis=-1)
        box = np.all((x >= 0.0) & (x <= 1.0), axis=1)
        return box & np.all(d > self.radius, axis=1)

    def sample_points(self, n: int, seed: int = 0) -> np.ndarray:
        """n uniform points of the material (rejection sampling)."""
        rng = np.random.default_rng(seed)
        out = np.zeros((0, 2))
        while len(out) < n:
            x = rng.uniform(0.0, 1.0, (2 * n, 2))
            out = np.concatenate([out, x[self.inside(x)]])
        return out[:n]

    def design(self):
        """The porous square as a `morphax.geometry` CellularSolid."""
        return pore_lattice(N_CELLS, self.radius)


def sample_hyper_tasks(n: int, seed: int = 0, *, h: float = 1.0) -> list[HyperTask]:
    """n tasks with s ~ U(0.2 h, 1.5 h), redrawing those with ligament < 0.05 (h = 1: MAML,
    0.5: LEAP in the paper)."""
    if n < 0 or not h > 0:
        raise InputError(f"need n >= 0 and h > 0, got n = {n}, h = {h}")
    rng = np.random.default_rng(seed)
    tasks: list[HyperTask] = []
    while len(tasks) < n:
        t = HyperTask(float(rng.uniform(0.2 * h, 1.5 * h)))
        if t.ligament >= MIN_LIGAMENT:
            tasks.append(t)
    return tasks


class HyperFEA:
    """FEA ground truth of hyperelastic tasks with morphax's FEM: every task is meshed with
    gmsh (element size `size`, P1 or P2) and solved by Newton with `load_steps` increments.
    `solve(task)` returns (mesh, u (n_nodes, 2), seconds of the solve). The first solve of each
    mesh compiles its kernels (every task has its own mesh)."""

    def __init__(self, size: float = 0.05, order: int = 2, load_steps: int = 4,
                 rtol: float = 1e-10):
        if not size > 0 or order not in (1, 2) or load_steps < 1:
            raise InputError(f"need size > 0, order 1 or 2 and load_steps >= 1, got {size}, "
                             f"{order}, {load_steps}")
        self.size, self.order, self.load_steps, self.rtol = size, order, load_steps, rtol
        self.model = IsochoricNeoHookean.from_young(YOUNG, NU)

    def mesh(self, task: HyperTask):
        return mesh_design(task.design(), size=self.size, order=self.order)

    def problem(self, task: HyperTask) -> Problem:
        return Problem(self.mesh(task), self.model,
                       dirichlet=[Dirichlet("bottom", (0.0, 0.0)),
                                  Dirichlet("top", TOP_DISPLACEMENT)])

    def solve(self, task: HyperTask, problem: Problem | None = None):
        """Solve `task` (on `problem`, built by `self.problem(task)`, when given: the second and
        later solves of one Problem reuse its compiled kernels)."""
        problem = problem or self.problem(task)
        t = time.perf_counter()
        sol = solve(problem, load_steps=self.load_steps, rtol=self.rtol)
        u = np.asarray(sol.u)
        return problem.mesh, u, time.perf_counter() - t

    def truth(self, task: HyperTask, x) -> np.ndarray:
        """The FEA displacement (n, 2) at points x (n, 2)."""
        mesh, u, _ = self.solve(task)
        return interpolate(mesh, u, np.asarray(x, dtype=float))


def mirror_points(points) -> np.ndarray:
    """x -> 1 - x (the left-right mirror of the unit square)."""
    p = np.array(points, dtype=float)
    p[:, 0] = 1.0 - p[:, 0]
    return p


def mirror_min_error(u_pred, u_true, points) -> float:
    """min(relative MSE of u_pred against the truth, against the truth's left-right mirror)
    at `points` (n, 2). The mirror of a field u is (x, y) -> (-u_x(1 - x, y), u_y(1 - x, y)).

    u_true: a function x (n, 2) -> (n, 2) (e.g. `lambda x: interpolate(mesh, u, x)`), or the
    truth (n, 2) at `points`, in which case the point set must be mirror symmetric (every
    mirrored point is one of the points, to 1e-9)."""
    points = np.asarray(points, dtype=float)
    u_pred = np.asarray(u_pred, dtype=float)
    mirrored = mirror_points(points)
    if callable(u_true):
        truth = np.asarray(u_true(points), dtype=float)
        at_mirror = np.asarray(u_true(mirrored), dtype=float)
    else:
        truth = np.asarray(u_true, dtype=float)
        d = np.linalg.norm(mirrored[:, None, :] - points[None], axis=-1)
        j = np.argmin(d, axis=1)
        if not np.all(d[np.arange(len(points)), j] < 1e-9):
            raise InputError("mirror_min_error got the truth as values at points that are not "
                             "mirror symmetric; pass a function that evaluates the truth")
        at_mirror = truth[j]
    if truth.shape != u_pred.shape:
        raise InputError(f"u_pred {u_pred.shape} and the truth {truth.shape} differ in shape")
    flipped = at_mirror * np.array([-1.0, 1.0])
    return min(relative_mse(u_pred, truth), relative_mse(u_pred, flipped))


def meta_neo_hookean_density(F: Float[Array, "... 2 2"], mu: float, kappa: float,
                             j_min: float = 0.0) -> Float[Array, "..."]:
    """W(F) of `morphax.physics.IsochoricNeoHookean` for F (..., 2, 2) (JAX), used by the
    mesh-free energy loss.
    j_min > 0 continues 1/J linearly below J = j_min (value and slope match there), so the
    energy stays finite where a trial field inverts the material and still pushes J up."""
    J = F[..., 0, 0] * F[..., 1, 1] - F[..., 0, 1] * F[..., 1, 0]
    Ic = jnp.sum(F * F, axis=(-2, -1))
    inv_j = 1.0 / J
    if j_min > 0:
        inv_j = jnp.where(J > j_min, 1.0 / jnp.maximum(J, j_min), (2.0 * j_min - J) / j_min ** 2)
    return 0.5 * mu * (Ic * inv_j - 2.0) + 0.5 * kappa * (J - 1.0) ** 2
