"""The motivation factor graph: exact inference against brute-force enumeration, maximum
likelihood recovering the weights that generated the data, rank metrics."""

import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.learners.vision import (
    FitConfig,
    MotivationCRF,
    brute_force,
    fit_crf,
    log_joint,
    log_partition,
    map_state,
    marginals,
    max_marginals,
    motivation_ranks,
    nll,
    predict,
    rank_metrics,
)

SHAPE = (3, 4, 2, 5)
FACTORS = (("action", "object"), ("action", "motivation"), ("scene", "motivation"),
           ("action", "object", "motivation"))


def _random_model(rng, dim=3, shape=SHAPE):
    crf = MotivationCRF(weights=tuple(jnp.asarray(rng.normal(size=(k, dim))) for k in shape),
                        biases=tuple(jnp.asarray(rng.normal(size=k)) for k in shape),
                        lam=jnp.asarray(rng.normal(size=len(FACTORS))), factors=FACTORS)
    sizes = dict(zip(("action", "object", "scene", "motivation"), shape, strict=True))
    tables = {f: rng.normal(size=tuple(sizes[v] for v in f)) for f in FACTORS}
    return crf, tables


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_inference_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    crf, tables = _random_model(rng)
    feats = rng.normal(size=(4, 3))
    logj = log_joint(crf, jnp.asarray(feats), {k: jnp.asarray(v) for k, v in tables.items()})
    margs, states, logz = marginals(logj), np.asarray(map_state(logj)), log_partition(logj)
    for i in range(4):
        ref_m, ref_map, ref_z = brute_force(crf, feats[i], tables)
        assert float(logz[i]) == pytest.approx(ref_z, abs=1e-10)
        for v in range(4):
            np.testing.assert_allclose(np.asarray(margs[v][i]), ref_m[v], atol=1e-12)
        assert tuple(int(x) for x in states[i]) == ref_map


def test_max_marginals_and_map_are_consistent():
    rng = np.random.default_rng(5)
    crf, tables = _random_model(rng)
    logj = log_joint(crf, jnp.asarray(rng.normal(size=(2, 3))), tables)
    states = np.asarray(map_state(logj))
    for v, mm in enumerate(max_marginals(logj)):
        np.testing.assert_array_equal(np.argmax(np.asarray(mm), axis=1), states[:, v])
        np.testing.assert_allclose(np.max(np.asarray(mm), axis=1),
                                   np.max(np.asarray(logj).reshape(2, -1), axis=1))


def test_oracle_clamp_leaves_only_the_motivation():
    rng = np.random.default_rng(3)
    crf, tables = _random_model(rng)
    clamp = jnp.asarray([[2, 1, 0]])
    margs = marginals(log_joint(crf, jnp.asarray(rng.normal(size=(1, 3))), tables, clamp=clamp))
    for v, value in enumerate((2, 1, 0)):
        assert float(margs[v][0, value]) == pytest.approx(1.0)


def _sample(crf, tables, n, rng):
    feats = rng.normal(size=(n, 3))
    logj = np.asarray(log_joint(crf, jnp.asarray(feats), tables)).reshape(n, -1)
    p = np.exp(logj - logj.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    flat = np.array([rng.choice(p.shape[1], p=row) for row in p])
    return feats, np.stack(np.unravel_index(flat, SHAPE), axis=1)


def test_maximum_likelihood_recovers_language_weights():
    rng = np.random.default_rng(0)
    crf, tables = _random_model(rng)
    true = MotivationCRF(weights=crf.weights, biases=crf.biases,
                         lam=jnp.asarray([1.5, -1.0, 0.5, 2.0]), factors=FACTORS)
    feats, labels = _sample(true, tables, 1000, rng)
    fit = fit_crf(feats, labels, tables, SHAPE, setting="joint", config=FitConfig(iterations=300, l2=0.0))
    np.testing.assert_allclose(np.asarray(fit.lam), np.asarray(true.lam), atol=0.3)
    assert float(nll(fit, jnp.asarray(feats), jnp.asarray(labels), tables)) <= \
        float(nll(true, jnp.asarray(feats), jnp.asarray(labels), tables)) + 1e-6
    vision = fit_crf(feats, labels, tables, SHAPE, setting="vision")
    assert vision.factors == () and vision.lam.shape == (0,)
    language = fit_crf(feats, labels, tables, SHAPE, setting="language")
    assert language.weights[0].shape == (3, 0)
    probs = predict(language, feats[:5], tables, setting="language")[3]
    np.testing.assert_allclose(np.asarray(probs), np.broadcast_to(np.asarray(probs[:1]), (5, 5)))


def test_ranks_and_errors():
    probs = jnp.asarray([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1]])
    np.testing.assert_array_equal(np.asarray(motivation_ranks(probs, jnp.asarray([2, 0]))), [2, 1])
    metrics = rank_metrics(probs, np.array([2, 2]))
    assert metrics["mean_rank"] == 2.5 and metrics["top1"] == 0.0 and metrics["top5"] == 1.0
    with pytest.raises(InputError, match="setting"):
        fit_crf(np.zeros((2, 3)), np.zeros((2, 4), dtype=int), {}, SHAPE, setting="text")
    with pytest.raises(InputError, match="labels"):
        fit_crf(np.zeros((2, 3)), np.zeros((3, 4), dtype=int), {}, SHAPE, setting="vision")
    with pytest.raises(InputError, match="l2"):
        FitConfig(l2=-1.0)
    with pytest.raises(InputError, match="clamp"):
        predict(MotivationCRF.zeros(SHAPE, 3, ()), np.zeros((2, 3)), {}, setting="oracle")
