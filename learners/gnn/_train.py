"""Synchronous training (as in the paper: asynchrony only at inference) and evaluation,
synchronous and asynchronous, of a model on a Task."""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import ConvergenceError, InputError

from ._async import Schedule, simulate_many
from ._graphs import Graph
from ._tasks import Task


class TrainResult(NamedTuple):
    """The trained model and the training loss per step."""

    model: eqx.Module
    losses: list


def task_loss(outputs, targets, kind: str, mask):
    """Mean cross-entropy (kind "classification", targets (n,) ints) or mean squared error
    (targets (n, out)) over the nodes where mask (n,) is True."""
    m = mask.astype(outputs.dtype)
    if kind == "classification":
        logp = jax.nn.log_softmax(outputs, axis=1)
        per = -jnp.take_along_axis(logp, targets[:, None], axis=1)[:, 0]
    else:
        per = jnp.sum((outputs - targets) ** 2, axis=1)
    return jnp.sum(per * m) / jnp.maximum(jnp.sum(m), 1.0)


def metric(outputs, targets, kind: str, mask) -> float:
    """Accuracy (classification) or RMSE per node (regression) over masked nodes."""
    outputs, targets, mask = np.asarray(outputs), np.asarray(targets), np.asarray(mask, bool)
    if kind == "classification":
        return float(np.mean(outputs[mask].argmax(1) == targets[mask]))
    return float(np.sqrt(np.mean(np.sum((outputs[mask] - targets[mask]) ** 2, axis=1))))


def _targets(task: Task, y):
    return jnp.asarray(y) if task.kind == "classification" else jnp.asarray(y, task.train.nodes.dtype)


def train(model, task: Task, *, steps: int = 200, lr: float = 1e-2, tol: float = 1e-6,
          max_iter: int = 300, progress=None) -> TrainResult:
    """Full-batch Adam on the task's training graph; IGNN weights are projected onto the
    well-posedness ball after every step; tol, max_iter: implicit solver settings while
    training (forward iterations and adjoint CG iterations are capped at max_iter).
    progress: optional callable(step, loss)."""
    if steps < 1 or lr <= 0:
        raise InputError(f"train needs steps >= 1 and lr > 0, got {steps}, {lr}")
    graph, y = task.train, _targets(task, task.y_train)
    opt = optax.adam(lr)
    state = opt.init(eqx.filter(model, eqx.is_array))
    project = hasattr(model, "project")

    @eqx.filter_jit
    def step(model, state):
        loss, grads = eqx.filter_value_and_grad(
            lambda m: task_loss(m(graph, tol=tol, max_iter=max_iter), y, task.kind, graph.node_mask))(model)
        with jax.numpy_dtype_promotion("standard"):   # optax's bias correction: float ** int32
            updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
        model = eqx.apply_updates(model, updates)
        return (model.project() if project else model), state, loss

    model = model.project() if project else model
    losses = []
    for i in range(steps):
        model, state, loss = step(model, state)
        losses.append(float(loss))
        if not np.isfinite(losses[-1]):
            raise InputError(f"training diverged at step {i} (loss {losses[-1]}); lower lr")
        if progress is not None:
            progress(i, losses[-1])
    return TrainResult(model, losses)


def evaluate(model, graph: Graph, y, kind: str) -> float:
    """Synchronous metric of the model on a graph."""
    return metric(model(graph), y, kind, graph.node_mask)


def evaluate_async(model, task: Task, schedule: Schedule, *, runs: int = 10, key) -> dict:
    """Asynchronous metric on the test graph over `runs` schedules drawn from `key`, run as one
    compiled, vmapped program: {"sync", "async_mean", "async_std", "max_dev" (largest
    |async - sync| output), "updates_mean" (node updates per run), "ticks_max", "runs",
    "converged" (runs that reached the schedule's tol), "residual_max"}. Raises
    ConvergenceError if a run diverged; runs that hit max_ticks are counted, not hidden."""
    graph = task.test
    sync_out = np.asarray(model(graph))
    sync = metric(sync_out, task.y_test, task.kind, graph.node_mask)
    res = simulate_many(model, graph, schedule, keys=jax.random.split(key, runs))
    if bool(jnp.any(res.diverged)):
        raise ConvergenceError(f"asynchronous inference diverged (residual "
                               f"{float(jnp.max(res.residual)):.3g}); lower the schedule's "
                               "step_scale or staleness")
    outs = np.asarray(jax.vmap(lambda h: model.readout(graph, h))(res.states))
    mask = np.asarray(graph.node_mask)
    vals = [metric(out, task.y_test, task.kind, mask) for out in outs]
    devs = np.max(np.abs(outs - sync_out[None])[:, mask], axis=(1, 2))
    return {"sync": sync, "async_mean": float(np.mean(vals)), "async_std": float(np.std(vals)),
            "max_dev": float(np.max(devs)), "updates_mean": float(np.mean(res.updates)),
            "ticks_max": int(np.max(res.ticks)), "runs": runs, "converged": int(np.sum(res.converged)),
            "residual_max": float(np.max(res.residual))}
