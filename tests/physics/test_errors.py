"""Bad input and failing solves raise morphax errors that name the problem and the fix."""

import jax.numpy as jnp
import numpy as np
import pytest

from morphax import physics as mp


def _bar(**kw):
    mesh = mp.rectangle(6, 2, "quad4", size=(3.0, 1.0))
    bcs = [mp.Dirichlet("left", 0.0), mp.Dirichlet("right", kw.pop("pull", (0.3, 0.0)))]
    return mp.Problem(mesh, mp.NeoHookean(mu=1.0, kappa=5.0), dirichlet=bcs, **kw)


def test_inverted_cells_are_named():
    mesh = mp.rectangle(3, 3, "tri3")
    cells = mesh.cells.copy()
    cells[4] = cells[4][[0, 2, 1]]
    bad = mp.Mesh(mesh.points, cells, "tri3", facet_sets=dict(mesh.facet_sets))
    with pytest.raises(mp.MeshError, match="cell 4") as err:
        mp.Problem(bad, mp.Poisson(), dirichlet=[mp.Dirichlet("left")])
    assert err.value.cells == (4,)
    assert mp.orient_cells(bad).check() is not None  # the suggested fix works


def test_degenerate_cells_are_named():
    mesh = mp.rectangle(2, 2, "quad4")
    pts = np.asarray(mesh.points).copy()
    pts[4] = pts[0]          # collapse the centre node onto a corner
    with pytest.raises(mp.MeshError, match="cell"):
        mp.Problem(mesh.with_points(pts), mp.Poisson(), dirichlet=[mp.Dirichlet("left")])


def test_det_f_nonpositive_cuts_the_step_then_names_the_cells():
    """Pushing the right edge past the left one cannot be done without inverting cells."""
    problem = _bar(pull=(-3.3, 0.0))
    with pytest.raises(mp.InvertedElementError, match="det F") as err:
        mp.solve(problem, max_cuts=3)
    assert err.value.cells and err.value.history
    assert "load_steps" in str(err.value)


def test_newton_non_convergence_reports_history():
    with pytest.raises(mp.ConvergenceError, match="did not converge") as err:
        mp.solve(_bar(pull=(1.5, 0.5)), max_iterations=1, max_cuts=1)
    assert len(err.value.history) >= 2


def test_failure_under_jit_is_a_status_not_an_exception():
    import jax

    problem = _bar(pull=(-3.3, 0.0))
    sol = jax.jit(lambda p: mp.solve(problem, p, max_cuts=2))(problem.params())
    assert not bool(sol.converged)
    assert np.isnan(np.asarray(sol.u)).any()


def test_singular_tangent_says_what_to_fix():
    mesh = mp.rectangle(3, 3, "quad4")
    problem = mp.Problem(mesh, mp.LinearElasticity(), tractions=[mp.Traction("right", (1.0, 0.0))],
                         dirichlet=[mp.Dirichlet("left", 0.0, [0])])   # y is free: a mechanism
    with pytest.raises(mp.SingularMatrixError, match="rigid-body"):
        mp.solve(problem)


def test_parameter_shape_and_dtype_mismatches():
    problem = _bar()
    p = problem.params()
    with pytest.raises(mp.InputError, match=r"\['points'\].*shape"):
        mp.solve(problem, {**p, "points": p["points"][:-1]})
    with pytest.raises(mp.InputError, match="floating point"):
        mp.solve(problem, {**p, "points": jnp.asarray(p["points"], dtype=jnp.int32)})
    with pytest.raises(mp.InputError, match="does not match"):
        mp.solve(problem, {"points": p["points"]})
    with pytest.raises(mp.InputError, match="mu must be a finite positive number"):
        mp.solve(problem, {**p, "material": {**p["material"], "mu": jnp.asarray(-1.0)}})


def test_boundary_condition_mistakes():
    mesh = mp.rectangle(2, 2, "quad4")
    with pytest.raises(mp.MeshError, match="no node set 'lft'.*left"):
        mp.Problem(mesh, mp.Poisson(), dirichlet=[mp.Dirichlet("lft")])
    with pytest.raises(mp.InputError, match="components must lie in 0..1"):
        mp.Problem(mesh, mp.LinearElasticity(), dirichlet=[mp.Dirichlet("left", 0.0, [2])])
    with pytest.raises(mp.InputError, match="Dirichlet value"):
        mp.Problem(mesh, mp.LinearElasticity(), dirichlet=[mp.Dirichlet("left", (1, 2, 3))])
    with pytest.raises(mp.InputError, match="traction.*2 component"):
        mp.Problem(mesh, mp.LinearElasticity(), dirichlet=[mp.Dirichlet("left")],
                   tractions=[mp.Traction("right", (1.0, 2.0, 3.0))]).params()


def test_mesh_construction_errors():
    with pytest.raises(mp.MeshError, match="shape"):
        mp.Mesh(np.zeros((4, 2)), np.zeros((2, 4), int), "tri3")
    with pytest.raises(mp.MeshError, match="outside"):
        mp.Mesh(np.zeros((3, 2)), np.array([[0, 1, 5]]), "tri3")
    with pytest.raises(mp.MeshError, match="integers"):
        mp.Mesh(np.zeros((3, 2)), np.array([[0.0, 1.0, 2.0]]), "tri3")
    with pytest.raises(mp.MeshError, match="3-D points"):
        mp.Mesh(np.zeros((4, 2)), np.array([[0, 1, 2, 3]]), "tet4")


def test_non_finite_inputs_and_young_poisson_are_named():
    mesh = mp.rectangle(2, 2)
    model = mp.LinearElasticity()
    cases = [
        (lambda: mp.Problem(mesh, model, dirichlet=[mp.Dirichlet("left", float("nan"))]),
         "Dirichlet value on 'left' must be finite"),
        (lambda: mp.Problem(mesh, model, tractions=[mp.Traction("right", [float("inf"), 0.0])]),
         "traction on 'right' must be finite"),
        (lambda: mp.Problem(mesh, model, pressures=[mp.Pressure("right", float("nan"))]),
         "pressure on 'right' must be finite"),
        (lambda: mp.Problem(mesh, mp.Poisson(), source=float("inf")), "source must be finite"),
        (lambda: mp.Problem(mesh.with_points(np.where(np.arange(mesh.n_nodes)[:, None] == 3,
                                                      np.inf, np.asarray(mesh.points))), model),
         r"non-finite \(NaN or inf\) coordinates: node 3"),
        (lambda: mp.NeoHookean.from_young(1.0, 0.5), r"nu = 0.5 is the incompressible.*0.49"),
        (lambda: mp.NeoHookean.from_young(1.0, -1.0), r"nu must lie in \(-1, 0.5\)"),
        (lambda: mp.NeoHookean.from_young(-2.0, 0.3), "Young's modulus E must be a finite positive"),
        (lambda: model.check_params({"E": float("inf"), "nu": 0.3}), "Young's modulus E"),
    ]
    for make, message in cases:
        with pytest.raises(mp.InputError, match=message):
            make()
