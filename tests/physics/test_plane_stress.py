"""Plane stress and thickness for the 2-D elastic models, against analytic answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from morphax import physics as mp

E, NU = 200.0, 0.3


def test_neo_hookean_plane_stress_is_uniaxial_stress():
    """A neo-Hookean bar stretched by lambda_1 with free sides: by isotropy the 3-D solution has
    lambda_2 = lambda_3. Minimising the plane-stress energy over lambda_2 must give the
    internal out-of-plane stretch, and the 3-D stress sigma_22 = sigma_33 = 0."""
    model = mp.NeoHookean.from_young(E, NU, plane="stress")
    p = {k: jnp.asarray(v) for k, v in model.params().items()}
    lam1 = 1.3

    @jax.jit
    @jax.grad
    def slope(lam2):   # dW / d lambda_2
        return model.density(None, jnp.diag(jnp.stack([lam1, lam2])) - jnp.eye(2), None, p)

    lam2 = scipy.optimize.brentq(lambda v: float(slope(v)), 0.5, 1.0, xtol=1e-14)
    g = jnp.diag(jnp.array([lam1, lam2])) - jnp.eye(2)
    small = 1e-6 * jnp.diag(jnp.array([1.0, -NU]))   # small strain: sigma = E eps
    lam3, sigma, sigma_small = jax.jit(lambda g, small: (
        1.0 + model.out_of_plane_gradient(g, p), model.cauchy3(g, p), model.cauchy3(small, p)))(
        g, small)
    assert lam2 == pytest.approx(float(lam3), rel=1e-6)
    assert abs(sigma[1, 1]) < 1e-6 * sigma[0, 0] and abs(sigma[2, 2]) < 1e-9 * sigma[0, 0]
    assert float(sigma_small[0, 0]) == pytest.approx(E * 1e-6, rel=1e-5)


def test_neo_hookean_plane_stress_derivatives_match_finite_differences():
    """The AD gradient and Hessian of the condensed energy (inner Newton) against central
    differences of the energy and of the AD gradient."""
    model = mp.NeoHookean.from_young(E, NU, plane="stress")
    p = {k: jnp.asarray(v) for k, v in model.params().items()}
    g0 = jnp.array([[0.2, 0.15], [-0.1, -0.25]])

    def W(v):
        return model.density(None, v.reshape(2, 2), None, p)

    v0, h = g0.ravel(), 1e-5
    grad, hess = jax.jit(jax.grad(W))(v0), jax.jit(jax.hessian(W))(v0)
    steps = h * jnp.concatenate([jnp.eye(4), -jnp.eye(4)])
    Ws, grads = jax.jit(jax.vmap(W))(v0[None] + steps), jax.jit(jax.vmap(jax.grad(W)))(v0[None] + steps)
    fd_grad = (Ws[:4] - Ws[4:]) / (2 * h)
    fd_hess = (grads[:4] - grads[4:]) / (2 * h)
    np.testing.assert_allclose(grad, fd_grad, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(hess, fd_hess, rtol=1e-6, atol=1e-6)
    # derivative in a material parameter through the inner solve
    def of_mu(mu):
        return model.density(None, g0, None, {**p, "mu": mu})

    dmu = jax.jit(jax.grad(of_mu))(p["mu"])
    fd = (of_mu(p["mu"] + h) - of_mu(p["mu"] - h)) / (2 * h)
    assert float(dmu) == pytest.approx(float(fd), rel=1e-7)


@pytest.mark.parametrize("model", [
    pytest.param(mp.LinearElasticity(E, NU, plane="stress"), id="linear"),
    pytest.param(mp.NeoHookean.from_young(E, NU, plane="stress"), id="neo-hookean",
                 marks=pytest.mark.slow)])
def test_plate_in_uniaxial_tension(model):
    """A W x H plate of thickness t, rollers on the left and bottom, the right side moved by
    eps W: sigma_xx = E eps (plane stress), lateral strain -nu eps, reaction = t sigma H."""
    W, H, t, eps = 2.0, 1.0, 0.05, 1e-4
    mesh = mp.rectangle(4, 2, "tri3", size=(W, H))
    problem = mp.Problem(mesh, model, thickness=t, dirichlet=[
        mp.Dirichlet("left", 0.0, [0]), mp.Dirichlet("bottom", 0.0, [1]),
        mp.Dirichlet("right", eps * W, [0])])
    sol = mp.solve(problem)
    u = np.asarray(sol.u).reshape(-1, 2)
    x = np.asarray(mesh.points)
    np.testing.assert_allclose(u[:, 0], eps * x[:, 0], rtol=1e-3, atol=1e-12)
    np.testing.assert_allclose(u[:, 1], -NU * eps * x[:, 1], rtol=1e-3, atol=1e-12)
    R = np.asarray(problem.residual(sol.u, problem.params())).reshape(-1, 2)
    reaction = R[mesh.node_sets["right"], 0].sum()
    assert reaction == pytest.approx(t * E * eps * H, rel=1e-3)
    sigma = np.asarray(mp.cell_stress(problem, sol.u))
    np.testing.assert_allclose(sigma[:, 0, 0], E * eps, rtol=1e-3)
    np.testing.assert_allclose(sigma[:, 2, 2], 0.0, atol=1e-9 * E * eps)
    np.testing.assert_allclose(mp.von_mises(sigma), E * eps, rtol=1e-3)


def test_plane_strain_stays_the_default_and_stress_needs_2d():
    assert mp.LinearElasticity().plane == "strain" and mp.NeoHookean().plane == "strain"
    assert "plane" not in mp.NeoHookean().params()
    with pytest.raises(mp.InputError, match="plane must be"):
        mp.LinearElasticity(plane="membrane")
    g = jnp.zeros((3, 3))
    with pytest.raises(mp.InputError, match="2-D"):
        mp.LinearElasticity(plane="stress").density(None, g, None, {"E": 1.0, "nu": 0.3})
