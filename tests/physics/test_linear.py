"""Linear solvers: agreement, transposed solves, indefinite fallback, singular detection."""

import numpy as np
import pytest
import scipy.sparse as sp

from morphax import physics as mp


def _laplacian(n):
    """2-D five-point Laplacian (n^2, n^2): symmetric positive definite."""
    t = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    return (sp.kron(sp.eye(n), t) + sp.kron(t, sp.eye(n))).tocsr()


@pytest.mark.parametrize("name", mp.available_solvers())
def test_solvers_agree_on_spd_and_indefinite_matrices(name):
    A = _laplacian(20)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    solver = mp.get_solver(name)
    for M in (A, A - 1.5 * sp.eye(A.shape[0])):        # the shift makes it indefinite
        x = solver.factorize(M, True).solve(b)
        assert np.linalg.norm(M @ x - b) < 1e-10 * np.linalg.norm(b)


@pytest.mark.parametrize("name", mp.available_solvers())
def test_transposed_solve_of_a_nonsymmetric_matrix(name):
    A = _laplacian(10) + sp.diags([0.3], [1], shape=(100, 100))
    b = np.arange(100.0)
    factor = mp.get_solver(name).factorize(A, False)
    assert np.allclose(A.T @ factor.solve(b, transpose=True), b)
    assert np.allclose(A @ factor.solve(b), b)


@pytest.mark.parametrize("name", mp.available_solvers())
def test_singular_matrices_are_reported(name):
    A = _laplacian(8).tolil()
    A[0, :] = 0.0
    A[:, 0] = 0.0
    with pytest.raises(mp.SingularMatrixError, match="singular"):
        mp.get_solver(name).factorize(A.tocsr(), True)


def test_solver_names():
    assert "superlu" in mp.available_solvers()
    with pytest.raises(mp.InputError, match="unknown linear solver"):
        mp.get_solver("gauss-seidel")


@pytest.mark.parametrize("mesh, dim", [(lambda: mp.rectangle(40, 40), 2),
                                       (lambda: mp.box(8, 8, 8, "tet4"), 3),
                                       (lambda: mp.box(8, 8, 8, "hex8"), 3)])
def test_factor_size_estimate_bounds_cholmod_factors(mesh, dim):
    """The fill model is an upper estimate, and not a loose one: within 4x of the bytes of
    CHOLMOD's factor L (12 bytes per entry)."""
    cholmod = pytest.importorskip("sksparse.cholmod")
    problem = mp.Problem(mesh(), mp.LinearElasticity(), dirichlet=[mp.Dirichlet("left", 0.0)])
    A = sp.csc_matrix(problem.free_block(problem.tangent_values(np.zeros(problem.ndof),
                                                                 problem.params())))
    actual = 12 * cholmod.analyze(A, mode="supernodal").cholesky(A).L().nnz
    estimate = mp.factor_bytes_estimate(A.shape[0], A.nnz, symmetric=True, dim=dim)
    assert actual <= estimate <= 4 * actual


def test_a_factorization_too_large_for_memory_is_announced(monkeypatch, caplog):
    problem = mp.Problem(mp.box(3, 3, 3, "hex8"), mp.LinearElasticity(),
                         dirichlet=[mp.Dirichlet("left", 0.0)],
                         tractions=[mp.Traction("right", [0.0, 0.0, -1.0])])
    monkeypatch.setattr(mp._linear, "available_memory", lambda: 1000)
    with caplog.at_level("WARNING", logger="morphax.physics"):
        direct = mp.solve(problem, options=mp.NewtonOptions(linear_solver="superlu"))
    assert "linear_solver='amg'" in caplog.text and "superlu" in caplog.text
    assert direct.report.solver_memory > 0
    caplog.clear()
    with caplog.at_level("WARNING", logger="morphax.physics"):
        mp.solve(problem, options=mp.NewtonOptions(linear_solver="amg"))
    assert "needs about" not in caplog.text


def test_cholmod_analyses_are_kept_per_sparsity_pattern(monkeypatch):
    """A second factorization of a pattern, even by a new solver instance (a new solve), reuses
    the analysis; a new pattern gets its own, and only ANALYSES_KEPT are kept."""
    cholmod = pytest.importorskip("sksparse.cholmod")
    calls = []
    analyze = cholmod.analyze
    monkeypatch.setattr(cholmod, "analyze", lambda A, **kw: calls.append(A.shape) or
                        analyze(A, **kw))
    monkeypatch.setattr(mp._linear, "_ANALYSES", [])
    for n in (10, 10, 11, 10):
        A, b = _laplacian(n), np.ones(n * n)
        x = mp.get_solver("cholmod").factorize(A, True).solve(b)
        assert np.linalg.norm(A @ x - b) < 1e-10
    assert calls == [(100, 100), (121, 121)]
    for n in range(12, 12 + mp._linear.ANALYSES_KEPT + 2):
        mp.get_solver("cholmod").factorize(_laplacian(n), True)
    assert len(mp._linear._ANALYSES) == mp._linear.ANALYSES_KEPT


def test_cholmod_solves_run_on_one_blas_thread(monkeypatch):
    """Triangular solves run with BLAS limited to one thread (see `one_blas_thread`)."""
    pytest.importorskip("sksparse.cholmod")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    factor = mp.get_solver("cholmod").factorize(_laplacian(6), True)
    seen = []
    inner = factor.factor
    factor.factor = lambda b: seen.extend(
        p["num_threads"] for p in threadpoolctl.threadpool_info()
        if p["user_api"] == "blas") or inner(b)
    factor.solve(np.ones(36))
    assert seen and set(seen) == {1}
