"""The analytic Gaussian IB frontier against brute force and against the log-det formula."""

import numpy as np
import pytest

from morphax._core import InputError
from morphax.learners.rnn_info import (
    brute_force_frontier,
    canonical_correlations,
    frontier_future_at,
    ib_frontier,
    linear_encoder_information,
    predictive_information,
    restorative_brownian_motion,
    window_covariance,
)


def _random_cov(seed, n):
    a = np.random.default_rng(seed).normal(size=(n, n))
    return a @ a.T + 0.3 * np.eye(n)


def test_palmer_process_has_two_canonical_correlations():
    cov = window_covariance(restorative_brownian_motion(), 20, 10)
    rho = canonical_correlations(cov, 20)
    assert rho[:2] == pytest.approx([0.998, 0.592], abs=1e-3)
    assert np.all(rho[2:] < 1e-6)                          # Markov in (x, v)
    limit = -0.5 * np.log2(1 - rho**2).sum()
    assert predictive_information(cov, 20) == pytest.approx(limit, abs=1e-9)
    assert predictive_information(cov, 20) == pytest.approx(4.364, abs=1e-3)
    _, iy = ib_frontier(rho, np.array([1e12]))
    assert iy[0] == pytest.approx(limit, abs=1e-4)


@pytest.mark.parametrize("case", ["rbm", "random"])
def test_frontier_matches_brute_force_to_1e3_bits(case):
    if case == "rbm":
        cov, m = window_covariance(restorative_brownian_motion(obs_noise=0.2), 8, 4), 8
    else:
        cov, m = _random_cov(3, 8), 4
    rho = canonical_correlations(cov, m)
    betas = np.array([1.3, 3.0, 30.0]) / rho[0] ** 2
    ix, iy = brute_force_frontier(cov, m, betas, restarts=2)
    assert np.max(np.abs(iy - frontier_future_at(rho, ix))) < 1e-3
    ax, ay = ib_frontier(rho, betas)
    assert np.max(np.abs(ix - ax)) < 1e-3 and np.max(np.abs(iy - ay)) < 1e-3


def test_no_linear_encoder_beats_the_frontier():
    cov = _random_cov(4, 7)
    rho = canonical_correlations(cov, 4)
    rng = np.random.default_rng(0)
    for _ in range(50):
        w = rng.normal(size=(rng.integers(1, 5), 4)) * rng.uniform(0.1, 3)
        ix, iy = linear_encoder_information(cov, 4, w)
        assert iy <= frontier_future_at(rho, ix) + 1e-9


def test_frontier_is_zero_below_first_threshold_and_monotone():
    rho = np.array([0.9, 0.5])
    ix, iy = ib_frontier(rho, np.array([1.0, 1 / 0.81, 2.0, 5.0, 50.0]))
    assert ix[0] == 0 and iy[0] == 0 and ix[1] == pytest.approx(0, abs=1e-12)
    assert np.all(np.diff(ix) >= 0) and np.all(np.diff(iy) >= 0) and np.all(iy <= ix)


def test_bad_split_raises():
    with pytest.raises(InputError, match="n_past"):
        canonical_correlations(np.eye(4), 4)
