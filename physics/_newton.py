"""Newton's method with line search and adaptive load stepping, on the host.

Assembly runs as compiled JAX; factorizations and solves run in SciPy-style sparse solvers.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from morphax._core import ConvergenceError, InvertedElementError, describe_cells

from ._linear import LinearSolver, factor_bytes_estimate, solver_for, warn_if_factor_too_large

log = logging.getLogger("morphax.physics")


@dataclasses.dataclass(frozen=True)
class NewtonOptions:
    """Settings of the nonlinear solve.

    rtol, atol: converged when |R_free| <= atol + rtol * |dR_free/d(load factor)| at the start,
    the force scale of the full load (the initial residual, for a linear problem).
    load_steps: initial number of equal load increments; a failed increment is halved (up to
    max_cuts times) and a good one grows by `growth`. line_search: backtracking on the energy
    (or the residual norm for non-energy problems); it also backs off from inverted elements.
    linear_solver: "auto" (None): a direct factorization, or AMG-preconditioned Krylov solves
    above `AUTO_ITERATIVE_UNKNOWNS`; a name from `available_solvers()`; or a LinearSolver.
    Iterative solvers solve each Newton system to a relative residual eta (Eisenstat-Walker
    forcing terms, choice 1 with safeguards): loose far from the solution, as tight as the
    tolerance needs near it.
    progress: a progress bar over the load factor on stderr (the CLI turns it on).
    """

    rtol: float = 1e-10
    atol: float = 0.0
    intermediate_rtol: float = 1e-6
    max_iterations: int = 25
    load_steps: int = 1
    max_cuts: int = 10
    growth: float = 1.5
    line_search: bool = True
    max_backtracks: int = 12
    linear_solver: str | LinearSolver | None = None
    progress: bool = False


@dataclasses.dataclass
class NewtonReport:
    """What a solve did: iterations, load increments, residual history and time split."""

    converged: bool = False
    iterations: int = 0
    increments: int = 0
    cuts: int = 0
    residual: float = float("nan")
    reference_residual: float = float("nan")
    history: list = dataclasses.field(default_factory=list)  # (load factor, iteration, |R|)
    factorizations: int = 0
    time_assembly: float = 0.0
    time_factorize: float = 0.0
    time_solve: float = 0.0
    time_total: float = 0.0
    linear_solver: str = ""
    chord_steps: int = 0         # steps with an earlier factorized tangent (see CHORD_RATIO)
    linear_iterations: int = 0   # Krylov iterations (iterative solvers)
    solver_memory: int = 0       # bytes of the largest factor (CHOLMOD: estimated) or AMG hierarchy

    @property
    def time_linear_algebra(self) -> float:
        """Seconds spent in factorizations and triangular solves: the physical floor."""
        return self.time_factorize + self.time_solve

    def summary(self) -> str:
        return (f"{'converged' if self.converged else 'NOT converged'}: {self.iterations} Newton "
                f"iterations and {self.chord_steps} chord steps in {self.increments} load "
                f"increments ({self.cuts} cuts), residual "
                f"{self.residual:.2e} (reference {self.reference_residual:.2e}), "
                f"{self.time_total:.3f} s ({self.time_linear_algebra:.3f} s linear algebra, "
                f"{self.linear_solver}{self._linear_detail()})")

    def _linear_detail(self) -> str:
        its = f", {self.linear_iterations} Krylov iterations" if self.linear_iterations else ""
        mem = f", {self.solver_memory / 2**20:.0f} MiB" if self.solver_memory else ""
        return its + mem


CHORD_RATIO = 0.1
"""Once a step has cut |R_free| at least this much (Newton's quadratic convergence has set in),
the next step reuses the factorized tangent (a chord step: a linear solve and a residual), and
it is kept when it cuts |R_free| as much; otherwise Newton factorizes again from where it was.
It saves the last one or two factorizations (or AMG set-ups) of most solves."""


def _progress_bar(enabled: bool):
    from tqdm import tqdm

    return tqdm(total=1.0, desc="Newton", unit="load", disable=not enabled, leave=False,
                bar_format="{desc}: {percentage:3.0f}% of the load |{bar}| {elapsed} {postfix}")


class _Failure(Exception):
    def __init__(self, reason, cells=()):
        self.reason, self.cells = reason, cells


def newton(problem, p, u0_free=None, options: NewtonOptions = NewtonOptions()):
    """Solve R(u) = 0 for the free dofs. Returns (u_free (n_free,), NewtonReport).

    Each load increment starts from a tangent predictor (the last factorized tangent applied
    to the change of the residual with the load factor), then iterates Newton with line search.
    Raises ConvergenceError or InvertedElementError (both carry the residual history).
    """
    return _Newton(problem, p, options).run(u0_free)


class _Newton:
    def __init__(self, problem, p, options):
        self.problem, self.p, self.options = problem, p, options
        self.free = problem.free
        self.solver, self.hints = solver_for(problem, options.linear_solver)
        self.report = NewtonReport(linear_solver=self.solver.name)
        self.eta = 1e-2       # forcing term of the next Newton step (iterative solvers)
        self.factor = None   # the last factorized tangent, reused by the next predictor
        self.tangent = None  # its values in problem.sparsity
        self._rate = None    # (tangent, u, load rate) of the last load_rate
        self.g = problem.prescribed_values(p)   # the fixed dofs' values at full load
        self.follower = problem.compiled.follower
        self.potential = problem.model.energy and not self.follower   # symmetric, has an energy

    def _timed(self, field, fn, *args, **kwargs):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        setattr(self.report, field, getattr(self.report, field) + time.perf_counter() - t)
        return out

    def evaluate(self, u_full, lam):
        fn = self.problem.compiled.residual_energy
        r, e = self._timed("time_assembly", lambda: tuple(map(np.asarray, fn(u_full, self.p, lam))))
        return r, float(e)

    def lift(self, u_free, lam):
        u = np.empty(self.problem.ndof)
        u[self.free] = u_free
        u[self.problem.fixed] = lam * self.g
        return u

    def load_rate(self, u_full):
        """dR_free/dlam at fixed free values: K_fd g + (R(u, 1) - R(u, 0))_free, with the
        tangent of the last factorization (remembered for the last u: the first predictor
        needs the rate the reference residual was computed from)."""
        last = self._rate
        if last is not None and last[0] is self.tangent and np.array_equal(last[1], u_full):
            return last[2]
        fn = self.problem.compiled.load_rate
        if fn is None:
            loads = self.evaluate(u_full, 1.0)[0] - self.evaluate(u_full, 0.0)[0]
        else:
            loads = self._timed("time_assembly", lambda: np.asarray(fn(u_full, self.p)))
        rate = self.problem.free_fixed_block(self.tangent) @ self.g + loads[self.free]
        self._rate = (self.tangent, u_full.copy(), rate)
        return rate

    def factorize(self, u_full, lam):
        fn = self.problem.compiled.tangent_values
        args = (u_full, self.p, lam) if self.follower else (u_full, self.p)
        self.tangent = self._timed("time_assembly", lambda: np.asarray(fn(*args)))
        A = self.problem.free_block(self.tangent)
        dim = getattr(self.problem, "dim", 3)
        if not self.report.factorizations:
            warn_if_factor_too_large(self.solver, A.shape[0], A.nnz, self.potential, dim)
        self.factor = self._timed("time_factorize", self.solver.factorize, A, self.potential,
                                  **self.hints)
        self.report.factorizations += 1
        nbytes = self.factor.nbytes or factor_bytes_estimate(A.shape[0], A.nnz, self.potential,
                                                             dim)
        self.report.solver_memory = max(self.report.solver_memory, nbytes)

    def solve_linear(self, rhs, rtol=None):
        before = getattr(self.factor, "iterations", 0)
        x = self._timed("time_solve", self.factor.solve, rhs, False, rtol)
        self.report.linear_iterations += getattr(self.factor, "iterations", 0) - before
        return x

    def forcing(self, norm, previous, tol):
        """Eisenstat-Walker choice 1: how well the last linear model predicted the new residual
        |R_k| - |R_{k-1} + K s|, relative to |R_{k-1}|, kept above eta_{k-1}^1.618 when that is
        large (no sudden tightening), and loosened to what the tolerance needs."""
        if previous is None:   # first step of an increment, or after a shortened step
            return float(np.clip(self.eta, 0.5 * tol / norm, 0.1))
        eta = abs(norm - self.factor.last_residual) / previous
        eta = max(eta, self.eta ** 1.618 if self.eta ** 1.618 > 0.1 else 0.0)
        return float(np.clip(eta, 0.5 * tol / norm, 0.1))

    def run(self, u0_free):
        t_start = time.perf_counter()
        options, report = self.options, self.report
        u_free = np.zeros(self.free.size) if u0_free is None else np.array(u0_free, float)
        # the force scale of the whole load: |dR_free/dlam| at the start (exact for linear problems)
        self.factorize(self.lift(u_free, 0.0), 0.0)
        r_ref = np.linalg.norm(self.load_rate(self.lift(u_free, 0.0)))
        report.reference_residual = float(r_ref)
        lam, step = 0.0, 1.0 / max(1, options.load_steps)
        bar = _progress_bar(options.progress)
        try:
            while lam < 1.0:
                target = 1.0 if 1.0 - (lam + step) < 1e-12 else lam + step
                rtol = options.rtol if target == 1.0 else max(options.rtol, options.intermediate_rtol)
                try:
                    u_free = self.increment(u_free, lam, target, options.atol + rtol * r_ref)
                except _Failure as fail:
                    report.cuts += 1
                    step = (target - lam) / 2.0
                    log.info("load increment to %.4g failed (%s); cutting the step to %.3g",
                             target, fail.reason, step)
                    if report.cuts > options.max_cuts:
                        report.time_total = time.perf_counter() - t_start
                        _raise(fail, lam, target, report)
                    continue
                report.increments += 1
                bar.update(target - lam)
                bar.set_postfix_str(f"|R| {report.residual:.1e}, {report.iterations} iterations")
                lam, step = target, step * options.growth
        finally:
            bar.close()   # also on failure: an error message starts on a clean line
        report.converged = True
        report.time_total = time.perf_counter() - t_start
        return u_free, report

    def predictor(self, u_free, lam, target):
        """u_free + du with K du = -dR/dlam * (target - lam), K the last tangent."""
        rate = self.load_rate(self.lift(u_free, lam))
        du = -self.solve_linear(rate * (target - lam), 1e-2)
        for scale in (1.0, 0.5, 0.25, 0.0):
            u = self.lift(u_free + scale * du, target)
            r, e = self.evaluate(u, target)
            if np.isfinite(e) and np.all(np.isfinite(r)):
                return u, r, e
        cells = np.nonzero(np.asarray(self.problem.compiled.bad_cells(u, self.p)))[0]
        raise _Failure("inverted", cells)

    def increment(self, u_free, lam, target, tol):
        free, options, report = self.free, self.options, self.report
        u, r, e = self.predictor(u_free, lam, target)
        self.eta = 1e-2
        previous = None   # |R| before the last full step (Newton or chord)
        for it in range(options.max_iterations + 1):
            norm = float(np.linalg.norm(r[free]))
            report.history.append((target, it, norm))
            report.residual = norm
            if norm <= tol:
                return u[free]
            if it == options.max_iterations:
                break
            if previous is not None and norm <= CHORD_RATIO * previous:
                chord = self.chord_step(u, r, norm, target)
                if chord is not None:
                    u, r, e = chord
                    previous = norm
                    continue
            self.factorize(u, target)
            if self.factor.iterative:
                self.eta = self.forcing(norm, previous, tol)
            du = -self.solve_linear(r[free], self.eta)
            report.iterations += 1
            u, r, e, alpha = self.line_search(u, r, e, du, norm, target)
            previous = norm if alpha == 1.0 else None
        raise _Failure("no convergence")

    def chord_step(self, u, r, norm, lam):
        """(u, r, e) after one step with the last factorized tangent, or None when it does not
        cut |R_free| by CHORD_RATIO too (then a Newton step follows from u)."""
        trial = u.copy()
        trial[self.free] -= self.solve_linear(r[self.free], self.eta)
        r_t, e_t = self.evaluate(trial, lam)
        if not (np.isfinite(e_t) and np.all(np.isfinite(r_t))
                and np.linalg.norm(r_t[self.free]) <= CHORD_RATIO * norm):
            return None
        self.report.chord_steps += 1
        return trial, r_t, e_t

    def line_search(self, u, r, e, du, norm, lam):
        slope = float(np.dot(r[self.free], du))
        alpha = 1.0
        for _ in range(self.options.max_backtracks + 1):
            trial = u.copy()
            trial[self.free] += alpha * du
            r_t, e_t = self.evaluate(trial, lam)
            finite = np.isfinite(e_t) and np.all(np.isfinite(r_t))
            if finite and (not self.options.line_search
                           or np.linalg.norm(r_t[self.free]) < norm
                           or (self.potential and e_t <= e + 1e-4 * alpha * slope)):
                return trial, r_t, e_t, alpha
            alpha *= 0.5
        trial = u.copy()
        trial[self.free] += du
        cells = np.nonzero(np.asarray(self.problem.compiled.bad_cells(trial, self.p)))[0]
        raise _Failure("inverted" if cells.size else "line search", cells)


def _raise(fail, lam, target, report):
    tail = ", ".join(f"{h[2]:.2e}" for h in report.history[-6:])
    if fail.reason == "inverted":
        raise InvertedElementError(
            f"elements invert (det F <= 0) on the way from load factor {lam:.4g} to {target:.4g},"
            f" even after {report.cuts - 1} step cuts: {describe_cells(fail.cells)}. Reduce the "
            "prescribed displacement or load, refine the mesh there, or use more load_steps.",
            fail.cells, report.history)
    raise ConvergenceError(
        f"Newton did not converge on the way from load factor {lam:.4g} to {target:.4g} after "
        f"{report.cuts - 1} step cuts ({fail.reason}; last residuals {tail}; reference "
        f"{report.reference_residual:.2e}). Use more load_steps, raise max_iterations, or check "
        "the boundary conditions and material parameters.", report.history)
