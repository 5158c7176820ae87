"""The fission-reactor reaction-diffusion control problem (RAD paper, Sec. 5; McClarren 2018).

    dphi/dt = D lap(phi) + C(x, t; theta) phi   on [0, 1]^2,   phi = 0 on the boundary,

discretized on an n x n node grid (spacing h = 1/(n-1)) with the 5-point Laplacian and
explicit Euler steps of size dt:

    phi_{i+1} = mask * (phi_i + dt * (D lap(phi_i) + C_i * phi_i)) = M phi_i + dt mask C_i phi_i,

where `mask` zeroes the boundary nodes and C_i = C(x, t_i; theta) with t_i = i dt. The control
C is the 7-term Fourier series of the paper's code (it depends on x and t, not on y):

    C = th0 + th1 sin(pi t) + th2 cos(pi t) + th3 sin(2 pi x) sin(pi t) + th4 sin(2 pi x) cos(pi t)
        + th5 cos(2 pi x) sin(pi t) + th6 cos(2 pi x) cos(pi t).

Initial condition phi_0 = sin(pi x) sin(pi y); target phi*(t) = phi_0 + 1/4 sin(pi t) sin(2 pi x)
sin(pi y); loss L = sum_{i=1..n_t} dt * mean_grid((phi_i - phi*(t_i))^2) (the paper's code; the
text writes (1/T) sum_t ||phi_t - phi_t*||^2, the same up to a constant factor).

Everything here is pure physics (no randomness, no learners). The plain loss `rd_loss` is
differentiable with ordinary JAX autodiff through `lax.scan`; the memory-saving randomized
estimator of the paper's Eq. 7 lives in `morphax.learners.rad` and uses `rd_step`,
`rd_step_transpose`, `rd_source_basis` and `rd_target` from here.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from morphax._core import InputError

#: Number of Fourier coefficients of the control C (the paper's theta in R^7).
RD_NUM_PARAMS = 7


@dataclasses.dataclass(frozen=True)
class ReactionDiffusion:
    """The discretized problem. Defaults are the paper's setup (33 x 33 nodes, D = 0.25,
    dt = 1/4096, horizon T = 10, i.e. 40,960 explicit steps).

    Attributes:
        n: nodes per side (n x n grid on the unit square, spacing h = 1/(n-1)).
        diffusivity: D (length^2 / time).
        dt: time step (time units).
        horizon: final time T; the number of steps is round(T / dt).
    """

    n: int = 33
    diffusivity: float = 0.25
    dt: float = 1.0 / 4096
    horizon: float = 10.0

    def __post_init__(self):
        if self.n < 3:
            raise InputError(f"ReactionDiffusion needs n >= 3 nodes per side, got n={self.n}")
        if self.dt <= 0 or self.horizon <= 0 or self.diffusivity < 0:
            raise InputError("ReactionDiffusion needs dt > 0, horizon > 0 and diffusivity >= 0; "
                             f"got dt={self.dt}, horizon={self.horizon}, D={self.diffusivity}")
        if self.num_steps < 1:
            raise InputError(f"horizon {self.horizon} is shorter than one step dt={self.dt}")
        if self.courant > 0.25:
            raise InputError(
                f"explicit diffusion is unstable: D dt / h^2 = {self.courant:.4g} > 1/4; "
                f"use dt <= {0.25 * self.h ** 2 / self.diffusivity:.3g} or a coarser grid")

    @property
    def h(self) -> float:
        """Grid spacing 1/(n-1)."""
        return 1.0 / (self.n - 1)

    @property
    def num_steps(self) -> int:
        """Number of explicit steps n_t = round(T / dt)."""
        return int(round(self.horizon / self.dt))

    @property
    def courant(self) -> float:
        """D dt / h^2; the explicit scheme is stable for <= 1/4 (the paper's setup: 0.0625)."""
        return self.diffusivity * self.dt / self.h ** 2

    @property
    def state_size(self) -> int:
        """Values per state phi_i: n^2 (1089 for the paper's grid)."""
        return self.n * self.n


def rd_grid(problem: ReactionDiffusion, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """Node coordinates x, y, each (n, n), indexed [i_x, i_y]."""
    s = jnp.linspace(0.0, 1.0, problem.n, dtype=dtype)
    return jnp.meshgrid(s, s, indexing="ij")


def rd_interior_mask(problem: ReactionDiffusion, dtype=jnp.float32) -> jax.Array:
    """(n, n) array: 1 on interior nodes, 0 on the Dirichlet boundary."""
    m = jnp.zeros((problem.n, problem.n), dtype=dtype)
    return m.at[1:-1, 1:-1].set(1)


def rd_initial(problem: ReactionDiffusion, dtype=jnp.float32) -> jax.Array:
    """phi_0 = sin(pi x) sin(pi y), (n, n), zero on the boundary."""
    x, y = rd_grid(problem, dtype)
    return jnp.sin(math.pi * x) * jnp.sin(math.pi * y) * rd_interior_mask(problem, dtype)


def rd_target(problem: ReactionDiffusion, t, dtype=jnp.float32) -> jax.Array:
    """phi*(t) = phi_0 + 1/4 sin(pi t) sin(2 pi x) sin(pi y), (n, n); t a scalar time."""
    x, y = rd_grid(problem, dtype)
    t = jnp.asarray(t, dtype=dtype)
    bump = jnp.sin(2 * math.pi * x) * jnp.sin(math.pi * y) * rd_interior_mask(problem, dtype)
    return rd_initial(problem, dtype) + 0.25 * jnp.sin(math.pi * t) * bump


def rd_source_basis(problem: ReactionDiffusion, t, dtype=jnp.float32) -> jax.Array:
    """The 7 Fourier basis functions of C at time t, (7, n, n): C = tensordot(theta, basis)."""
    x, _ = rd_grid(problem, dtype)
    t = jnp.asarray(t, dtype=dtype)
    st, ct = jnp.sin(math.pi * t), jnp.cos(math.pi * t)
    s2, c2 = jnp.sin(2 * math.pi * x), jnp.cos(2 * math.pi * x)
    one = jnp.ones_like(x)
    return jnp.stack([one, st * one, ct * one, s2 * st, s2 * ct, c2 * st, c2 * ct])


def rd_source(problem: ReactionDiffusion, theta: jax.Array, t) -> jax.Array:
    """C(x, t; theta), (n, n) (1/time), from theta (7,)."""
    if theta.shape != (RD_NUM_PARAMS,):
        raise InputError(f"theta must have shape ({RD_NUM_PARAMS},), got {theta.shape}")
    return jnp.tensordot(theta, rd_source_basis(problem, t, theta.dtype), axes=1)


def rd_initial_theta(*, key: jax.Array, dtype=jnp.float32) -> jax.Array:
    """The paper's initialization: th0 = 4.932 (about 2 D pi^2, the steady state of the
    sin(pi x) sin(pi y) mode), the other six U(-0.1, 0.1). Shape (7,)."""
    rest = jax.random.uniform(key, (RD_NUM_PARAMS - 1,), dtype=dtype, minval=-0.1, maxval=0.1)
    return jnp.concatenate([jnp.full((1,), 4.932, dtype=dtype), rest])


def _laplacian(phi: jax.Array, h: float) -> jax.Array:
    """5-point Laplacian with zero values outside the grid (a symmetric operator)."""
    p = jnp.pad(phi, 1)
    return (p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * phi) / (h * h)


def rd_step(problem: ReactionDiffusion, phi: jax.Array, c: jax.Array) -> jax.Array:
    """One explicit step phi_{i+1} = mask * (phi + dt (D lap(phi) + c phi)); (n, n) -> (n, n).
    Linear in phi for a fixed control c."""
    mask = rd_interior_mask(problem, phi.dtype)
    rate = problem.diffusivity * _laplacian(phi, problem.h) + c * phi
    return mask * (phi + problem.dt * rate)


def rd_step_transpose(problem: ReactionDiffusion, a: jax.Array, c: jax.Array) -> jax.Array:
    """The transpose of `rd_step` in phi: J^T a with J = d phi_{i+1} / d phi_i (the adjoint
    step of the backward pass). (n, n) -> (n, n)."""
    b = rd_interior_mask(problem, a.dtype) * a
    return b + problem.dt * (problem.diffusivity * _laplacian(b, problem.h) + c * b)


def rd_times(problem: ReactionDiffusion, dtype=jnp.float32) -> jax.Array:
    """t_i = i dt for i = 0 .. n_t, (n_t + 1,)."""
    return jnp.arange(problem.num_steps + 1, dtype=dtype) * problem.dt


def rd_loss(problem: ReactionDiffusion, theta: jax.Array) -> jax.Array:
    """L(theta) = sum_{i=1..n_t} dt * mean((phi_i - phi*(t_i))^2), a scalar in theta's dtype.

    Runs the n_t explicit steps in a `lax.scan` without storing the trajectory; plain JAX
    autodiff of this function keeps every state (and more) for the backward pass."""
    return rd_loss_scan(problem, theta)[0]


def rd_loss_scan(problem: ReactionDiffusion, theta: jax.Array, emit=None):
    """The scan behind `rd_loss`: (L(theta), emitted), where emitted stacks emit(i, phi_{i+1})
    over the steps i = 0 .. n_t - 1 (None without `emit`): what a custom backward pass keeps
    of the trajectory."""
    dtype = theta.dtype
    times = rd_times(problem, dtype)

    def body(carry, i):
        phi, loss = carry
        phi = rd_step(problem, phi, rd_source(problem, theta, times[i]))
        err = phi - rd_target(problem, times[i + 1], dtype)
        out = None if emit is None else emit(i, phi)
        return (phi, loss + problem.dt * jnp.mean(err * err)), out

    init = (rd_initial(problem, dtype), jnp.zeros((), dtype))
    (_, loss), emitted = jax.lax.scan(body, init, jnp.arange(problem.num_steps))
    return loss, emitted


def rd_trajectory(problem: ReactionDiffusion, theta: jax.Array, every: int = 1) -> jax.Array:
    """States phi_0, phi_every, phi_2every, ... as (n_t // every + 1, n, n), for plots."""
    dtype = theta.dtype
    times = rd_times(problem, dtype)

    def body(phi, i):
        phi = rd_step(problem, phi, rd_source(problem, theta, times[i]))
        return phi, phi

    phi0 = rd_initial(problem, dtype)
    _, traj = jax.lax.scan(body, phi0, jnp.arange(problem.num_steps))
    return jnp.concatenate([phi0[None], traj[every - 1::every]])
