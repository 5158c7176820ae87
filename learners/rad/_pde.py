"""The RAD gradient estimator of the paper's Eq. 7 for the reaction-diffusion control problem
(`morphax.physics.ReactionDiffusion`).

The exact gradient (RAD paper, Sec. 5)

    dL/dtheta = sum_t dL/dphi_t sum_{i<=t} (prod_{j=i}^{t-1} dphi_{j+1}/dphi_j)
                dphi_i/dC_{i-1} dC_{i-1}/dtheta

needs only the states phi_t: the step Jacobians dphi_{j+1}/dphi_j = mask (I + dt D lap + dt C_j)
do not depend on phi, and C_j is recomputed from (theta, t_j). Eq. 7 replaces both places where
a stored state enters, dL/dphi_t = (2 dt / n^2)(phi_t - phi*_t) and dphi_{i}/dC_{i-1} =
dt diag(mask phi_{i-1}), by the sampled state S_P[phi] = P phi with P = (N/k) sum_s e_{i_s}
e_{i_s}^T (N = n^2 values, k = round(keep N) indices drawn uniformly with replacement, new ones
at every step). The two factors of every term use samples of different steps, so the estimate
is unbiased, and the backward pass stores n_t * k floats instead of n_t * n^2.

`estimator="released"` reproduces the authors' released code instead (indices without
replacement, no N/k rescaling, loss gradient from the zero-filled state and a sparsified
target): a biased, down-scaled estimate kept only to show the difference.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from morphax._core import InputError, cached
from morphax.physics import ReactionDiffusion

from ._loop import timed_steps
from ._sampling import is_exact, num_kept

ESTIMATORS = ("eq7", "released")
"""Gradient estimators: the paper's unbiased Eq. 7, or the authors' released (biased) code."""


def rd_stored_values_per_step(problem: ReactionDiffusion, keep: float) -> int:
    """k: state values the backward pass stores per time step (n^2 at keep = 1)."""
    return problem.state_size if is_exact(keep) else num_kept(problem.state_size, keep)


def _indices(key, step, problem, keep, estimator):
    n2 = problem.state_size
    k = num_kept(n2, keep)
    step_key = jax.random.fold_in(key, step)
    if estimator == "released":
        return jax.random.permutation(step_key, n2)[:k]
    return jax.random.randint(step_key, (k,), 0, n2)


def _make(problem: ReactionDiffusion, keep: float, estimator: str):
    n, n2, dt = problem.n, problem.state_size, problem.dt
    exact = is_exact(keep)
    k = rd_stored_values_per_step(problem, keep)
    scale = 1.0 if estimator == "released" else n2 / k

    def forward(theta, key):
        def store(i, phi):
            flat = phi.reshape(-1)
            return flat if exact else flat[_indices(key, i, problem, keep, estimator)]

        return problem.loss_scan(theta, emit=store)

    @jax.custom_vjp
    def loss_fn(theta, key):
        return forward(theta, key)[0]

    def fwd(theta, key):
        loss, stored = forward(theta, key)
        return loss, (theta, key, stored)

    def bwd(res, gbar):
        theta, key, stored = res
        dtype = theta.dtype
        times = problem.times(dtype)
        mask = problem.interior_mask(dtype)
        coef = gbar * (2.0 * dt / n2)

        def sampled(values, j):
            """(P phi_j, P (phi_j - phi*_j)) as (n, n) arrays from the stored values."""
            target = problem.target(times[j], dtype).reshape(-1)
            if exact:
                return values.reshape(n, n), (values - target).reshape(n, n)
            idx = _indices(key, j - 1, problem, keep, estimator)
            zero = jnp.zeros((n2,), dtype)
            phi_hat = zero.at[idx].add(values * scale)
            err_hat = zero.at[idx].add((values - target[idx]) * scale)
            return phi_hat.reshape(n, n), err_hat.reshape(n, n)

        def body(carry, inp):
            a_next, grad = carry  # a_next = dL/dphi_{j+1} (total), zero after the last step
            values, j = inp
            phi_hat, err_hat = sampled(values, j)
            basis = problem.source_basis(times[j], dtype)
            # theta-part of step j -> j+1: dphi_{j+1}/dC_j = dt diag(mask phi_j).
            grad = grad + dt * jnp.tensordot(basis, mask * phi_hat * a_next, axes=2)
            c_j = jnp.tensordot(theta, basis, axes=1)
            a_j = coef * err_hat + problem.step_transpose(a_next, c_j)
            return (a_j, grad), None

        init = (jnp.zeros((n, n), dtype), jnp.zeros(theta.shape, dtype))
        steps = jnp.arange(1, problem.num_steps + 1)
        (a_1, grad), _ = jax.lax.scan(body, init, (stored, steps), reverse=True)
        # step 0 -> 1 uses the initial state, which is known exactly (not stored).
        basis0 = problem.source_basis(times[0], dtype)
        grad = grad + dt * jnp.tensordot(basis0, mask * problem.initial(dtype) * a_1, axes=2)
        return grad, None

    loss_fn.defvjp(fwd, bwd)
    return loss_fn


def rd_loss_rad(problem: ReactionDiffusion, theta: Float[Array, "7"], *, keep: float = 1.0,
                estimator: str = "eq7", key: jax.Array) -> jax.Array:
    """The reaction-diffusion loss L(theta) (exactly `ReactionDiffusion.loss`) whose gradient
    is the RAD estimate of the paper's Eq. 7.

    Args:
        problem: the discretized problem (n_t = problem.num_steps explicit steps).
        theta: (7,) Fourier coefficients of the control C.
        keep: fraction of the n^2 state values stored per step, in (0, 1]; 1 is the exact
            adjoint gradient (storing every state).
        estimator: "eq7" (unbiased, the paper's text) or "released" (the authors' code; biased).
        key: PRNG key; step i uses fold_in(key, i).
    Returns:
        scalar loss (theta's dtype). Its backward pass stores n_t * k floats,
        k = `rd_stored_values_per_step(problem, keep)`.
    """
    if estimator not in ESTIMATORS:
        raise InputError(f"unknown estimator {estimator!r}; use one of {ESTIMATORS}")
    if not 0.0 < keep <= 1.0:
        raise InputError(f"keep fraction must be in (0, 1], got {keep}")
    loss = cached(problem, ("rad_loss", float(keep), estimator),
                  lambda: _make(problem, float(keep), estimator))
    return loss(theta, key)


def train_rd_control(problem: ReactionDiffusion, *, keep: float, iterations: int,
                     lr: float = 1e-2, estimator: str = "eq7", dtype=jnp.float32,
                     progress: bool = False, key: jax.Array) -> dict:
    """Adam on theta with RAD gradients (the paper's Fig. 6 runs: lr 1e-2, theta from
    `ReactionDiffusion.initial_theta`). The same `key` gives the same initial theta for every keep.

    Returns a dict: "loss" (iterations + 1,) the exact loss at each iterate (the forward pass
    is exact), "theta" (7,) the final coefficients, "seconds_per_iteration" (after the
    compiling first call) and "compile_s".
    """
    import optax

    k_init, k_rad = jax.random.split(key)
    theta = ReactionDiffusion.initial_theta(key=k_init, dtype=dtype)
    tx = optax.adam(lr)
    opt_state = tx.init(theta)

    @jax.jit
    def step(theta, opt_state, k):
        loss, grad = jax.value_and_grad(
            lambda t: rd_loss_rad(problem, t, keep=keep, estimator=estimator, key=k))(theta)
        with jax.numpy_dtype_promotion("standard"):  # optax: float ** int32 step count
            updates, opt_state = tx.update(grad, opt_state, theta)
        return optax.apply_updates(theta, updates), opt_state, loss

    keys = jax.random.split(k_rad, iterations)
    (theta, _), losses, compile_s, per_it = timed_steps(
        step, (theta, opt_state), keys, desc=f"rd keep={keep}", progress=progress)

    final = jax.jit(lambda t: problem.loss(t))(theta)
    curve = [float(v) for v in jax.device_get(losses)] + [float(final)]
    return {"loss": curve, "theta": theta, "seconds_per_iteration": per_it,
            "compile_s": compile_s}
