"""Device meshes and batch placement for data parallelism on JAX's own runtime.

One axis, "batch": a batch of independent items (designs, actuations, tasks, examples) is cut
into equal shards, one per device, with `jax.sharding` / `jax.shard_map`. The same code runs
on one CPU, on several (virtual) devices in one process and on devices of several processes or
hosts joined by `jax.distributed` (`initialize_distributed`): a mesh holds the global devices
and `put` builds global arrays from the full batch that every process holds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from ._errors import InputError

AXIS = "batch"


def batch_mesh(devices: int | Sequence | None = None) -> jax.sharding.Mesh:
    """A 1-D mesh with axis "batch" over `devices`: a count (the first N global devices), a
    list of devices, or None (every device of every process)."""
    found = jax.devices()
    if devices is None:
        chosen = found
    elif isinstance(devices, int | np.integer):
        if not 1 <= devices <= len(found):
            raise InputError(
                f"asked for {devices} devices, but JAX sees {len(found)} ({found[0].platform}). "
                "On CPU start Python with XLA_FLAGS=--xla_force_host_platform_device_count=N, or "
                "launch several processes (README, 'Running on many devices')")
        chosen = found[:devices]
    else:
        chosen = list(devices)
    return jax.sharding.Mesh(np.asarray(chosen), (AXIS,))


def check_divisible(batch: int, mesh: jax.sharding.Mesh, what: str = "batch") -> int:
    """The per-device shard size batch / devices; InputError unless it divides evenly."""
    n = mesh.devices.size
    if batch % n:
        raise InputError(f"the {what} ({batch}) must be a multiple of the number of devices "
                         f"({n}); change one of them")
    return batch // n


def pad_batch(tree, multiple: int):
    """(tree padded along axis 0 to a multiple of `multiple` by repeating its last item, the
    original batch size)."""
    b = int(jax.tree_util.tree_leaves(tree)[0].shape[0])
    extra = -b % multiple
    if not extra:
        return tree, b
    return jax.tree_util.tree_map(
        lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], extra, axis=0)]), tree), b


def put(tree, mesh: jax.sharding.Mesh, spec: jax.sharding.PartitionSpec):
    """Global arrays laid out by `spec` on `mesh` from the full host values in `tree` (every
    process passes the same full values; each keeps only its own devices' shards)."""
    sharding = jax.sharding.NamedSharding(mesh, spec)

    def one(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    return jax.tree_util.tree_map(one, tree)


def fetch(tree):
    """Host (NumPy) copies of replicated or fully addressable arrays."""
    return jax.tree_util.tree_map(lambda x: np.asarray(x.addressable_data(0))
                                  if isinstance(x, jax.Array) and not x.is_fully_addressable
                                  else np.asarray(x), tree)


def pmean(tree, axis: str = AXIS):
    """`jax.lax.pmean` of a pytree over the mesh axis as ONE collective (its leaves raveled into
    one vector and back): on CPU every collective is a round trip between processes (gloo, about
    1-4 ms on loopback), so a gradient tree of many leaves would pay that once per leaf."""
    flat, unravel = jax.flatten_util.ravel_pytree(tree)
    return unravel(jax.lax.pmean(flat, axis))


def all_gather(tree, axis: str = AXIS):
    """`jax.lax.all_gather(..., tiled=True)` of a pytree whose leaves share a leading batch axis
    (b, ...) as one collective: every device gets the whole batch (B, ...) of every leaf."""
    first = jax.tree_util.tree_map(lambda x: x[0], tree)
    unravel = jax.flatten_util.ravel_pytree(first)[1]
    flat = jax.vmap(lambda t: jax.flatten_util.ravel_pytree(t)[0])(tree)    # (b, n)
    return jax.vmap(unravel)(jax.lax.all_gather(flat, axis, tiled=True))


def initialize_distributed() -> tuple[int, int]:
    """Join the processes of a multi-process run through `jax.distributed.initialize`, before
    any other JAX call; returns (process index, process count).

    Several processes on one machine: set MORPHAX_NUM_PROCESSES, MORPHAX_PROCESS_ID (0..N-1)
    and MORPHAX_COORDINATOR (host:port of process 0, default 127.0.0.1:12355) in each.
    SLURM (srun, one task per host or per device): nothing to set, JAX reads SLURM's variables.
    Otherwise (one process) it does nothing.
    """
    env = os.environ
    if "MORPHAX_NUM_PROCESSES" in env:
        try:
            n, pid = int(env["MORPHAX_NUM_PROCESSES"]), int(env.get("MORPHAX_PROCESS_ID", ""))
        except ValueError:
            raise InputError("MORPHAX_NUM_PROCESSES and MORPHAX_PROCESS_ID must be integers "
                             f"(got {env.get('MORPHAX_NUM_PROCESSES')!r}, "
                             f"{env.get('MORPHAX_PROCESS_ID')!r})") from None
        if not 0 <= pid < n:
            raise InputError(f"MORPHAX_PROCESS_ID must lie in 0..{n - 1}, got {pid}")
        if n > 1:
            jax.distributed.initialize(env.get("MORPHAX_COORDINATOR", "127.0.0.1:12355"), n, pid)
    elif int(env.get("SLURM_NTASKS", "1")) > 1:
        jax.distributed.initialize()
    return jax.process_index(), jax.process_count()
