"""Implicit layers: fixed points and minimisers differentiated with the implicit function
theorem (`jax.custom_vjp`), plus unrolled versions that tests compare them with.

Forward solves run in `lax.while_loop` to a tolerance; the backward pass of a fixed point
h* = f(theta, h*) iterates the adjoint v = g + (df/dh)^T v (fixed-point adjoint, as in IGNN);
that of a minimiser h* = argmin E(theta, h) solves (d2E/dh2) w = g by conjugate gradients and
returns -(d2E/dh dtheta)^T w. Preconditioners P are diagonal (h's shape, or broadcasting to
it) or block diagonal (n, d, d) with symmetric positive definite blocks for h (n, d).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.sparse.linalg import cg


def _max_abs(x):
    return jnp.max(jnp.abs(x))


def _zero_cotangent(x):
    """A zero cotangent for a primal leaf (float0 for integer and boolean arrays)."""
    if jnp.issubdtype(jnp.result_type(x), jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(np.shape(x), jax.dtypes.float0)


def _negate(x):
    return x if x.dtype == jax.dtypes.float0 else -x


def apply_precond(m, v):
    """m v for a diagonal m (broadcasting to v) or block diagonal m (n, d, d) and v (n, d)."""
    return jnp.einsum("nij,nj->ni", m, v) if m.ndim == 3 else m * v


def precond_powers(precond):
    """(P^-1/2, P^-1) of a diagonal or block diagonal preconditioner, in P's layout."""
    if precond.ndim != 3:
        return 1.0 / jnp.sqrt(precond), 1.0 / precond
    w, v = jnp.linalg.eigh(precond)
    scaled = lambda e: jnp.einsum("nij,nj,nkj->nik", v, e, v)  # noqa: E731
    return scaled(1.0 / jnp.sqrt(w)), scaled(1.0 / w)


def _iterate(step, h0, tol, max_iter):
    """Run h <- step(h) until max |change| < tol or max_iter; returns (h, iterations, change)."""
    def cond(c):
        return (c[1] < max_iter) & (c[2] >= tol)

    def body(c):
        h, k, _ = c
        new = step(h)
        return new, k + 1, _max_abs(new - h)

    return jax.lax.while_loop(cond, body, (h0, jnp.asarray(0), jnp.asarray(jnp.inf, h0.dtype)))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 3, 4))
def fixed_point(f, theta, h0, tol: float = 1e-10, max_iter: int = 2000):
    """h* = f(theta, h*) by fixed-point iteration from h0 (h0 gets no gradient).

    f(theta, h) -> h, a contraction in h; theta any pytree. Gradients in theta by the
    implicit function theorem with the fixed-point adjoint iteration.
    """
    return _iterate(lambda h: f(theta, h), h0, tol, max_iter)[0]


def _fp_fwd(f, theta, h0, tol, max_iter):
    h = fixed_point(f, theta, h0, tol, max_iter)
    return h, (theta, h0, h)


def _fp_bwd(f, tol, max_iter, res, g):
    theta, h0, h = res
    _, vjp_h = jax.vjp(lambda x: f(theta, x), h)
    v = _iterate(lambda v: g + vjp_h(v)[0], g, tol, max_iter)[0]
    _, vjp_t = jax.vjp(lambda t: f(t, h), theta)
    return vjp_t(v)[0], jax.tree.map(_zero_cotangent, h0)


fixed_point.defvjp(_fp_fwd, _fp_bwd)


def hessian_bound(grad_fn, theta, h, precond, iterations: int = 20):
    """Largest eigenvalue of P^-1/2 (d2E/dh2) P^-1/2 at h by power iteration, where
    grad_fn(theta, h) = dE/dh and P is diagonal or block diagonal (module doc)."""
    s = precond_powers(precond)[0]

    def hvp(v):
        return apply_precond(s, jax.jvp(lambda x: grad_fn(theta, x), (h,), (apply_precond(s, v),))[1])

    def body(_, v):
        w = hvp(v)
        return w / jnp.maximum(jnp.linalg.norm(w), 1e-30)

    # a fixed random start: a constant vector can be an eigenvector (graph Laplacians)
    v0 = jax.random.normal(jax.random.key(0), h.shape, h.dtype)
    v0 = v0 / jnp.linalg.norm(v0)
    v = jax.lax.fori_loop(0, iterations, body, v0)
    return jnp.vdot(v, hvp(v))


def _minimise(grad_fn, theta, h0, precond, tol, max_iter):
    """Preconditioned accelerated gradient descent with adaptive restart (O'Donoghue and
    Candes 2015) on a strongly convex E; stops when max |P^-1 dE/dh| < tol or max_iter."""
    lip = 1.1 * hessian_bound(grad_fn, theta, jax.lax.stop_gradient(h0), precond)
    pinv = precond_powers(precond)[1] / lip

    def cond(c):
        return (c[3] < max_iter) & (c[4] >= tol)

    def body(c):
        x, y, t, k, _ = c
        gy = grad_fn(theta, y)
        d = apply_precond(pinv, gy)
        x_new = y - d
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        restart = jnp.vdot(gy, x_new - x) > 0
        t_new = jnp.where(restart, 1.0, t_new)
        y_new = jnp.where(restart, x_new, x_new + ((t - 1.0) / t_new) * (x_new - x))
        return x_new, y_new, t_new, k + 1, _max_abs(d) * lip

    one = jnp.asarray(1.0, h0.dtype)
    init = (h0, h0, one, jnp.asarray(0), jnp.asarray(jnp.inf, h0.dtype))
    return jax.lax.while_loop(cond, body, init)[0]


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 4, 5))
def argmin(grad_fn, theta, h0, precond, tol: float = 1e-10, max_iter: int = 5000):
    """h* = argmin_h E(theta, h) for a strongly convex E given by grad_fn(theta, h) = dE/dh.

    precond: diagonal (h's shape, positive; ones if none) or block diagonal (n, d, d)
    preconditioner P (module doc). Gradients in
    theta by the implicit function theorem, the adjoint solved by conjugate gradients on
    Hessian-vector products; h0 and precond get no gradient.
    """
    return _minimise(grad_fn, theta, h0, precond, tol, max_iter)


def _am_fwd(grad_fn, theta, h0, precond, tol, max_iter):
    h = argmin(grad_fn, theta, h0, precond, tol, max_iter)
    return h, (theta, h0, precond, h)


def _am_bwd(grad_fn, tol, max_iter, res, g):
    theta, h0, precond, h = res

    def hvp(v):
        return jax.jvp(lambda x: grad_fn(theta, x), (h,), (v,))[1]

    pinv = precond_powers(precond)[1]
    w = cg(hvp, g, tol=tol, maxiter=max_iter, M=lambda v: apply_precond(pinv, v))[0]
    _, vjp_t = jax.vjp(lambda t: grad_fn(t, h), theta)
    bar = jax.tree.map(_negate, vjp_t(w)[0])
    return bar, jax.tree.map(_zero_cotangent, h0), jax.tree.map(_zero_cotangent, precond)


argmin.defvjp(_am_fwd, _am_bwd)


def unrolled_fixed_point(f, theta, h0, iterations: int):
    """f applied `iterations` times from h0, differentiated by plain autodiff (for tests)."""
    return jax.lax.fori_loop(0, iterations, lambda _, h: f(theta, h), h0)


def unrolled_gradient_descent(grad_fn, theta, h0, step, iterations: int):
    """`iterations` gradient steps h <- h - step dE/dh, differentiated by autodiff; step is a
    scalar, diagonal (broadcasting to h) or block diagonal (n, d, d)."""
    step = jnp.asarray(step)
    return jax.lax.fori_loop(0, iterations, lambda _, h: h - apply_precond(step, grad_fn(theta, h)), h0)
