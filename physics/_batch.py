"""Batches of independent solves over devices, and a device-side Newton-Krylov solve.

`solve_batch` solves one Problem at a batch of parameter sets (designs, actuations, tasks),
cut into equal shards, one per device of a mesh (`jax.shard_map` over the axis "batch"),
`jax.vmap` within a device. With method="direct" each item is `solve`: host-side Newton with a
sparse factorization, reached by a host callback; each device runs its own callbacks
concurrently, so with one process per device (`jax.distributed`) the solves of a batch run in
parallel on the host cores (in one process they share its interpreter lock). With
method="krylov" each item is `newton_krylov`: everything stays on the device (accelerators).
Both are differentiable in the parameters through implicit adjoints.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.sparse.linalg import cg, gmres

from morphax._core import InputError, cached
from morphax._core.parallel import AXIS, all_gather, batch_mesh, pad_batch, put

from ._newton import NewtonOptions
from ._problem import Problem
from ._solve import Solution, solve

P = jax.sharding.PartitionSpec


@dataclasses.dataclass(frozen=True)
class KrylovOptions:
    """Settings of `newton_krylov`.

    rtol: converged when |R_free| <= rtol * |R_free(u_0, full load)| (u_0: zero free values,
    full prescribed values). load_steps: equal load increments, each iterated by Newton (no
    line search: raise load_steps for large deformations). max_iterations: Newton iterations per
    increment. krylov: "cg" (symmetric tangents: energy problems without follower loads),
    "gmres", or None (cg when the problem has a potential). linear_rtol, linear_maxiter: of each
    Jacobi-preconditioned Krylov solve (maxiter None: 10 x the number of free dofs).
    """

    rtol: float = 1e-10
    load_steps: int = 1
    max_iterations: int = 25
    krylov: str | None = None
    linear_rtol: float = 1e-12
    linear_maxiter: int | None = None


def _jacobi_diagonal(problem: Problem, u_full, p):
    """The diagonal (n_free,) of the tangent, from the cell tangents' diagonals (follower-load
    stiffness left out: this is a preconditioner)."""
    kc = problem.elem.n_nodes * problem.ncomp
    cells = np.asarray(problem.mesh.cells)
    dofs = (cells[:, :, None] * problem.ncomp + np.arange(problem.ncomp)).reshape(-1, kc)
    blocks = problem.cell_tangents(u_full, p)
    diag = jnp.zeros(problem.ndof, blocks.dtype).at[dofs.ravel()].add(
        jnp.diagonal(blocks, axis1=1, axis2=2).ravel())[problem.free]
    diag = jnp.abs(diag)
    return jnp.where(diag > 0, diag, 1.0)


def _krylov_solve(matvec, rhs, diag, options: KrylovOptions, symmetric: bool):
    maxiter = options.linear_maxiter or 10 * rhs.shape[0]
    def jacobi(v):
        return v / diag

    if symmetric:
        return cg(matvec, rhs, tol=options.linear_rtol, maxiter=maxiter, M=jacobi)[0]
    return gmres(matvec, rhs, tol=options.linear_rtol, maxiter=maxiter, M=jacobi, restart=50)[0]


def _build_krylov(problem: Problem, options: KrylovOptions):
    if options.krylov not in (None, "cg", "gmres"):
        raise InputError(f"krylov must be 'cg', 'gmres' or None, got {options.krylov!r}")
    if options.load_steps < 1 or options.max_iterations < 1:
        raise InputError("load_steps and max_iterations must be at least 1")
    symmetric = problem.potential if options.krylov is None else options.krylov == "cg"

    def free_residual(u_free, p, lam):
        return problem.residual(problem.lift(u_free, p, lam), p, lam)[problem.free]

    def forward(p):
        dtype = jnp.result_type(p["points"])
        zero = jnp.zeros(problem.free.size, dtype)
        ref = jnp.linalg.norm(free_residual(zero, p, jnp.asarray(1.0, dtype)))
        tol = options.rtol * jnp.where(ref > 0, ref, 1.0)

        def newton_step(state, lam):
            u, _, it = state
            r, jvp = jax.linearize(lambda v: free_residual(v, p, lam), u)
            diag = _jacobi_diagonal(problem, problem.lift(u, p, lam), p)
            du = _krylov_solve(jvp, -r, diag, options, symmetric)
            return u + du, jnp.linalg.norm(free_residual(u + du, p, lam)), it + 1

        def increment(u, step):
            lam = jnp.asarray(step + 1, dtype) / options.load_steps
            # intermediate increments stop early (1e-6 of the force scale), the last at tol
            stop = jnp.where(step + 1 < options.load_steps, jnp.maximum(tol, 1e-6 * ref), tol)
            r0 = jnp.linalg.norm(free_residual(u, p, lam))
            u, res, _ = jax.lax.while_loop(
                lambda s: (s[2] < options.max_iterations) & (s[1] > stop) & jnp.isfinite(s[1]),
                lambda s: newton_step(s, lam), (u, r0, 0))
            return u, res

        u, res = jax.lax.scan(increment, zero, jnp.arange(options.load_steps))
        ok = res[-1] <= tol
        return jnp.where(ok, u, jnp.nan), ok

    def adjoint(u_free, p, u_bar):
        lam = jnp.asarray(1.0, u_free.dtype)
        diag = _jacobi_diagonal(problem, problem.lift(u_free, p, lam), p)
        _, vjp = jax.vjp(lambda v: free_residual(v, p, lam), u_free)
        return _krylov_solve(lambda v: vjp(v)[0], u_bar, diag, options, symmetric)

    @jax.custom_vjp
    def run(p):
        return forward(p)

    def run_fwd(p):
        u_free, ok = forward(p)
        return (u_free, ok), (u_free, p)

    def run_bwd(res, cotangents):
        u_free, p = res
        lam_vec = adjoint(u_free, p, cotangents[0])
        _, vjp = jax.vjp(lambda q: free_residual(u_free, q, jnp.asarray(1.0, u_free.dtype)), p)
        return vjp(-lam_vec)

    run.defvjp(run_fwd, run_bwd)
    return run


def newton_krylov(problem: Problem, params=None, *, options: KrylovOptions | None = None,
                  **option_overrides) -> Solution:
    """Solve `problem` at `params` on the device: Newton whose linear steps are matrix-free
    Krylov solves (J v by `jax.linearize` of the residual) preconditioned by the tangent's
    diagonal (Jacobi), all in JAX: jit, vmap and shard_map compile it for any backend, no host
    callback. Differentiable in params by an implicit adjoint (one transposed Krylov solve).
    Returns a Solution (u (n_nodes, c), converged); a failed solve gives NaN values and
    converged = False. For accelerators; on CPU the direct `solve` is faster.
    """
    options = dataclasses.replace(options or KrylovOptions(), **option_overrides)
    p = problem.params() if params is None else params
    problem.check_params(p)
    key = ("newton_krylov", _fields(options))
    run = cached(problem, key, lambda: _build_krylov(problem, options))
    u_free, ok = run(p)
    return Solution(problem.lift(u_free, p).reshape(-1, problem.ncomp), ok)


METHODS = ("direct", "krylov")


def _fields(options) -> tuple:
    """A hashable key of an options dataclass (a LinearSolver instance by identity)."""
    return tuple(getattr(options, f.name) for f in dataclasses.fields(options))


def _batched(problem: Problem, method: str, options, mesh):
    def one(p):
        if method == "direct":
            sol = solve(problem, p, options=options)
        else:
            sol = newton_krylov(problem, p, options=options)
        return sol.u, sol.converged

    def local(p):   # the shard of one device: vmap, then every device gets the whole batch
        return all_gather(jax.vmap(one)(p))

    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=P(AXIS), out_specs=P(), check_vma=False))


def solve_batch(problem: Problem, params, *, devices=None, method: str = "direct",
                options: NewtonOptions | KrylovOptions | None = None,
                **option_overrides) -> Solution:
    """Solve `problem` at a batch of parameter sets: every leaf of `params` carries a leading
    batch axis B (e.g. `jax.tree.map(lambda *x: jnp.stack(x), *list_of_params)`).

    devices: a count, a list of devices or a `morphax._core.parallel.batch_mesh` (default:
    every device JAX sees, across processes under `jax.distributed`); the batch is padded to a
    multiple of it. method: "direct" (`solve`, host-side sparse factorizations) or "krylov"
    (`newton_krylov`, device-side); options / keyword overrides: NewtonOptions or
    KrylovOptions fields. Returns Solution(u (B, n_nodes, c), converged (B,)), the same on
    every process; differentiable in params. A failed item has converged = False and NaN u.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    kind = NewtonOptions if method == "direct" else KrylovOptions
    options = dataclasses.replace(options or kind(), **option_overrides)
    if not isinstance(options, kind):
        raise InputError(f"method {method!r} takes {kind.__name__}, got {type(options).__name__}")
    mesh = devices if isinstance(devices, jax.sharding.Mesh) else batch_mesh(devices)
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves or any(jnp.ndim(x) == 0 for x in leaves) or \
            len({jnp.shape(x)[0] for x in leaves}) != 1:
        raise InputError("params of solve_batch need one leading batch axis of the same size on "
                         "every leaf (stack problem.params() of each item)")
    padded, b = pad_batch(params, mesh.devices.size)
    if not any(isinstance(x, jax.core.Tracer) for x in leaves):
        padded = put(padded, mesh, P(AXIS))
    key = ("solve_batch", method, _fields(options), mesh)
    u, ok = cached(problem, key, lambda: _batched(problem, method, options, mesh))(padded)
    if not isinstance(u, jax.core.Tracer) and not u.is_fully_addressable:   # across processes
        u, ok = (jnp.asarray(x.addressable_data(0)) for x in (u, ok))
    return Solution(u[:b], ok[:b])
