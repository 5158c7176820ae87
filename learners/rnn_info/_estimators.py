"""Mutual-information bounds for a stochastic representation z = h(past) + sigma e, e ~ N(0, I)
(Poole, Ozair, van den Oord, Alemi, Tucker 2019, "On variational bounds of mutual
information"). Everything returned is in bits.

Known-encoder bounds: with K pasts x_1..x_K and z_i ~ p(z | x_i),

    I_NCE = E[1/K sum_i log p(z_i|x_i) / (1/K sum_j p(z_i|x_j))]               <= I(X; Z),
    I_LOO = E[1/K sum_i log p(z_i|x_i) / (1/(K-1) sum_{j != i} p(z_i|x_j))]     >= I(X; Z).

I(Z; future) follows from the chain rule I(Z;Y) = I(Z;X) - I(Z;X|Y) (Z depends on Y only
through X): the same two bounds on pasts drawn from p(past | future) bracket I(Z;X|Y).

Variational bounds: a Barber-Agakov lower bound I(Z;Y) >= H(Y) - E[-log q(y|z)] with a
fitted linear-Gaussian decoder q, and the upper bound I(X;Z) <= E_x KL(p(z|x) || r(z)) for a
Gaussian r(z) fitted to held-out representations.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

_LN2 = math.log(2.0)


def _check_sigma(sigma):
    if not (math.isfinite(sigma) and sigma > 0):
        raise InputError(f"encoder noise sigma must be positive, got {sigma}")


def log_density_matrix(z: jax.Array, means: jax.Array, sigma: float) -> jax.Array:
    """L[i, j] = log N(z_i; means_j, sigma^2 I) in nats, for z and means (K, d): (K, K)."""
    d = z.shape[-1]
    sq = (jnp.sum(z**2, axis=1)[:, None] - 2 * z @ means.T + jnp.sum(means**2, axis=1)[None, :])
    return -0.5 * sq / sigma**2 - d * (jnp.log(sigma) + 0.5 * math.log(2 * math.pi))


def _batch_bounds(logp):
    k = logp.shape[0]
    diag = jnp.diagonal(logp)
    lower = diag - (jax.nn.logsumexp(logp, axis=1) - math.log(k))
    off = jnp.where(jnp.eye(k, dtype=bool), -jnp.inf, logp)
    upper = diag - (jax.nn.logsumexp(off, axis=1) - math.log(k - 1))
    return jnp.mean(lower), jnp.mean(upper)


@jax.jit
def add_encoder_noise(means: jax.Array, sigma: jax.Array, key: jax.Array) -> jax.Array:
    """z = means + sigma * N(0, I), same shape as means."""
    return means + sigma * jax.random.normal(key, means.shape, means.dtype)


@jax.jit
def _mean_bounds(z, means, sigma):
    return jax.lax.map(lambda zm: _batch_bounds(log_density_matrix(zm[0], zm[1], sigma)),
                       (z, means))


class Bracket(NamedTuple):
    """A lower and an upper bound in bits and the Monte-Carlo standard error `se` of each
    (from the spread over independent batches; the larger of the two)."""

    lower: float
    upper: float
    se: float


def known_encoder_bounds(means: jax.Array, sigma: float, *, key: jax.Array) -> Bracket:
    """(InfoNCE lower, leave-one-out upper) bounds on I(X; Z) in bits for the encoder
    Z = h(X) + sigma e.

    Args:
        means: (B, K, d) encoder means h(x) of B independent batches of K >= 2 draws of X
            (for a conditional I(X; Z | Y), batch b holds K draws from p(x | y_b)).
        sigma: the encoder's noise standard deviation (same units as means).
    The lower bound cannot exceed log2 K bits. Both hold in expectation; `se` says how far
    one estimate may stray (B >= 2 batches needed for it, else inf).
    """
    _check_sigma(sigma)
    if means.ndim != 3 or means.shape[1] < 2:
        raise InputError(f"means must be (batches, K >= 2, dim), got shape {means.shape}")
    sigma = jnp.asarray(sigma, means.dtype)
    lower, upper = (np.asarray(v) / _LN2 for v in
                    _mean_bounds(add_encoder_noise(means, sigma, key), means, sigma))
    b = lower.shape[0]
    se = max(np.std(lower, ddof=1), np.std(upper, ddof=1)) / math.sqrt(b) if b > 1 else math.inf
    return Bracket(float(lower.mean()), float(upper.mean()), float(se))


def future_information_bounds(means_marginal: jax.Array, means_conditional: jax.Array,
                              sigma: float, *, key: jax.Array) -> Bracket:
    """(lower, upper) bounds on I(Z; future) in bits from I(Z;X) - I(Z;X|Y).

    Args:
        means_marginal: (B, K, d) encoder means of pasts drawn from p(past).
        means_conditional: (M, K, d) encoder means; row m from pasts drawn from
            p(past | future_m), futures_m drawn from p(future).
    """
    k1, k2 = jax.random.split(key)
    x = known_encoder_bounds(means_marginal, sigma, key=k1)
    c = known_encoder_bounds(means_conditional, sigma, key=k2)
    return Bracket(max(x.lower - c.upper, 0.0), x.upper - c.lower, math.hypot(x.se, c.se))


def gaussian_entropy_bits(cov: jax.Array) -> float:
    """Differential entropy of N(mu, cov) in bits, cov (n, n)."""
    n = cov.shape[0]
    return 0.5 * (n * math.log(2 * math.pi * math.e) + float(jnp.linalg.slogdet(cov)[1])) / _LN2


def _affine_features(z):
    return jnp.concatenate([z, jnp.ones((z.shape[0], 1), z.dtype)], axis=1)


@jax.jit
def _decoder_nll(z_fit, y_fit, z_eval, y_eval):
    coef, *_ = jnp.linalg.lstsq(_affine_features(z_fit), y_fit)
    resid = y_fit - _affine_features(z_fit) @ coef
    chol = jnp.linalg.cholesky(resid.T @ resid / resid.shape[0])
    err = y_eval - _affine_features(z_eval) @ coef
    sol = jax.scipy.linalg.solve_triangular(chol, err.T, lower=True)
    return (0.5 * jnp.mean(jnp.sum(sol**2, axis=0)) + jnp.sum(jnp.log(jnp.diagonal(chol)))
            + 0.5 * y_eval.shape[1] * math.log(2 * math.pi))


def decoder_lower_bound(z_fit: jax.Array, y_fit: jax.Array, z_eval: jax.Array,
                        y_eval: jax.Array, entropy_y_bits: float) -> float:
    """Barber-Agakov lower bound H(Y) - E[-log q(y|z)] on I(Z; Y) in bits.

    q(y|z) = N(A z + b, S) is fitted by least squares on (z_fit (N, d), y_fit (N, n)) and its
    log-likelihood is averaged over held-out pairs (z_eval, y_eval); H(Y) in bits is given.
    """
    return entropy_y_bits - float(_decoder_nll(z_fit, y_fit, z_eval, y_eval)) / _LN2


@jax.jit
def _marginal_kl(means_fit, means_eval, sigma):
    d = means_fit.shape[1]
    mu = jnp.mean(means_fit, axis=0)
    centred = means_fit - mu[None, :]
    s = centred.T @ centred / means_fit.shape[0] + sigma**2 * jnp.eye(d, dtype=means_fit.dtype)
    chol = jnp.linalg.cholesky(s)
    diff = jax.scipy.linalg.solve_triangular(chol, (means_eval - mu[None, :]).T, lower=True)
    inv_chol = jax.scipy.linalg.solve_triangular(chol, jnp.eye(d, dtype=s.dtype), lower=True)
    return 0.5 * (sigma**2 * jnp.sum(inv_chol**2) + jnp.mean(jnp.sum(diff**2, axis=0)) - d
                  + 2 * jnp.sum(jnp.log(jnp.diagonal(chol))) - 2 * d * jnp.log(sigma))


def marginal_upper_bound(means_fit: jax.Array, means_eval: jax.Array, sigma: float) -> float:
    """Variational upper bound E_x KL(N(h(x), sigma^2 I) || r) on I(X; Z) in bits, with
    r = N(mu, C + sigma^2 I) moment-matched to means_fit (N, d) and the expectation over
    held-out means_eval (M, d)."""
    _check_sigma(sigma)
    kl = _marginal_kl(means_fit, means_eval, jnp.asarray(sigma, means_fit.dtype))
    return float(kl) / _LN2
