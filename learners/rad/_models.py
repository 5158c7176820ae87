"""Equinox models built from RAD layers: the paper's fully connected net, a small ConvNet and
the IRNN for sequential MNIST (RAD paper, Sec. 6). Every model maps a batch to logits and
takes an explicit `key=` for the random backward pass; keep = 1 gives exact gradients."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from ._conv import rad_conv2d
from ._dense import rad_dense
from ._relu import relu_bits, relu_from_output
from ._sampling import check_mode, is_exact


def _uniform(key, shape, fan_in, dtype):
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, dtype=dtype, minval=-bound, maxval=bound)


def _relu(keep: float):
    # Exact: the mask is read from the stored output, which the next layer keeps anyway.
    # RAD: the next layer keeps only a sample, so the mask is kept as bits.
    return relu_from_output if is_exact(keep) else relu_bits


class RadLinear(eqx.Module):
    """Dense layer y = x W + b (W (d_in, d_out)) with a RAD backward pass (`rad_dense`)."""

    weight: jax.Array
    bias: jax.Array
    keep: float = eqx.field(static=True)
    mode: str = eqx.field(static=True)

    def __init__(self, in_features: int, out_features: int, *, keep: float = 1.0,
                 mode: str = "per_example", dtype=jnp.float32, key: jax.Array):
        check_mode(mode, keep)
        kw, kb = jax.random.split(key)
        self.weight = _uniform(kw, (in_features, out_features), in_features, dtype)
        self.bias = _uniform(kb, (out_features,), in_features, dtype)
        self.keep, self.mode = float(keep), mode

    def __call__(self, x: jax.Array, *, key: jax.Array) -> jax.Array:
        """(..., d_in) -> (..., d_out)."""
        return rad_dense(x, self.weight, self.bias, keep=self.keep, mode=self.mode, key=key)


class RadMLP(eqx.Module):
    """ReLU MLP, by default the paper's 784-300-300-300-10 MNIST net. Every layer input is
    stored at the keep fraction; ReLU masks are kept as bits."""

    layers: tuple
    keep: float = eqx.field(static=True)

    def __init__(self, sizes=(784, 300, 300, 300, 10), *, keep: float = 1.0,
                 mode: str = "per_example", dtype=jnp.float32, key: jax.Array):
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(RadLinear(a, b, keep=keep, mode=mode, dtype=dtype, key=k)
                            for a, b, k in zip(sizes[:-1], sizes[1:], keys, strict=True))
        self.keep = float(keep)

    def __call__(self, x: jax.Array, *, key: jax.Array) -> jax.Array:
        """(B, d_0) -> logits (B, d_L)."""
        keys = jax.random.split(key, len(self.layers))
        relu = _relu(self.keep)
        for layer, k in zip(self.layers[:-1], keys[:-1], strict=True):
            x = relu(layer(x, key=k))
        return self.layers[-1](x, key=keys[-1])


class RadConv2d(eqx.Module):
    """Stride-1 'SAME' convolution (NCHW) with a RAD backward pass (`rad_conv2d`)."""

    weight: jax.Array
    bias: jax.Array
    keep: float = eqx.field(static=True)
    mode: str = eqx.field(static=True)

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, keep: float = 1.0,
                 mode: str = "per_example", dtype=jnp.float32, key: jax.Array):
        check_mode(mode, keep)
        kw, kb = jax.random.split(key)
        fan_in = in_channels * kernel * kernel
        self.weight = _uniform(kw, (out_channels, in_channels, kernel, kernel), fan_in, dtype)
        self.bias = _uniform(kb, (out_channels,), fan_in, dtype)
        self.keep, self.mode = float(keep), mode

    def __call__(self, x: jax.Array, *, key: jax.Array) -> jax.Array:
        """(B, C, H, W) -> (B, O, H, W)."""
        return rad_conv2d(x, self.weight, self.bias, keep=self.keep, mode=self.mode, key=key)


def avg_pool2(x: jax.Array) -> jax.Array:
    """2x2 average pooling, (B, C, H, W) -> (B, C, H/2, W/2). Linear: stores nothing."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


class RadConvNet(eqx.Module):
    """A small ConvNet in the spirit of the paper's CIFAR net: conv(k) C->c1, ReLU, conv c1->c2,
    ReLU, avgpool2, conv c2->c2, ReLU, avgpool2, dense -> classes. The paper's CIFAR-10 net is
    channels=(16, 32, 32), kernel 5, in_channels 3, side 32 (one more conv; see `paper_cifar`)."""

    convs: tuple
    pool_after: tuple = eqx.field(static=True)
    head: RadLinear
    keep: float = eqx.field(static=True)

    def __init__(self, *, in_channels: int = 1, side: int = 28, channels=(8, 16, 16),
                 kernel: int = 3, pool_after=(1, 2), classes: int = 10, keep: float = 1.0,
                 mode: str = "per_example", dtype=jnp.float32, key: jax.Array):
        keys = jax.random.split(key, len(channels) + 1)
        ins = (in_channels, *channels[:-1])
        self.convs = tuple(RadConv2d(a, b, kernel, keep=keep, mode=mode, dtype=dtype, key=k)
                           for a, b, k in zip(ins, channels, keys[:-1], strict=True))
        self.pool_after = tuple(pool_after)
        out_side = side // (2 ** len(pool_after))
        self.head = RadLinear(channels[-1] * out_side * out_side, classes, keep=keep, mode=mode,
                              dtype=dtype, key=keys[-1])
        self.keep = float(keep)

    @classmethod
    def paper_cifar(cls, *, keep: float = 1.0, mode: str = "per_example", dtype=jnp.float32,
                    key: jax.Array) -> RadConvNet:
        """The paper's CIFAR-10 ConvNet: conv5x5 3->16, 16->32, pool, 32->32, 32->32, pool,
        dense 2048->10."""
        return cls(in_channels=3, side=32, channels=(16, 32, 32, 32), kernel=5,
                   pool_after=(1, 3), keep=keep, mode=mode, dtype=dtype, key=key)

    def __call__(self, x: jax.Array, *, key: jax.Array) -> jax.Array:
        """(B, C, H, W) -> logits (B, classes)."""
        keys = jax.random.split(key, len(self.convs) + 1)
        for i, (conv, k) in enumerate(zip(self.convs, keys[:-1], strict=True)):
            if i in self.pool_after:  # the next layer stores the pooled map: keep mask bits
                x = avg_pool2(relu_bits(conv(x, key=k)))
            else:
                x = _relu(self.keep)(conv(x, key=k))
        return self.head(x.reshape(x.shape[0], -1), key=keys[-1])


class RadIRNN(eqx.Module):
    """IRNN (Le et al. 2015) for sequential MNIST: h_t = relu(x_t W_in + h_{t-1} W_rec + b),
    W_rec initialized to the identity, logits = h_T W_out + b_out. The stored h_{t-1} of every
    step is sampled with a new key per step (RAD paper, Sec. 6, "new samples at every time
    step"); the scalar pixel input x_t is stored exactly; ReLU masks as bits."""

    w_in: jax.Array
    w_rec: jax.Array
    bias: jax.Array
    head: RadLinear
    keep: float = eqx.field(static=True)
    mode: str = eqx.field(static=True)

    def __init__(self, hidden: int = 100, *, inputs: int = 1, classes: int = 10,
                 keep: float = 1.0, mode: str = "per_example", dtype=jnp.float32,
                 key: jax.Array):
        check_mode(mode, keep)
        k_in, k_out = jax.random.split(key)
        self.w_in = 0.001 * jax.random.normal(k_in, (inputs, hidden), dtype=dtype)
        self.w_rec = jnp.eye(hidden, dtype=dtype)
        self.bias = jnp.zeros((hidden,), dtype)
        self.head = RadLinear(hidden, classes, keep=keep, mode=mode, dtype=dtype, key=k_out)
        self.keep, self.mode = float(keep), mode

    def __call__(self, x: jax.Array, *, key: jax.Array) -> jax.Array:
        """x (B, T, inputs) -> logits (B, classes)."""
        # The mask of step t would be readable from h_t, which step t+1 stores, but scan keeps
        # per-step residuals apart; keep the masks as bits at every keep.
        relu = relu_bits
        batch = x.shape[0]
        k_steps, k_head = jax.random.split(key)

        def step(h, inp):
            x_t, t = inp
            pre = x_t @ self.w_in + rad_dense(h, self.w_rec, self.bias, keep=self.keep,
                                             mode=self.mode, key=jax.random.fold_in(k_steps, t))
            h = relu(pre)
            return h, None

        h0 = jnp.zeros((batch, self.w_rec.shape[0]), x.dtype)
        steps = jnp.arange(x.shape[1])
        h, _ = jax.lax.scan(step, h0, (jnp.swapaxes(x, 0, 1), steps))
        return self.head(h, key=k_head)


def nll_loss(model, x: jax.Array, y: jax.Array, *, key: jax.Array) -> jax.Array:
    """Mean negative log-likelihood of integer labels y (B,) under softmax(model(x))."""
    logp = jax.nn.log_softmax(model(x, key=key), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def accuracy(model, x: jax.Array, y: jax.Array) -> jax.Array:
    """Fraction of correct argmax predictions (the forward pass is exact for every keep)."""
    logits = model(x, key=jax.random.key(0))
    return jnp.mean((jnp.argmax(logits, axis=-1).astype(y.dtype) == y).astype(jnp.float32))
