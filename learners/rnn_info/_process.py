"""Restorative Brownian motion: a linear SDE simulated exactly at time-lapse dt, and the exact
covariance of its past/future observation windows.

The process (Palmer et al. 2015; Noerrelykke & Flyvbjerg 2011, "Harmonic oscillator in heat
bath: exact simulation of time-lapse-recorded data") is a noise-driven damped oscillator

    dx = v dt,   dv = (-gamma v - omega^2 x) dt + sqrt(D) dW,

observed as y_t = x(t dt) (+ optional white observation noise). With state s = (x, v) it is a
linear SDE ds = A s dt + B dW; over one step s_{t+1} = F s_t + w_t, w_t ~ N(0, Q), with
F = expm(A dt) and Q from Van Loan's block exponential: exact, not an Euler step.
The Ornstein-Uhlenbeck process dx = -rate x dt + sqrt(D) dW is the one-dimensional case.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from morphax._core import InputError


@dataclasses.dataclass(frozen=True)
class LinearSDE:
    """ds = A s dt + B dW observed as y = H s + obs_noise * e, e ~ N(0, 1), every dt seconds.

    drift A (d, d) [1/s], diffusion B (d, q), observe H (1, d), as nested tuples; dt [s].
    """

    drift: tuple
    diffusion: tuple
    observe: tuple
    dt: float
    obs_noise: float = 0.0

    def __post_init__(self):
        a = np.asarray(self.drift, float)
        if a.ndim != 2 or a.shape[0] != a.shape[1] or not np.all(np.isfinite(a)):
            raise InputError(f"drift must be a finite square matrix, got shape {a.shape}")
        if np.max(np.linalg.eigvals(a).real) >= 0:
            raise InputError("drift has an eigenvalue with real part >= 0: the process has no "
                             "stationary state; use positive damping / rate")
        if not (math.isfinite(self.dt) and self.dt > 0):
            raise InputError(f"dt must be a positive number of seconds, got {self.dt}")
        if not (math.isfinite(self.obs_noise) and self.obs_noise >= 0):
            raise InputError(f"obs_noise must be >= 0, got {self.obs_noise}")


def restorative_brownian_motion(omega: float = 2 * math.pi * 1.5, gamma: float = 20.0,
                                dt: float = 1 / 60, obs_noise: float = 0.0) -> LinearSDE:
    """The damped oscillator of Palmer et al. (omega [rad/s], gamma [1/s], dt [s]) with the
    noise strength D = 2 gamma omega^2 that makes the stationary variance of x equal to 1
    (D only sets the scale; no mutual information depends on it)."""
    for name, value in (("omega", omega), ("gamma", gamma)):
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{name} must be positive, got {value}")
    d = 2 * gamma * omega**2
    return LinearSDE(((0.0, 1.0), (-omega**2, -gamma)), ((0.0,), (math.sqrt(d),)),
                     ((1.0, 0.0),), float(dt), float(obs_noise))


def ornstein_uhlenbeck(rate: float = 5.0, dt: float = 1 / 60, obs_noise: float = 0.0
                       ) -> LinearSDE:
    """dx = -rate x dt + sqrt(2 rate) dW (stationary variance 1), observed every dt seconds."""
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"rate must be positive, got {rate}")
    return LinearSDE(((-rate,),), ((math.sqrt(2 * rate),),), ((1.0,),), float(dt),
                     float(obs_noise))


def discretize(sde: LinearSDE) -> tuple[np.ndarray, np.ndarray]:
    """Exact one-step transition: F = expm(A dt) (d, d) and noise covariance
    Q = int_0^dt expm(A s) B B^T expm(A s)^T ds (d, d), by Van Loan's block exponential."""
    a = np.asarray(sde.drift, float)
    b = np.asarray(sde.diffusion, float)
    d = a.shape[0]
    block = np.zeros((2 * d, 2 * d))
    block[:d, :d] = -a
    block[:d, d:] = b @ b.T
    block[d:, d:] = a.T
    e = scipy.linalg.expm(block * sde.dt)
    f = e[d:, d:].T
    q = f @ e[:d, d:]
    return f, 0.5 * (q + q.T)


def stationary_covariance(sde: LinearSDE) -> np.ndarray:
    """The stationary state covariance P (d, d): A P + P A^T + B B^T = 0."""
    a = np.asarray(sde.drift, float)
    b = np.asarray(sde.diffusion, float)
    p = scipy.linalg.solve_continuous_lyapunov(a, -b @ b.T)
    return 0.5 * (p + p.T)


def autocovariance(sde: LinearSDE, max_lag: int) -> np.ndarray:
    """c_k = Cov(y_{t+k}, y_t) for k = 0 ... max_lag, shape (max_lag + 1,)."""
    f, _ = discretize(sde)
    p = stationary_covariance(sde)
    h = np.asarray(sde.observe, float)
    out = np.empty(max_lag + 1)
    fk = np.eye(f.shape[0])
    for k in range(max_lag + 1):
        out[k] = (h @ fk @ p @ h.T)[0, 0]
        fk = f @ fk
    out[0] += sde.obs_noise**2
    return out


def window_covariance(sde: LinearSDE, n_past: int, n_future: int) -> np.ndarray:
    """Covariance (n_past + n_future, n_past + n_future) of the stacked window
    (y_{t-n_past+1}, ..., y_t, y_{t+1}, ..., y_{t+n_future}): past first, oldest first."""
    if n_past < 1 or n_future < 1:
        raise InputError(f"windows need n_past >= 1 and n_future >= 1, got {n_past}, {n_future}")
    n = n_past + n_future
    return scipy.linalg.toeplitz(autocovariance(sde, n - 1))


def simulate(sde: LinearSDE, num: int, length: int, *, key: jax.Array) -> jax.Array:
    """`num` independent stationary sequences of `length` observations, (num, length), by the
    exact recursion s_{t+1} = F s_t + w_t from s_0 ~ N(0, P)."""
    if num < 1 or length < 1:
        raise InputError(f"num and length must be >= 1, got {num}, {length}")
    f, q = discretize(sde)
    p = stationary_covariance(sde)
    d = f.shape[0]
    lq = jnp.asarray(np.linalg.cholesky(q))
    lp = jnp.asarray(np.linalg.cholesky(p))
    f = jnp.asarray(f)
    h = jnp.asarray(np.asarray(sde.observe, float)[0])
    k0, k1, k2 = jax.random.split(key, 3)
    s0 = jax.random.normal(k0, (num, d)) @ lp.T
    noise = jax.random.normal(k1, (length - 1, num, d))

    def step(s, e):
        s_next = s @ f.T + e @ lq.T
        return s_next, s_next

    _, states = jax.lax.scan(step, s0, noise)
    states = jnp.concatenate([s0[None], states], axis=0)          # (length, num, d)
    y = jnp.einsum("tnd,d->nt", states, h)
    return y + sde.obs_noise * jax.random.normal(k2, y.shape)


def sample_windows(cov: np.ndarray, num: int, *, key: jax.Array) -> jax.Array:
    """`num` draws of a zero-mean Gaussian window with covariance `cov` (n, n): (num, n)."""
    chol = jnp.asarray(np.linalg.cholesky(np.asarray(cov, float)))
    return jax.random.normal(key, (num, chol.shape[0])) @ chol.T


def sample_past_given_future(cov: np.ndarray, n_past: int, futures: jax.Array, per_future: int,
                             *, key: jax.Array) -> jax.Array:
    """Pasts drawn from the exact Gaussian conditional p(past | future).

    Args:
        cov: (n_past + n_future, n_past + n_future) window covariance, past first.
        futures: (M, n_future) conditioning futures.
    Returns:
        (M, per_future, n_past) pasts; row m holds `per_future` draws given futures[m].
    """
    cov = np.asarray(cov, float)
    sxx, sxy, syy = cov[:n_past, :n_past], cov[:n_past, n_past:], cov[n_past:, n_past:]
    gain = np.linalg.solve(syy, sxy.T).T                      # (n_past, n_future)
    cond = sxx - gain @ sxy.T
    chol = jnp.asarray(np.linalg.cholesky(0.5 * (cond + cond.T)))
    means = futures @ jnp.asarray(gain).T                     # (M, n_past)
    e = jax.random.normal(key, (futures.shape[0], per_future, n_past))
    return means[:, None, :] + e @ chol.T
