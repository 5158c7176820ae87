"""jax-fem interop: a jax-fem Problem solved by morphax's Newton, sparse solver and adjoint
(`JaxFemProblem`), cross-checked against jax-fem's own residual and Jacobian and against
morphax's own Problem on the identical mesh and boundary conditions."""

import io
import logging
import sys

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

from morphax import physics as mp

JaxFemProblem = mp.JaxFemProblem
try:   # quiet import (no banner, no DEBUG logger) where jax-fem is installed
    jf_problem = JaxFemProblem.import_jax_fem("problem")
    jf_mesh = JaxFemProblem.import_jax_fem("generate_mesh")
except ImportError:
    pass
pytest.importorskip("jax_fem.problem")   # guard: jax-fem comes with the `test` extra

MU, KAPPA, STRETCH, LOAD = 1.0, 2.0, 0.3, 0.2


def _standard_promotion():
    """jax-fem's constructor mixes int32/int64 index arrays; the suite runs strict promotion."""
    return jax.numpy_dtype_promotion("standard")


@pytest.fixture(scope="module")
def setup():
    """A 2 x 1 x 1 bar of 4 x 2 x 2 HEX8 cells: left face clamped, right face pulled to
    u_x = 0.3 (u_y, u_z free), a downward dead load 0.2 on the top face. Neo-Hookean
    W = mu/2 (I1 - 3 - 2 ln J) + kappa/2 (ln J)^2 with a per-quadrature-point mu field (jax-fem
    `internal_vars`) and the traction magnitude as a surface variable."""

    class NeoHookeanBar(jf_problem.Problem):
        def custom_init(self):
            fe = self.fes[0]
            self.internal_vars = [MU * np.ones((fe.num_cells, fe.num_quads))]
            self.internal_vars_surfaces = [
                [LOAD * np.ones((len(self.boundary_inds_list[0]), fe.num_face_quads))]]

        def get_tensor_map(self):
            def energy(F, mu):
                log_j = jnp.log(jnp.linalg.det(F))
                return 0.5 * mu * (jnp.sum(F * F) - 3.0 - 2.0 * log_j) + 0.5 * KAPPA * log_j**2

            stress = jax.grad(energy)
            return lambda u_grad, mu: stress(u_grad + jnp.eye(3), mu)

        def get_surface_maps(self):   # jax-fem adds +int map . v: the map is minus the traction
            return [lambda u, x, t: jnp.array([0.0, 0.0, 1.0]) * t]

    mesh = mp.box(4, 2, 2, "hex8", size=(2.0, 1.0, 1.0))

    def left(x):
        return jnp.isclose(x[0], 0.0, atol=1e-6)

    def right(x):
        return jnp.isclose(x[0], 2.0, atol=1e-6)

    def top(x):
        return jnp.isclose(x[2], 1.0, atol=1e-6)

    def zero(x):
        return 0.0

    def stretch(x):
        return STRETCH

    with _standard_promotion():
        jf = NeoHookeanBar(jf_mesh.Mesh(np.asarray(mesh.points), np.asarray(mesh.cells)),
                           vec=3, dim=3, ele_type="HEX8",
                           dirichlet_bc_info=[[left] * 3 + [right], [0, 1, 2, 0],
                                              [zero] * 3 + [stretch]],
                           location_fns=[top])
    problem = JaxFemProblem(jf)
    sol = mp.solve(problem)
    return jf, problem, mesh, sol


def test_solution_is_converged_and_matches_jaxfem_kernels(setup):
    jf, problem, _, sol = setup
    p = problem.params()
    assert sol.report.converged and sol.u.shape == (jf.fes[0].num_total_nodes, 3)
    u = jnp.ravel(sol.u)
    # (a) the weak-form residual vanishes on the free dofs; Dirichlet values are imposed
    r = np.asarray(problem.residual(u, p))
    assert np.linalg.norm(r[problem.free]) < 1e-9 * sol.report.reference_residual
    x = np.asarray(jf.fes[0].points)
    np.testing.assert_allclose(np.asarray(sol.u)[np.isclose(x[:, 0], 2.0), 0], STRETCH)
    # the adapter's residual and tangent are jax-fem's own (compute_residual_vars, newton_update)
    with _standard_promotion():
        sol_list = problem.solution_list(u)
        ref = jax.flatten_util.ravel_pytree(
            jf.compute_residual_vars(sol_list, jf.internal_vars, jf.internal_vars_surfaces))[0]
        jf.newton_update(sol_list)
    np.testing.assert_allclose(r, np.asarray(ref), rtol=0, atol=1e-13)
    K_ref = sp.csr_matrix((jf.V, (jf.I, jf.J)), shape=(problem.ndof, problem.ndof))
    assert abs(problem.tangent(u, p) - K_ref).max() < 1e-12 * abs(K_ref).max()


def test_matches_morphax_problem(setup):
    """(b) the same bar as a morphax Problem (NeoHookean, Dirichlet, Traction) on the same mesh."""
    _, problem, mesh, sol = setup
    own = mp.Problem(mesh, mp.NeoHookean(mu=MU, kappa=KAPPA),
                     dirichlet=[mp.Dirichlet("left", 0.0),
                                mp.Dirichlet("right", STRETCH, components=[0])],
                     tractions=[mp.Traction("top", (0.0, 0.0, -LOAD))])
    np.testing.assert_array_equal(own.free, problem.free)
    u_own = np.asarray(mp.solve(own).u)
    np.testing.assert_allclose(np.asarray(sol.u), u_own, rtol=0, atol=1e-9)
    # load stepping (homotopy from the unloaded state) reaches the same solution
    stepped = mp.solve(problem, load_steps=3)
    assert stepped.report.increments >= 3
    np.testing.assert_allclose(np.asarray(stepped.u), u_own, rtol=0, atol=1e-9)


def test_gradient_matches_finite_differences(setup):
    """(c) d/dmu of the mean tip deflection through morphax's implicit adjoint, for a uniform
    scaling of jax-fem's internal variable, a random field direction and the load."""
    _, problem, _, _ = setup
    p0 = problem.params()
    mu0 = p0["internal_vars"][0]
    load0 = p0["internal_vars_surfaces"][0][0]
    direction = jnp.asarray(np.random.default_rng(0).uniform(-1.0, 1.0, mu0.shape))

    def deflection(mu_field, load):
        p = {**p0, "internal_vars": (mu_field,), "internal_vars_surfaces": ((load,),)}
        return jnp.mean(mp.solve(problem, p, rtol=1e-12).u[:, 2])

    g_mu, g_load = jax.grad(deflection, argnums=(0, 1))(mu0, load0)
    assert g_mu.shape == mu0.shape and g_load.shape == load0.shape
    h = 1e-5
    for grad_dir, f in [
            (jnp.sum(g_mu * mu0), lambda s: deflection(mu0 * (1.0 + s), load0)),
            (jnp.sum(g_mu * direction), lambda s: deflection(mu0 + s * direction, load0)),
            (jnp.sum(g_load), lambda s: deflection(mu0, load0 + s))]:
        fd = (f(h) - f(-h)) / (2.0 * h)
        np.testing.assert_allclose(float(grad_dir), float(fd), rtol=2e-6)


def test_quiet_import_and_jaxfem_solver_peer(setup, capsys):
    jf, problem, _, sol = setup
    x64, printopts = jax.config.jax_enable_x64, np.get_printoptions()
    jax_level = logging.getLogger("jax").level
    mod = JaxFemProblem.import_jax_fem("fe")
    assert mod.__name__ == "jax_fem.fe"
    assert capsys.readouterr().out == ""
    assert logging.getLogger("jax_fem").level == logging.WARNING
    assert (jax.config.jax_enable_x64, np.get_printoptions()) == (x64, printopts)
    assert logging.getLogger("jax").level == jax_level
    # jax-fem's Newton at morphax's tolerance (its default stops at an absolute 1e-6)
    matched = {"umfpack_solver": {}, "rel_tol": 1e-12, "tol": 0.0}
    u, seconds, reason = problem.run_jaxfem_solver(solver_options=matched)
    if "petsc4py" not in sys.modules and u is None:   # the pip-only set-up: no PETSc
        assert reason == "ModuleNotFoundError: No module named 'petsc4py'"
        return
    assert reason == "" and seconds > 0.0
    np.testing.assert_allclose(u, np.ravel(sol.u), rtol=0, atol=1e-8)


def test_bad_params_are_rejected(setup):
    _, problem, _, _ = setup
    p = problem.params()
    with pytest.raises(mp.InputError, match="shape"):
        mp.solve(problem, {**p, "internal_vars": (p["internal_vars"][0][:, :2],)})
    with pytest.raises(mp.InputError, match="does not match"):
        mp.solve(problem, {**p, "internal_vars": ()})
    with pytest.raises(mp.InputError, match="jax-fem Problem"):
        JaxFemProblem(io.StringIO())
