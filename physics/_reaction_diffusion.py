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

Everything here is pure physics (no randomness, no learners). The plain loss `ReactionDiffusion.loss` is
differentiable with ordinary JAX autodiff through `lax.scan`; the memory-saving randomized
estimator of the paper's Eq. 7 lives in `morphax.learners.rad` and uses the methods `step`,
`step_transpose`, `source_basis` and `target` of `ReactionDiffusion`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from morphax._core import InputError


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

    #: Number of Fourier coefficients of the control C (the paper's theta in R^7).
    num_params: ClassVar[int] = 7

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

    def grid(self, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
        """Node coordinates x, y, each (n, n), indexed [i_x, i_y]."""
        s = jnp.linspace(0.0, 1.0, self.n, dtype=dtype)
        return jnp.meshgrid(s, s, indexing="ij")

    def interior_mask(self, dtype=jnp.float32) -> jax.Array:
        """(n, n) array: 1 on interior nodes, 0 on the Dirichlet boundary."""
        m = jnp.zeros((self.n, self.n), dtype=dtype)
        return m.at[1:-1, 1:-1].set(1)

    def initial(self, dtype=jnp.float32) -> jax.Array:
        """phi_0 = sin(pi x) sin(pi y), (n, n), zero on the boundary."""
        x, y = self.grid(dtype)
        return jnp.sin(math.pi * x) * jnp.sin(math.pi * y) * self.interior_mask(dtype)

    def target(self, t: float, dtype=jnp.float32) -> Float[Array, "n n"]:
        """phi*(t) = phi_0 + 1/4 sin(pi t) sin(2 pi x) sin(pi y), (n, n); t a scalar time."""
        x, y = self.grid(dtype)
        t = jnp.asarray(t, dtype=dtype)
        bump = jnp.sin(2 * math.pi * x) * jnp.sin(math.pi * y) * self.interior_mask(dtype)
        return self.initial(dtype) + 0.25 * jnp.sin(math.pi * t) * bump

    def source_basis(self, t: float, dtype=jnp.float32) -> Float[Array, "7 n n"]:
        """The 7 Fourier basis functions of C at time t, (7, n, n): C = tensordot(theta, basis)."""
        x, _ = self.grid(dtype)
        t = jnp.asarray(t, dtype=dtype)
        st, ct = jnp.sin(math.pi * t), jnp.cos(math.pi * t)
        s2, c2 = jnp.sin(2 * math.pi * x), jnp.cos(2 * math.pi * x)
        one = jnp.ones_like(x)
        return jnp.stack([one, st * one, ct * one, s2 * st, s2 * ct, c2 * st, c2 * ct])

    def source(self, theta: Float[Array, "7"], t: float) -> Float[Array, "n n"]:
        """C(x, t; theta), (n, n) (1/time), from theta (7,)."""
        if theta.shape != (self.num_params,):
            raise InputError(f"theta must have shape ({self.num_params},), got {theta.shape}")
        return jnp.tensordot(theta, self.source_basis(t, theta.dtype), axes=1)

    @staticmethod
    def initial_theta(*, key: jax.Array, dtype=jnp.float32) -> Float[Array, "7"]:
        """The paper's initialization: th0 = 4.932 (about 2 D pi^2, the steady state of the
        sin(pi x) sin(pi y) mode), the other six U(-0.1, 0.1). Shape (7,)."""
        rest = jax.random.uniform(key, (ReactionDiffusion.num_params - 1,), dtype=dtype,
                                  minval=-0.1, maxval=0.1)
        return jnp.concatenate([jnp.full((1,), 4.932, dtype=dtype), rest])

    def step(self, phi: Float[Array, "n n"], c: Float[Array, "n n"]) -> Float[Array, "n n"]:
        """One explicit step phi_{i+1} = mask * (phi + dt (D lap(phi) + c phi)); (n, n) -> (n, n).
        Linear in phi for a fixed control c."""
        mask = self.interior_mask(phi.dtype)
        rate = self.diffusivity * _laplacian(phi, self.h) + c * phi
        return mask * (phi + self.dt * rate)

    def step_transpose(self, a: Float[Array, "n n"], c: Float[Array, "n n"]) -> Float[Array, "n n"]:
        """The transpose of `step` in phi: J^T a with J = d phi_{i+1} / d phi_i (the adjoint
        step of the backward pass). (n, n) -> (n, n)."""
        b = self.interior_mask(a.dtype) * a
        return b + self.dt * (self.diffusivity * _laplacian(b, self.h) + c * b)

    def times(self, dtype=jnp.float32) -> jax.Array:
        """t_i = i dt for i = 0 .. n_t, (n_t + 1,)."""
        return jnp.arange(self.num_steps + 1, dtype=dtype) * self.dt

    def loss(self, theta: Float[Array, "7"]) -> Float[Array, ""]:
        """L(theta) = sum_{i=1..n_t} dt * mean((phi_i - phi*(t_i))^2), a scalar in theta's dtype.

        Runs the n_t explicit steps in a `lax.scan` without storing the trajectory; plain JAX
        autodiff of this function keeps every state (and more) for the backward pass."""
        return self.loss_scan(theta)[0]

    def loss_scan(self, theta: Float[Array, "7"], emit=None):
        """The scan behind `loss`: (L(theta), emitted), where emitted stacks emit(i, phi_{i+1})
        over the steps i = 0 .. n_t - 1 (None without `emit`): what a custom backward pass keeps
        of the trajectory."""
        dtype = theta.dtype
        times = self.times(dtype)

        def body(carry, i):
            phi, loss = carry
            phi = self.step(phi, self.source(theta, times[i]))
            err = phi - self.target(times[i + 1], dtype)
            out = None if emit is None else emit(i, phi)
            return (phi, loss + self.dt * jnp.mean(err * err)), out

        init = (self.initial(dtype), jnp.zeros((), dtype))
        (_, loss), emitted = jax.lax.scan(body, init, jnp.arange(self.num_steps))
        return loss, emitted

    def trajectory(self, theta: Float[Array, "7"], every: int = 1) -> Float[Array, "s n n"]:
        """States phi_0, phi_every, phi_2every, ... as (n_t // every + 1, n, n), for plots."""
        dtype = theta.dtype
        times = self.times(dtype)

        def body(phi, i):
            phi = self.step(phi, self.source(theta, times[i]))
            return phi, phi

        phi0 = self.initial(dtype)
        _, traj = jax.lax.scan(body, phi0, jnp.arange(self.num_steps))
        return jnp.concatenate([phi0[None], traj[every - 1::every]])


def _laplacian(phi: jax.Array, h: float) -> jax.Array:
    """5-point Laplacian with zero values outside the grid (a symmetric operator)."""
    p = jnp.pad(phi, 1)
    return (p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * phi) / (h * h)
