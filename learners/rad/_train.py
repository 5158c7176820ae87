"""A small training loop for RAD classifiers (Adam with L2 weight decay as in the paper's
PyTorch runs, learning rate x0.6 every `decay_every` iterations, minibatches drawn with
replacement)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core.parallel import batch_mesh, fetch, put

from ._loop import timed_steps
from ._models import accuracy, nll_loss
from ._parallel import make_parallel_step


@dataclasses.dataclass
class TrainResult:
    """`curve`: (iteration, mean minibatch loss over the last `log_every` iterations) rows;
    `seconds_per_iteration` excludes compilation (`compile_s`)."""

    model: object
    curve: list
    train_accuracy: float
    test_accuracy: float
    seconds_per_iteration: float
    compile_s: float


def train_classifier(model, x_train, y_train, x_test, y_test, *, batch: int, iterations: int,
                     lr: float, weight_decay: float = 0.0, decay_every: int = 2000,
                     optimizer: str = "adam", clip: float | None = None, log_every: int = 50,
                     progress: bool = False, devices=None, key: jax.Array) -> TrainResult:
    """Train `model` (any RAD model: logits = model(x, key=...)) with minibatch NLL.

    Args:
        x_train: (N, ...) float inputs; y_train: (N,) int labels (likewise the test set).
        batch: examples per step (drawn uniformly with replacement).
        lr, weight_decay: Adam learning rate and L2 coefficient (added to the gradient).
        decay_every: multiply the learning rate by 0.6 every this many iterations.
        optimizer: "adam" or "sgd" (plain SGD, as the paper's IRNN runs).
        clip: global gradient-norm clip, or None.
        devices: None (one device, RAD masks drawn per minibatch), or a device count or a
            `morphax._core.parallel.batch_mesh`: the minibatch is sharded over them and RAD masks
            are drawn per example, so the run does not depend on the number of devices
            (`make_parallel_step`; across processes after `initialize_distributed`).
    """
    schedule = optax.exponential_decay(lr, decay_every, 0.6, staircase=True)
    scale = (optax.scale_by_adam() if optimizer == "adam" else optax.identity())
    parts = [optax.clip_by_global_norm(clip)] if clip else []
    tx = optax.chain(*parts, optax.add_decayed_weights(weight_decay), scale,
                     optax.scale_by_learning_rate(schedule))
    params, static = eqx.partition(model, eqx.is_array)
    opt_state = tx.init(params)
    x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)
    n = x_train.shape[0]

    @jax.jit
    def step(params, opt_state, key):
        k_batch, k_rad = jax.random.split(key)
        idx = jax.random.randint(k_batch, (batch,), 0, n)

        def loss_fn(p):
            return nll_loss(eqx.combine(p, static), x_train[idx], y_train[idx], key=k_rad)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        # optax's bias correction computes float ** int32 count, which strict dtype promotion
        # rejects; allow standard promotion for the optimizer update only.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    if devices is not None:
        step, (params, opt_state) = _parallel(static, tx, batch, devices, x_train, y_train,
                                              (params, opt_state))
    keys = jax.random.split(key, iterations)
    (params, _), losses, compile_s, per_it = timed_steps(
        step, (params, opt_state), keys, desc="train", progress=progress)
    losses = np.asarray([fetch(v) for v in losses])
    params = jax.tree_util.tree_map(jnp.asarray, fetch(params))
    curve = [(int(min(i + log_every, iterations)), float(losses[i:i + log_every].mean()))
             for i in range(0, iterations, log_every)]
    trained = eqx.combine(params, static)
    acc = eqx.filter_jit(accuracy)
    return TrainResult(trained, curve, float(acc(trained, x_train, y_train)),
                       float(acc(trained, jnp.asarray(x_test), jnp.asarray(y_test))),
                       per_it, compile_s)


def _parallel(static, tx, batch, devices, x, y, state):
    """(step(params, opt_state, key), state) of the data-parallel step on `devices`, with
    the state and the training set replicated on its mesh."""
    mesh = devices if isinstance(devices, jax.sharding.Mesh) else batch_mesh(devices)
    step = make_parallel_step(static, tx, batch=batch, mesh=mesh)
    rep = jax.sharding.PartitionSpec()
    xs, ys = put((x, y), mesh, rep)

    def run(params, opt_state, key):
        return step(params, opt_state, put(jax.random.key_data(key), mesh, rep), xs, ys)

    return run, put(state, mesh, rep)
