"""MI bounds on Gaussian cases whose truth is analytic."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax._core import InputError
from morphax.learners.rnn_info import (
    gaussian_entropy_bits,
    information_plane,
    known_encoder_bounds,
    linear_encoder_information,
    log_density_matrix,
)


def _case(seed):
    a = np.random.default_rng(seed).normal(size=(8, 8))
    cov = a @ a.T + 0.3 * np.eye(8)
    w = np.random.default_rng(seed + 10).normal(size=(2, 5))
    return cov, w


@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_brackets_contain_truth_and_variational_bounds_are_close(sigma):
    cov, w = _case(1)
    points = information_plane(lambda p: p @ jnp.asarray(w).T, cov, 5, [sigma],
                               key=jax.random.key(0), k=256, batches=8)
    pt = points[0]
    tx, ty = linear_encoder_information(cov, 5, w / sigma)
    assert pt.past_lower - 2 * pt.past_se <= tx <= pt.past_upper + 2 * pt.past_se
    assert pt.future_lower - 2 * pt.future_se <= ty <= pt.future_upper + 2 * pt.future_se
    assert pt.past_se < 0.1 and pt.future_se < 0.1
    assert pt.past_variational_upper == pytest.approx(tx, abs=0.05)
    assert pt.future_decoder == pytest.approx(ty, abs=0.05)
    assert pt.frontier >= ty - 0.05          # a linear encoder cannot beat the frontier


def test_infonce_saturates_at_log_k_and_loo_exceeds_it():
    means = jax.random.normal(jax.random.key(1), (4, 64, 3)) * 10.0
    lo, up, se = known_encoder_bounds(means, 0.01, key=jax.random.key(2))
    assert lo <= math.log2(64) + 1e-9 and lo > math.log2(64) - 0.01
    assert up > 20


def test_log_density_matrix_against_direct_formula():
    z = jax.random.normal(jax.random.key(0), (5, 3))
    m = jax.random.normal(jax.random.key(1), (5, 3))
    got = np.asarray(log_density_matrix(z, m, 0.7))
    zz, mm = np.asarray(z), np.asarray(m)
    want = np.array([[-0.5 * np.sum((zz[i] - mm[j]) ** 2) / 0.49 - 3 * math.log(0.7)
                      - 1.5 * math.log(2 * math.pi) for j in range(5)] for i in range(5)])
    assert np.allclose(got, want, atol=1e-10)


def test_gaussian_entropy():
    assert gaussian_entropy_bits(jnp.eye(2)) == pytest.approx(math.log2(2 * math.pi * math.e))


def test_bad_inputs():
    with pytest.raises(InputError, match="sigma"):
        known_encoder_bounds(jnp.zeros((2, 4, 1)), 0.0, key=jax.random.key(0))
    with pytest.raises(InputError, match="batches"):
        known_encoder_bounds(jnp.zeros((4, 1)), 1.0, key=jax.random.key(0))
