"""The paper's MNIST networks (LeNet300-100 and LeNet5-Caffe) in equinox, their data and a
plain float training loop (the uncompressed baseline and the warm start of EPR)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import InputError


class LeNet300(eqx.Module):
    """784-300-100-10 fully connected net with ReLU (266,610 parameters, float32 unless
    `dtype`). Input: images (batch, 784) in [0, 1]; output: logits (batch, 10)."""

    layers: tuple

    def __init__(self, *, key: jax.Array, dtype=jnp.float32):
        k = jax.random.split(key, 3)
        self.layers = (eqx.nn.Linear(784, 300, key=k[0], dtype=dtype),
                       eqx.nn.Linear(300, 100, key=k[1], dtype=dtype),
                       eqx.nn.Linear(100, 10, key=k[2], dtype=dtype))

    def __call__(self, x: jax.Array) -> jax.Array:
        def one(v):
            v = v.astype(self.layers[0].weight.dtype)
            for layer in self.layers[:-1]:
                v = jax.nn.relu(layer(v))
            return self.layers[-1](v)
        return jax.vmap(one)(x)


class LeNet5(eqx.Module):
    """LeNet5-Caffe: conv 20 (5x5) - max-pool 2 - conv 50 (5x5) - max-pool 2 - FC 500 - FC 10,
    ReLU (431,080 parameters, float32 unless `dtype`). Input: images (batch, 784) in [0, 1];
    output: logits (batch, 10)."""

    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    fc1: eqx.nn.Linear
    fc2: eqx.nn.Linear

    def __init__(self, *, key: jax.Array, dtype=jnp.float32):
        k = jax.random.split(key, 4)
        self.conv1 = eqx.nn.Conv2d(1, 20, 5, key=k[0], dtype=dtype)
        self.conv2 = eqx.nn.Conv2d(20, 50, 5, key=k[1], dtype=dtype)
        self.fc1 = eqx.nn.Linear(800, 500, key=k[2], dtype=dtype)
        self.fc2 = eqx.nn.Linear(500, 10, key=k[3], dtype=dtype)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = x.astype(self.conv1.weight.dtype).reshape(-1, 1, 28, 28)
        h = _pool(jax.nn.relu(_conv(self.conv1, h)))
        h = _pool(jax.nn.relu(_conv(self.conv2, h)))
        h = jax.nn.relu(h.reshape(h.shape[0], 800) @ self.fc1.weight.T + self.fc1.bias[None, :])
        return h @ self.fc2.weight.T + self.fc2.bias[None, :]


def _conv(layer: eqx.nn.Conv2d, h: jax.Array) -> jax.Array:
    """A valid, stride-1 convolution of a batch (B, C, H, W) with an equinox Conv2d's
    parameters (one batched convolution rather than a vmap over images)."""
    return jax.lax.conv_general_dilated(h, layer.weight, (1, 1), "VALID") + layer.bias[None]


def _pool(h: jax.Array) -> jax.Array:
    """2 x 2 max-pooling with stride 2 of (B, C, H, W), H and W even."""
    b, c, height, width = h.shape
    return jnp.max(h.reshape(b, c, height // 2, 2, width // 2, 2), axis=(3, 5))


ARCHITECTURES = {"lenet300": LeNet300, "lenet5": LeNet5}
"""The MNIST classifiers by name ('lenet300', 'lenet5') -> model class, as `make_model` builds."""


def make_model(name: str, *, key: jax.Array, dtype=jnp.float32):
    """A freshly initialised 'lenet300' or 'lenet5'."""
    if name not in ARCHITECTURES:
        raise InputError(f"unknown architecture {name!r}; choose from {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](key=key, dtype=dtype)


def cross_entropy(model, batch) -> jax.Array:
    """Mean softmax cross-entropy (nats) of model on batch = (images (B, 784), labels (B,))."""
    x, y = batch
    logits = model(x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def error_rate(model, x, y, *, chunk: int = 1000) -> float:
    """Top-1 error (fraction) of model on images x (N, 784), labels y (N,)."""
    wrong = 0
    for i in range(0, len(y), chunk):
        wrong += int(np.sum(np.asarray(_predict(model, x[i:i + chunk])) != y[i:i + chunk]))
    return wrong / len(y)


@eqx.filter_jit
def _predict(model, x):
    return jnp.argmax(model(x), axis=1)


def _float_step(opt):
    @eqx.filter_jit
    def step(model, opt_state, batch):
        loss, grads = eqx.filter_value_and_grad(cross_entropy)(model, batch)
        with jax.numpy_dtype_promotion("standard"):   # optax's bias correction: float ** int32
            updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss
    return step


def train_float(model, x, y, *, steps: int, key: jax.Array, batch_size: int = 128,
                lr: float = 1e-3):
    """Adam on the cross-entropy for `steps` random batches; returns the trained model."""
    opt = optax.adam(lr)
    step = _float_step(opt)
    opt_state = opt.init(eqx.filter(model, eqx.is_array))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    for _ in range(steps):
        key, sub = jax.random.split(key)
        idx = jax.random.randint(sub, (batch_size,), 0, len(y))
        model, opt_state, _ = step(model, opt_state, (xj[idx], yj[idx]))
    return model
