"""Pointwise models of the Meta-PDE task families (Qin et al. 2022, arXiv 2211.01604).

`StarPoisson`: the nonlinear Poisson family with its source in the material parameters, so one
compiled Problem serves every task. `MetaNeoHookean`: the paper's compressible neo-Hookean
energy W = mu/2 (J^{-1} I_C - 2) + kappa/2 (J - 1)^2 (plane, d = 2).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

from ._elements import det
from ._models import Model


def gaussian_bumps(x, bumps):
    """f(x) = sum_i beta_i exp(-|x - mu_i|^2) for x (..., 2) and bumps (n, 3) rows
    (mu_x, mu_y, beta): the Meta-PDE Poisson source. Works on NumPy and JAX arrays."""
    xp = jnp if not isinstance(x, np.ndarray) or not isinstance(bumps, np.ndarray) else np
    b = xp.reshape(bumps, (1,) * (x.ndim - 1) + tuple(bumps.shape))
    d2 = (x[..., None, 0] - b[..., 0]) ** 2 + (x[..., None, 1] - b[..., 1]) ** 2
    return xp.sum(b[..., 2] * xp.exp(-d2), axis=-1)


@dataclasses.dataclass(frozen=True)
class StarPoisson(Model):
    """div((1 + alpha u^2) grad u) = f with f a sum of Gaussian bumps (Meta-PDE eq. 8).

    In morphax's weak form R_i = int(q . grad N_i + s N_i) this is the flux
    q = (1 + alpha u^2) grad u and the reaction s = f. Material parameters: alpha and
    bumps (n_bumps, 3) rows (mu_x, mu_y, beta); vary bumps per task in `params["material"]`.
    """

    energy = False
    alpha: float = 0.1
    n_bumps: int = 2

    def params(self):
        return {"alpha": float(self.alpha), "bumps": np.zeros((self.n_bumps, 3))}

    def flux_reaction(self, u, g, x, p):
        f = gaussian_bumps(x, p["bumps"])
        return (1.0 + p["alpha"] * u[0] ** 2) * g, jnp.reshape(f, (1,)).astype(g.dtype)

    def check_params(self, p):
        if float(p["alpha"]) < 0:
            raise InputError(f"nonlinear Poisson needs alpha >= 0, got {float(p['alpha'])}")


@dataclasses.dataclass(frozen=True)
class MetaNeoHookean(Model):
    """The Meta-PDE hyperelastic energy (Qin et al. 2022, Sec. 4.3), in 2-D:
    W = mu/2 (J^{-1} I_C - 2) + kappa/2 (J - 1)^2 with I_C = tr(F^T F), J = det F.
    Zero at F = I, +inf where J <= 0. `from_young(E, nu)`: mu = E / (2 (1 + nu)),
    kappa = E / (3 (1 - 2 nu)) as in the paper's code."""

    field = "vector"
    mu: float = 1.0
    kappa: float = 10.0

    @classmethod
    def from_young(cls, E: float = 1.0, nu: float = 0.49) -> MetaNeoHookean:
        return cls(mu=E / (2.0 * (1.0 + nu)), kappa=E / (3.0 * (1.0 - 2.0 * nu)))

    def density(self, u, g, x, p):
        F = jnp.eye(g.shape[0], dtype=g.dtype) + g
        J = det(F)
        ok = J > 0
        Js = jnp.where(ok, J, 1.0)
        W = 0.5 * p["mu"] * (jnp.sum(F * F) / Js - 2.0) + 0.5 * p["kappa"] * (Js - 1.0) ** 2
        return jnp.where(ok, W, jnp.inf)

    def check_params(self, p):
        for name in ("mu", "kappa"):
            if not float(p[name]) > 0:
                raise InputError(f"material parameter {name} must be positive, got "
                                 f"{float(p[name])}")


def meta_neo_hookean_density(F, mu, kappa, j_min: float = 0.0):
    """W(F) of `MetaNeoHookean` for F (..., 2, 2) (JAX), used by the mesh-free energy loss.
    j_min > 0 continues 1/J linearly below J = j_min (value and slope match there), so the
    energy stays finite where a trial field inverts the material and still pushes J up."""
    J = F[..., 0, 0] * F[..., 1, 1] - F[..., 0, 1] * F[..., 1, 0]
    Ic = jnp.sum(F * F, axis=(-2, -1))
    inv_j = 1.0 / J
    if j_min > 0:
        inv_j = jnp.where(J > j_min, 1.0 / jnp.maximum(J, j_min), (2.0 * j_min - J) / j_min ** 2)
    return 0.5 * mu * (Ic * inv_j - 2.0) + 0.5 * kappa * (J - 1.0) ** 2
