"""Data-parallel NMA training: the batch of targets of an iteration is sharded over the
devices of a mesh (`jax.shard_map` over the axis "batch"); each device solves the equilibria
of its targets (the host-side Newton of `morphax.physics.solve`, one callback per device, so
with one process per device the solves run in parallel) and their adjoints, and the
per-target gradients are gathered on every device in one collective
(`morphax._core.parallel.all_gather`).

`ParallelTrainer.step` then hands them to `Trainer.step`, which averages them and makes its
usual update (penalties, geometry constraints, re-meshing, records), so a parallel run equals
a one-device run up to rounding. A target whose solve fails at the first level is solved again
by `NMASystem.sample_grad` (with its retries), as in `Trainer`.
"""

from __future__ import annotations

import logging
import time

import jax
import numpy as np

from morphax._core import InputError, cached
from morphax._core.parallel import AXIS, all_gather, batch_mesh, check_divisible, fetch, put

from ._config import NMAConfig
from ._train import Trainer

log = logging.getLogger("morphax.learners.nma")

P = jax.sharding.PartitionSpec


def make_parallel_grad(system, mesh):
    """A jitted fn(model, targets) -> (losses (B,), errors (B,), converged (B,), gradients
    (a model pytree with a leading axis B)) at the first solver level, the same on every
    device. model: replicated on `mesh`; targets: the batch, sharded along its leading axis
    (`morphax._core.parallel.put(targets, mesh, P("batch"))`)."""

    def local(model, targets):
        def one(target):
            (loss, (ok, err)), g = jax.value_and_grad(
                lambda m: system.sample_loss(m, target, level=0), has_aux=True)(model)
            return loss, err, ok, g

        out = jax.vmap(one)(targets)
        return all_gather(out)

    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(P(), P(AXIS)), out_specs=P(),
                                 check_vma=False))


class _Prefetched:
    """The system, except that `sample_grad` returns the batch's precomputed results in order
    (None: solve it here, with retries)."""

    def __init__(self, system, results):
        self._system, self._results = system, list(results)

    def __getattr__(self, name):
        return getattr(self._system, name)

    def sample_grad(self, model, target):
        out = self._results.pop(0) if self._results else None
        return self._system.sample_grad(model, target) if out is None else out


class ParallelTrainer(Trainer):
    """A `Trainer` whose iterations solve the batch's targets sharded over `devices` (a count,
    a list, a `batch_mesh`, or None: every device JAX sees, across processes after
    `morphax._core.parallel.initialize_distributed`). config.batch must be a multiple of the
    device count. Evaluation and checkpoints are Trainer's."""

    def __init__(self, config: NMAConfig, *, devices=None, out=None, **kwargs):
        super().__init__(config, out=out, **kwargs)
        self.mesh = devices if isinstance(devices, jax.sharding.Mesh) else batch_mesh(devices)
        check_divisible(config.batch, self.mesh, "batch")

    def parallel_grads(self, model, batch) -> list:
        """Per target of `batch`: (loss, error, gradient, 0), or None where the first-level
        solve failed."""
        system = self.system
        fn = cached(system, ("nma_parallel_grad", self.mesh),
                    lambda: make_parallel_grad(system, self.mesh))
        try:
            losses, errors, ok, grads = fetch(fn(put(model, self.mesh, P()),
                                                 put(batch, self.mesh, P(AXIS))))
        except jax.errors.JaxRuntimeError as err:   # a host solve raised inside the callback
            log.info("a batched solve failed (%s); solving target by target",
                     str(err).splitlines()[0][:200])
            return [None] * self.config.batch
        good = ok & np.isfinite(losses)
        return [(float(losses[i]), float(errors[i]),
                 jax.tree_util.tree_map(lambda g, i=i: jax.numpy.asarray(g[i]), grads), 0)
                if good[i] else None for i in range(len(good))]

    def step(self) -> dict:
        system, t0 = self.system, time.perf_counter()
        self.system = _Prefetched(system, self.parallel_grads(self.state.model,
                                                              self.batch(self.state.iteration)))
        dt = time.perf_counter() - t0
        try:
            rec = super().step()
        finally:
            if isinstance(self.system, _Prefetched):   # else Trainer.step re-meshed
                self.system = system
        rec["time"] += dt       # the record is the one in state.history
        self.state.train_time += dt
        return rec


def train_parallel(config: NMAConfig, *, devices=None, out=None, resume: bool = False,
                   progress: bool = False, **kwargs) -> ParallelTrainer:
    """`train` with a `ParallelTrainer` on `devices` (see there); the same outputs. Under
    `jax.distributed` only process 0 writes checkpoints."""
    trainer = ParallelTrainer(config, devices=devices, out=out, **kwargs)
    if resume:
        if out is None:
            raise InputError("resume needs the output folder of the interrupted run")
        if not trainer.load_checkpoint():
            raise InputError("no checkpoint to resume from; start a new run without --resume")
    if jax.process_index() > 0:
        trainer.out = None
    trainer.run(progress=progress)
    return trainer
