"""Dense layer with a randomized backward pass (RAD paper, Sec. 4, "activation sampling")."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ._sampling import check_mode, compress, expand


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _dense(x, weight, bias, key, keep, mode):
    return x @ weight + bias[None, :]


def _dense_fwd(x, weight, bias, key, keep, mode):
    y = x @ weight + bias[None, :]
    return y, (compress(x, keep=keep, mode=mode, key=key), weight, key)


def _dense_bwd(keep, mode, res, g):
    stored, weight, key = res
    x_hat = expand(stored, weight.shape[0], keep=keep, mode=mode, key=key)
    return g @ weight.T, x_hat.T @ g, jnp.sum(g, axis=0), None


_dense.defvjp(_dense_fwd, _dense_bwd)


def rad_dense(x: jax.Array, weight: jax.Array, bias: jax.Array | None = None, *,
              keep: float = 1.0, mode: str = "per_example", key: jax.Array) -> jax.Array:
    """y = x W + b with an unbiased randomized weight gradient (RAD paper, Eq. 4 applied to the
    stored layer input, Sec. 4).

    The forward pass is exact. For the backward pass only the input x compressed to
    k = round(keep * d_in) values per row is stored (see `morphax.learners.rad.compress`), and
    dL/dW = (x P)^T dL/dy with E[P] = I, so E[dL/dW] is the exact gradient; dL/dx and dL/db
    are exact (they do not need x). keep = 1 stores x and is exact.

    Args:
        x: (..., d_in) input; leading axes are flattened into rows ("examples").
        weight: (d_in, d_out).
        bias: (d_out,) or None.
        keep: fraction of the d_in input values stored per row, in (0, 1].
        mode: "same" (same indices for all rows), "per_example" or "project".
        key: PRNG key of the random injection (regenerated in the backward pass).
    Returns:
        (..., d_out).
    """
    check_mode(mode, keep)
    lead = x.shape[:-1]
    if bias is None:
        bias = jnp.zeros((weight.shape[1],), weight.dtype)
    y = _dense(x.reshape(-1, x.shape[-1]), weight, bias, key, float(keep), mode)
    return y.reshape(*lead, weight.shape[1])
