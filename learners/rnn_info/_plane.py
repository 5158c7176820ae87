"""Where an encoder of the past sits in the predictive information plane of a Gaussian
process, next to the optimal frontier. All information values are in bits."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

from ._estimators import (
    add_encoder_noise,
    decoder_lower_bound,
    future_information_bounds,
    gaussian_entropy_bits,
    known_encoder_bounds,
    marginal_upper_bound,
)
from ._frontier import canonical_correlations, frontier_future_at
from ._process import sample_past_given_future, sample_windows


@dataclasses.dataclass(frozen=True)
class PlanePoint:
    """One representation z = h(past) + sigma e in the plane.

    past_se / future_se: Monte-Carlo standard errors of the known-encoder brackets;
    past_lower / past_upper: InfoNCE / leave-one-out bounds on I(past; z);
    past_variational_upper: the Gaussian-marginal upper bound on I(past; z);
    future_lower / future_upper: known-encoder bracket on I(z; future);
    future_decoder: Barber-Agakov lower bound on I(z; future) (linear-Gaussian decoder);
    frontier: the optimal I(z; future) at I(past; z) = past_lower;
    gap: frontier - max(future_lower, future_decoder) (how far below the frontier);
    certified_gap: frontier - future_upper (> 0 means certainly inside the frontier,
    up to Monte-Carlo error).
    """

    sigma: float
    past_se: float
    future_se: float
    past_lower: float
    past_upper: float
    past_variational_upper: float
    future_lower: float
    future_upper: float
    future_decoder: float
    frontier: float
    gap: float
    certified_gap: float


def information_plane(encoder: Callable[[jax.Array], jax.Array], cov: np.ndarray, n_past: int,
                      sigmas, *, key: jax.Array, k: int = 512, batches: int = 8
                      ) -> list[PlanePoint]:
    """Place z = encoder(past) + sigma e for each sigma in `sigmas` in the information plane.

    Args:
        encoder: maps pasts (B, n_past) to noise-free representations (B, d).
        cov: (n_past + n_future, ...) window covariance of the process, past first.
        k: batch size K of the known-encoder bounds (InfoNCE saturates at log2 K bits).
        batches: independent batches of K pasts for I(past; z) (also the decoder's data), and
            as many futures y_m, each with K pasts drawn from p(past | y_m), for I(z;X|Y).
    """
    if k < 2 or batches < 2:
        raise InputError(f"need k >= 2 and batches >= 2, got {k}, {batches}")
    rho = canonical_correlations(cov, n_past)
    k_win, k_cond, k_rest = jax.random.split(key, 3)
    windows = sample_windows(cov, batches * k, key=k_win)
    pasts, futures = windows[:, :n_past], windows[:, n_past:]
    cond = sample_past_given_future(cov, n_past, futures[:batches], k, key=k_cond)
    means = encoder(pasts)
    d = means.shape[1]
    means_cond = encoder(cond.reshape(-1, n_past)).reshape(batches, k, d)
    means_b = means.reshape(batches, k, d)
    h_future = gaussian_entropy_bits(jnp.asarray(cov[n_past:, n_past:]))
    half = (batches // 2) * k
    points = []
    for i, sigma in enumerate(sigmas):
        k1, k2, k3 = jax.random.split(jax.random.fold_in(k_rest, i), 3)
        lo, up, past_se = known_encoder_bounds(means_b, sigma, key=k1)
        f_lo, f_up, future_se = future_information_bounds(means_b, means_cond, sigma, key=k2)
        z = add_encoder_noise(means_b, jnp.asarray(sigma, means.dtype), k3).reshape(means.shape)
        ba = decoder_lower_bound(z[:half], futures[:half], z[half:], futures[half:], h_future)
        var_up = marginal_upper_bound(means[:half], means[half:], sigma)
        frontier = float(frontier_future_at(rho, lo))
        points.append(PlanePoint(float(sigma), past_se, future_se, lo, up, var_up, f_lo, f_up, ba, frontier,
                                 frontier - max(f_lo, ba), frontier - f_up))
    return points
