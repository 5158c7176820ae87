"""Mesh-free task losses of the Meta-PDE families (Qin et al. 2022, Sec. 3-4): PDE residual
plus boundary terms on collocation points sampled afresh at every call, or the potential
energy for hyperelasticity. No ground-truth supervision.

A family gives: `sample_tasks(n, key=)` -> (n, task_size) packed task vectors (JAX, for meta-
training), `loss(model, task, key=)` -> scalar, `held_out(n, seed)` -> physics task objects for
evaluation, `eval_points(task, n, seed)` and `predict(model, x)`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from morphax.physics import IsochoricNeoHookean

from . import _hyper_family as hyper
from ._burgers_family import BurgersTask, sample_burgers_tasks
from ._hyper_family import meta_neo_hookean_density
from ._poisson_family import PoissonTask, sample_poisson_tasks


def _choose(key, candidates, mask, n):
    """n of the candidate points where mask holds (with replacement), jit-friendly."""
    p = mask.astype(candidates.dtype)
    idx = jax.random.choice(key, candidates.shape[0], (n,), p=p / jnp.sum(p))
    return candidates[idx]


class _Family:
    """What the families share on the evaluation side: a task's packed vector, its evaluation
    points, and the network's prediction at points x (n, in_dim) -> (n,) for a scalar field,
    (n, out_dim) otherwise."""

    def vector(self, task) -> np.ndarray:
        return task.vector()

    def eval_points(self, task, n: int = 1024, seed: int = 0) -> np.ndarray:
        return task.sample_points(n, seed)

    def predict(self, model, x):
        u = jax.vmap(model)(jnp.asarray(x, model.weights[0].dtype))
        return u[:, 0] if self.out_dim == 1 else u


class PoissonFamily(_Family):
    """div((1 + 0.1 u^2) grad u) = f on star domains (see PoissonTask).
    Loss: mean residual^2 at `n_domain` points + bc_weight * mean (u - b)^2 at `n_boundary`
    jittered boundary angles (the paper's bc_weight is 1)."""

    name = "poisson"
    in_dim, out_dim, task_size = 2, 1, PoissonTask.VECTOR_SIZE

    def __init__(self, n_domain: int = 256, n_boundary: int = 64, bc_weight: float = 1.0,
                 alpha: float = 0.1):
        self.n_domain, self.n_boundary = n_domain, n_boundary
        self.bc_weight, self.alpha = bc_weight, alpha

    def config(self) -> dict:
        return {"n_domain": self.n_domain, "n_boundary": self.n_boundary,
                "bc_weight": self.bc_weight, "alpha": self.alpha}

    def sample_tasks(self, n: int, *, key) -> jax.Array:
        k1, k2, k3 = jax.random.split(key, 3)
        c = jax.random.uniform(k1, (n, 2), minval=-0.2, maxval=0.2)
        bumps = jax.random.normal(k2, (n, 6))
        r = jax.random.uniform(k3, (n, 5), minval=-1.0, maxval=1.0)
        return jnp.concatenate([c, bumps, r], axis=1)

    def points(self, task, *, key):
        k1, k2, k3 = jax.random.split(key, 3)
        cand = jax.random.uniform(k1, (4 * self.n_domain, 2), task.dtype, -1.4, 1.4)
        th = jnp.arctan2(cand[:, 1], cand[:, 0])
        inside = jnp.hypot(cand[:, 0], cand[:, 1]) < PoissonTask.radius_of(task, th)
        xd = _choose(k2, cand, inside, self.n_domain)
        nb = self.n_boundary
        thb = 2 * jnp.pi * (jnp.arange(nb, dtype=task.dtype)
                           + jax.random.uniform(k3, (nb,), task.dtype)) / nb
        rb = PoissonTask.radius_of(task, thb)
        xb = jnp.stack([rb * jnp.cos(thb), rb * jnp.sin(thb)], axis=1)
        return xd, xb

    def loss(self, model, task, *, key):
        xd, xb = self.points(task, key=key)
        alpha = self.alpha
        ones = jnp.ones(2, xd.dtype)

        def residual(x):
            # div((1 + a u^2) grad u) = (1 + a u^2) lap u + 2 a u |grad u|^2
            u, g, lap = model.jet(x, ones)
            u, g, lap = u[0], g[0], lap[0]
            return ((1.0 + alpha * u ** 2) * lap + 2.0 * alpha * u * jnp.sum(g * g)
                    - PoissonTask.source_of(task, x))

        res = jax.vmap(residual)(xd)
        bc = jax.vmap(model)(xb)[:, 0] - PoissonTask.boundary_of(task, xb)
        return jnp.mean(res ** 2) + self.bc_weight * jnp.mean(bc ** 2)

    # evaluation side (NumPy task objects)
    def held_out(self, n: int, seed: int = 1_000_003):
        return sample_poisson_tasks(n, seed)


class BurgersFamily(_Family):
    """u_t + u u_x = u_xx / Re on (x, t) in [0, 1]^2 (see BurgersTask). Loss:
    mean residual^2 at `n_domain` points + bc_weight * (mean (u - u0)^2 at `n_boundary` points
    of t = 0 + mean u^2 at as many points of x = 0 and x = 1)."""

    name = "burgers"
    in_dim, out_dim, task_size = 2, 1, BurgersTask.VECTOR_SIZE

    def __init__(self, n_domain: int = 256, n_boundary: int = 64, bc_weight: float = 1.0,
                 amplitude: float = 1.0, re: float = 100.0):
        self.n_domain, self.n_boundary, self.bc_weight = n_domain, n_boundary, bc_weight
        self.amplitude, self.re = amplitude, re

    def config(self) -> dict:
        return {"n_domain": self.n_domain, "n_boundary": self.n_boundary,
                "bc_weight": self.bc_weight, "amplitude": self.amplitude, "re": self.re}

    def sample_tasks(self, n: int, *, key) -> jax.Array:
        a = jax.random.uniform(key, (n, 2), minval=-self.amplitude, maxval=self.amplitude)
        return jnp.concatenate([a, jnp.full((n, 1), self.re, a.dtype)], axis=1)

    def loss(self, model, task, *, key):
        k1, k2, k3 = jax.random.split(key, 3)
        xd = jax.random.uniform(k1, (self.n_domain, 2), dtype=task.dtype)
        nb = self.n_boundary
        x0 = jax.random.uniform(k2, (nb,), dtype=task.dtype)
        tb = jax.random.uniform(k3, (nb,), dtype=task.dtype)
        nu = 1.0 / task[2]
        curv = jnp.asarray([1.0, 0.0], task.dtype)

        def residual(x):
            u, g, uxx = model.jet(x, curv)
            return g[0, 1] + u[0] * g[0, 0] - nu * uxx[0]

        res = jax.vmap(residual)(xd)
        ic = jax.vmap(model)(jnp.stack([x0, jnp.zeros_like(x0)], 1))[:, 0] - \
            BurgersTask.initial_of(task, x0)
        ends = jnp.concatenate([jnp.stack([jnp.zeros_like(tb), tb], 1),
                                jnp.stack([jnp.ones_like(tb), tb], 1)])
        bc = jax.vmap(model)(ends)[:, 0]
        return jnp.mean(res ** 2) + self.bc_weight * (jnp.mean(ic ** 2) + jnp.mean(bc ** 2))

    def held_out(self, n: int, seed: int = 1_000_003):
        return sample_burgers_tasks(n, seed, amplitude=self.amplitude, re=self.re)


class HyperelasticFamily(_Family):
    """The porous square compressed by 12 % (see `HyperTask`), as an energy minimisation
    (Deep-Ritz style, the paper's loss): mean neo-Hookean energy density at `n_domain` points of
    the material + bc_weight * (mean |u - (0, -0.12)|^2 on the top + mean |u|^2 on the bottom,
    `n_boundary` points each). u: (x, y) -> (u_x, u_y), displacement in units of the side.
    Below J = j_min the energy's 1/J is continued linearly, so the loss stays finite and still
    pushes J up where the network inverts the material."""

    name = "hyperelastic"
    in_dim, out_dim, task_size = 2, 2, 1

    def __init__(self, n_domain: int = 256, n_boundary: int = 64, bc_weight: float = 1000.0,
                 j_min: float = 0.05):
        self.n_domain, self.n_boundary = n_domain, n_boundary
        self.bc_weight, self.j_min = bc_weight, j_min
        m = IsochoricNeoHookean.from_young(hyper.YOUNG, hyper.NU)
        self.mu, self.kappa = m.mu, m.kappa

    def config(self) -> dict:
        return {"n_domain": self.n_domain, "n_boundary": self.n_boundary,
                "bc_weight": self.bc_weight, "j_min": self.j_min}

    def sample_tasks(self, n: int, *, key) -> jax.Array:
        """Radius scales s ~ U(0.2, 1.5) with thin ligaments rejected, i.e. U(0.2, s_max)."""
        return jax.random.uniform(key, (n, 1), minval=0.2, maxval=hyper.max_scale())

    def points(self, task, *, key):
        """(n_domain, 2) material points, (n_boundary, 2) top and bottom points."""
        k1, k2, k3, k4 = jax.random.split(key, 4)
        # 8 candidates per point: the material is >= 29 % of the square at the largest pores
        cand = jax.random.uniform(k1, (8 * self.n_domain, 2), task.dtype)
        centres = jnp.asarray(hyper.pore_centres(), task.dtype)
        d2 = jnp.sum((cand[:, None, :] - centres[None]) ** 2, axis=-1)
        r = hyper.radius_of_scale(task[0])
        xd = _choose(k2, cand, jnp.all(d2 > r * r, axis=1), self.n_domain)
        top = jnp.stack([jax.random.uniform(k3, (self.n_boundary,), task.dtype),
                         jnp.ones(self.n_boundary, task.dtype)], axis=1)
        bottom = jnp.stack([jax.random.uniform(k4, (self.n_boundary,), task.dtype),
                            jnp.zeros(self.n_boundary, task.dtype)], axis=1)
        return xd, top, bottom

    def loss(self, model, task, *, key):
        xd, top, bottom = self.points(task, key=key)
        F = jnp.eye(2, dtype=xd.dtype)[None] + jax.vmap(jax.jacfwd(model))(xd)
        target = jnp.asarray(hyper.TOP_DISPLACEMENT, xd.dtype)
        bc = (jnp.mean(jnp.sum((jax.vmap(model)(top) - target[None]) ** 2, axis=1))
              + jnp.mean(jnp.sum(jax.vmap(model)(bottom) ** 2, axis=1)))
        W = meta_neo_hookean_density(F, self.mu, self.kappa, self.j_min)
        return jnp.mean(W) + self.bc_weight * bc

    def held_out(self, n: int, seed: int = 1_000_003):
        return hyper.sample_hyper_tasks(n, seed)


FAMILIES = {"poisson": PoissonFamily, "burgers": BurgersFamily,
            "hyperelastic": HyperelasticFamily}
"""The PDE task families by name -> family class."""
