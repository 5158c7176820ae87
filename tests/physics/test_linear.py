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
