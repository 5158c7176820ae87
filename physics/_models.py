"""Pointwise physics: energies and weak-form fluxes at one quadrature point.

A model gives, at a point with solution value u (c,), gradient g = du/dX (c, d) and position
x (d,), either an energy density psi(u, g, x, p) (energy models) or a flux q (c, d) and a
reaction s (c,) such that the weak residual is R_i = int(q : grad N_i + s N_i) (residual models).
Material parameters p are a dict of floats: the part of `Problem.params()["material"]`.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from morphax._core import InputError

from ._elements import det


@dataclasses.dataclass(frozen=True)
class Model:
    """Base class. `energy` is True when the weak form is the gradient of `density`."""

    energy = True
    #: components of the unknown: "scalar" (1) or "vector" (the spatial dimension).
    field = "scalar"

    def ncomp(self, dim: int) -> int:
        return 1 if self.field == "scalar" else dim

    def params(self) -> dict[str, float]:
        """Default material parameters, the differentiable leaves."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def density(self, u, g, x, p):
        raise NotImplementedError

    def flux_reaction(self, u, g, x, p):
        raise NotImplementedError

    def check_params(self, p) -> None:
        """Raise InputError for parameters outside the model's range (concrete values only)."""


@dataclasses.dataclass(frozen=True)
class Poisson(Model):
    """-div(k grad u) = f: energy psi = k/2 |grad u|^2 (the source enters as a load)."""

    k: float = 1.0

    def density(self, u, g, x, p):
        return 0.5 * p["k"] * jnp.sum(g * g)

    def check_params(self, p):
        _positive(p, "k")


@dataclasses.dataclass(frozen=True)
class NonlinearPoisson(Model):
    """-div((1 + alpha u^2) grad u) = f, the Meta-PDE family (Qin et al. 2022, eq. 8 with
    alpha = 0.1; the paper writes div(...) = f, i.e. its f is our -f). A residual model: the
    operator is not the gradient of an energy, so its tangent is not symmetric."""

    energy = False
    alpha: float = 0.1

    def flux_reaction(self, u, g, x, p):
        return (1.0 + p["alpha"] * u[0] ** 2) * g, jnp.zeros_like(u)

    def check_params(self, p):
        if float(p["alpha"]) < 0:
            raise InputError(f"nonlinear Poisson needs alpha >= 0, got {float(p['alpha'])}")


def lame_from_young(E, nu):
    """(mu, lambda) from Young's modulus E and Poisson's ratio nu (3-D, hence plane strain)."""
    return E / (2.0 * (1.0 + nu)), E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))


def bulk_from_young(E, nu):
    """(mu, kappa) from E and nu with the 3-D bulk modulus kappa = E / (3 (1 - 2 nu))."""
    return E / (2.0 * (1.0 + nu)), E / (3.0 * (1.0 - 2.0 * nu))


@dataclasses.dataclass(frozen=True)
class LinearElasticity(Model):
    """Small-strain isotropic elasticity, psi = mu eps:eps + lambda/2 tr(eps)^2, with Young's
    modulus E and Poisson's ratio nu. In 2-D this is plane strain."""

    field = "vector"
    E: float = 1.0
    nu: float = 0.3

    def density(self, u, g, x, p):
        mu, lam = lame_from_young(p["E"], p["nu"])
        eps = 0.5 * (g + g.T)
        return mu * jnp.sum(eps * eps) + 0.5 * lam * jnp.trace(eps) ** 2

    def check_params(self, p):
        check_young(p["E"], p["nu"])


@dataclasses.dataclass(frozen=True)
class NeoHookean(Model):
    """Compressible neo-Hookean solid (the NMA material, Oktay et al. 2023):
    W = mu/2 (I1 - 3 - 2 ln J) + kappa/2 (ln J)^2, I1 = tr(F^T F), in 3-D; in 2-D plane strain
    (F_33 = 1), which is the same formula with I1 - 2 over the in-plane F.
    Its small-strain limit is linear elasticity with Lame parameters mu and lambda = kappa.
    W is +inf where J = det F <= 0, so a Newton line search backs off from inverted elements.
    """

    field = "vector"
    mu: float = 1.0
    kappa: float = 10.0

    @classmethod
    def from_young(cls, E: float, nu: float, convention: str = "lame") -> NeoHookean:
        """From Young's modulus and Poisson's ratio. convention "lame" (default): kappa is the
        Lame lambda, so the small-strain limit is LinearElasticity(E, nu). "varmint": kappa =
        E / (3 (1 - 2 nu)), the 3-D bulk modulus formula of the NMA code (Varmint)."""
        check_young(E, nu)
        if convention == "lame":
            mu, kappa = lame_from_young(E, nu)
        elif convention == "varmint":
            mu, kappa = bulk_from_young(E, nu)
        else:
            raise InputError(f"convention must be 'lame' or 'varmint', got {convention!r}")
        return cls(mu=float(mu), kappa=float(kappa))

    def density(self, u, g, x, p):
        d, F, J, ok = _deformation(g)
        logJ = jnp.log(J)
        W = 0.5 * p["mu"] * (jnp.sum(F * F) - d - 2.0 * logJ) + 0.5 * p["kappa"] * logJ ** 2
        return jnp.where(ok, W, jnp.inf)

    def check_params(self, p):
        _positive(p, "mu")
        _positive(p, "kappa")


@dataclasses.dataclass(frozen=True)
class IsochoricNeoHookean(Model):
    """Neo-Hookean with an isochoric first invariant and a quadratic volume term:
    W = mu/2 (J^{-2/d} I_C - d) + kappa/2 (J - 1)^2, I_C = tr(F^T F), J = det F, in d = 2 or 3
    dimensions (in 2-D, J^{-1} I_C - 2: the Meta-PDE hyperelastic energy, Qin et al. 2022,
    Sec. 4.3). Zero at F = I, +inf where J <= 0. `from_young(E, nu)` uses the bulk modulus
    kappa = E / (3 (1 - 2 nu)) (`bulk_from_young`), as the paper's code does."""

    field = "vector"
    mu: float = 1.0
    kappa: float = 10.0

    @classmethod
    def from_young(cls, E: float = 1.0, nu: float = 0.49) -> IsochoricNeoHookean:
        check_young(E, nu)
        mu, kappa = bulk_from_young(E, nu)
        return cls(mu=float(mu), kappa=float(kappa))

    def density(self, u, g, x, p):
        d, F, J, ok = _deformation(g)
        W = 0.5 * p["mu"] * (jnp.sum(F * F) * J ** (-2.0 / d) - d) + 0.5 * p["kappa"] * (J - 1.0) ** 2
        return jnp.where(ok, W, jnp.inf)

    def check_params(self, p):
        _positive(p, "mu")
        _positive(p, "kappa")


def _deformation(g):
    """(d, F = I + g, J = det F where F is admissible and 1 elsewhere, admissible = det F > 0)
    for a displacement gradient g (d, d): the energies stay finite, and the caller returns +inf
    where F is not admissible."""
    d = g.shape[0]
    F = jnp.eye(d, dtype=g.dtype) + g
    J = det(F)
    ok = J > 0
    return d, F, jnp.where(ok, J, 1.0), ok


def _positive(p, name):
    value = float(p[name])
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"material parameter {name} must be a finite positive number, got "
                         f"{value}")


def check_young(E, nu) -> None:
    """InputError, by the names the user wrote, unless Young's modulus E is finite and positive
    and Poisson's ratio nu lies in (-1, 0.5) (concrete values)."""
    E, nu = float(E), float(nu)
    if not (math.isfinite(E) and E > 0):
        raise InputError(f"Young's modulus E must be a finite positive number, got {E}")
    if nu == 0.5:
        raise InputError("Poisson's ratio nu = 0.5 is the incompressible limit, where the "
                         "volumetric stiffness is infinite and these displacement-only elements "
                         "lock; use nu = 0.49 (nearly incompressible, e.g. rubber)")
    if not -1.0 < nu < 0.5:
        raise InputError(f"Poisson's ratio nu must lie in (-1, 0.5) (0.3 for most metals, "
                         f"0.45-0.49 for elastomers), got {nu}")


MODELS = {"poisson": Poisson, "nonlinear-poisson": NonlinearPoisson,
          "linear-elasticity": LinearElasticity, "neo-hookean": NeoHookean}
