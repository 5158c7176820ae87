"""Sparse direct linear solvers behind one small interface.

A solver factorizes a SciPy sparse matrix once and then solves with it (also transposed, for
adjoints of non-symmetric problems). `default_solver()` picks the fastest one installed.
"""

from __future__ import annotations

import abc
import functools
import logging

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from morphax._core import InputError, SingularMatrixError

log = logging.getLogger("morphax.physics")


class Factorization(abc.ABC):
    """A factorized matrix A (n, n). `iterative` factors solve to a relative residual `rtol`
    (direct ones solve exactly and ignore it); `nbytes` is the memory they hold (0: unknown)."""

    iterative = False
    nbytes = 0

    @abc.abstractmethod
    def solve(self, b: np.ndarray, transpose: bool = False, rtol: float | None = None) -> np.ndarray:
        """x (n,) with A x = b (or A^T x = b)."""


class LinearSolver(abc.ABC):
    """Contract: `factorize(A, symmetric)` returns a Factorization or raises
    SingularMatrixError. `symmetric` promises A == A.T (energy problems), which lets a solver
    use a Cholesky factorization. Solvers with `uses_near_null` also take
    `near_null=` (n, r) modes from the problem; `direct` ones hold a sparse factor whose size
    `factor_bytes_estimate` predicts."""

    name: str = "abstract"
    uses_near_null = False
    direct = True

    @abc.abstractmethod
    def factorize(self, A: sp.spmatrix, symmetric: bool = False) -> Factorization: ...

    def __repr__(self):
        return f"{type(self).__name__}()"


class _SuperLUFactor(Factorization):
    def __init__(self, lu):
        self.lu = lu
        self.nbytes = (lu.L.nnz + lu.U.nnz) * 12

    def solve(self, b, transpose=False, rtol=None):
        return self.lu.solve(np.asarray(b, dtype=float), trans="T" if transpose else "N")


class SuperLU(LinearSolver):
    """SciPy's SuperLU (always available; the fallback). `permc_spec` orders non-symmetric
    matrices; symmetric ones use symmetric mode with a minimum-degree ordering of A + A^T."""

    name = "superlu"

    def __init__(self, permc_spec: str = "COLAMD"):
        self.permc_spec = permc_spec

    def factorize(self, A, symmetric=False):
        # symmetric: order A + A^T and prefer diagonal pivots (1.8x faster on 2-D elasticity)
        kw = dict(permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.01,
                  options={"SymmetricMode": True}) if symmetric else dict(permc_spec=self.permc_spec)
        try:
            lu = spla.splu(sp.csc_matrix(A), **kw)
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


class _CholmodFactor(Factorization):
    def __init__(self, factor):
        self.factor = factor   # nbytes stays 0: scikit-sparse does not expose the factor's size

    def solve(self, b, transpose=False, rtol=None):   # symmetric: A^T = A
        with one_blas_thread():
            return self.factor(np.asarray(b, dtype=float))


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread. For triangular solves with a sparse factor:
    next to JAX's thread pool, a second OpenBLAS thread made 16 of 20 CHOLMOD solves of a
    65k-unknown P1 Poisson matrix take 60-105 ms instead of 9 ms (2 cores)."""
    return _blas_controller().limit(limits=1, user_api="blas")


class Cholmod(LinearSolver):
    """CHOLMOD's supernodal Cholesky (scikit-sparse; `pip install morphax[fast]` with Debian's
    libsuitesparse-dev) for symmetric positive definite tangents. The fill-reducing analysis is
    done once per sparsity pattern and reused, also by later solves of the same problem (the
    last `ANALYSES_KEPT` patterns of the process). Matrices that are not symmetric, or not
    positive definite (a tangent past a buckling point), are handed to SuperLU."""

    name = "cholmod"

    def __init__(self):
        from sksparse import cholmod

        self._cholmod = cholmod
        self._fallback = SuperLU()

    def analysis(self, A: sp.csc_matrix):
        """The symbolic analysis of A's sparsity pattern: a cached one, or a new one."""
        kept = _ANALYSES
        for k, (indptr, indices, analysis) in enumerate(kept):
            if np.array_equal(indptr, A.indptr) and np.array_equal(indices, A.indices):
                kept.insert(0, kept.pop(k))
                return analysis
        analysis = self._cholmod.analyze(A, mode="supernodal")
        kept.insert(0, (A.indptr.copy(), A.indices.copy(), analysis))
        del kept[ANALYSES_KEPT:]
        return analysis

    def factorize(self, A, symmetric=False):
        if not symmetric:
            return self._fallback.factorize(A)
        # a symmetric CSR matrix is its own CSC transpose: reinterpret it without a copy
        A = sp.csc_matrix((A.data, A.indices, A.indptr), shape=A.shape) if sp.isspmatrix_csr(A) \
            else sp.csc_matrix(A)
        try:
            factor = self.analysis(A).cholesky(A)
        except self._cholmod.CholmodNotPositiveDefiniteError:
            log.info("tangent is not positive definite; factorizing it with SuperLU")
            return self._fallback.factorize(A)
        check_pivots(np.abs(factor.D()), A)
        return _CholmodFactor(factor)


ANALYSES_KEPT = 4
"""Sparsity patterns whose CHOLMOD analysis (ordering and symbolic factor) a process keeps, so
that repeated solves of a problem (optimization loops, benchmarks) skip it: it took 20 ms next
to a 110 ms factorization of a 65k-unknown P1 Poisson matrix, and 85 ms next to 310 ms for an
18k-unknown hex8 neo-Hookean tangent (2 cores)."""
_ANALYSES: list = []   # (indptr, indices, analysis) of those patterns, the most recent first


_SOLVERS: dict[str, type[LinearSolver]] = {"superlu": SuperLU, "cholmod": Cholmod}


def register_solver(cls: type[LinearSolver]) -> type[LinearSolver]:
    """Make a LinearSolver subclass available by its `name` (e.g. in TOML files)."""
    _SOLVERS[cls.name] = cls
    return cls


def available_solvers() -> list[str]:
    """Names of the solvers that can run here (their packages import)."""
    out = []
    for name, cls in _SOLVERS.items():
        try:
            cls()
        except ImportError:
            continue
        out.append(name)
    return out


FILL_COEFFICIENT = 0.5
"""c in the fill model nnz(L) = c nnz(A) g(n) of a Cholesky factor of an FE matrix (n, n), g(n)
= n^(1/3) for 3-D meshes and log2 n for 2-D ones. An upper value: CHOLMOD's factors
(METIS/AMD orderings) of elasticity tangents measured 0.24-0.31 (2-D tri3, quad4) and
0.21-0.40 (3-D hex8, tet10, tet4) for 7k-116k unknowns."""


def factor_bytes_estimate(n: int, nnz: int, symmetric: bool = True, dim: int = 3) -> int:
    """Estimated bytes of a sparse direct factor of an (n, n) finite-element matrix with nnz
    stored entries, from the fill model of `FILL_COEFFICIENT` and 12 bytes per factor entry
    (value and row index). A Cholesky factor holds L; an LU factor L and U (twice that)."""
    growth = n ** (1.0 / 3.0) if dim == 3 else np.log2(max(n, 2))
    return int(12 * FILL_COEFFICIENT * nnz * growth * (1 if symmetric else 2))


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def warn_if_factor_too_large(solver: LinearSolver, n: int, nnz: int, symmetric: bool,
                             dim: int) -> None:
    """Log a warning, before a direct factorization starts, when its estimated factor exceeds
    the available memory, and name the solver to use instead."""
    if not solver.direct:
        return
    need, free = factor_bytes_estimate(n, nnz, symmetric, dim), available_memory()
    if free is not None and need > free:
        log.warning("factorizing %d unknowns with %s needs about %.1f GB, more than the %.1f GB "
                    "of memory available: use linear_solver='amg' (TOML: [solver] linear_solver "
                    "= \"amg\"), which needs a fraction of that", n, solver.name, need / 1e9,
                    free / 1e9)


AUTO_ITERATIVE_UNKNOWNS = {1: 10**8, 2: 2_000_000, 3: 50_000}
"""Free unknowns above which `linear_solver="auto"` (the default) picks AMG-preconditioned
Krylov solves over a direct factorization, by spatial dimension. In 3-D a factor's fill grows
like n^(4/3): on 3-D elasticity (2 cores) CHOLMOD and AMG-CG cost the same near 26k unknowns
and AMG was 2.2x faster at 105k; with chord steps in both, a neo-Hookean hex8 cube with 55k
free unknowns solved in 2.9 s with AMG and 4.3 s with CHOLMOD. 2-D factors stay sparse far
longer."""


def get_solver(solver: str | LinearSolver | None = None, size: int = 0,
               dim: int = 2) -> LinearSolver:
    """A solver instance from a name, an instance, or None / "auto": AMG when the system has more
    than `AUTO_ITERATIVE_UNKNOWNS[dim]` unknowns (`size`) and pyamg is installed, else the
    fastest direct solver."""
    if solver is None or solver == "auto":
        if size > AUTO_ITERATIVE_UNKNOWNS.get(dim, AUTO_ITERATIVE_UNKNOWNS[3]):
            try:
                return _SOLVERS["amg"]()
            except (ImportError, KeyError):
                log.info("pyamg is not installed; factorizing %d unknowns directly", size)
        return default_solver()
    if isinstance(solver, LinearSolver):
        return solver
    if solver not in _SOLVERS:
        raise InputError(f"unknown linear solver {solver!r}; available: auto, "
                         f"{', '.join(available_solvers())}")
    try:
        return _SOLVERS[solver]()
    except ImportError as err:
        raise InputError(f"linear solver {solver!r} is not installed ({err}); available: "
                         f"{available_solvers()}") from None


def solver_for(problem, solver: str | LinearSolver | None = None) -> tuple[LinearSolver, dict]:
    """(solver, hints) for a problem: `get_solver` by its free unknowns and dimension, and the
    keyword arguments its `factorize` takes (the near-null space, for AMG)."""
    chosen = get_solver(solver, problem.free.size, getattr(problem, "dim", 3))
    if chosen.uses_near_null and hasattr(problem, "near_null_space"):
        return chosen, {"near_null": problem.near_null_space()}
    return chosen, {}


def default_solver() -> LinearSolver:
    """The fastest installed solver: CHOLMOD when scikit-sparse imports (2-4x faster than
    SuperLU on elasticity tangents; see the README's solver survey), else SciPy's SuperLU."""
    try:
        return Cholmod()
    except ImportError:
        return SuperLU()
