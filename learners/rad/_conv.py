"""2-D convolution with a randomized backward pass (RAD paper, Sec. 4: sampling over spatial
positions for every (example, channel) row, as the paper's `input2sparse`)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ._sampling import check_mode, compress, expand, is_exact


def _conv(x, weight, padding):
    return jax.lax.conv_general_dilated(x, weight, (1, 1), padding,
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"))


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6, 7))
def _rad_conv(x, weight, bias, key, keep, mode, padding, shape):
    return _conv(x, weight, padding) + bias[None, :, None, None]


def _fwd(x, weight, bias, key, keep, mode, padding, shape):
    y = _conv(x, weight, padding) + bias[None, :, None, None]
    b, c, h, w = x.shape
    # keep = 1: store x itself (not a reshaped copy), so a buffer shared with the previous
    # layer is kept once.
    stored = x if is_exact(keep) else compress(x.reshape(b * c, h * w), keep=keep, mode=mode,
                                                 key=key)
    return y, (stored, weight, key)


def _bwd(keep, mode, padding, shape, res, g):
    stored, weight, key = res
    _, _, h, w = shape
    x_hat = stored if is_exact(keep) else expand(stored, h * w, keep=keep, mode=mode,
                                                  key=key).reshape(shape)
    # conv is bilinear: dL/dx needs only the weights, dL/dW only the (reconstructed) input.
    _, vjp_w = jax.vjp(lambda wt: _conv(x_hat, wt, padding), weight)
    zeros = jax.ShapeDtypeStruct(shape, g.dtype)
    (gx,) = jax.linear_transpose(lambda xx: _conv(xx, weight, padding), zeros)(g)
    return gx, vjp_w(g)[0], jnp.sum(g, axis=(0, 2, 3)), None


_rad_conv.defvjp(_fwd, _bwd)


def rad_conv2d(x: jax.Array, weight: jax.Array, bias: jax.Array | None = None, *,
               keep: float = 1.0, mode: str = "per_example", padding: str = "SAME",
               key: jax.Array) -> jax.Array:
    """Stride-1 2-D convolution y = conv(x, W) + b (NCHW / OIHW) with an unbiased randomized
    weight gradient.

    The forward pass is exact; the backward pass stores, for each (example, channel) row of
    the input, k = round(keep * H * W) spatial values ("same": the same positions for all rows;
    "per_example": independent positions per row; "project": a Rademacher projection of the
    H*W values) and uses the unbiased reconstruction for dL/dW (RAD paper, Eq. 4 and Sec. 4).

    Args:
        x: (B, C, H, W). weight: (O, C, kh, kw). bias: (O,) or None.
        keep: fraction in (0, 1]; 1 is exact. mode: see `morphax.learners.rad.MODES`.
        padding: "SAME" or "VALID". key: PRNG key.
    Returns:
        (B, O, H', W').
    """
    check_mode(mode, keep)
    if bias is None:
        bias = jnp.zeros((weight.shape[0],), weight.dtype)
    return _rad_conv(x, weight, bias, key, float(keep), mode, padding, tuple(x.shape))
