"""`solve`: the differentiable nonlinear solve, with an implicit-function-theorem adjoint.

Forward: Newton on the host (`_newton.newton`), reached through `jax.pure_callback` so that
`solve` works under `jax.grad`, `jax.jit` and `jax.vmap`. Backward: one factorization of the
tangent at the solution and one transposed solve, K_ff^T lam = du_bar, then the VJP of the
residual with respect to all parameters (points, material, Dirichlet values, loads).
"""

from __future__ import annotations

import collections
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import MorphaxError, cached

from ._linear import solver_for
from ._newton import NewtonOptions, NewtonReport, newton
from ._problem import Problem, warn_if_float32


@jax.tree_util.register_pytree_node_class
class Solution:
    """u (n_nodes, c): the solution at every node; converged: a bool array.

    report: the NewtonReport when solved eagerly, None under jit or vmap (then check
    `converged`: a failed solve inside a trace returns NaN values and converged = False).
    """

    def __init__(self, u, converged, report: NewtonReport | None = None):
        self.u, self.converged, self.report = u, converged, report

    def tree_flatten(self):
        return (self.u, self.converged), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)

    def __repr__(self):
        return f"Solution(u: {jnp.shape(self.u)}, report: {self.report and self.report.summary()})"


class _Outcomes:
    """Outcomes of one problem's host solves, keyed by a token the traced code carries: the
    report of a success or the exception of a failure, so that eager callers get the real
    exception and its details. Kept with the problem (`cached`), the newest `keep` only."""

    def __init__(self, keep: int = 256):
        self.keep, self.items, self.tokens = keep, collections.OrderedDict(), itertools.count(1)

    def store(self, outcome) -> int:
        token = next(self.tokens)
        self.items[token] = outcome
        while len(self.items) > self.keep:
            self.items.popitem(last=False)
        return token

    def pop(self, token: int):
        return self.items.pop(token, None)


def _outcomes(problem) -> _Outcomes:
    return cached(problem, "solve_outcomes", _Outcomes)


def solve(problem: Problem, params=None, *, options: NewtonOptions | None = None,
          **option_overrides) -> Solution:
    """Solve the problem at `params` (default `problem.params()`); differentiable in params.

    Keyword overrides set NewtonOptions fields, e.g. `solve(problem, load_steps=10)`.
    Eagerly, failures raise ConvergenceError, InvertedElementError or SingularMatrixError;
    under jit/vmap they give `converged = False` and NaN values.
    """
    options = NewtonOptions(**{**vars(options or NewtonOptions()), **option_overrides})
    p = problem.params() if params is None else params
    problem.check_params(p)
    if "points" in p:   # problems without node coordinates (JaxFemProblem) warn themselves
        warn_if_float32(p)
    if not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(p)):
        u_free, report = newton(problem, p, options=options)   # plain values: no AD wrapper
        u = np.zeros(problem.ndof)
        u[problem.free], u[problem.fixed] = u_free, problem.prescribed_values(p)
        return Solution(jnp.asarray(u.reshape(-1, problem.ncomp)), jnp.asarray(True), report)
    u_free, code = _differentiable_solve(problem, options)(p)
    u = problem.lift(u_free, p).reshape(-1, problem.ncomp)
    try:
        token = int(code)
    except jax.errors.ConcretizationTypeError:
        return Solution(u, code > 0)
    outcome = _outcomes(problem).pop(abs(token))
    if isinstance(outcome, BaseException):
        raise outcome
    return Solution(u, jnp.asarray(token > 0), outcome)


def _float_dtype(p):
    """The solution's dtype: that of the node coordinates, or for problems whose parameters
    hold none (JaxFemProblem) that of the first floating-point leaf."""
    if "points" in p:
        return jnp.result_type(p["points"])
    leaves = [x for x in jax.tree_util.tree_leaves(p)
              if jnp.issubdtype(jnp.result_type(x), jnp.floating)]
    return jnp.result_type(leaves[0]) if leaves else jnp.zeros(()).dtype


def _differentiable_solve(problem: Problem, options: NewtonOptions):
    key = ("solve", options.rtol, options.atol, options.intermediate_rtol,
           options.max_iterations, options.load_steps, options.max_cuts, options.growth,
           options.line_search, options.max_backtracks, id(options.linear_solver),
           options.progress)
    return cached(problem, key, lambda: _build(problem, options))


def _build(problem: Problem, options: NewtonOptions):
    n_free, outcomes = problem.free.size, _outcomes(problem)

    def host_forward(p):
        try:
            u, report = newton(problem, p, options=options)
            return u, np.int64(outcomes.store(report))
        except MorphaxError as err:
            return np.full(n_free, np.nan), np.int64(-outcomes.store(err))

    def forward(p):
        dtype = _float_dtype(p)
        shapes = (jax.ShapeDtypeStruct((n_free,), dtype), jax.ShapeDtypeStruct((), jnp.int64
                  if jax.config.jax_enable_x64 else jnp.int32))
        return jax.pure_callback(host_forward, shapes, p, vmap_method="sequential")

    def host_adjoint(u_free, p, u_bar):
        u = np.zeros(problem.ndof)
        u[problem.free], u[problem.fixed] = u_free, problem.prescribed_values(p)
        K = problem.free_block(np.asarray(problem.compiled.tangent_values(u, p)))
        symmetric = problem.model.energy and not problem.compiled.follower
        solver, hints = solver_for(problem, options.linear_solver)
        return solver.factorize(K, symmetric, **hints).solve(np.asarray(u_bar), transpose=True)

    def free_residual(u_free, p):
        return problem.residual(problem.lift(u_free, p), p)[problem.free]

    @jax.custom_vjp
    def run(p):
        return forward(p)

    def run_fwd(p):
        u_free, code = forward(p)
        return (u_free, code), (u_free, p)

    def run_bwd(res, cotangents):
        u_free, p = res
        u_bar = cotangents[0]
        lam = jax.pure_callback(host_adjoint, jax.ShapeDtypeStruct(u_free.shape, u_free.dtype),
                                u_free, p, u_bar, vmap_method="sequential")
        _, vjp = jax.vjp(lambda q: free_residual(u_free, q), p)
        return vjp(-lam)

    run.defvjp(run_fwd, run_bwd)
    return jax.jit(run)   # compiled forward and backward passes, not op-by-op dispatch
