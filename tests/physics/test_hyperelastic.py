"""Neo-Hookean invariants and nonlinear analytic solutions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from morphax import physics as mp
from morphax.physics import validation

MAT = {"mu": jnp.asarray(0.7), "kappa": jnp.asarray(3.1)}


def _density(F):
    d = F.shape[0]
    g = F - jnp.eye(d)
    return mp.NeoHookean().density(jnp.zeros(d), g, jnp.zeros(d), MAT)


def _stress(F):
    return jax.grad(_density)(F)


@pytest.mark.parametrize("d", [2, 3])
def test_zero_energy_and_stress_in_the_reference_state(d):
    assert float(_density(jnp.eye(d))) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(_stress(jnp.eye(d)), 0.0, atol=1e-15)


@pytest.mark.parametrize("d", [2, 3])
def test_frame_indifference(d):
    rng = np.random.default_rng(1)
    F = jnp.asarray(np.eye(d) + 0.2 * rng.standard_normal((d, d)))
    for seed in range(3):
        Q = Rotation.random(random_state=seed).as_matrix()[:d, :d] if d == 3 else \
            np.array([[np.cos(seed + 0.3), -np.sin(seed + 0.3)], [np.sin(seed + 0.3), np.cos(seed + 0.3)]])
        Q = jnp.asarray(Q)
        assert float(_density(Q @ F)) == pytest.approx(float(_density(F)), rel=1e-13)
        np.testing.assert_allclose(_stress(Q @ F), Q @ _stress(F), atol=1e-13)


@pytest.mark.parametrize("d", [2, 3])
def test_small_strain_limit_is_linear_elasticity(d):
    """The tangent of the neo-Hookean solid at F = I equals the isotropic elasticity tensor of
    the same E and nu (plane strain in 2-D)."""
    E, nu = 2.5, 0.3
    mat = {k: jnp.asarray(v) for k, v in mp.NeoHookean.from_young(E, nu).params().items()}
    nh = jax.jit(jax.hessian(lambda g: mp.NeoHookean().density(jnp.zeros(d), g, jnp.zeros(d), mat)))
    le = jax.jit(jax.hessian(lambda g: mp.LinearElasticity().density(
        jnp.zeros(d), g, jnp.zeros(d), {"E": jnp.asarray(E), "nu": jnp.asarray(nu)})))
    np.testing.assert_allclose(nh(jnp.zeros((d, d))), le(jnp.zeros((d, d))), atol=1e-12)


def test_inverted_deformation_has_infinite_energy():
    assert float(_density(jnp.diag(jnp.asarray([1.0, -0.5])))) == np.inf


@pytest.mark.parametrize("stretch", [1.3, 0.8])
def test_uniaxial_stress_plane_strain(stretch):
    """A block pulled (or pushed) at its right side with free top: homogeneous deformation with
    lateral stretch from P22 = 0 and the analytic nominal stress."""
    mu, kappa = 0.7, 3.1
    mesh = mp.rectangle(6, 3, "quad4", size=(2.0, 1.0))
    bcs = [mp.Dirichlet("left", 0.0, [0]), mp.Dirichlet("bottom", 0.0, [1]),
           mp.Dirichlet("right", 2.0 * (stretch - 1.0), [0])]
    problem = mp.Problem(mesh, mp.NeoHookean(mu=mu, kappa=kappa), dirichlet=bcs)
    sol = mp.solve(problem, load_steps=3)
    l2, p11 = validation.neo_hookean_uniaxial_stretch(stretch, mu, kappa)
    X = np.asarray(mesh.points)
    np.testing.assert_allclose(np.asarray(sol.u), X * np.array([stretch - 1, l2 - 1]), atol=1e-11)
    P = np.asarray(problem.cell_flux(sol.u, problem.params()))
    np.testing.assert_allclose(P[:, 0, 0], p11, rtol=1e-10)
    np.testing.assert_allclose(P[:, 1, 1], 0.0, atol=1e-10)


def test_homogeneous_3d_deformation_and_reaction_force():
    """All faces prescribed by u = (F - I) X: the solution is homogeneous and the reaction on
    the right face equals P11 times its area."""
    F = np.array([[1.1, 0.05, 0.0], [0.0, 0.95, 0.02], [0.03, 0.0, 0.9]])
    mesh = mp.box(2, 2, 2, "hex8")
    bcs = [mp.Dirichlet(s, lambda x: x @ (F - np.eye(3)).T) for s in mesh.facet_sets]
    problem = mp.Problem(mesh, mp.NeoHookean(mu=0.7, kappa=3.1), dirichlet=bcs)
    u = np.asarray(mp.solve(problem, load_steps=2).u)
    np.testing.assert_allclose(u, np.asarray(mesh.points) @ (F - np.eye(3)).T, atol=1e-12)
    r = np.asarray(problem.residual(u.ravel(), problem.params())).reshape(-1, 3)
    right = mesh.node_sets["right"]
    P = np.asarray(_stress(jnp.asarray(F)))
    np.testing.assert_allclose(r[right].sum(axis=0), P[:, 0] * 1.0, rtol=1e-10)


def test_chord_steps_save_factorizations_and_keep_the_solution(monkeypatch):
    """Once Newton converges fast, the last factorized tangent takes the remaining steps: fewer
    factorizations than plain Newton (CHORD_RATIO = 0), the same converged solution."""
    problem = mp.Problem(mp.box(4, 4, 4, "hex8"), mp.NeoHookean.from_young(1.0, 0.3),
                         dirichlet=[mp.Dirichlet("bottom", 0.0),
                                    mp.Dirichlet("top", (0.0, 0.0, -0.1))])
    options = mp.NewtonOptions(rtol=1e-10, linear_solver="superlu")
    chord = mp.solve(problem, options=options)
    monkeypatch.setattr(mp._newton, "CHORD_RATIO", 0.0)
    plain = mp.solve(problem, options=options)
    assert chord.report.chord_steps > 0 and plain.report.chord_steps == 0
    assert chord.report.factorizations < plain.report.factorizations
    assert chord.report.residual <= 1e-10 * chord.report.reference_residual
    np.testing.assert_allclose(chord.u, plain.u, rtol=0, atol=1e-9 * np.abs(plain.u).max())
