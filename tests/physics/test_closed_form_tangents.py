"""Closed-form material tangents (`Model.tangent_terms`) against automatic differentiation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import physics as mp


def _hessian_from_terms(a, b, c, A):
    """a d_ik d_jl + b A_ij A_kl + c A_il A_kj as an array (c, d, c, d)."""
    n, d = A.shape
    eye_c, eye_d = jnp.eye(n), jnp.eye(d)
    return (a * jnp.einsum("ik,jl->ijkl", eye_c, eye_d) + b * jnp.einsum("ij,kl->ijkl", A, A)
            + c * jnp.einsum("il,kj->ijkl", A, A))


@pytest.mark.parametrize("model, dim", [
    (mp.NeoHookean(mu=1.3, kappa=7.0), 3), (mp.NeoHookean(mu=1.3, kappa=7.0), 2),
    (mp.LinearElasticity(E=2.0, nu=0.3), 3), (mp.LinearElasticity(E=2.0, nu=0.3), 2),
    (mp.LinearElasticity(E=2.0, nu=0.3, plane="stress"), 2)])
def test_tangent_terms_are_the_hessian_of_the_density(model, dim):
    p = model.params()
    for seed in range(3):
        g = 0.3 * jax.random.normal(jax.random.PRNGKey(seed), (dim, dim))
        exact = jax.hessian(lambda g: model.density(None, g, None, p))(g)
        np.testing.assert_allclose(_hessian_from_terms(*model.tangent_terms(g, p)), exact,
                                   rtol=1e-12, atol=1e-12 * float(jnp.abs(exact).max()))


def test_inverted_neo_hookean_point_has_the_zero_tangent_of_its_infinite_energy():
    model = mp.NeoHookean()
    g = -2.0 * jnp.eye(3)                                            # det F = -1
    exact = jax.hessian(lambda g: model.density(None, g, None, model.params()))(g)
    assert float(jnp.abs(exact).max()) == 0.0
    terms = _hessian_from_terms(*model.tangent_terms(g, model.params()))
    assert bool(jnp.all(terms == 0.0))


def test_models_without_a_closed_form_fall_back_to_automatic_differentiation():
    g = jnp.zeros((2, 2))
    assert mp.NeoHookean(plane="stress").tangent_terms(g, mp.NeoHookean().params()) is None
    assert mp.IsochoricNeoHookean().tangent_terms(g, mp.IsochoricNeoHookean().params()) is None


def test_a_subclass_that_changes_the_density_does_not_inherit_the_closed_form():
    class Stiffer(mp.NeoHookean):
        def density(self, u, g, x, p):
            return super().density(u, g, x, p) + jnp.sum(g ** 4)

    g, p = 0.1 * jnp.ones((3, 3)), mp.NeoHookean().params()
    assert mp.NeoHookean().closed_form_tangent(g, p) is not None
    assert Stiffer().closed_form_tangent(g, p) is None
    problem = mp.Problem(mp.box(1, 1, 1, "hex8"), Stiffer())
    u = 0.05 * np.random.default_rng(1).standard_normal(problem.ndof)
    K = problem.tangent(u, problem.params()).toarray()
    exact = np.asarray(jax.jacfwd(lambda w: problem.residual(w, problem.params()))(u))
    np.testing.assert_allclose(K, exact, rtol=0, atol=1e-12 * np.abs(exact).max())


@pytest.mark.parametrize("cell_type", ["tet10", "hex8"])
def test_closed_form_cell_tangents_equal_the_automatic_ones(monkeypatch, cell_type):
    problem = mp.Problem(mp.box(2, 2, 1, cell_type), mp.NeoHookean.from_young(1.0, 0.3))
    p = problem.params()
    u = 0.05 * np.random.default_rng(0).standard_normal(problem.ndof)
    closed = np.asarray(problem.cell_tangents(u, p))
    monkeypatch.setattr(mp.NeoHookean, "tangent_terms", lambda self, g, p: None)
    automatic = np.asarray(jax.jit(problem.cell_tangents)(u, p))
    np.testing.assert_allclose(closed, automatic, rtol=0, atol=1e-12 * np.abs(automatic).max())
