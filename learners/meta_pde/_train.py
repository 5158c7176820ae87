"""Meta-training with progress bars, checkpoints and resume; saving and loading MetaInits.

Step s draws its tasks and points from jax.random.fold_in(key, s), so a run resumed from a
checkpoint continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import pathlib
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import DataError, InputError, atomic_path, cached
from morphax._core.parallel import AXIS, batch_mesh, check_divisible, fetch, pmean, put

from ._meta import MetaInit, adam, leap_meta_gradient, maml_outer_loss, new_init

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class MetaTrainConfig:
    """Outer-loop settings (Qin et al. 2022, Table 2, scaled for CPU: see the report in
    shared/reference). outer_lr: Adam on the initialization; lr_lr: Adam on MAML's learned
    rates; task_batch tasks per outer step; clip: global gradient-norm clip; decay: MAML's
    outer-loss discount 0.1^(K - t); first_order: first-order MAML meta-gradient (the learned
    rates are still learned; ~4x faster to compile and ~3x faster per step on CPU)."""

    steps: int = 1000
    task_batch: int = 4
    outer_lr: float = 1e-4
    lr_lr: float = 0.05
    clip: float = 100.0
    decay: float = 0.1
    checkpoint_every: int = 100
    first_order: bool = False


def _optimizers(cfg: MetaTrainConfig):
    return (optax.chain(optax.clip_by_global_norm(cfg.clip), adam(cfg.outer_lr)),
            optax.chain(optax.clip_by_global_norm(cfg.clip), adam(cfg.lr_lr, b2=0.99)))


def make_outer_step(family, init: MetaInit, cfg: MetaTrainConfig, mesh=None):
    """A jitted (init, opt_states, step_key) -> (init, opt_states, loss) outer step.

    mesh: a `morphax._core.parallel.batch_mesh` to shard the task batch over its devices
    (data parallel: every device draws the same tasks, meta-learns on its slice, and the
    meta-gradients and losses are averaged across devices in one collective; the update is then
    the same on every device). The step then takes and returns arrays replicated on the mesh,
    and the key as raw key data (`jax.random.key_data`)."""
    opt_model, opt_lr = _optimizers(cfg)
    static = eqx.partition(init.model, eqx.is_inexact_array)[1]
    parallel = mesh is not None
    shard = check_divisible(cfg.task_batch, mesh, "task batch") if parallel else cfg.task_batch

    def combine(params, lr_params):
        return dataclasses.replace(init, model=eqx.combine(params, static), lr_params=lr_params)

    def batch_loss(params, lr_params, tasks, keys):
        meta = combine(params, lr_params)
        losses = jax.vmap(lambda t, k: maml_outer_loss(family, meta, t, key=k,
                                                       decay=cfg.decay,
                                                       first_order=cfg.first_order))(tasks, keys)
        return jnp.mean(losses)

    def init_states(params, lr_params):
        return (opt_model.init(params),
                opt_lr.init(lr_params) if lr_params is not None else None)

    def local(tree):   # this device's slice of the task batch
        if not parallel:
            return tree
        start = jax.lax.axis_index(AXIS) * shard
        return jax.tree_util.tree_map(lambda x: jax.lax.dynamic_slice_in_dim(x, start, shard),
                                      tree)

    def mean(tree):    # the mean over devices of per-device means (equal slices)
        return pmean(tree) if parallel else tree

    def step(params, lr_params, states, key):
        k1, k2 = jax.random.split(key)
        tasks = local(family.sample_tasks(cfg.task_batch, key=k1))
        keys = local(jax.random.split(k2, cfg.task_batch))
        s_model, s_lr = states
        if init.method == "maml":
            loss, (g, glr) = mean(jax.value_and_grad(batch_loss, argnums=(0, 1))(
                params, lr_params, tasks, keys))
            upd, s_lr = opt_lr.update(glr, s_lr, lr_params)
            lr_params = optax.apply_updates(lr_params, upd)
        else:   # leap
            meta = combine(params, lr_params)
            g, losses = jax.vmap(lambda t, k: leap_meta_gradient(family, meta, t, key=k))(
                tasks, keys)
            g, loss = mean((jax.tree_util.tree_map(lambda a: jnp.mean(a, axis=0), g),
                            jnp.mean(losses)))
        upd, s_model = opt_model.update(g, s_model, params)
        params = optax.apply_updates(params, upd)
        return params, lr_params, (s_model, s_lr), loss

    def sharded(params, lr_params, states, key_data):
        return step(params, lr_params, states, jax.random.wrap_key_data(key_data))

    if parallel:
        spec = jax.sharding.PartitionSpec()
        return (jax.jit(jax.shard_map(sharded, mesh=mesh, in_specs=spec, out_specs=spec,
                                      check_vma=False)), init_states, combine)

    return jax.jit(step), init_states, combine


def _outer_step_cached(family, init, cfg, mesh=None):
    """make_outer_step, reused across calls with the same family object, config and structure
    (so that resuming in the same process does not compile again)."""
    key = ("outer_step", cfg, init.method, init.family, init.inner_steps, init.inner_lr,
           init.rates, jax.tree_util.tree_structure(init),
           str(jax.tree_util.tree_map(jnp.shape, init)), mesh)
    return cached(family, key, lambda: make_outer_step(family, init, cfg, mesh))


def meta_train(family, init: MetaInit, cfg: MetaTrainConfig = MetaTrainConfig(), *,
               key: jax.Array, checkpoint: str | pathlib.Path | None = None,
               resume: bool = True, progress: bool = False, stop_after: int | None = None,
               devices=None):
    """Meta-train `init` (MAML or LEAP) on `family` for cfg.steps outer steps.

    checkpoint: a file written every cfg.checkpoint_every steps and at the end (atomically);
    with resume=True an existing one is loaded and training continues from its step.
    stop_after: stop after that many steps in this call (for tests of resume).
    devices: None (one device), a device count or a `batch_mesh`: the task batch is sharded
    over them (data parallel, the same result as one device up to rounding; across processes
    after `morphax._core.parallel.initialize_distributed`, where process 0 writes checkpoints).
    Returns (MetaInit, history: list of (step, mean outer loss))."""
    if init.method not in ("maml", "leap"):
        raise InputError(f"meta_train needs a 'maml' or 'leap' init, got {init.method!r}")
    mesh = None if devices is None else (
        devices if isinstance(devices, jax.sharding.Mesh) else batch_mesh(devices))
    step_fn, init_states, combine = _outer_step_cached(family, init, cfg, mesh)
    params, static = eqx.partition(init.model, eqx.is_inexact_array)
    lr_params = init.lr_params
    states = init_states(params, lr_params)
    start, history = 0, []
    path = pathlib.Path(checkpoint) if checkpoint else None
    if path and resume and path.exists():
        (params, lr_params, states), start, history = _load_checkpoint(
            path, (params, lr_params, states))
        log.info("resumed meta-training from %s at step %d", path, start)
    if mesh is not None:   # replicated global arrays; keys as raw data
        params, lr_params, states = put((params, lr_params, states), mesh,
                                        jax.sharding.PartitionSpec())
    end = cfg.steps if stop_after is None else min(cfg.steps, start + stop_after)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=start, desc=f"meta-train {init.family} "
                   f"{init.method}", unit="step")
    t0 = time.perf_counter()
    for s in range(start, end):
        step_key = jax.random.fold_in(key, s)
        if mesh is not None:
            step_key = put(jax.random.key_data(step_key), mesh, jax.sharding.PartitionSpec())
        params, lr_params, states, loss = step_fn(params, lr_params, states, step_key)
        loss = float(fetch(loss))
        if not np.isfinite(loss):
            raise FloatingPointError(f"meta-training diverged at step {s} (loss {loss}); "
                                     "lower outer_lr or lr_lr")
        history.append((s, loss))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3g}")
        if path and ((s + 1) % cfg.checkpoint_every == 0 or s + 1 == end) and \
                jax.process_index() == 0:
            _save_checkpoint(path, fetch((params, lr_params, states)), s + 1, history)
    if bar is not None:
        bar.close()
    log.info("meta-trained %d steps in %.1f s", end - start, time.perf_counter() - t0)
    if mesh is not None:
        params, lr_params = jax.tree_util.tree_map(jnp.asarray, fetch((params, lr_params)))
    return combine(params, lr_params), history


def _save_checkpoint(path, tree, step, history):
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    with atomic_path(path) as tmp:
        np.savez(tmp, leaves=np.frombuffer(buf.getvalue(), dtype=np.uint8), step=step,
                 history=np.asarray(history, dtype=float).reshape(-1, 2))


def _load_checkpoint(path, like):
    with np.load(path) as z:
        tree = eqx.tree_deserialise_leaves(io.BytesIO(z["leaves"].tobytes()), like)
        return tree, int(z["step"]), [(int(s), float(v)) for s, v in z["history"]]


# ----- shipping MetaInits --------------------------------------------------------------------
def save_init(path, init: MetaInit, *, dtype=np.float32, extra: dict | None = None) -> pathlib.Path:
    """Write a MetaInit to an .npz file (arrays in `dtype`, float32 by default, plus its config as
    JSON), atomically. `extra` (JSON-able) is stored beside the config."""
    path = pathlib.Path(path)
    leaves = jax.tree_util.tree_leaves(eqx.filter((init.model, init.lr_params),
                                                  eqx.is_inexact_array))
    meta = {**init.config, "extra": extra or {}}
    arrays = {f"leaf_{i:03d}": np.asarray(a, dtype=dtype) for i, a in enumerate(leaves)}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return path


def load_init(path, *, dtype=None) -> MetaInit:
    """Read a MetaInit written by `save_init` (arrays cast to `dtype`, default: JAX's float)."""
    dtype = dtype or (jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    with np.load(path) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        arrays = [z[f"leaf_{i:03d}"] for i in range(sum(k.startswith("leaf_") for k in z.files))]
    net = meta["net"]

    class _Fam:
        name, in_dim, out_dim = meta["family"], net["in_dim"], net["out_dim"]

    skeleton = new_init(_Fam, meta["method"], key=jax.random.key(0), width=net["width"],
                        depth=net["depth"], inner_steps=meta["inner_steps"],
                        inner_lr=meta["inner_lr"], omega=net["omega"],
                        rates=meta.get("rates", "softplus"))
    tree = (skeleton.model, skeleton.lr_params)
    leaves, treedef = jax.tree_util.tree_flatten(eqx.filter(tree, eqx.is_inexact_array))
    if len(leaves) != len(arrays):
        raise DataError(f"{path}: {len(arrays)} arrays, the config needs {len(leaves)}; the "
                        "file is damaged or was written for another network size")
    filled = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a, dtype) for a in arrays])
    model, lr_params = eqx.combine(filled, eqx.filter(tree, eqx.is_inexact_array, inverse=True))
    return dataclasses.replace(skeleton, model=model, lr_params=lr_params)


def init_metadata(path) -> dict:
    """The config and extra data stored with a MetaInit file."""
    with np.load(path) as z:
        return json.loads(z["meta"].tobytes().decode())
