"""jax-fem interop: solve a jax-fem `Problem` with morphax's Newton, sparse solver and adjoint.

`JaxFemProblem(jf_problem)` wraps a constructed jax-fem 0.0.11 `Problem` (its kernels, mesh,
quadrature, Dirichlet conditions and surface integrals) in the interface `morphax.physics.solve`
and `newton` use, so

    solution = solve(JaxFemProblem(jf_problem), params)

runs morphax's Newton (line search, load stepping, SciPy sparse factorization) and is
differentiable in `params` through the implicit-function-theorem adjoint. jax-fem's own solver
module (`jax_fem.solver`) is never imported, so no PETSc / petsc4py is needed: jax-fem users get
a pip-only path.

This is the only morphax module that touches jax-fem (GPL-3.0, the optional `jaxfem` extra).
The adapter itself does not even import it: it calls methods of the problem object it is
given. `import_jax_fem` imports jax-fem modules without their import-time side effects, and
`run_jaxfem_solver` runs jax-fem's own PETSc-based solver (a benchmark peer) where petsc4py is
installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import io
import logging
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from morphax._core import InputError

from ._dofs import FixedDofs
from ._problem import Compiled
from ._sparsity import Pattern

__all__ = ["JaxFemProblem", "import_jax_fem", "run_jaxfem_solver"]


@dataclasses.dataclass(frozen=True)
class _WeakFormModel:
    """What Newton asks of `problem.model`: jax-fem problems are weak-form residuals, with no
    energy, so the line search works on the residual norm."""

    energy: bool = False


@contextlib.contextmanager
def _jaxfem_semantics():
    """jax-fem's kernels are written for JAX's default promotion rules; let them trace with
    those even where the caller runs strict dtype/rank promotion (morphax's test suite)."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


class _Jit:
    """`jax.jit` plus an ahead-of-time cache keyed by the arguments' shapes and dtypes.

    A jitted function called inside `jax.pure_callback` (where `solve` runs Newton and the
    adjoint under `jax.grad`/`jax.jit`) misses jit's cache, which is keyed on the trace
    context, and compiles again; the executables here are reused in any context. Traced
    arguments go through `jax.jit` (inlined into the caller's trace).
    """

    def __init__(self, fn):
        self.jit = jax.jit(fn)
        self.executables: dict = {}

    def __call__(self, *args):
        leaves, tree = jax.tree_util.tree_flatten(args)
        if any(isinstance(x, jax.core.Tracer) for x in leaves):
            return self.jit(*args)
        leaves = [jnp.asarray(x) for x in leaves]
        key = (tree, tuple((x.shape, x.dtype, x.weak_type) for x in leaves))
        args = jax.tree_util.tree_unflatten(tree, leaves)
        if key not in self.executables:
            self.executables[key] = self.jit.lower(*args).compile()
        return self.executables[key](*args)


def _float_dtype():
    return jnp.zeros(()).dtype   # float64 with x64, else float32


class JaxFemProblem:
    """A jax-fem `Problem` (0.0.11) seen as a morphax problem.

    jf_problem: a constructed `jax_fem.problem.Problem` subclass instance (one or several
    variables; tensor/mass/surface maps or universal kernels). Its Dirichlet conditions
    (`fes[i].node_inds_list/vec_inds_list/vals_list`), quadrature and geometry are used as they
    are; the problem object is never mutated.

    Parameters (`params()`), the pytree `solve` differentiates:
      internal_vars:          tuple of arrays (num_cells, num_quads, ...), jax-fem's
                              `problem.internal_vars` (e.g. a Young's modulus field);
      internal_vars_surfaces: tuple (one per `location_fns` entry) of tuples of arrays
                              (num_selected_faces, num_face_quads, ...);
      dirichlet:              tuple of (n_s,) prescribed values, one per Dirichlet triple
                              (variable by variable), as in `fe.vals_list`.

    Degrees of freedom use jax-fem's flat layout (node-major per variable, variables one after
    another), so `solve(...).u` has shape (num_nodes, vec) for one variable and (ndof, 1) for
    several; `solution_list(u)` gives jax-fem's list of (num_total_nodes, vec) arrays.

    The residual is jax-fem's weak form R(u) (its `problem.kernel`/`kernel_face` kernels, all
    cells in one compiled call, geometry passed as arguments rather than baked into the
    program); the tangent is jax-fem's per-cell forward-mode Jacobian (`kernel_jac`,
    `kernel_jac_face`) scattered into a fixed CSR pattern, all inside one jit. cell_batch:
    cells per step of the Jacobian loop (`jax.lax.map`); "auto" is 16 on CPU (cache-sized
    batches) and None (all cells in one vmap) on accelerators.

    Load stepping: jax-fem kernels do not separate loads from internal forces, so the load
    factor lam scales the prescribed values and follows the homotopy
    R_lam(u) = R(u) - (1 - lam) R(0): u = 0 solves lam = 0 and lam = 1 is the original
    problem. For dead loads on a stress-free reference state (R_int(0) = 0) this is exactly
    the scaling of the external loads by lam.
    """

    def __init__(self, jf_problem, *, cell_batch: int | None | str = "auto"):
        pb = jf_problem
        if cell_batch == "auto":
            cell_batch = 16 if jax.default_backend() == "cpu" else None
        self.cell_batch = cell_batch
        for attr in ("fes", "kernel", "kernel_jac", "num_total_dofs_all_vars", "offset"):
            if not hasattr(pb, attr):
                raise InputError(f"expected a constructed jax-fem Problem (0.0.11), got "
                                 f"{type(pb).__name__} without .{attr}")
        self.jf = pb
        self.model = _WeakFormModel()
        self.dim = int(pb.dim)
        self.num_vars = len(pb.fes)
        self.ndof = int(pb.num_total_dofs_all_vars)
        self.ncomp = int(pb.fes[0].vec) if self.num_vars == 1 else 1
        self.n_cells = int(pb.num_cells)
        self._init_dirichlet()
        # dofs of each cell (num_cells, n): the order of jax-fem's flat cell vectors
        cell_dofs = np.concatenate(
            [(np.asarray(cells)[:, :, None] * fe.vec + np.arange(fe.vec) + off)
             .reshape(self.n_cells, -1)
             for fe, cells, off in zip(pb.fes, pb.cells_list, pb.offset, strict=True)], axis=1)
        self._cell_dofs = cell_dofs.astype(np.int64 if self.ndof >= 2**31 else np.int32)
        self._face_cells = [np.asarray(b)[:, 0].astype(np.int32) for b in pb.boundary_inds_list]
        self._init_pattern()

    # ----- parameters ------------------------------------------------------------------------
    def params(self) -> dict:
        """The default parameters: the problem's current internal variables and Dirichlet
        values. Differentiate a solution with respect to any leaf."""
        pb = self.jf
        return {"internal_vars": tuple(jnp.asarray(a) for a in pb.internal_vars),
                "internal_vars_surfaces": tuple(tuple(jnp.asarray(a) for a in s)
                                                for s in pb.internal_vars_surfaces),
                "dirichlet": tuple(jnp.asarray(v, dtype=_float_dtype()).reshape(-1)
                                   for v in self._dirichlet_values)}

    def check_params(self, p) -> None:
        """Clear errors for a parameter tree that does not match `params()`."""
        ref = self.params()
        if jax.tree_util.tree_structure(p) != jax.tree_util.tree_structure(ref):
            raise InputError("the parameter tree does not match JaxFemProblem.params(); start "
                             "from problem.params() and replace leaves")
        for got, (path, want) in zip(jax.tree_util.tree_leaves(p),
                                     jax.tree_util.tree_flatten_with_path(ref)[0], strict=True):
            if np.shape(got) != np.shape(want):
                raise InputError(f"parameter {jax.tree_util.keystr(path)} has shape "
                                 f"{np.shape(got)}, expected {np.shape(want)}")
        for v in p["dirichlet"]:
            if not jnp.issubdtype(jnp.result_type(v), jnp.floating):
                raise InputError("Dirichlet values must be floating point")
        if _float_dtype() == jnp.float32:
            warnings.warn("solving a jax-fem problem in float32 (jax-fem enables x64 only in "
                          "its solver module); residuals stall near 1e-6. Call "
                          "jax.config.update('jax_enable_x64', True) first.", stacklevel=3)

    # ----- Dirichlet conditions --------------------------------------------------------------
    def _init_dirichlet(self):
        dofs, values = [], []
        for fe, off in zip(self.jf.fes, self.jf.offset, strict=True):
            for nodes, comps, vals in zip(fe.node_inds_list, fe.vec_inds_list, fe.vals_list,
                                          strict=True):
                dofs.append(np.asarray(nodes, np.int64) * fe.vec + np.asarray(comps) + off)
                values.append(np.asarray(vals, dtype=float).reshape(-1))
        # like jax-fem, a dof named by several conditions takes the value of the last one
        self._fixed_dofs = FixedDofs(self.ndof, dofs)
        self.fixed, self.free = self._fixed_dofs.fixed, self._fixed_dofs.free
        self._dirichlet_values = tuple(values)

    def prescribed(self, p, lam=1.0) -> jax.Array:
        """Values of the fixed dofs (n_fixed,) at load factor lam (traceable)."""
        return self._fixed_dofs.values(p["dirichlet"], lam, _float_dtype())

    def prescribed_values(self, p) -> np.ndarray:
        """Host copy of `prescribed(p)` at full load, for concrete parameters."""
        return self._fixed_dofs.host_values(p["dirichlet"])

    def lift(self, u_free, p, lam=1.0) -> jax.Array:
        """The full dof vector (ndof,) from the free values and the prescribed ones."""
        return self._jit["lift"](u_free, p, lam)

    def _lift(self, u_free, p, lam):
        u = jnp.zeros(self.ndof, dtype=jnp.result_type(u_free))
        return u.at[self.free].set(u_free).at[self.fixed].set(self.prescribed(p, lam))

    def solution_list(self, u) -> list:
        """jax-fem's solution list [(num_total_nodes, vec), ...] from a dof vector or
        `Solution.u`."""
        with _jaxfem_semantics():
            return self.jf.unflatten_fn_sol_list(jnp.ravel(jnp.asarray(u)))

    # ----- compiled kernels ------------------------------------------------------------------
    @functools.cached_property
    def _geo(self) -> dict:
        """Geometry and index arrays, passed to the compiled functions as arguments (baking
        them in as constants makes XLA compile time grow with the mesh)."""
        pb = self.jf
        faces = [dict(cells=jnp.asarray(fc), x=jnp.asarray(pb.physical_surface_quad_points[i]),
                      vals=jnp.asarray(pb.selected_face_shape_vals[i]),
                      grads=jnp.asarray(pb.selected_face_shape_grads[i]),
                      nanson=jnp.asarray(pb.nanson_scale[i]))
                 for i, fc in enumerate(self._face_cells)]
        return dict(cell_dofs=jnp.asarray(self._cell_dofs),
                    x=jnp.asarray(pb.physical_quad_points), grads=jnp.asarray(pb.shape_grads),
                    jxw=jnp.asarray(pb.JxW), v_grads=jnp.asarray(pb.v_grads_JxW),
                    scatter=jnp.asarray(self._scatter), faces=faces)

    def _cell_values(self, u, p, geo, jac):
        """Per-cell weak forms (num_cells, n) and per-face ones, or their Jacobians."""
        pb = self.jf
        with _jaxfem_semantics():
            cs = u[geo["cell_dofs"]]
            args = (cs, geo["x"], geo["grads"], geo["jxw"], geo["v_grads"], *p["internal_vars"])
            if jac and self.cell_batch:   # small batches stay in cache: ~3x faster on CPU
                cell = jax.lax.map(lambda a: jax.tree_util.tree_map(
                    lambda x: x[0], pb.kernel_jac(*(x[None] for x in a))), args,
                    batch_size=self.cell_batch)
            else:
                cell = (pb.kernel_jac if jac else pb.kernel)(*args)
            faces = []
            for i, f in enumerate(geo["faces"]):
                kernel = pb.kernel_jac_face[i] if jac else pb.kernel_face[i]
                faces.append(kernel(cs[f["cells"]], f["x"], f["vals"], f["grads"], f["nanson"],
                                    *p["internal_vars_surfaces"][i]))
        return cell, faces

    def _raw_residual(self, u, p, geo):
        cell, faces = self._cell_values(u, p, geo, jac=False)
        cd = geo["cell_dofs"]
        r = jnp.zeros(self.ndof, dtype=jnp.result_type(u)).at[cd].add(cell)
        for f, val in zip(geo["faces"], faces, strict=True):
            r = r.at[cd[f["cells"]]].add(val)
        return r

    def _residual(self, u, p, lam, geo):
        r = self._raw_residual(u, p, geo)
        return jax.lax.cond(lam == 1.0, lambda: r,
                            lambda: r - (1.0 - lam) * self._raw_residual(jnp.zeros_like(u), p, geo))

    def _residual_merit(self, u, p, lam, geo):
        r = self._residual(u, p, lam, geo)
        return r, 0.5 * jnp.sum(r[self.free] ** 2)

    def _tangent_values(self, u, p, geo):
        (_, cell), faces = self._cell_values(u, p, geo, jac=True)
        vals = [cell.reshape(-1)] + [jac.reshape(-1) for _, jac in faces]
        return jax.ops.segment_sum(jnp.concatenate(vals), geo["scatter"], num_segments=self.sparsity.nnz)

    def _bad_cells(self, u, p, geo):
        cell, faces = self._cell_values(u, p, geo, jac=False)
        bad = ~jnp.all(jnp.isfinite(cell), axis=1)
        for f, val in zip(geo["faces"], faces, strict=True):
            bad = bad.at[f["cells"]].max(~jnp.all(jnp.isfinite(val), axis=1))
        return bad

    @functools.cached_property
    def _jit(self) -> dict:
        return {"lift": _Jit(self._lift), "residual": _Jit(self._residual),
                "raw_residual": _Jit(self._raw_residual),
                "residual_merit": _Jit(self._residual_merit),
                "tangent_values": _Jit(self._tangent_values),
                "bad_cells": _Jit(self._bad_cells)}

    # ----- global quantities -----------------------------------------------------------------
    def residual(self, u, p, lam=1.0) -> jax.Array:
        """Weak-form residual (ndof,) at the full dof vector u (Dirichlet rows untouched);
        traceable in u and p."""
        if isinstance(lam, int | float) and lam == 1.0:   # the common case: no homotopy term
            return self._jit["raw_residual"](u, p, self._geo)
        return self._jit["residual"](u, p, lam, self._geo)

    def tangent_values(self, u, p) -> jax.Array:
        """Values (nnz,) of dR/du in the CSR pattern `self.sparsity`."""
        return self._jit["tangent_values"](u, p, self._geo)

    def tangent(self, u, p) -> sp.csr_matrix:
        """dR/du (ndof, ndof) as a SciPy CSR matrix (host)."""
        return self.sparsity.matrix(self.tangent_values(u, p))

    def bad_cells(self, u, p) -> jax.Array:
        """Cells (num_cells,) bool whose weak form is not finite (e.g. det F <= 0)."""
        return self._jit["bad_cells"](u, p, self._geo)

    @functools.cached_property
    def compiled(self) -> Compiled:
        """The functions Newton calls: (residual, 0.5 |R_free|^2), tangent values, bad cells."""
        geo = self._geo
        jit = self._jit
        return Compiled(lambda u, p, lam: jit["residual_merit"](u, p, lam, geo),
                        lambda u, p: jit["tangent_values"](u, p, geo),
                        lambda u, p: jit["bad_cells"](u, p, geo))

    # ----- sparsity --------------------------------------------------------------------------
    def _init_pattern(self):
        self.sparsity = Pattern(self._cell_dofs, self.ndof, self.free, self.fixed)
        per_cell = self.sparsity.scatter.reshape(self.n_cells, -1)   # jac[c, i, j] = dR_i/du_j
        # a face block lives on its cell's dofs: it reuses that cell's slots
        self._scatter = np.concatenate([per_cell.ravel()] + [per_cell[fc].ravel()
                                                             for fc in self._face_cells])

    def free_block(self, values) -> sp.csr_matrix:
        """The free-free block (n_free, n_free) of a tangent given by its pattern values."""
        return self.sparsity.free_block(values)

    def free_fixed_block(self, values) -> sp.csr_matrix:
        """The free-fixed block (n_free, n_fixed) of a tangent given by its pattern values."""
        return self.sparsity.free_fixed_block(values)

    # ----- jax-fem itself --------------------------------------------------------------------
    def run_jaxfem_solver(self, params: dict | None = None, solver_options: dict | None = None):
        """jax-fem's own solver on this problem: see `run_jaxfem_solver`."""
        return run_jaxfem_solver(self, params, solver_options)

    @staticmethod
    def import_jax_fem(module: str = "problem"):
        """`import_jax_fem`: a quiet import of `jax_fem.<module>`."""
        return import_jax_fem(module)

    def __repr__(self):
        return (f"JaxFemProblem({type(self.jf).__name__}, {self.n_cells} cells, {self.ndof} "
                f"dofs, {self.free.size} free)")


# ----- importing jax-fem ---------------------------------------------------------------------
def import_jax_fem(module: str = "problem"):
    """Import `jax_fem.<module>` (e.g. "problem", "generate_mesh", "solver") without its
    import-time side effects: the banner it prints on stdout is swallowed, its `jax_fem`
    logger (DEBUG, own handler) is set to WARNING, the `jax` and `tensorflow` logger levels,
    numpy's print options and JAX's x64 flag are restored. Raises ImportError as the import
    does (e.g. `jax_fem.solver` without petsc4py)."""
    name = "jax_fem" if module in ("", "jax_fem") else f"jax_fem.{module}"
    loggers = {n: logging.getLogger(n).level for n in ("jax", "tensorflow")}
    printopts = np.get_printoptions()
    x64 = jax.config.jax_enable_x64
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(name)
    finally:
        logging.getLogger("jax_fem").setLevel(logging.WARNING)
        for n, level in loggers.items():
            logging.getLogger(n).setLevel(level)
        np.set_printoptions(**printopts)
        if jax.config.jax_enable_x64 != x64:
            jax.config.update("jax_enable_x64", x64)


def run_jaxfem_solver(problem, params: dict | None = None, solver_options: dict | None = None):
    """Solve with jax-fem's OWN Newton solver (`jax_fem.solver.solver`, PETSc), the benchmark
    peer of `solve(JaxFemProblem(...))`.

    problem: a jax-fem Problem or a JaxFemProblem; params: optional `JaxFemProblem.params()`
    tree (internal variables and Dirichlet values are set on the jax-fem problem for the solve
    and restored afterwards); solver_options: jax-fem's, default {"umfpack_solver": {}}.

    Returns (u (ndof,) numpy array, seconds, "") or, when `jax_fem.solver` cannot be imported
    (it needs petsc4py, which has no wheel: see benchmarks/setup_peers.sh), (None, 0.0, reason)
    with reason the ImportError as "ModuleNotFoundError: No module named 'petsc4py'".
    """
    adapter = problem if isinstance(problem, JaxFemProblem) else JaxFemProblem(problem)
    pb = adapter.jf
    try:
        solver_mod = import_jax_fem("solver")
    except ImportError as err:
        return None, 0.0, f"{type(err).__name__}: {err}"
    saved = (pb.internal_vars, pb.internal_vars_surfaces,
             [list(fe.vals_list) for fe in pb.fes])
    try:
        if params is not None:
            adapter.check_params(params)
            pb.internal_vars = list(params["internal_vars"])
            pb.internal_vars_surfaces = [list(s) for s in params["internal_vars_surfaces"]]
            values = iter(params["dirichlet"])
            for fe in pb.fes:
                fe.vals_list = [jnp.asarray(next(values)) for _ in fe.vals_list]
        with jax.enable_x64(True), _jaxfem_semantics():   # jax-fem's solver assumes float64
            start = time.perf_counter()
            sol_list = solver_mod.solver(pb, solver_options or {"umfpack_solver": {}})
            u = np.concatenate([np.asarray(s).reshape(-1) for s in sol_list])
            seconds = time.perf_counter() - start
    finally:
        pb.internal_vars, pb.internal_vars_surfaces = saved[0], saved[1]
        for fe, vals in zip(pb.fes, saved[2], strict=True):
            fe.vals_list = vals
    return u, seconds, ""
