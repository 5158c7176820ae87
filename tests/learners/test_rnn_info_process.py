"""Restorative Brownian motion: exact discretisation, stationary covariances, simulation."""

import math

import jax
import numpy as np
import pytest
import scipy.linalg

from morphax._core import InputError
from morphax.learners.rnn_info import (
    LinearSDE,
    autocovariance,
    discretize,
    ornstein_uhlenbeck,
    restorative_brownian_motion,
    sample_past_given_future,
    sample_windows,
    simulate,
    stationary_covariance,
    window_covariance,
)


def test_ou_discretisation_is_exact():
    sde = ornstein_uhlenbeck(rate=3.0, dt=0.1)
    f, q = discretize(sde)
    assert f[0, 0] == pytest.approx(math.exp(-0.3), rel=1e-13)
    # Var of x after dt from x0 = 0: (2 rate) (1 - e^{-2 rate dt}) / (2 rate)
    assert q[0, 0] == pytest.approx(1 - math.exp(-0.6), rel=1e-12)
    assert autocovariance(sde, 5) == pytest.approx(np.exp(-0.3 * np.arange(6)), rel=1e-12)


def test_oscillator_stationary_and_discrete_lyapunov():
    sde = restorative_brownian_motion()
    f, q = discretize(sde)
    p = stationary_covariance(sde)
    assert p[0, 0] == pytest.approx(1.0, rel=1e-12)          # D chosen for unit variance
    assert np.allclose(p, f @ p @ f.T + q, rtol=0, atol=1e-10)  # stationary under the exact step
    # F is the matrix exponential; against a fine Euler product as an independent check
    a = np.asarray(sde.drift)
    euler = np.linalg.matrix_power(np.eye(2) + a * sde.dt / 20000, 20000)
    assert np.allclose(f, euler, atol=1e-5)
    assert np.allclose(f, scipy.linalg.expm(a * sde.dt), atol=1e-14)


def test_simulation_matches_exact_autocovariance():
    sde = restorative_brownian_motion(obs_noise=0.1)
    ys = np.asarray(simulate(sde, 20000, 12, key=jax.random.key(0)))
    emp = np.array([np.mean(ys[:, 0] * ys[:, k]) for k in range(12)])
    # each estimate has standard error <= sqrt(2 / 20000) ~ 0.01
    assert np.max(np.abs(emp - autocovariance(sde, 11))) < 0.05
    assert np.var(ys[:, -1]) == pytest.approx(1.01, abs=0.05)


def test_conditional_sampler_matches_gaussian_conditioning():
    sde = restorative_brownian_motion()
    cov = window_covariance(sde, 6, 3)
    assert cov.shape == (9, 9)
    futures = sample_windows(cov, 2, key=jax.random.key(1))[:, 6:]
    pasts = np.asarray(sample_past_given_future(cov, 6, futures, 20000, key=jax.random.key(2)))
    gain = cov[:6, 6:] @ np.linalg.inv(cov[6:, 6:])
    cond = cov[:6, :6] - gain @ cov[6:, :6]
    for m in range(2):
        assert np.allclose(pasts[m].mean(0), gain @ np.asarray(futures[m]), atol=0.01)
        assert np.allclose(np.cov(pasts[m].T), cond, atol=0.01)


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="stationary"):
        LinearSDE(((0.5,),), ((1.0,),), ((1.0,),), 0.1)
    with pytest.raises(InputError, match="gamma"):
        restorative_brownian_motion(gamma=-1.0)
    with pytest.raises(InputError, match="dt"):
        ornstein_uhlenbeck(dt=0.0)
    with pytest.raises(InputError, match="n_past"):
        window_covariance(ornstein_uhlenbeck(), 0, 3)
