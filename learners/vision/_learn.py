"""Maximum-likelihood weights of the factor graph, and the evaluation settings.

The log-likelihood of labelled images, sum_i E(x_i | f_i) - log Z(f_i), is concave in the
parameters (E is linear in them), so full-batch Adam on the exact log Z finds the optimum. An L2 penalty
on the visual weights W keeps small training sets from overfitting.

Settings (what the model sees):
    vision   : visual unaries only (no language factors);
    language : language factors and per-variable biases only (no image);
    joint    : both;
    oracle   : the joint model with the true action, object and scene clamped.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import InputError

from ._graph import MotivationCRF, log_joint, log_partition, marginals, motivation_ranks

SETTINGS = ("vision", "language", "joint", "oracle")
"""Evaluation settings (what the model sees): visual unaries only, language factors only,
both, or the joint model with the true action, object and scene clamped."""


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Full-batch Adam iterations and step size; L2 weights on the visual weights W and on the
    language weights lambda."""

    iterations: int = 400
    learning_rate: float = 0.05
    l2: float = 1e-2
    l2_language: float = 0.0

    def __post_init__(self):
        if self.iterations < 1 or not self.learning_rate > 0 or not min(self.l2,
                                                                         self.l2_language) >= 0:
            raise InputError("FitConfig needs iterations >= 1, learning_rate > 0, l2 >= 0 and "
                             "l2_language >= 0")


def _inputs(setting: str, features, tables: dict):
    if setting not in SETTINGS:
        raise InputError(f"setting {setting!r} must be one of {SETTINGS}")
    feats = jnp.asarray(features)
    if setting == "language":
        feats = feats[:, :0]
    factors = () if setting == "vision" else tuple(tables)
    return feats, factors


def nll(crf: MotivationCRF, features, labels, tables: dict) -> jax.Array:
    """Mean negative log-likelihood of labels (B, 4) int given features (B, d)."""
    logj = log_joint(crf, features, tables)
    b = jnp.arange(labels.shape[0])
    true = logj[b, labels[:, 0], labels[:, 1], labels[:, 2], labels[:, 3]]
    return jnp.mean(log_partition(logj) - true)


def fit_crf(features, labels, tables: dict, shape: tuple, *, setting: str = "joint",
            config: FitConfig = FitConfig()) -> MotivationCRF:
    """Maximum-likelihood parameters for one setting ('vision', 'language' or 'joint';
    'oracle' uses the joint fit).

    Args:
        features: (B, d) visual features of the training images; labels: (B, 4) int
            (action, object, scene, motivation); tables: language factor -> table;
            shape: (A, O, S, M).
    """
    feats, factors = _inputs("joint" if setting == "oracle" else setting, features, tables)
    labels = jnp.asarray(labels)
    if labels.ndim != 2 or labels.shape != (feats.shape[0], 4):
        raise InputError(f"labels must be (B, 4) for {feats.shape[0]} images, got {labels.shape}")
    tabs = {k: jnp.asarray(tables[k]) for k in factors}
    init = MotivationCRF.zeros(shape, feats.shape[1], factors)

    def loss(crf):
        reg = config.l2 * sum(jnp.sum(w * w) for w in crf.weights)
        return nll(crf, feats, labels, tabs) + reg + config.l2_language * jnp.sum(crf.lam ** 2)

    opt = optax.adam(config.learning_rate)

    def step(carry, _):
        params, state = carry
        value, grad = jax.value_and_grad(loss)(params)
        with jax.numpy_dtype_promotion("standard"):  # optax: float ** int32 step count
            updates, state = opt.update(grad, state, params)
        return (optax.apply_updates(params, updates), state), value

    (params, _), _ = jax.lax.scan(step, (init, opt.init(init)), None, length=config.iterations)
    return params


def predict(crf: MotivationCRF, features, tables: dict, *, setting: str = "joint",
            clamp=None) -> tuple:
    """Marginals (4 arrays (B, K_v)) under one setting; ``clamp`` (B, 3) for 'oracle'."""
    feats, _ = _inputs(setting, features, tables)
    if setting == "oracle" and clamp is None:
        raise InputError("the oracle setting needs clamp (B, 3): the true action, object, scene")
    tabs = {k: jnp.asarray(tables[k]) for k in crf.factors}
    return marginals(log_joint(crf, feats, tabs, clamp=jnp.asarray(clamp) if setting == "oracle"
                               else None))


def rank_metrics(prob_m, truth) -> dict:
    """Mean and median rank of the true motivation, top-1 and top-5 accuracy."""
    ranks = np.asarray(motivation_ranks(jnp.asarray(prob_m), jnp.asarray(truth)))
    return {"mean_rank": float(ranks.mean()), "median_rank": float(np.median(ranks)),
            "top1": float(np.mean(ranks <= 1)), "top5": float(np.mean(ranks <= 5))}
