"""AMG-preconditioned Krylov solves: agreement with direct solves, implicit gradients through
them, clear errors when they stall, and the automatic choice by problem size."""

import jax
import numpy as np
import pytest

from morphax import physics as mp
from morphax._core import ConvergenceError


def _bar(model=None):
    mesh = mp.box(6, 2, 2, "hex8", size=(3.0, 1.0, 1.0))
    return mp.Problem(mesh, model or mp.NeoHookean.from_young(1000.0, 0.3),
                      dirichlet=[mp.Dirichlet("left", 0.0)],
                      tractions=[mp.Traction("right", [0.0, 0.0, -20.0])])


def test_amg_cg_matches_a_direct_solve_on_a_nonlinear_3d_problem():
    problem = _bar()
    direct = mp.solve(problem, options=mp.NewtonOptions(linear_solver="superlu"))
    amg = mp.solve(problem, options=mp.NewtonOptions(linear_solver="amg"))
    scale = np.abs(np.asarray(direct.u)).max()
    assert np.abs(np.asarray(amg.u) - np.asarray(direct.u)).max() <= 1e-9 * scale
    assert amg.report.linear_solver == "amg" and amg.report.linear_iterations > 0
    assert amg.report.solver_memory > 0


def test_gradient_through_the_amg_path_matches_finite_differences():
    problem = _bar()
    opts = mp.NewtonOptions(linear_solver="amg")

    def tip(traction):
        p = problem.params()
        p["traction"] = (traction,)
        return mp.solve(problem, p, options=opts).u[problem.mesh.node_set("right"), 2].mean()

    t = jax.numpy.asarray([0.0, 5.0, -20.0])
    g = np.asarray(jax.grad(tip)(t))
    h = 1e-3
    fd = [(tip(t.at[i].add(h)) - tip(t.at[i].add(-h))) / (2 * h) for i in range(3)]
    np.testing.assert_allclose(g, np.asarray(fd), rtol=1e-5, atol=1e-9)


def test_gmres_path_for_a_nonsymmetric_tangent():
    mesh = mp.box(4, 4, 4, "tet4")
    sides = ["left", "right", "front", "back", "bottom", "top"]
    problem = mp.Problem(mesh, mp.NonlinearPoisson(alpha=1.0), source=10.0,
                         dirichlet=[mp.Dirichlet(s, 0.0) for s in sides])
    direct = mp.solve(problem, options=mp.NewtonOptions(linear_solver="superlu"))
    amg = mp.solve(problem, options=mp.NewtonOptions(linear_solver="amg"))
    np.testing.assert_allclose(np.asarray(amg.u), np.asarray(direct.u), atol=1e-10)


def test_a_stalled_krylov_solve_names_iterations_and_residual():
    problem = _bar(mp.LinearElasticity(E=1000.0, nu=0.3))
    with pytest.raises(ConvergenceError, match=r"did not converge: 1 iterations, relative "
                                               r"residual .* \(target"):
        mp.solve(problem, options=mp.NewtonOptions(linear_solver=mp.AMG(maxiter=1)))


def test_bad_amg_options_are_named():
    with pytest.raises(mp.InputError, match="rtol=nan"):
        mp.AMG(rtol=float("nan"))
    with pytest.raises(mp.InputError, match="maxiter=0"):
        mp.AMG(maxiter=0)


def test_auto_choice_by_size_and_dimension():
    big = mp.AUTO_ITERATIVE_UNKNOWNS[3] + 1
    assert mp.get_solver(None, size=big, dim=3).name == "amg"
    assert mp.get_solver("auto", size=big, dim=3).name == "amg"
    assert mp.get_solver(None, size=big, dim=2).name in ("cholmod", "superlu")
    assert mp.get_solver("superlu", size=big, dim=3).name == "superlu"


def test_near_null_space_is_annihilated_by_the_unconstrained_tangent():
    """Rigid-body modes (3 translations, 3 rotations) are in the kernel of the stiffness of a
    free body: K B = 0 to rounding."""
    mesh = mp.box(2, 2, 2, "hex8")
    problem = mp.Problem(mesh, mp.LinearElasticity())
    modes = problem.near_null_space()
    assert modes.shape == (problem.ndof, 6)
    K = problem.tangent(np.zeros(problem.ndof), problem.params())
    assert np.abs(K @ modes).max() <= 1e-12 * abs(K).max()
