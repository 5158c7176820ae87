"""Training with the entropy penalty: loss = task loss + lam * (bits / number of parameters),
the rate relaxed by uniform noise and the task loss seen through straight-through rounding."""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import InputError, cached

from ._reparam import EPR


@dataclasses.dataclass(frozen=True)
class EPRConfig:
    """lam: weight of the rate in bits per parameter (lam = 1 trades one bit per parameter
    for one unit of task loss; the paper's lambda times the parameter count); steps and
    batch_size of Adam; separate learning rates for the latents (in integer bins per step),
    the decoders (log-steps, offsets) and the priors, each decayed along a cosine to 5 %."""

    lam: float = 1.0
    steps: int = 1000
    batch_size: int = 128
    lr_latent: float = 0.05
    lr_decoder: float = 1e-3
    lr_prior: float = 1e-2

    def __post_init__(self):
        if not (math.isfinite(self.lam) and self.lam >= 0):
            raise InputError(f"lam must be a finite number >= 0, got {self.lam}")
        if self.steps < 0 or self.batch_size < 1:
            raise InputError(f"steps must be >= 0 and batch_size >= 1, got {self.steps}, "
                             f"{self.batch_size}")
        for name in ("lr_latent", "lr_decoder", "lr_prior"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be > 0, got {getattr(self, name)}")


def _labels(params):
    """'latent' / 'decoder' / 'prior' for every array of an EPR's parameters."""
    def label(path, _):
        top = path[0].name
        if top == "priors":
            return "prior"
        return "latent" if path[-1].name == "latent" else "decoder"
    return jax.tree_util.tree_map_with_path(label, params)


def _optimizer(config: EPRConfig):
    def adam(lr):   # cosine decay to 5 % so that the rounded latents settle at the end
        return optax.adam(optax.cosine_decay_schedule(lr, max(config.steps, 1), alpha=0.05))

    return optax.multi_transform({"latent": adam(config.lr_latent),
                                  "decoder": adam(config.lr_decoder),
                                  "prior": adam(config.lr_prior)}, _labels)


def _build_step(loss_fn, config: EPRConfig):
    opt = _optimizer(config)

    @eqx.filter_jit
    def step(params, static, opt_state, batch, key, lam, n_params):
        def objective(p):
            epr = eqx.combine(p, static)
            task = loss_fn(epr.model(), batch)
            rate = epr.rate_bits(key=key)
            return task + (lam * rate / n_params).astype(task.dtype), (task, rate)

        (_, (task, rate)), grads = jax.value_and_grad(objective, has_aux=True)(params)
        with jax.numpy_dtype_promotion("standard"):   # optax's bias correction: float ** int32
            updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, task, rate

    return opt, step


def train_epr(epr: EPR, loss_fn, data=(), *, config: EPRConfig, key: jax.Array,
              progress: bool = False, log_every: int = 0, sample: bool = True
              ) -> tuple[EPR, list[dict]]:
    """Adam on latents, decoders and priors for `config.steps` steps.

    loss_fn(model, batch) -> scalar task loss; `data` a pytree of arrays with a common
    leading axis (e.g. (images (N, ...), labels (N,))), from which each step draws a random
    batch of `config.batch_size` rows (sample=False: every step sees all of `data`; data=()
    for a data-free loss). Returns the trained
    EPR and a history of {step, task, bits} every `log_every` steps (never when 0)."""
    leaves = jax.tree_util.tree_leaves(data)
    n = leaves[0].shape[0] if leaves and sample else 0
    opt, step = cached(loss_fn, ("epr_step", config.lr_latent, config.lr_decoder,
                                 config.lr_prior, config.steps),
                       lambda: _build_step(loss_fn, config))
    params, static = eqx.partition(epr, eqx.is_inexact_array)
    opt_state = opt.init(params)
    dtype = epr.rate_dtype
    lam, n_params = jnp.asarray(config.lam, dtype), jnp.asarray(epr.num_params, dtype)
    history, bar = [], _bar(config.steps, progress)
    for i in range(config.steps):
        key, k_batch, k_noise = jax.random.split(key, 3)
        batch = data
        if n:
            idx = jax.random.randint(k_batch, (min(config.batch_size, n),), 0, n)
            batch = jax.tree_util.tree_map(lambda a, idx=idx: a[idx], data)
        params, opt_state, task, rate = step(params, static, opt_state, batch, k_noise, lam,
                                             n_params)
        if log_every and (i % log_every == 0 or i == config.steps - 1):
            history.append({"step": i, "task": float(task), "bits": float(rate)})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return eqx.combine(params, static), history


def _bar(total, progress):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="EPR training", leave=False)


#: the data-free fit's lambda is in units of this relative squared weight error per bit per
#: parameter: at lam = 1 one more bit per parameter must buy 1e-3 of relative squared error
DATA_FREE_UNIT = 1e-3


def fit_arrays(arrays: dict[str, np.ndarray], *, lam: float, steps: int = 300,
               prior: str = "factorized", key: jax.Array, progress: bool = False) -> EPR:
    """Data-free EPR of a dict of float arrays: minimise the mean over tensors of the relative
    squared error ||theta_k - theta0_k||^2 / ||theta0_k||^2 plus lam * DATA_FREE_UNIT *
    bits/param (rate-distortion on the weights themselves, the CLI's mode). Near the optimum
    the relative squared error is about lam * DATA_FREE_UNIT / (2 ln 2) (lam = 1: a relative
    RMS error of about 3 %)."""
    if not arrays:
        raise InputError("no floating-point arrays to compress")
    dtype = jnp.zeros(()).dtype
    targets = {k: jnp.asarray(v, dtype) for k, v in arrays.items()}
    k_init, k_train = jax.random.split(key)
    epr = EPR.from_model(targets, key=k_init, prior=prior, latent_std=16.0)
    config = EPRConfig(lam=lam * DATA_FREE_UNIT, steps=steps, lr_latent=0.05, lr_decoder=1e-2, lr_prior=1e-2)
    epr, _ = train_epr(epr, relative_distortion, targets, config=config, key=k_train,
                       progress=progress, sample=False)
    # decode to the arrays' own dtypes, not the compute dtype
    return dataclasses.replace(epr, dtypes=tuple(np.asarray(arrays[n]).dtype.name
                                                 for n in epr.names))


def relative_distortion(model: dict, targets: dict) -> jax.Array:
    """Mean over tensors of ||model[k] - targets[k]||^2 / ||targets[k]||^2."""
    errs = [jnp.sum(jnp.square(model[k] - t)) / jnp.maximum(jnp.sum(jnp.square(t)), 1e-30)
            for k, t in targets.items()]
    return sum(errs) / len(errs)
