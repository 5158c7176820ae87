"""Data-parallel training of RAD classifiers: the minibatch is sharded over the devices of a
mesh (`jax.shard_map` over the axis "batch"), gradients are averaged in one collective
(`morphax._core.parallel.pmean`).

Every device draws the same minibatch indices and per-example RAD keys and keeps its slice, so
the step is the same computation for any number of devices (up to the rounding of the mean):
RAD's random masks are drawn per example (`jax.random.split(key, batch)`), not per batch.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from morphax._core.parallel import AXIS, check_divisible, pmean

from ._models import nll_loss

P = jax.sharding.PartitionSpec


def make_parallel_step(static, tx: optax.GradientTransformation, *, batch: int, mesh):
    """A jitted step(params, opt_state, key_data, x, y) -> (params, opt_state, loss).

    static: the non-array part of the model (`eqx.partition(model, eqx.is_array)[1]`);
    key_data: `jax.random.key_data` of the step key; x (N, ...), y (N,): the training set.
    Every argument is replicated on `mesh` (`morphax._core.parallel.put(tree, mesh, P())`);
    the `batch` examples of a step (drawn with replacement) are split evenly over its devices.
    The loss is the mean NLL of the minibatch, each example with its own RAD key."""
    shard = check_divisible(batch, mesh, "minibatch")

    def loss_fn(params, xb, yb, keys):
        model = eqx.combine(params, static)
        per_example = jax.vmap(lambda x, y, k: nll_loss(model, x[None], y[None], key=k))
        return jnp.mean(per_example(xb, yb, keys))

    def step(params, opt_state, key_data, x, y):
        k_batch, k_rad = jax.random.split(jax.random.wrap_key_data(key_data))
        idx = jax.random.randint(k_batch, (batch,), 0, x.shape[0])
        keys = jax.random.split(k_rad, batch)
        start = jax.lax.axis_index(AXIS) * shard
        idx = jax.lax.dynamic_slice_in_dim(idx, start, shard)
        keys = jax.lax.dynamic_slice_in_dim(keys, start, shard)
        loss, grads = pmean(jax.value_and_grad(loss_fn)(params, x[idx], y[idx], keys))
        with jax.numpy_dtype_promotion("standard"):   # optax's int32 step count
            updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.jit(jax.shard_map(step, mesh=mesh, in_specs=P(), out_specs=P(),
                                 check_vma=False))
