"""ReLU whose backward pass keeps one bit per unit (RAD paper, Sec. 4)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


@jax.custom_vjp
def relu_bits(x: jax.Array) -> jax.Array:
    """max(x, 0) (any shape) whose backward pass stores the mask x > 0 packed into bits
    (`jnp.packbits`): ceil(x.size / 8) bytes instead of a float or bool per unit."""
    return jnp.maximum(x, jnp.zeros((), x.dtype))


def _fwd(x):
    return relu_bits(x), jnp.packbits((x > 0).reshape(-1))


def _bwd(bits, g):
    mask = jnp.unpackbits(bits, count=g.size).reshape(g.shape).astype(bool)
    return (jnp.where(mask, g, jnp.zeros((), g.dtype)),)


relu_bits.defvjp(_fwd, _bwd)


@jax.custom_vjp
def relu_from_output(x: jax.Array) -> jax.Array:
    """max(x, 0) whose backward pass stores its output y and uses y > 0 as the mask. When the
    next layer stores y anyway (exact gradients), JAX keeps one buffer for both, so the mask
    costs nothing: the efficient exact baseline of the paper's Table 1."""
    return jnp.maximum(x, jnp.zeros((), x.dtype))


def _fwd_out(x):
    y = relu_from_output(x)
    return y, y


def _bwd_out(y, g):
    return (jnp.where(y > 0, g, jnp.zeros((), g.dtype)),)


relu_from_output.defvjp(_fwd_out, _bwd_out)
