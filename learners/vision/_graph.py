"""The factor graph over (action a, object o, scene s, motivation m) and exact inference.

Score of a joint state for an image with feature vector f (d,):

    E(a, o, s, m | f) = sum_v (W_v f + b_v)[x_v] + sum_k lambda_k T_k[x_k]

with one linear visual unary per variable v (W_v: (K_v, d), b_v: (K_v,)) and language
factors T_k over pairs/triples of variables (``_text.language_potentials``), weighted by scalars
lambda_k. p(a, o, s, m | f) = exp(E) / Z(f). The joint space (A*O*S*M states, 7,560 for the
default vocabulary) is small, so sum-product marginals (log-sum-exp) and max-product MAP
(max) are computed exactly on the whole tensor.
"""

from __future__ import annotations

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

from ._vocab import VARIABLES


class MotivationCRF(eqx.Module):
    """Parameters of the factor graph (a pytree).

    Attributes:
        weights: tuple of 4 arrays (K_v, d), visual unaries of action, object, scene, motivation.
        biases: tuple of 4 arrays (K_v,).
        lam: (F,) weight of each language factor, in the order of ``factors``.
        factors: tuple of variable-name tuples (static), e.g. (("action", "motivation"), ...).
    """

    weights: tuple
    biases: tuple
    lam: jax.Array
    factors: tuple = eqx.field(static=True)

    @staticmethod
    def zeros(shape: tuple, dim: int, factors) -> MotivationCRF:
        """All-zero parameters for a joint space of ``shape`` (A, O, S, M) and d = ``dim``."""
        if len(shape) != 4 or dim < 0:
            raise InputError("shape must be (A, O, S, M) and dim >= 0")
        return MotivationCRF(weights=tuple(jnp.zeros((k, dim)) for k in shape),
                             biases=tuple(jnp.zeros((k,)) for k in shape),
                             lam=jnp.zeros((len(tuple(factors)),)), factors=tuple(factors))


def _place(table: jax.Array, variables: tuple) -> jax.Array:
    """A table over ``variables`` as a (1, A|1, O|1, S|1, M|1) array (explicit broadcasting)."""
    axes = [VARIABLES.index(v) for v in variables]
    if axes != sorted(axes):
        raise InputError(f"factor variables {variables} must follow the order {VARIABLES}")
    shape = [1, 1, 1, 1, 1]
    for ax, size in zip(axes, table.shape, strict=True):
        shape[ax + 1] = size
    return jnp.reshape(table, shape)


def unaries(crf: MotivationCRF, features: jax.Array) -> tuple:
    """Visual unaries: 4 arrays (B, K_v) from features (B, d)."""
    return tuple(features @ w.T + b[None, :] for w, b in zip(crf.weights, crf.biases, strict=True))


def log_joint(crf: MotivationCRF, features: jax.Array, tables: dict,
              clamp: jax.Array | None = None) -> jax.Array:
    """Scores E of every joint state, (B, A, O, S, M).

    Args:
        features: (B, d). tables: factor -> language table (``_text.language_potentials``).
        clamp: optional (B, 3) int, observed (action, object, scene): other values get -inf
            (the oracle setting: only the motivation is inferred).
    """
    total = jnp.zeros((1, 1, 1, 1, 1), dtype=features.dtype)
    for v, u in enumerate(unaries(crf, features)):
        if clamp is not None and v < 3:
            keep = jnp.arange(u.shape[1])[None, :] == clamp[:, v:v + 1]
            u = jnp.where(keep, u, -jnp.inf)
        shape = [u.shape[0], 1, 1, 1, 1]
        shape[v + 1] = u.shape[1]
        total = total + jnp.reshape(u, shape)
    for k, factor in enumerate(crf.factors):
        total = total + crf.lam[k] * _place(jnp.asarray(tables[factor]), factor)
    return total


def log_partition(logj: jax.Array) -> jax.Array:
    """log Z per image, (B,), from scores (B, A, O, S, M)."""
    return jax.nn.logsumexp(logj, axis=(1, 2, 3, 4))


def marginals(logj: jax.Array) -> tuple:
    """Sum-product marginals p(x_v | image): 4 arrays (B, K_v), each row summing to 1."""
    logz = log_partition(logj)[:, None]
    out = []
    for v in range(4):
        others = tuple(ax for ax in range(1, 5) if ax != v + 1)
        out.append(jnp.exp(jax.nn.logsumexp(logj, axis=others) - logz))
    return tuple(out)


def max_marginals(logj: jax.Array) -> tuple:
    """Max-product max-marginals max_{x_-v} E(x): 4 arrays (B, K_v) of scores."""
    return tuple(jnp.max(logj, axis=tuple(ax for ax in range(1, 5) if ax != v + 1))
                 for v in range(4))


def map_state(logj: jax.Array) -> jax.Array:
    """Max-product MAP state, (B, 4) int: (action, object, scene, motivation)."""
    flat = jnp.argmax(logj.reshape(logj.shape[0], -1), axis=1)
    return jnp.stack(jnp.unravel_index(flat, logj.shape[1:]), axis=1)


def brute_force(crf: MotivationCRF, feature: np.ndarray, tables: dict) -> tuple:
    """Reference for one image by enumerating every state in Python: the score of each state
    from the factor definitions, then marginals (4 arrays (K_v,)), the MAP state and log Z."""
    feature = np.asarray(feature, dtype=np.float64)
    un = [np.asarray(w) @ feature + np.asarray(b) for w, b in zip(crf.weights, crf.biases, strict=True)]
    lam = np.asarray(crf.lam)
    sizes = [len(u) for u in un]
    scores = {}
    for state in itertools.product(*(range(k) for k in sizes)):
        e = sum(float(un[v][state[v]]) for v in range(4))
        for k, factor in enumerate(crf.factors):
            idx = tuple(state[VARIABLES.index(name)] for name in factor)
            e += float(lam[k]) * float(np.asarray(tables[factor])[idx])
        scores[state] = e
    top = max(scores.values())
    logz = top + float(np.log(sum(np.exp(e - top) for e in scores.values())))
    margs = [np.zeros(k) for k in sizes]
    for state, e in scores.items():
        p = np.exp(e - logz)
        for v in range(4):
            margs[v][state[v]] += p
    return tuple(margs), max(scores, key=scores.get), logz


def motivation_ranks(prob_m: jax.Array, truth: jax.Array) -> jax.Array:
    """Rank (1 = best) of the true motivation, (B,) int, under scores (B, M) and truth (B,):
    one plus the number of motivations scored strictly higher."""
    true = jnp.take_along_axis(prob_m, truth[:, None], axis=1)
    return 1 + jnp.sum(prob_m > true, axis=1)
