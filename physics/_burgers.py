"""Reference solvers of the 1-D viscous Burgers equation u_t + u u_x = nu u_xx on x in [0, 1],
t in [0, t_end], u(0, t) = u(1, t) = 0 (the Meta-PDE family of Qin et al. 2022, Sec. 4.2, lives
in `morphax.learners.meta_pde`).

`burgers_fd`: an implicit (Crank-Nicolson or backward Euler) finite-difference stepper with a
Newton solve per step on the tridiagonal Jacobian (scipy.linalg.solve_banded): O(nx) per
Newton iteration. `burgers_cole_hopf`: the exact solution for u0 = sin(pi x) (the Cole-Hopf
series with scaled Bessel coefficients), which checks the stepper.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from jaxtyping import ArrayLike, Float

from morphax._core import ConvergenceError, InputError


@dataclasses.dataclass
class BurgersSolution:
    """u on the grid: x (nx + 1,), t (nt + 1,), u (nt + 1, nx + 1); `seconds` of the solve."""

    x: np.ndarray
    t: np.ndarray
    u: np.ndarray
    seconds: float = 0.0
    newton_iterations: int = 0

    def __call__(self, points) -> np.ndarray:
        """Bilinear interpolation at points (n, 2) of (x, t)."""
        from scipy.interpolate import RegularGridInterpolator

        f = RegularGridInterpolator((self.t, self.x), self.u, bounds_error=False,
                                    fill_value=None)
        p = np.asarray(points, dtype=float)
        return f(np.stack([p[:, 1], p[:, 0]], axis=1))


def burgers_fd(u0, nu: float, nx: int = 256, nt: int = 256, *, theta: float = 0.5,
               t_end: float = 1.0, tol: float = 1e-10, max_iterations: int = 20) -> BurgersSolution:
    """Solve Burgers' equation from the initial condition u0 (a callable x (n,) -> (n,)) with
    viscosity nu on nx cells and nt time steps: central differences in space (conservative
    (u^2/2)_x), the theta-method in time (0.5: Crank-Nicolson, 1: backward Euler), Newton per
    step with the tridiagonal Jacobian."""
    from scipy.linalg import solve_banded

    if not callable(u0):
        raise InputError("burgers_fd(u0, nu, ...) takes the initial condition as a callable "
                         "x -> u0(x); for a Meta-PDE Burgers task use task.solve_fd(nx, nt)")
    if not nu > 0:
        raise InputError(f"burgers_fd needs a viscosity nu > 0, got {nu}")
    if nx < 2 or nt < 1 or not 0.5 <= theta <= 1.0:
        raise InputError(f"burgers_fd needs nx >= 2, nt >= 1, 0.5 <= theta <= 1; got {nx}, "
                         f"{nt}, {theta}")
    start = time.perf_counter()
    h, dt = 1.0 / nx, t_end / nt
    x = np.linspace(0.0, 1.0, nx + 1)
    U = np.zeros((nt + 1, nx + 1))
    U[0] = np.asarray(u0(x), dtype=float)
    U[0, [0, -1]] = 0.0
    c_d, c_c = nu / h ** 2, 1.0 / (4.0 * h)

    def operator(u):   # N(u) at interior nodes, u with zero ends
        return (c_c * (u[2:] ** 2 - u[:-2] ** 2)
                - c_d * (u[2:] - 2 * u[1:-1] + u[:-2]))

    its = 0
    for n in range(nt):
        old = U[n]
        rhs_old = old[1:-1] - (1 - theta) * dt * operator(old)
        u = old.copy()
        for _it in range(max_iterations):
            r = u[1:-1] + theta * dt * operator(u) - rhs_old
            its += 1
            if np.max(np.abs(r)) <= tol:
                break
            ab = np.zeros((3, nx - 1))
            ab[1] = 1.0 + theta * dt * 2 * c_d
            ab[0, 1:] = theta * dt * (2 * c_c * u[2:-1] - c_d)       # d r_i / d u_{i+1}
            ab[2, :-1] = theta * dt * (-2 * c_c * u[1:-2] - c_d)     # d r_i / d u_{i-1}
            u[1:-1] -= solve_banded((1, 1), ab, r)
        else:
            raise ConvergenceError(f"Burgers Newton did not converge at step {n} (residual "
                                   f"{np.max(np.abs(r)):.2e}); use more time steps")
        U[n + 1] = u
    return BurgersSolution(x, np.linspace(0.0, t_end, nt + 1), U, time.perf_counter() - start,
                           its)


def burgers_cole_hopf(x: Float[ArrayLike, "..."], t: Float[ArrayLike, "..."], nu: float,
                      terms: int = 400) -> Float[np.ndarray, "..."]:
    """Exact solution for u0 = sin(pi x), zero ends: u = -2 nu theta_x / theta with
    theta = I0(k) + 2 sum_n I_n(k) exp(-n^2 pi^2 nu t) cos(n pi x), k = 1 / (2 pi nu)
    (scaled Bessel functions ive avoid overflow). x, t broadcast; t > 0 converges fastest."""
    from scipy.special import ive

    x, t = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(t, dtype=float))
    k = 1.0 / (2.0 * np.pi * nu)
    n = np.arange(1, terms + 1)
    c = ive(n, k) * np.exp(-(n * np.pi) ** 2 * nu * t[..., None])
    theta = ive(0, k) + 2.0 * np.sum(c * np.cos(n * np.pi * x[..., None]), axis=-1)
    theta_x = -2.0 * np.sum(c * n * np.pi * np.sin(n * np.pi * x[..., None]), axis=-1)
    return -2.0 * nu * theta_x / theta
