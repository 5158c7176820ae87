"""Statistical checks of the RAD estimators against theory (RAD paper, Sec. 3-5).

For the sampled dense layer the covariance trace is known in closed form: with k indices drawn
with replacement ("same") or a k-column Rademacher projection, tr Cov = (d - 1) ||dL/dW||^2 / k;
per example, tr Cov = (d - 1) / k * sum_b ||x_b||^2 ||g_b||^2. An unbiased estimator then obeys
E ||mean_N - exact||^2 = tr Cov / N exactly. Seeds are fixed; thresholds come from that theory,
and a deliberately biased estimator must fail the same check.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from morphax.learners.rad import RadMLP, nll_loss, rad_conv2d, rad_dense, rd_loss_rad, sample
from morphax.physics import ReactionDiffusion

F64 = jnp.float64
NS = (16, 64, 256, 1024, 4096)


def _unbiasedness(estimates, exact, trace_cov):
    """rho_N = N ||mean_N - exact||^2 / tr Cov (E rho_N = 1 if unbiased) for nested N, and the
    fitted slope of log ||mean_N - exact|| vs log N (-1/2 if unbiased)."""
    est = np.asarray(estimates).reshape(len(estimates), -1)
    exact = np.asarray(exact).reshape(-1)
    rho, err = [], []
    for n in NS:
        e2 = float(np.sum((est[:n].mean(0) - exact) ** 2))
        rho.append(n * e2 / trace_cov)
        err.append(math.sqrt(e2))
    slope = np.polyfit(np.log(NS), np.log(err), 1)[0]
    return np.asarray(rho), slope


def _effective_dof(estimates):
    """(tr S)^2 / tr(S^2) for the sample covariance S: how concentrated rho_N is
    (rho ~ chi2_nu / nu)."""
    est = np.asarray(estimates).reshape(len(estimates), -1)
    c = est - est.mean(0)
    gram = c @ c.T / (len(est) - 1)  # same nonzero spectrum as S
    return float(np.trace(gram) ** 2 / np.sum(gram * gram))


def _assert_unbiased(estimates, exact, trace_cov):
    """rho_N ~ chi2_nu / nu: each must lie within its 1e-4 / (1 - 1e-4) quantiles; a line
    through points that stay in that band has a slope within tol of -1/2."""
    nu = _effective_dof(estimates)
    lo, hi = stats.chi2.ppf([1e-4, 1 - 1e-4], nu) / nu
    rho, slope = _unbiasedness(estimates, exact, trace_cov)
    assert np.all((rho > lo) & (rho < hi)), (rho, lo, hi)
    tol = 0.5 * math.log(hi / lo) / math.log(NS[-1] / NS[0])
    assert abs(slope + 0.5) < tol, (slope, tol)


def _layer_problem(d=64, m=16, b=32):
    kx, kw, kg = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (b, d), F64) * jnp.linspace(0.2, 2.0, d)[None, :]
    w = jax.random.normal(kw, (d, m), F64) / math.sqrt(d)
    g = jax.random.normal(kg, (b, m), F64)
    return x, w, g


def _layer_grads(x, w, g, keep, mode, n):
    def one(key):
        return jax.grad(lambda ww: jnp.vdot(rad_dense(x, ww, None, keep=keep, mode=mode,
                                                     key=key), g))(w)
    return jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(7), n))


def _layer_trace(x, w, g, keep, mode):
    d = x.shape[1]
    k = max(1, round(keep * d))
    if mode == "per_example":
        return (d - 1) / k * float(jnp.sum(jnp.sum(x * x, 1) * jnp.sum(g * g, 1)))
    return (d - 1) / k * float(jnp.sum((x.T @ g) ** 2))


@pytest.mark.parametrize("mode", ["same", "per_example", "project"])
def test_dense_gradient_is_unbiased_with_error_like_one_over_sqrt_n(mode):
    x, w, g = _layer_problem()
    grads = _layer_grads(x, w, g, 0.1, mode, NS[-1])
    _assert_unbiased(grads, x.T @ g, _layer_trace(x, w, g, 0.1, mode))


def test_a_biased_estimator_fails_the_same_check():
    # The released PDE code's flaw, on a dense layer: samples without the d/k rescaling.
    x, w, g = _layer_problem()
    k = round(0.1 * x.shape[1])
    grads = _layer_grads(x, w, g, 0.1, "per_example", NS[-1]) * (k / x.shape[1])
    rho, slope = _unbiasedness(grads, x.T @ g, _layer_trace(x, w, g, 0.1, "per_example"))
    assert rho[-1] > 10 and slope > -0.2


@pytest.mark.parametrize("mode", ["same", "per_example", "project"])
def test_dense_variance_matches_theory_and_falls_with_keep(mode):
    x, w, g = _layer_problem()
    exact = np.asarray(x.T @ g).reshape(-1)
    traces = []
    for keep in (0.05, 0.1, 0.3, 0.6):
        grads = np.asarray(_layer_grads(x, w, g, keep, mode, 2000)).reshape(2000, -1)
        sq = np.sum((grads - exact) ** 2, axis=1)  # unbiased per-sample estimate of tr Cov
        theory = _layer_trace(x, w, g, keep, mode)
        se = sq.std(ddof=1) / math.sqrt(len(sq))
        assert abs(sq.mean() - theory) < 4 * se, (keep, sq.mean(), theory, se)
        traces.append(sq.mean())
    assert all(a > b for a, b in zip(traces, traces[1:], strict=False))


def test_keep_one_is_exact():
    x, w, g = _layer_problem()
    for mode in ("same", "per_example", "project"):
        grads = _layer_grads(x, w, g, 1.0, mode, 2)
        np.testing.assert_allclose(grads[0], x.T @ g, rtol=1e-12)
        np.testing.assert_allclose(grads[1], x.T @ g, rtol=1e-12)


@pytest.mark.parametrize("mode", ["same", "per_example", "project"])
def test_sample_is_unbiased_for_the_activations(mode):
    x, _, _ = _layer_problem(d=32, b=48)
    draws = jax.jit(jax.vmap(lambda k: sample(x, keep=0.25, mode=mode, key=k)))(
        jax.random.split(jax.random.key(3), NS[-1]))
    d, k = 32, 8
    if mode == "per_example":
        trace = (d - 1) / k * float(jnp.sum(x * x))
    else:  # same indices / one projection for all rows: still (d-1)/k per row, summed
        trace = (d - 1) / k * float(jnp.sum(x * x))
    _assert_unbiased(draws, x, trace)


@pytest.mark.parametrize("mode", ["same", pytest.param("project", marks=pytest.mark.slow)])
def test_fully_connected_network_gradient_is_unbiased(mode):
    # Only the stored layer inputs are sampled, so each weight gradient holds exactly one
    # sampled factor: tr Cov = sum_l (d_l - 1) ||dL/dW_l||^2 / k_l (RAD paper, Sec. 4).
    kx, km = jax.random.split(jax.random.key(11))
    x = jax.random.uniform(kx, (20, 784), F64)  # batch 20 keeps N = 256 estimates cheap
    y = jnp.arange(20) % 10
    exact_model = RadMLP(keep=1.0, dtype=F64, key=km)
    rad_model = RadMLP(keep=0.1, mode=mode, dtype=F64, key=km)  # same weights
    exact_params, exact_static = eqx.partition(exact_model, eqx.is_array)
    rad_params, rad_static = eqx.partition(rad_model, eqx.is_array)

    def loss(p, key, static):
        return nll_loss(eqx.combine(p, static), x, y, key=key)

    g_exact = jax.grad(loss)(exact_params, jax.random.key(0), exact_static)
    n = 256
    est = jax.jit(jax.vmap(lambda k: jax.grad(loss)(rad_params, k, rad_static)))(
        jax.random.split(jax.random.key(5), n))
    w_exact = [layer.weight for layer in g_exact.layers]
    trace = sum((w.shape[0] - 1) / max(1, round(0.1 * w.shape[0])) * float(jnp.sum(w * w))
                for w in w_exact)
    flat_est = np.concatenate([np.asarray(layer.weight).reshape(n, -1)
                               for layer in est.layers], axis=1)
    flat_exact = np.concatenate([np.asarray(w).reshape(-1) for w in w_exact])
    rho = n * np.sum((flat_est.mean(0) - flat_exact) ** 2) / trace
    nu = _effective_dof(flat_est)  # a lower estimate (rank <= n - 1); conservative bounds
    lo, hi = stats.chi2.ppf([1e-4, 1 - 1e-4], nu) / nu
    assert lo < rho < hi, (rho, lo, hi)
    for le, lx in zip(est.layers, g_exact.layers, strict=True):  # biases are exact
        np.testing.assert_allclose(le.bias[0], lx.bias, rtol=1e-9, atol=1e-14)


def test_conv_gradient_is_unbiased():
    kx, kw, kg = jax.random.split(jax.random.key(2), 3)
    x = jax.random.normal(kx, (4, 3, 8, 8), F64)
    w = jax.random.normal(kw, (5, 3, 3, 3), F64)
    g = jax.random.normal(kg, (4, 5, 8, 8), F64)

    def grad(key, keep):
        return jax.grad(lambda ww: jnp.vdot(rad_conv2d(x, ww, None, keep=keep,
                                                       mode="per_example", key=key), g))(w)

    exact = grad(jax.random.key(0), 1.0)
    reference = jax.grad(lambda ww: jnp.vdot(jax.lax.conv_general_dilated(
        x, ww, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW")), g))(w)
    np.testing.assert_allclose(exact, reference, rtol=1e-12)
    est = np.asarray(jax.jit(jax.vmap(lambda k: grad(k, 0.25)))(
        jax.random.split(jax.random.key(4), 4096))).reshape(4096, -1)
    sq = np.sum((est - np.asarray(exact).reshape(-1)) ** 2, axis=1)
    _assert_unbiased(est, exact, float(sq.mean()))


def _pde_estimates(keep, estimator, n, horizon=0.005):
    p = ReactionDiffusion(horizon=horizon)
    theta = ReactionDiffusion.initial_theta(key=jax.random.key(1), dtype=F64)
    exact = jax.grad(lambda t: p.loss(t))(theta)
    f = jax.jit(jax.vmap(jax.grad(lambda t, k: rd_loss_rad(p, t, keep=keep, estimator=estimator,
                                                          key=k)), (None, 0)))
    return np.asarray(f(theta, jax.random.split(jax.random.key(9), n))), np.asarray(exact)


def _hotelling(est, exact):
    n = len(est)
    diff = est.mean(0) - exact
    cov = np.cov(est.T)
    return float(n * diff @ np.linalg.solve(cov, diff))


def test_pde_keep_one_equals_the_autodiff_gradient():
    est, exact = _pde_estimates(1.0, "eq7", 1)
    np.testing.assert_allclose(est[0], exact, rtol=1e-11)


def test_pde_eq7_is_unbiased_and_the_released_code_is_not():
    # Hotelling T^2 ~ chi2_7 (asymptotically) for an unbiased estimator: 99.9% quantile 24.3.
    est, exact = _pde_estimates(0.01, "eq7", 1000)
    assert _hotelling(est, exact) < 24.3
    biased, _ = _pde_estimates(0.01, "released", 1000)
    assert _hotelling(biased, exact) > 1e3
    # The released estimate is shrunk: every term loses the N/k rescaling of both sampled
    # factors ((k/N)^2 ~ 1e-4), except the first step's, whose state phi_0 is exact (k/N ~ 1e-2).
    ratio = float(biased.mean(0) @ exact / (exact @ exact))
    assert 0.5e-4 < ratio < 1e-2


def test_pde_variance_falls_with_keep():
    traces = []
    for keep in (0.001, 0.01, 0.1):
        est, exact = _pde_estimates(keep, "eq7", 400)
        traces.append(float(np.trace(np.cov(est.T))))
    assert traces[0] > 3 * traces[1] > 9 * traces[2] > 0
