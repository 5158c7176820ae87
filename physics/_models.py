"""Pointwise physics: energies and weak-form fluxes at one quadrature point.

A model gives, at a point with solution value u (c,), gradient g = du/dX (c, d) and position
x (d,), either an energy density psi(u, g, x, p) (energy models) or a flux q (c, d) and a
reaction s (c,) such that the weak residual is R_i = int(q : grad N_i + s N_i) (residual models).
Material parameters p are a dict of floats: the part of `Problem.params()["material"]`.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from morphax._core import InputError

from ._elements import det, inv


@dataclasses.dataclass(frozen=True)
class Model:
    """Base class. `energy` is True when the weak form is the gradient of `density`."""

    energy = True
    #: components of the unknown: "scalar" (1) or "vector" (the spatial dimension).
    field = "scalar"
    #: whether the density or flux depends on the value u, not only on its gradient g (a
    #: reaction term, a u-dependent conductivity); False lets the tangent skip those terms.
    depends_on_value = True

    def ncomp(self, dim: int) -> int:
        return 1 if self.field == "scalar" else dim

    def params(self) -> dict[str, float]:
        """Default material parameters, the differentiable leaves (not the static options such
        as `plane`)."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not f.metadata.get("static")}

    def density(self, u, g, x, p):
        raise NotImplementedError

    def flux_reaction(self, u, g, x, p):
        raise NotImplementedError

    def tangent_terms(self, g, p):
        """The second derivative of the density in closed form, where a model has one in the
        isotropic shape d2 psi / dg_ij dg_kl = a d_ik d_jl + b A_ij A_kl + c A_il A_kj, as
        (a, b, c, A (c, d)) at displacement gradient g (c, d); None (the default) when it has
        not, and the cell tangents then come from automatic differentiation."""
        return None

    def closed_form_tangent(self, g, p):
        """`tangent_terms(g, p)` where the class that gives them also gives the density, else
        None: a subclass that changes the density falls back to automatic differentiation."""
        def owner(name):
            return next(c for c in type(self).__mro__ if name in vars(c))
        if owner("tangent_terms") is not owner("density"):
            return None
        return self.tangent_terms(g, p)

    def check_params(self, p) -> None:
        """Raise InputError for parameters outside the model's range (concrete values only)."""


@dataclasses.dataclass(frozen=True)
class Poisson(Model):
    """-div(k grad u) = f: energy psi = k/2 |grad u|^2 (the source enters as a load)."""

    depends_on_value = False
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


PLANES = ("strain", "stress")
"""The 2-D assumptions of the elastic models: "strain" (eps_zz = 0, long prisms; the default)
or "stress" (sigma_zz = 0, thin plates; give the thickness to `Problem(thickness=...)`)."""


def _plane_field():
    return dataclasses.field(default="strain", metadata={"static": True})


class _Elastic(Model):
    """Shared by the isotropic solids with a plane-strain / plane-stress choice in 2-D."""

    field = "vector"
    depends_on_value = False
    small_strain = False

    def __post_init__(self):
        if self.plane not in PLANES:
            raise InputError(f"plane must be 'strain' or 'stress', got {self.plane!r}")

    def _plane_stress(self, g) -> bool:
        if self.plane == "stress" and g.shape[0] != 2:
            raise InputError("plane = 'stress' is a 2-D assumption; a 3-D mesh needs no plane "
                             "setting (leave it out)")
        return self.plane == "stress"

    def out_of_plane_gradient(self, g, p):
        """du_z/dz of a 2-D body at displacement gradient g (2, 2): 0 in plane strain, the
        value that makes sigma_zz = 0 in plane stress."""
        raise NotImplementedError

    def cauchy3(self, g, p) -> jax.Array:
        """The full (3, 3) Cauchy stress (small-strain models: the stress) at displacement
        gradient g ((2, 2) or (3, 3)); in 2-D with the out-of-plane stretch of the plane
        assumption (sigma_zz = 0 in plane stress)."""
        d = g.shape[0]
        G = jnp.zeros((3, 3), dtype=g.dtype).at[:d, :d].set(g)
        if d == 2:
            G = G.at[2, 2].set(self.out_of_plane_gradient(g, p))
        solid = dataclasses.replace(self, plane="strain")
        P = jax.grad(lambda G: solid.density(None, G, None, p))(G)
        if self.small_strain:   # the stress itself (no distinction of configurations)
            return P
        F = jnp.eye(3, dtype=g.dtype) + G
        return P @ F.T / det(F)


@dataclasses.dataclass(frozen=True)
class LinearElasticity(_Elastic):
    """Small-strain isotropic elasticity, psi = mu eps:eps + lambda/2 tr(eps)^2, with Young's
    modulus E and Poisson's ratio nu. In 2-D, plane = "strain" (default) or "stress"; plane
    stress uses lambda* = 2 mu lambda / (lambda + 2 mu) (sigma_zz = 0)."""

    small_strain = True
    E: float = 1.0
    nu: float = 0.3
    plane: str = _plane_field()

    def density(self, u, g, x, p):
        mu, lam = lame_from_young(p["E"], p["nu"])
        if self._plane_stress(g):
            lam = 2.0 * mu * lam / (lam + 2.0 * mu)
        eps = 0.5 * (g + g.T)
        return mu * jnp.sum(eps * eps) + 0.5 * lam * jnp.trace(eps) ** 2

    def tangent_terms(self, g, p):
        """mu (d_ik d_jl + d_il d_jk) + lambda d_ij d_kl: A = I."""
        mu, lam = lame_from_young(p["E"], p["nu"])
        if self._plane_stress(g):
            lam = 2.0 * mu * lam / (lam + 2.0 * mu)
        return mu, lam, mu, jnp.eye(g.shape[0], dtype=g.dtype)

    def out_of_plane_gradient(self, g, p):
        if self.plane == "strain":
            return jnp.zeros((), g.dtype)
        mu, lam = lame_from_young(p["E"], p["nu"])
        return -lam / (lam + 2.0 * mu) * jnp.trace(g)

    def check_params(self, p):
        check_young(p["E"], p["nu"])


@dataclasses.dataclass(frozen=True)
class NeoHookean(_Elastic):
    """Compressible neo-Hookean solid (the NMA material, Oktay et al. 2023):
    W = mu/2 (I1 - 3 - 2 ln J) + kappa/2 (ln J)^2, I1 = tr(F^T F), in 3-D. In 2-D, plane =
    "strain" (default: F_33 = 1, the same formula with I1 - 2 over the in-plane F) or "stress":
    F_33 = lambda_3 solves dW/dlambda_3 = 0 (sigma_33 = 0), found by Newton on s = ln lambda_3,
    mu (e^{2s} - 1) + kappa (ln J_2 + s) = 0, inside the energy; the last step is kept
    differentiable, so gradients and Hessians are those of the condensed energy.
    Its small-strain limit is linear elasticity with Lame parameters mu and lambda = kappa.
    W is +inf where J = det F <= 0, so a Newton line search backs off from inverted elements.
    """

    mu: float = 1.0
    kappa: float = 10.0
    plane: str = _plane_field()

    @classmethod
    def from_young(cls, E: float, nu: float, convention: str = "lame",
                   plane: str = "strain") -> NeoHookean:
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
        return cls(mu=float(mu), kappa=float(kappa), plane=plane)

    def density(self, u, g, x, p):
        d, F, J, ok = _deformation(g)
        logJ = jnp.log(J)
        I1 = jnp.sum(F * F)
        if self._plane_stress(g):
            s = _plane_stress_log_stretch(logJ, p["mu"], p["kappa"])
            logJ = logJ + s
            I1 = I1 + jnp.exp(2.0 * s) - 1.0
        W = 0.5 * p["mu"] * (I1 - d - 2.0 * logJ) + 0.5 * p["kappa"] * logJ ** 2
        return jnp.where(ok, W, jnp.inf)

    def tangent_terms(self, g, p):
        """mu d_ik d_jl + kappa A_ij A_kl + (mu - kappa ln J) A_il A_kj with A = F^-T, from
        P = mu (F - F^-T) + kappa ln J F^-T; zero where F is not admissible (as the derivative
        of the constant +inf there). Plane stress condenses F_33 and has no such form: None."""
        if self._plane_stress(g):
            return None
        d, F, J, ok = _deformation(g)
        A = inv(jnp.where(ok, F, jnp.eye(d, dtype=g.dtype))).T
        mu, kappa = (jnp.where(ok, p[k], 0.0) for k in ("mu", "kappa"))
        return mu, kappa, mu - kappa * jnp.log(J), A

    def out_of_plane_gradient(self, g, p):
        if self.plane == "strain":
            return jnp.zeros((), g.dtype)
        _, _, J, _ = _deformation(g)
        return jnp.expm1(_plane_stress_log_stretch(jnp.log(J), p["mu"], p["kappa"]))

    def check_params(self, p):
        _positive(p, "mu")
        _positive(p, "kappa")


#: Newton steps for the plane-stress stretch (quadratic convergence from the small-strain guess)
PLANE_STRESS_NEWTON_STEPS = 8


def _plane_stress_log_stretch(logJ, mu, kappa):
    """s = ln lambda_3 with mu (e^{2s} - 1) + kappa (logJ + s) = 0 (neo-Hookean, sigma_33 = 0).
    The residual is increasing and convex in s, so Newton from the small-strain value
    -kappa logJ / (2 mu + kappa) converges; the iterations run without derivatives and one
    final Newton step with them gives ds = -(dr/dq) / (dr/ds) dq, the implicit derivative (exact
    to first order; second derivatives of the energy are exact because dW/ds = 0 there)."""
    def step(s, logJ, mu, kappa):
        e = jnp.exp(2.0 * s)
        return s - (mu * (e - 1.0) + kappa * (logJ + s)) / (2.0 * mu * e + kappa)

    c = [jax.lax.stop_gradient(v) for v in (logJ, mu, kappa)]
    s = -c[2] * c[0] / (2.0 * c[1] + c[2])
    for _ in range(PLANE_STRESS_NEWTON_STEPS):
        s = step(s, *c)
    return step(s, logJ, mu, kappa)


@dataclasses.dataclass(frozen=True)
class IsochoricNeoHookean(Model):
    """Neo-Hookean with an isochoric first invariant and a quadratic volume term:
    W = mu/2 (J^{-2/d} I_C - d) + kappa/2 (J - 1)^2, I_C = tr(F^T F), J = det F, in d = 2 or 3
    dimensions (in 2-D, J^{-1} I_C - 2: the Meta-PDE hyperelastic energy, Qin et al. 2022,
    Sec. 4.3). Zero at F = I, +inf where J <= 0. `from_young(E, nu)` uses the bulk modulus
    kappa = E / (3 (1 - 2 nu)) (`bulk_from_young`), as the paper's code does."""

    field = "vector"
    depends_on_value = False
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
"""The models of a TOML problem file by their `[physics] model` name."""
