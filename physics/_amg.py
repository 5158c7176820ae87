"""Iterative linear solvers for problems too large to factorize: conjugate gradients (symmetric
tangents) or GMRES (non-symmetric ones) preconditioned with smoothed-aggregation algebraic
multigrid (pyamg), with the rigid-body modes as near-null space for elasticity.

"Factorizing" builds the multigrid hierarchy; each solve is a preconditioned Krylov solve to a
relative tolerance, which Newton loosens while it is far from the solution (inexact Newton).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from morphax._core import ConvergenceError, InputError, SingularMatrixError

from ._linear import Factorization, LinearSolver, _singular_message, register_solver


class _AMGFactor(Factorization):
    iterative = True

    def __init__(self, A, hierarchy, symmetric, rtol, maxiter):
        self.A, self.hierarchy, self.symmetric = A, hierarchy, symmetric
        self.rtol, self.maxiter = rtol, maxiter
        self.M = hierarchy.aspreconditioner(cycle="V")
        self.iterations = 0          # Krylov iterations of all solves so far
        self.last_residual = 0.0     # |b - A x| of the last solve

    @property
    def nbytes(self) -> int:
        """Memory of the hierarchy: operators, interpolation and restriction of all levels."""
        mats = [m for level in self.hierarchy.levels
                for m in (getattr(level, k, None) for k in ("A", "P", "R")) if m is not None]
        return int(sum(m.data.nbytes + getattr(m, "indices", np.empty(0)).nbytes
                       + getattr(m, "indptr", np.empty(0)).nbytes for m in mats))

    def solve(self, b, transpose=False, rtol=None):
        b = np.asarray(b, dtype=float)
        A = self.A.T.tocsr() if transpose and not self.symmetric else self.A
        rtol = self.rtol if rtol is None else max(float(rtol), self.rtol)
        count = [0]

        def tick(_):
            count[0] += 1

        if not np.any(b):
            self.last_residual = 0.0
            return np.zeros_like(b)
        if self.symmetric:
            x, info = spla.cg(A, b, rtol=rtol, atol=0.0, maxiter=self.maxiter, M=self.M,
                              callback=tick)
        else:
            x, info = spla.gmres(A, b, rtol=rtol, atol=0.0, restart=50, maxiter=self.maxiter,
                                 M=self.M, callback=tick, callback_type="pr_norm")
        self.iterations += count[0]
        self.last_residual = float(np.linalg.norm(b - A @ x))
        relative = self.last_residual / np.linalg.norm(b)
        if info != 0 or not np.isfinite(relative) or relative > 10 * rtol:
            method = "CG" if self.symmetric else "GMRES"
            raise ConvergenceError(
                f"AMG-preconditioned {method} did not converge: {count[0]} iterations, relative "
                f"residual {relative:.1e} (target {rtol:.0e}) on {b.size} unknowns. The tangent "
                "may be indefinite (past a buckling point) or nearly singular; use a direct "
                "solver (linear_solver='cholmod' or 'superlu') or more load steps.")
        return x


@register_solver
class AMG(LinearSolver):
    """Krylov solves preconditioned with smoothed-aggregation AMG (pyamg). For the
    million-unknown problems a direct factorization cannot hold in memory.

    rtol: relative residual of the final linear solves (Newton asks for less while far from
    the solution); maxiter: Krylov iterations per solve before a ConvergenceError.
    reuse: the hierarchy of the previous matrix preconditions the next one (same pattern) while
    |A - A_prev|_F <= reuse |A_prev|_F: a linear problem sets it up once, and Newton near its
    solution keeps it (a lagged preconditioner; the Krylov solve still uses the new matrix).
    """

    name = "amg"
    uses_near_null = True
    direct = False

    def __init__(self, rtol: float = 1e-12, maxiter: int = 2000, reuse: float = 0.1):
        import pyamg

        if not (0 < rtol < 1 and maxiter >= 1 and reuse >= 0):
            raise InputError(f"AMG needs 0 < rtol < 1, maxiter >= 1 and reuse >= 0, got "
                             f"rtol={rtol}, maxiter={maxiter}, reuse={reuse}")
        self._pyamg = pyamg
        self.rtol, self.maxiter, self.reuse = rtol, maxiter, reuse
        self._last = None   # (matrix, hierarchy) of the last set-up

    def factorize(self, A, symmetric=False, near_null=None):
        """The hierarchy for A (n, n); near_null (n, r): modes A nearly annihilates (rigid-body
        motions). The hierarchy is scalar CSR: pyamg's block (BSR) smoothers were 5x slower
        per V-cycle in our measurements."""
        A = sp.csr_matrix(A)
        diagonal = A.diagonal()
        if not np.all(diagonal != 0):
            raise SingularMatrixError(_singular_message(
                A, f"{np.count_nonzero(diagonal == 0)} zero diagonal entries"))
        symmetric = symmetric and bool(np.all(diagonal > 0))   # else not SPD: GMRES, not CG
        if self._last is not None and _close(self._last[0], A, self.reuse):
            return _AMGFactor(A, self._last[1], symmetric, self.rtol, self.maxiter)
        B = None if near_null is None else np.ascontiguousarray(near_null, dtype=float)
        hierarchy = self._pyamg.smoothed_aggregation_solver(
            A, B=B, symmetry="hermitian" if symmetric else "nonsymmetric", max_coarse=500,
            coarse_solver="splu")
        self._last = (A, hierarchy)
        return _AMGFactor(A, hierarchy, symmetric, self.rtol, self.maxiter)

    def __repr__(self):
        return f"AMG(rtol={self.rtol:g}, maxiter={self.maxiter}, reuse={self.reuse:g})"


def _close(old, new, tol) -> bool:
    """Same sparsity pattern and |new - old|_F <= tol |old|_F."""
    if old.shape != new.shape or not (np.array_equal(old.indptr, new.indptr)
                                      and np.array_equal(old.indices, new.indices)):
        return False
    return np.linalg.norm(new.data - old.data) <= tol * np.linalg.norm(old.data)
