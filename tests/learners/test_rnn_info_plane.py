"""The information-plane machinery on encoders whose place is known, and (slow) a trained GRU."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.learners.rnn_info import (
    SequenceRNN,
    TrainConfig,
    final_hidden,
    information_plane,
    linear_encoder_information,
    restorative_brownian_motion,
    simulate,
    train_rnn,
    window_covariance,
)

M, N = 10, 5


def _first_canonical_direction(cov):
    sxx, sxy, syy = cov[:M, :M], cov[:M, M:], cov[M:, M:]
    lx, ly = np.linalg.cholesky(sxx), np.linalg.cholesky(syy)
    u, _, _ = np.linalg.svd(np.linalg.solve(lx, np.linalg.solve(ly, sxy.T).T))
    return np.linalg.solve(lx.T, u[:, 0])          # unit variance projection of the past


def test_optimal_encoder_on_frontier_random_one_below():
    cov = window_covariance(restorative_brownian_motion(), M, N)
    a = _first_canonical_direction(cov)
    assert a @ cov[:M, :M] @ a == pytest.approx(1.0)
    # one direction with I(past; z) < 4.5 bits is on the frontier (second component inactive)
    best = information_plane(lambda p: (p @ jnp.asarray(a))[:, None], cov, M, [0.2],
                             key=jax.random.key(0), k=256, batches=8)[0]
    tx, ty = linear_encoder_information(cov, M, a[None, :] / 0.2)
    assert best.past_lower - 3 * best.past_se <= tx <= best.past_upper + 3 * best.past_se
    assert abs(best.gap) < 0.05 + 3 * best.future_se
    w = np.random.default_rng(0).normal(size=(2, M))
    rand = information_plane(lambda p: p @ jnp.asarray(w).T, cov, M, [3.0],
                             key=jax.random.key(1), k=256, batches=8)[0]
    assert rand.certified_gap > 0.2


@pytest.mark.slow
def test_ml_gru_sits_measurably_inside_the_frontier():
    sde = restorative_brownian_motion()
    cov = window_covariance(sde, 20, 10)
    train = simulate(sde, 4000, 30, key=jax.random.key(0))[..., None]
    res = train_rnn(SequenceRNN(1, 32, key=jax.random.key(3)), train,
                    config=TrainConfig(steps=1000), key=jax.random.key(4))
    pt = information_plane(lambda p: final_hidden(res.model, p[:, :, None]), cov, 20, [0.1],
                           key=jax.random.key(7))[0]
    assert pt.certified_gap > 3 * pt.future_se
