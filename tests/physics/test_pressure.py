"""Pressure loads: the Lame ring (analytic, with mesh convergence), dead vs follower pressure,
the follower load stiffness and adjoint against finite differences."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import physics as mp
from morphax.physics import validation as v

A, B, E, NU = 1.0, 2.0, 1.0, 0.3


def _radial(mesh, u):
    x = np.asarray(mesh.points)
    r = np.hypot(x[:, 0], x[:, 1])
    return r, np.sum(np.asarray(u) * x, axis=1) / r


def _lame_error(n, order=1, pressure=0.01):
    mesh = v.quarter_ring(A, B, n, 2 * n, order=order)
    r, ur = _radial(mesh, mp.solve(v.pressurized_ring(mesh, pressure, E, NU)).u)
    return np.abs(ur - v.lame_ring_displacement(r, A, B, pressure, E, NU)).max()


def test_ring_matches_lame_and_converges_at_second_order():
    errors = [_lame_error(n) for n in (2, 4, 8)]
    rate = np.polyfit(np.log([1 / 2, 1 / 4, 1 / 8]), np.log(errors), 1)[0]
    assert rate > 1.8, (errors, rate)
    assert errors[-1] < 0.015 * v.lame_ring_displacement(A, A, B, 0.01, E, NU)
    assert _lame_error(4, order=2) < 0.05 * errors[1]   # curved P2 is far more accurate


def test_pressure_solves_under_jit_and_its_gradient_matches_finite_differences():
    mesh = v.quarter_ring(A, B, 2, 4)
    problem = v.pressurized_ring(mesh, 0.01)
    inner = int(np.argmin(np.hypot(*np.asarray(mesh.points).T)))

    def ux_inner(pressure):
        p = problem.params()
        p = {**p, "pressure": (pressure,)}
        return mp.solve(problem, p).u[inner, 0]

    assert np.isfinite(jax.jit(ux_inner)(jnp.asarray(0.01)))
    g = jax.grad(ux_inner)(jnp.asarray(0.01))
    h = 1e-4
    fd = (ux_inner(jnp.asarray(0.01 + h)) - ux_inner(jnp.asarray(0.01 - h))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6)


@functools.cache
def _ring(model, follower):
    """One compiled problem per case; the pressure is a parameter."""
    return v.pressurized_ring(v.quarter_ring(A, B, 2, 3), 0.2, E, NU, model=model,
                              follower=follower)


def _dead_and_follower(pressure, model="linear-elasticity"):
    out = []
    for follower in (False, True):
        problem = _ring(model, follower)
        p = {**problem.params(), "pressure": (jnp.asarray(pressure),)}
        out.append(np.asarray(mp.solve(problem, p, load_steps=2).u))
    return out


def test_follower_pressure_tends_to_the_dead_load_for_small_loads():
    gaps = []
    for pressure in (1e-3, 1e-4):
        dead, follower = _dead_and_follower(pressure)
        gaps.append(np.abs(follower - dead).max() / np.abs(dead).max())
    # the difference is second order in the load: relative gap ~ pressure / E
    assert gaps[1] < 0.15 * gaps[0] and gaps[1] < 1e-3, gaps


def test_follower_inflation_differs_measurably_from_the_dead_load():
    mesh = _ring("neo-hookean", True).mesh
    dead, follower = _dead_and_follower(0.15, "neo-hookean")
    r, ur_dead = _radial(mesh, dead)
    _, ur_follow = _radial(mesh, follower)
    at_inner = np.isclose(r, A)
    # the inner surface grows, so the follower load (per deformed area) pushes harder
    assert np.all(ur_follow[at_inner] > 1.03 * ur_dead[at_inner])


def _follower_problem():
    return _ring("neo-hookean", True)


def test_follower_tangent_matches_automatic_and_finite_differences():
    problem = _follower_problem()
    p = problem.params()
    u = 0.05 * jax.random.normal(jax.random.key(0), (problem.ndof,), dtype=jnp.float64)
    K = problem.tangent(u, p, 0.7).toarray()
    exact = jax.jacfwd(lambda w: problem.residual(w, p, 0.7))(u)
    np.testing.assert_allclose(K, exact, atol=1e-12)
    assert np.abs(K - K.T).max() > 1e-6      # the load stiffness is not symmetric
    du = 1e-6 * jax.random.normal(jax.random.key(1), (problem.ndof,), dtype=jnp.float64)
    fd = (problem.residual(u + du, p, 0.7) - problem.residual(u - du, p, 0.7)) / 2
    np.testing.assert_allclose(K @ du, fd, atol=1e-12)


def test_follower_adjoint_matches_finite_differences():
    problem = _follower_problem()

    def objective(pressure, nu):
        p = problem.params()
        p = {**p, "pressure": (pressure,), "material": {**p["material"], "mu": nu}}
        return jnp.sum(mp.solve(problem, p, linear_solver="superlu").u ** 2)

    x = (jnp.asarray(0.2), jnp.asarray(problem.params()["material"]["mu"]))
    grads = jax.grad(objective, argnums=(0, 1))(*x)
    for i, g in enumerate(grads):
        h = 1e-5
        plus = [*x]
        minus = [*x]
        plus[i], minus[i] = x[i] + h, x[i] - h
        np.testing.assert_allclose(g, (objective(*plus) - objective(*minus)) / (2 * h), rtol=1e-5)


def test_follower_problems_have_no_potential_energy():
    problem = _follower_problem()
    assert not problem.potential
    with pytest.raises(mp.InputError, match="follower pressure loads have no potential energy"):
        problem.energy(jnp.zeros(problem.ndof), problem.params())
    with pytest.raises(mp.InputError, match="depend on u"):
        problem.load_vector(problem.params())


def test_follower_adjoint_with_cholmod_on_an_open_boundary():
    """A pressure on a side with free ends: the load stiffness is not symmetric, so a Cholesky
    factorization of the adjoint tangent would give a wrong gradient."""
    pytest.importorskip("sksparse")
    problem = mp.Problem(mp.rectangle(2, 2), mp.NeoHookean(1.0, 2.0),
                         dirichlet=[mp.Dirichlet("left", 0.0)],
                         pressures=[mp.Pressure("top", 0.05, follower=True)])

    def uy(q):
        p = {**problem.params(), "pressure": (q,)}
        return jnp.sum(mp.solve(problem, p, linear_solver="cholmod").u[:, 1])

    h = 1e-6
    fd = (uy(jnp.asarray(0.05 + h)) - uy(jnp.asarray(0.05 - h))) / (2 * h)
    np.testing.assert_allclose(jax.grad(uy)(jnp.asarray(0.05)), fd, rtol=1e-6)


@pytest.mark.parametrize("follower", [False, True])
def test_load_rate_is_the_residual_difference_over_the_load(follower):
    """Newton's dR/d(lam) at fixed u: source, traction and (follower) pressure terms, equal to
    R(u, 1) - R(u, 0) since the residual is affine in the load factor."""
    problem = mp.Problem(mp.rectangle(3, 3), mp.NeoHookean(1.0, 2.0), source=(0.1, -0.2),
                         dirichlet=[mp.Dirichlet("left", 0.0)],
                         tractions=[mp.Traction("right", (0.3, 0.0))],
                         pressures=[mp.Pressure("top", 0.05, follower=follower)])
    p = problem.params()
    u = 0.05 * jax.random.normal(jax.random.key(2), (problem.ndof,), dtype=jnp.float64)
    rate = problem.load_rate(u, p)
    np.testing.assert_allclose(rate, problem.residual(u, p, 1.0) - problem.residual(u, p, 0.0),
                               atol=1e-14)
    assert np.abs(rate).max() > 0.01
