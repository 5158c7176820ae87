"""A small CNN (equinox) that recognises action, object and scene; its outputs are the visual
features of the factor graph (the role ImageNet-CNN and Places-CNN features play in the paper)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import InputError


class SceneCNN(eqx.Module):
    """conv3x3(3->16) relu pool2, conv3x3(16->32) relu pool2, dense 64 relu, one linear head
    with A + O + S logits. Input (28, 28, 3) in [0, 1]."""

    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    dense: eqx.nn.Linear
    head: eqx.nn.Linear
    sizes: tuple = eqx.field(static=True)

    def __init__(self, sizes: tuple, *, key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.sizes = tuple(int(s) for s in sizes)
        self.conv1 = eqx.nn.Conv2d(3, 16, 3, padding=1, key=k1)
        self.conv2 = eqx.nn.Conv2d(16, 32, 3, padding=1, key=k2)
        self.dense = eqx.nn.Linear(32 * 7 * 7, 64, key=k3)
        self.head = eqx.nn.Linear(64, sum(self.sizes), key=k4)

    def __call__(self, image: jax.Array) -> jax.Array:
        """(28, 28, 3) -> (A + O + S,) logits."""
        x = jnp.transpose(image, (2, 0, 1))
        x = _pool(jax.nn.relu(self.conv1(x)))
        x = _pool(jax.nn.relu(self.conv2(x)))
        return self.head(jax.nn.relu(self.dense(x.reshape(-1))))


def _pool(x: jax.Array) -> jax.Array:
    c, h, w = x.shape
    return jnp.max(x.reshape(c, h // 2, 2, w // 2, 2), axis=(2, 4))


def _split_logits(model: SceneCNN, logits: jax.Array) -> list:
    bounds = np.cumsum(model.sizes)[:-1].tolist()
    return jnp.split(logits, bounds, axis=-1)


def cnn_features(model: SceneCNN, images, batch: int = 512) -> np.ndarray:
    """Visual features (n, A + O + S): log-softmax of each head, concatenated."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 3):
        raise InputError(f"images must be (n, 28, 28, 3), got {images.shape}")
    fn = eqx.filter_jit(lambda m, x: jnp.concatenate(
        [jax.nn.log_softmax(p, axis=-1) for p in _split_logits(m, jax.vmap(m)(x))], axis=-1))
    return np.concatenate([np.asarray(fn(model, jnp.asarray(images[i:i + batch])))
                           for i in range(0, len(images), batch)])


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """Adam steps, batch size and learning rate of the recognition training."""

    steps: int = 600
    batch: int = 64
    learning_rate: float = 2e-3

    def __post_init__(self):
        if self.steps < 1 or self.batch < 1 or not self.learning_rate > 0:
            raise InputError("CNNConfig needs steps >= 1, batch >= 1, learning_rate > 0")


def train_cnn(images, labels, sizes: tuple, *, key, config: CNNConfig = CNNConfig()) -> SceneCNN:
    """Train the CNN on the recognition pool: images (n, 28, 28, 3), labels (n, >=3) int
    (action, object, scene); loss = sum of the three cross-entropies."""
    images, labels = np.asarray(images), np.asarray(labels)[:, :3]
    if len(images) != len(labels) or len(images) < config.batch:
        raise InputError(f"need at least {config.batch} images with one label row each")
    k_init, k_batch = jax.random.split(key)
    model = SceneCNN(sizes, key=k_init)
    opt = optax.adam(config.learning_rate)
    state = opt.init(eqx.filter(model, eqx.is_array))

    def loss(m, x, y):
        parts = _split_logits(m, jax.vmap(m)(x))
        return sum(jnp.mean(optax.softmax_cross_entropy_with_integer_labels(p, y[:, v]))
                   for v, p in enumerate(parts))

    @eqx.filter_jit
    def step(m, s, x, y):
        grads = eqx.filter_grad(loss)(m, x, y)
        with jax.numpy_dtype_promotion("standard"):  # optax: float ** int32 step count
            updates, s = opt.update(grads, s, eqx.filter(m, eqx.is_array))
        return eqx.apply_updates(m, updates), s

    order = np.asarray(jax.random.randint(k_batch, (config.steps, config.batch), 0, len(images)))
    for idx in order:
        model, state = step(model, state, jnp.asarray(images[idx]), jnp.asarray(labels[idx]))
    return model
