"""The Meta-PDE 1-D viscous Burgers family (Qin et al. 2022, Sec. 4.2): u_t + u u_x = nu u_xx on
x in [0, 1], t in [0, 1], u(0, t) = u(1, t) = 0, u(x, 0) = sin(pi x) + a1 sin(2 pi x)
+ a2 sin(4 pi x), nu = 1 / Re. The reference solvers are `morphax.physics.burgers_fd` and
`burgers_cole_hopf`.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from morphax.physics import BurgersSolution, burgers_fd


@dataclasses.dataclass(frozen=True)
class BurgersTask:
    """Initial-condition coefficients (a1, a2) and the Reynolds number (nu = 1 / re)."""

    a1: float
    a2: float
    re: float = 100.0

    VECTOR_SIZE = 3

    def vector(self) -> np.ndarray:
        return np.asarray([self.a1, self.a2, self.re], dtype=float)

    @classmethod
    def from_vector(cls, v) -> BurgersTask:
        return cls(float(v[0]), float(v[1]), float(v[2]))

    @staticmethod
    def initial_of(v, x):
        """u0(x) for a packed task vector v (JAX or NumPy x)."""
        xp = np if isinstance(x, np.ndarray) and isinstance(v, np.ndarray) else jnp
        return (xp.sin(np.pi * x) + v[0] * xp.sin(2 * np.pi * x)
                + v[1] * xp.sin(4 * np.pi * x))

    def initial(self, x):
        return BurgersTask.initial_of(self.vector(), np.asarray(x, dtype=float))

    def solve_fd(self, nx: int = 256, nt: int = 256, **options) -> BurgersSolution:
        """The finite-difference reference (`morphax.physics.burgers_fd`) of this task."""
        return burgers_fd(self.initial, 1.0 / self.re, nx, nt, **options)

    def sample_points(self, n: int, seed: int = 0) -> np.ndarray:
        """n points (x, t) uniform in [0, 1]^2 (the fixed evaluation set for a seed)."""
        return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, 2))


def sample_burgers_tasks(n: int, seed: int, *, amplitude: float = 1.0,
                         re: float = 100.0) -> list[BurgersTask]:
    """n tasks with a1, a2 ~ U(-amplitude, amplitude) and fixed Re (the paper's runs fix Re =
    100 with `--novary_source`; its code draws a ~ U(-2, 2): we default to amplitude 1, which
    keeps the fronts resolvable at CPU-scale resolutions)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-amplitude, amplitude, size=(n, 2))
    return [BurgersTask(float(p), float(q), float(re)) for p, q in a]
