"""Convergence rates against a manufactured solution, patch tests, polynomial reproduction."""

import jax.numpy as jnp
import numpy as np
import pytest

from morphax import physics as mp
from morphax.physics import validation


def _rates(cell_type, sizes):
    errors = []
    for n in sizes:
        mesh = mp.rectangle(n, n, cell_type)
        u = mp.solve(validation.manufactured_poisson(mesh)).u
        errors.append(validation.l2_h1_errors(mesh, u, validation.poisson_exact))
    h = 1.0 / np.asarray(sizes, float)
    l2, h1 = np.asarray(errors).T
    return np.polyfit(np.log(h), np.log(l2), 1)[0], np.polyfit(np.log(h), np.log(h1), 1)[0]


@pytest.mark.parametrize("cell_type, l2_rate, h1_rate", [("tri3", 2, 1), ("quad4", 2, 1),
                                                         ("tri6", 3, 2)])
def test_poisson_convergence_rates(cell_type, l2_rate, h1_rate):
    l2, h1 = _rates(cell_type, [8, 16, 32])
    assert l2 == pytest.approx(l2_rate, abs=0.15)
    assert h1 == pytest.approx(h1_rate, abs=0.15)


def _distort(mesh, amount=0.15, seed=0):
    """Move interior nodes randomly (keeps cells valid for amount < ~0.25 of the spacing)."""
    pts = np.asarray(mesh.points).copy()
    interior = np.all((pts > 1e-12) & (pts < 1 - 1e-12), axis=1)
    h = 1.0 / (round(len(pts) ** (1 / mesh.dim)) - 1)
    rng = np.random.default_rng(seed)
    pts[interior] += amount * h * rng.uniform(-1, 1, size=(interior.sum(), mesh.dim))
    return mesh.with_points(pts).check()


def _all_sides(mesh):
    return list(mesh.facet_sets)


@pytest.mark.parametrize("cell_type", ["tri3", "quad4", "tri6"])
def test_patch_test_linear_elasticity(cell_type):
    """A linear displacement field prescribed on the boundary is reproduced exactly inside a
    distorted mesh (constant strain, no body force)."""
    mesh = (mp.elevate(_distort(mp.rectangle(4, 4, "tri3"))) if cell_type == "tri6"
            else _distort(mp.rectangle(4, 4, cell_type)))
    A = np.array([[0.01, 0.02], [-0.03, 0.015]])
    exact = lambda x: x @ A.T  # noqa: E731
    bcs = [mp.Dirichlet(s, exact) for s in _all_sides(mesh)]
    problem = mp.Problem(mesh, mp.LinearElasticity(E=200.0, nu=0.3), dirichlet=bcs)
    u = np.asarray(mp.solve(problem).u)
    np.testing.assert_allclose(u, exact(np.asarray(mesh.points)), atol=1e-13)


@pytest.mark.parametrize("cell_type", ["hex8", "tet4"])
def test_patch_test_3d(cell_type):
    mesh = _distort(mp.box(3, 3, 3, cell_type), amount=0.1)
    A = np.array([[0.01, 0.02, 0.0], [-0.03, 0.015, 0.01], [0.0, 0.005, -0.02]])
    bcs = [mp.Dirichlet(s, lambda x: x @ A.T) for s in _all_sides(mesh)]
    u = np.asarray(mp.solve(mp.Problem(mesh, mp.LinearElasticity(), dirichlet=bcs)).u)
    np.testing.assert_allclose(u, np.asarray(mesh.points) @ A.T, atol=1e-13)


def test_p2_reproduces_quadratics():
    """u = x^2 + xy - y^2/2 + 2 has -laplace u = -1; P2 reproduces it on a distorted mesh."""
    mesh = mp.elevate(_distort(mp.rectangle(3, 3, "tri3")))  # straight-sided P2 cells
    exact = lambda x: x[..., 0] ** 2 + x[..., 0] * x[..., 1] - 0.5 * x[..., 1] ** 2 + 2  # noqa: E731
    bcs = [mp.Dirichlet(s, lambda x: exact(x)) for s in _all_sides(mesh)]
    problem = mp.Problem(mesh, mp.Poisson(), dirichlet=bcs, source=-1.0)
    u = np.asarray(mp.solve(problem).u)[:, 0]
    np.testing.assert_allclose(u, exact(np.asarray(mesh.points)), atol=1e-12)


def test_nonlinear_poisson_manufactured():
    """-div((1 + 0.1 u^2) grad u) = f with f from u = sin(pi x) sin(pi y) + x^2/2: P1 error
    falls at rate 2 in L2, and Newton converges quadratically."""
    import jax

    def flux_div(x):
        g = jax.grad(validation.poisson_exact)
        k = lambda y: (1 + 0.1 * validation.poisson_exact(y) ** 2) * g(y)  # noqa: E731
        return -jnp.trace(jax.jacfwd(k)(x))[None]

    errors = []
    for n in (8, 16, 32):
        mesh = mp.rectangle(n, n, "tri3")
        bcs = [mp.Dirichlet(s, lambda x: np.asarray(validation.poisson_exact(x)))
               for s in _all_sides(mesh)]
        problem = mp.Problem(mesh, mp.NonlinearPoisson(), dirichlet=bcs, source=flux_div)
        sol = mp.solve(problem)
        norms = [h[2] for h in sol.report.history]
        assert norms[-1] < 1e-10 * sol.report.reference_residual + 1e-300
        errors.append(validation.l2_h1_errors(mesh, sol.u, validation.poisson_exact)[0])
    rate = np.polyfit(np.log([1 / 8, 1 / 16, 1 / 32]), np.log(errors), 1)[0]
    assert rate == pytest.approx(2.0, abs=0.15)
