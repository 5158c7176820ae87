"""Sparse direct linear solvers behind one small interface.

A solver factorizes a SciPy sparse matrix once and then solves with it (also transposed, for
adjoints of non-symmetric problems). `default_solver()` picks the fastest one installed.
"""

from __future__ import annotations

import abc

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ._errors import InputError, SingularMatrixError


class Factorization(abc.ABC):
    """A factorized matrix A (n, n)."""

    @abc.abstractmethod
    def solve(self, b: np.ndarray, transpose: bool = False) -> np.ndarray:
        """x (n,) with A x = b (or A^T x = b)."""


class LinearSolver(abc.ABC):
    """Contract: `factorize(A)` returns a Factorization or raises SingularMatrixError."""

    name: str = "abstract"
    #: True when the solver only accepts symmetric matrices.
    symmetric_only: bool = False

    @abc.abstractmethod
    def factorize(self, A: sp.spmatrix) -> Factorization: ...

    def __repr__(self):
        return f"{type(self).__name__}()"


class _SuperLUFactor(Factorization):
    def __init__(self, lu):
        self.lu = lu

    def solve(self, b, transpose=False):
        return self.lu.solve(np.asarray(b, dtype=float), trans="T" if transpose else "N")


class SuperLU(LinearSolver):
    """SciPy's SuperLU (always available; the fallback)."""

    name = "superlu"

    def __init__(self, permc_spec: str = "COLAMD"):
        self.permc_spec = permc_spec

    def factorize(self, A):
        try:
            lu = spla.splu(sp.csc_matrix(A), permc_spec=self.permc_spec)
        except RuntimeError as err:  # "Factor is exactly singular"
            raise SingularMatrixError(_singular_message(A, err)) from None
        check_pivots(np.abs(lu.U.diagonal()), A)
        return _SuperLUFactor(lu)


def check_pivots(pivots: np.ndarray, A) -> None:
    """SingularMatrixError when the smallest pivot is at rounding level of the largest: the
    matrix is singular up to floating point (a factorization does not always notice)."""
    if pivots.size and not pivots.min() > pivots.size * np.finfo(float).eps * pivots.max():
        raise SingularMatrixError(_singular_message(
            A, f"pivot ratio {pivots.min() / pivots.max():.1e}"))


def _singular_message(A, err) -> str:
    return (f"the tangent matrix ({A.shape[0]} unknowns) is singular ({err}). The structure "
            "can move without resistance: add Dirichlet conditions that fix rigid-body motions, "
            "or check for disconnected parts of the mesh.")


_SOLVERS: dict[str, type[LinearSolver]] = {"superlu": SuperLU}


def register_solver(cls: type[LinearSolver]) -> type[LinearSolver]:
    """Make a LinearSolver subclass available by its `name` (e.g. in TOML files)."""
    _SOLVERS[cls.name] = cls
    return cls


def available_solvers() -> list[str]:
    return list(_SOLVERS)


def get_solver(solver: str | LinearSolver | None = None) -> LinearSolver:
    """A solver instance from a name, an instance, or None (the default)."""
    if solver is None:
        return default_solver()
    if isinstance(solver, LinearSolver):
        return solver
    if solver not in _SOLVERS:
        raise InputError(f"unknown linear solver {solver!r}; available: {available_solvers()}")
    return _SOLVERS[solver]()


def default_solver() -> LinearSolver:
    """The fastest installed solver (see the solver survey in the README)."""
    return SuperLU()
