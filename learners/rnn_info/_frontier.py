"""The optimal predictive information frontier of a Gaussian process (Chechik, Globerson,
Tishby, Weiss 2005, "Information bottleneck for Gaussian variables"), and a brute-force check.

For a jointly Gaussian past X (m) and future Y (n), the canonical correlations rho_i of
Sxx^-1/2 Sxy Syy^-1/2 decide everything. With trade-off beta (minimise I(X;Z) - beta I(Z;Y)),
component i is active when beta rho_i^2 > 1 and

    I(Z;X) = 1/2 sum_active log[(beta - 1) rho_i^2 / (1 - rho_i^2)],
    I(Z;Y) = I(Z;X) - 1/2 sum_active log[beta rho_i^2].

As beta -> inf, I(Z;Y) -> I(X;Y) = -1/2 sum log(1 - rho_i^2). All results here are in bits.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize

from morphax._core import InputError

_LN2 = math.log(2.0)


def _blocks(cov, n_past):
    cov = np.asarray(cov, float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not 0 < n_past < cov.shape[0]:
        raise InputError(f"need a square covariance and 0 < n_past < {cov.shape[0]}, got "
                         f"shape {cov.shape} and n_past {n_past}")
    return cov[:n_past, :n_past], cov[:n_past, n_past:], cov[n_past:, n_past:]


def canonical_correlations(cov: np.ndarray, n_past: int) -> np.ndarray:
    """Canonical correlations rho (min(m, n),), descending, of past = the first `n_past`
    coordinates of a Gaussian with covariance `cov` (m + n, m + n) and future = the rest."""
    sxx, sxy, syy = _blocks(cov, n_past)
    lx = np.linalg.cholesky(sxx)
    ly = np.linalg.cholesky(syy)
    whitened = np.linalg.solve(lx, np.linalg.solve(ly, sxy.T).T)
    return np.clip(np.linalg.svd(whitened, compute_uv=False), 0.0, 1.0 - 1e-15)


def predictive_information(cov: np.ndarray, n_past: int) -> float:
    """I(past; future) in bits = 1/2 [log det Sxx + log det Syy - log det S] / ln 2."""
    sxx, _, syy = _blocks(cov, n_past)
    ld = [np.linalg.slogdet(np.asarray(c, float))[1] for c in (sxx, syy, cov)]
    return 0.5 * (ld[0] + ld[1] - ld[2]) / _LN2


def ib_frontier(rho: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (I(Z;past), I(Z;future)) in bits, each of shape betas.shape, of the Gaussian
    information bottleneck for canonical correlations `rho` and trade-offs `betas` (> 0)."""
    rho2 = np.asarray(rho, float)[None, :] ** 2
    beta = np.asarray(betas, float).reshape(-1, 1)
    active = beta * rho2 > 1.0
    safe_beta = np.where(active, beta, 2.0)
    safe_rho2 = np.where(active, rho2, 0.5)
    ix = np.where(active, 0.5 * np.log((safe_beta - 1) * safe_rho2 / (1 - safe_rho2)), 0.0)
    iy = ix - np.where(active, 0.5 * np.log(safe_beta * safe_rho2), 0.0)
    shape = np.shape(betas)
    return (ix.sum(1) / _LN2).reshape(shape), (iy.sum(1) / _LN2).reshape(shape)


def frontier_future_at(rho: np.ndarray, i_past_bits) -> np.ndarray:
    """The largest I(Z;future) in bits any encoder with I(Z;past) = i_past_bits can reach
    (the frontier as a function of past information; same shape as i_past_bits)."""
    target = np.asarray(i_past_bits, float)
    rho = np.asarray(rho, float)
    r1 = rho.max()
    if r1 <= 0:
        return np.zeros_like(target)
    lo = np.full(target.shape, math.log(1 / r1**2))
    hi = np.log(1 / r1**2 + 1 + (1 - r1**2) / r1**2 * np.exp(2 * _LN2 * np.maximum(target, 0)))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        ix, _ = ib_frontier(rho, np.exp(mid))
        below = ix < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return ib_frontier(rho, np.exp(hi))[1]


def linear_encoder_information(cov: np.ndarray, n_past: int, weight: np.ndarray
                               ) -> tuple[float, float]:
    """(I(Z;past), I(Z;future)) in bits for the linear-Gaussian encoder Z = W past + e,
    e ~ N(0, I), W (k, n_past)."""
    sxx, sxy, syy = _blocks(cov, n_past)
    w = np.asarray(weight, float)
    cond = sxx - sxy @ np.linalg.solve(syy, sxy.T)
    eye = np.eye(w.shape[0])
    a = np.linalg.slogdet(eye + w @ sxx @ w.T)[1]
    b = np.linalg.slogdet(eye + w @ cond @ w.T)[1]
    return 0.5 * a / _LN2, 0.5 * (a - b) / _LN2


def brute_force_frontier(cov: np.ndarray, n_past: int, betas, *, restarts: int = 3,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The frontier by direct numerical optimisation, without canonical correlations:
    minimise I(Z;X) - beta I(Z;Y) over full linear-Gaussian encoders Z = W X + e (W square),
    with L-BFGS and analytic gradients, best of `restarts` random starts per beta. W is
    parametrised as V L^-1 (Sxx = L L^T, Cholesky) so smooth, nearly collinear pasts do not
    make the search ill-conditioned; every W is still reachable.

    Returns (I(Z;past), I(Z;future)) in bits, one pair per beta.
    """
    sxx, sxy, syy = _blocks(cov, n_past)
    chol = np.linalg.cholesky(sxx)
    cond = sxx - sxy @ np.linalg.solve(syy, sxy.T)
    cond_w = np.linalg.solve(chol, np.linalg.solve(chol, cond).T)   # L^-1 Sx|y L^-T
    m = n_past
    rng = np.random.default_rng(seed)

    def objective(flat, beta):
        v = flat.reshape(m, m)
        a = np.eye(m) + v @ v.T
        b = np.eye(m) + v @ cond_w @ v.T
        value = 0.5 * (1 - beta) * np.linalg.slogdet(a)[1] + 0.5 * beta * np.linalg.slogdet(b)[1]
        grad = (1 - beta) * np.linalg.solve(a, v) + beta * np.linalg.solve(b, v @ cond_w)
        return value, grad.ravel()

    ix, iy = [], []
    for beta in np.asarray(betas, float).ravel():
        best = None
        for _ in range(restarts):
            x0 = rng.normal(size=m * m) / math.sqrt(m)
            res = scipy.optimize.minimize(objective, x0, args=(beta,), jac=True,
                                          method="L-BFGS-B",
                                          options={"maxiter": 3000, "ftol": 1e-13,
                                                   "gtol": 1e-9})
            if best is None or res.fun < best.fun:
                best = res
        weight = np.linalg.solve(chol.T, best.x.reshape(m, m).T).T        # W = V L^-1
        px, py = linear_encoder_information(cov, n_past, weight)
        ix.append(px)
        iy.append(py)
    return np.asarray(ix), np.asarray(iy)
