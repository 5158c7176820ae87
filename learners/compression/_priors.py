"""Learned probability models for integer latents: each gives the logit of a CDF, so the mass
of the integer bin [n - 1/2, n + 1/2] is a difference of sigmoids (Balle et al. 2018, Sec. 6.1;
Oktay et al. 2020, Sec. 3.2)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

#: hidden widths of the flexible factorised density (Balle et al. 2018 use 3 x 3)
FILTERS = (3, 3, 3)


class FactorizedDensity(eqx.Module):
    """Balle et al. 2018's non-parametric density of one scalar: the CDF is
    sigmoid(f_K(... f_1(x))), with f_k(h) = softplus(H_k) h + b_k followed, except in the
    last layer, by h + tanh(a_k) tanh(h). Softplus weights and tanh(a_k) >= -1 keep it
    monotone. Works in latent units (one integer bin = width 1)."""

    matrices: tuple
    biases: tuple
    factors: tuple

    def __init__(self, *, key: jax.Array, init_scale: float = 10.0, dtype=None):
        dtype = dtype or jnp.zeros(()).dtype
        widths = (1, *FILTERS, 1)
        scale = init_scale ** (1.0 / (len(widths) - 1))
        keys = jax.random.split(key, len(widths) - 1)
        mats, biases, factors = [], [], []
        for k in range(len(widths) - 1):
            init = math.log(math.expm1(1.0 / scale / widths[k + 1]))
            mats.append(jnp.full((widths[k + 1], widths[k]), init, dtype))
            biases.append(jax.random.uniform(keys[k], (widths[k + 1], 1), dtype, -0.5, 0.5))
            if k < len(widths) - 2:
                factors.append(jnp.zeros((widths[k + 1], 1), dtype))
        self.matrices, self.biases, self.factors = tuple(mats), tuple(biases), tuple(factors)

    def cdf_logits(self, x: jax.Array) -> jax.Array:
        """x (n,) in latent units -> logit of the CDF at x, (n,)."""
        h = x[None, :]
        for k, (mat, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            h = jax.nn.softplus(mat) @ h + bias
            if k < len(self.factors):
                h = h + jnp.tanh(self.factors[k]) * jnp.tanh(h)
        return h[0]


class LogisticDensity(eqx.Module):
    """A logistic density with learned location and log-scale (in latent units), the simpler
    parametric model (the NoisyLogistic prior of Google's EPR implementation)."""

    loc: jax.Array
    log_scale: jax.Array

    def __init__(self, *, key: jax.Array | None = None, init_scale: float = 10.0, dtype=None):
        del key
        dtype = dtype or jnp.zeros(()).dtype
        self.loc = jnp.zeros((), dtype)
        self.log_scale = jnp.asarray(math.log(init_scale), dtype)

    def cdf_logits(self, x: jax.Array) -> jax.Array:
        """x (n,) in latent units -> logit of the CDF at x, (n,)."""
        return (x - self.loc) * jnp.exp(-self.log_scale)


PRIORS = {"factorized": FactorizedDensity, "logistic": LogisticDensity}


def bin_mass(prior, x: jax.Array) -> jax.Array:
    """Probability of the unit bin centred on each x (n,) -> (n,): CDF(x + 1/2) - CDF(x - 1/2),
    computed on the side of the median where the sigmoids are not saturated."""
    lower = prior.cdf_logits(x - 0.5)
    upper = prior.cdf_logits(x + 0.5)
    sign = jax.lax.stop_gradient(jnp.where(lower + upper > 0, -1.0, 1.0).astype(x.dtype))
    return jnp.abs(jax.nn.sigmoid(sign * upper) - jax.nn.sigmoid(sign * lower))


def range_masses(prior, low: int, high: int, dtype) -> np.ndarray:
    """`bin_mass` of the integers low ... high as float64 NumPy (high - low + 1,): evaluated
    compiled on a grid padded to a power of two, so that tensors of different latent ranges
    share a few compilations instead of compiling every operation eagerly."""
    n = high - low + 1
    size = max(64, 1 << (n - 1).bit_length())
    grid = np.arange(low, low + size)
    return np.asarray(_masses(prior, jnp.asarray(grid, dtype)), np.float64)[:n]


@eqx.filter_jit
def _masses(prior, grid):
    return bin_mass(prior, grid)


def bits(prior, x: jax.Array, *, floor: float = 1e-9) -> jax.Array:
    """-log2 of the bin masses of the latents x (any shape), summed: a scalar in bits."""
    mass = bin_mass(prior, jnp.ravel(x))
    return -jnp.sum(jnp.log2(jnp.maximum(mass, floor)))


def tabulated_bits(prior, x: jax.Array, *, radius: int = 64, per_unit: int = 4,
                   floor: float = 1e-9) -> jax.Array:
    """`bits(prior, x)` with the prior evaluated only on a grid of spacing 1/per_unit over
    [-radius, radius] and linearly interpolated (latents outside are clamped to the ends).
    Exact at grid points; differentiable in x and in the prior's parameters. It makes the
    factorised density as cheap per latent as the logistic one during training."""
    grid = jnp.linspace(-radius, radius, 2 * radius * per_unit + 1).astype(x.dtype)
    table = -jnp.log2(jnp.maximum(bin_mass(prior, grid), floor))
    pos = jnp.clip((jnp.ravel(x) + radius) * per_unit, 0, grid.shape[0] - 1.0001)
    left = jax.lax.stop_gradient(jnp.floor(pos))
    frac = pos - left
    index = left.astype(jnp.int32)
    return jnp.sum((1 - frac) * table[index] + frac * table[index + 1])
