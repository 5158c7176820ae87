"""RAD models: exact at keep 1 (equal to plain autodiff), exact forward at every keep, data
loaders on real shipped data and on small IDX files, and a short training run."""

import gzip

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.learners.rad import (
    RadConvNet,
    RadIRNN,
    RadMLP,
    load_fashion_mnist,
    load_mnist_5k,
    mnist_5k_split,
    nll_loss,
    rad_dense,
    read_idx,
    train_classifier,
)

F64 = jnp.float64


def _plain_forward(model, x):
    """The same network with plain JAX ops (jax.nn.relu, matmul, conv)."""
    if isinstance(model, RadMLP):
        for layer in model.layers[:-1]:
            x = jax.nn.relu(x @ layer.weight + layer.bias[None, :])
        return x @ model.layers[-1].weight + model.layers[-1].bias[None, :]
    if isinstance(model, RadConvNet):
        for i, conv in enumerate(model.convs):
            x = jax.nn.relu(jax.lax.conv_general_dilated(
                x, conv.weight, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
                + conv.bias[None, :, None, None])
            if i in model.pool_after:
                b, c, h, w = x.shape
                x = x.reshape(b, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
        x = x.reshape(x.shape[0], -1)
        return x @ model.head.weight + model.head.bias[None, :]
    h = jnp.zeros((x.shape[0], model.w_rec.shape[0]), x.dtype)
    for t in range(x.shape[1]):
        h = jax.nn.relu(x[:, t] @ model.w_in + h @ model.w_rec + model.bias[None, :])
    return h @ model.head.weight + model.head.bias[None, :]


@pytest.mark.parametrize("kind", ["mlp", "conv", "irnn"])
def test_keep_one_gradients_equal_plain_autodiff_and_forward_is_exact(kind):
    k1, k2 = jax.random.split(jax.random.key(0))
    if kind == "mlp":
        x = jax.random.uniform(k1, (12, 784), F64)
        make = lambda keep: RadMLP(keep=keep, dtype=F64, key=k2)  # noqa: E731
    elif kind == "conv":
        x = jax.random.uniform(k1, (6, 1, 28, 28), F64)
        make = lambda keep: RadConvNet(keep=keep, dtype=F64, key=k2)  # noqa: E731
    else:
        x = jax.random.uniform(k1, (6, 12, 1), F64)
        make = lambda keep: RadIRNN(hidden=16, keep=keep, dtype=F64, key=k2)  # noqa: E731
    y = jnp.arange(x.shape[0]) % 10
    model = make(1.0)
    params, static = eqx.partition(model, eqx.is_array)
    g = jax.grad(lambda p: nll_loss(eqx.combine(p, static), x, y, key=jax.random.key(1)))(params)

    def plain_loss(p):
        logp = jax.nn.log_softmax(_plain_forward(eqx.combine(p, static), x), axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    g_ref = jax.grad(plain_loss)(params)
    for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(g_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    rad = make(0.1)
    np.testing.assert_allclose(rad(x, key=jax.random.key(3)), _plain_forward(model, x),
                               rtol=1e-12)


def test_bad_mode_or_keep_raise():
    x = jnp.ones((2, 4))
    with pytest.raises(InputError, match="mode"):
        rad_dense(x, jnp.ones((4, 3)), keep=0.5, mode="nope", key=jax.random.key(0))
    with pytest.raises(InputError, match="keep"):
        rad_dense(x, jnp.ones((4, 3)), keep=0.0, key=jax.random.key(0))


def test_mnist_5k_ships_offline():
    images, labels = load_mnist_5k()
    assert images.shape == (5000, 784) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert np.array_equal(np.bincount(labels), np.full(10, 500))


def test_read_idx_roundtrip_and_fashion_loader(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([1, 7, 9], np.uint8)
    header = bytes([0, 0, 0x08, 3]) + np.array([3, 4, 5], ">u4").tobytes()
    packed = gzip.compress(header + images.tobytes())
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(packed)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 0x08, 1]) + np.array([3], ">u4").tobytes() + labels.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    x, y = load_fashion_mnist("train", tmp_path)
    assert x.shape == (3, 20) and np.allclose(x * 255, images.reshape(3, 20))
    np.testing.assert_array_equal(y, labels)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(InputError, match="IDX"):
        read_idx(tmp_path / "bad")
    with pytest.raises(InputError, match="dataset-fashion-mnist"):
        load_fashion_mnist("test", tmp_path)


def test_short_rad_training_learns_mnist():
    x_train, y_train, x_test, y_test = mnist_5k_split()
    assert len(np.unique(y_test)) == 10
    model = RadMLP(sizes=(784, 100, 10), keep=0.1, key=jax.random.key(0))
    result = train_classifier(model, x_train, y_train, x_test, y_test, batch=100,
                              iterations=150, lr=2e-3, log_every=50, key=jax.random.key(1))
    assert result.curve[-1][1] < 0.6 * result.curve[0][1]
    assert result.test_accuracy > 0.8
