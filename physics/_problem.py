"""A boundary-value problem on a mesh: boundary conditions, loads, and its assembled residual,
energy and sparse tangent as jit-compiled JAX functions of (solution, parameters).

Everything differentiable lives in the parameter pytree `Problem.params()`:
  points (n, d): node coordinates;  material: dict of floats;
  dirichlet: tuple of (n_s, c_s) prescribed values, one per Dirichlet condition;
  traction: tuple of (c,) vectors;  pressure: tuple of scalars;  source: (c,) or a scale.
A load factor `lam` in [0, 1] scales prescribed values, tractions, pressures and the source
together (load stepping).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from morphax._core import InputError, cached

from ._dofs import FixedDofs
from ._elements import det, element, inv
from ._mesh import Mesh, facet_cells
from ._models import Model
from ._sparsity import Pattern


@dataclasses.dataclass(frozen=True)
class Dirichlet:
    """u[c] = value on the nodes of set `where`, for c in `components` (all when None).

    value: a scalar, one value per selected component, or a function x (n_s, d) -> (n_s, c_s).
    """

    where: str
    value: float | Sequence[float] | Callable = 0.0
    components: Sequence[int] | None = None


@dataclasses.dataclass(frozen=True)
class Traction:
    """A dead load t (force per unit reference area, (c,) or a scalar flux for scalar fields)
    on the facets of set `where`."""

    where: str
    value: float | Sequence[float]


@dataclasses.dataclass(frozen=True)
class Pressure:
    """A pressure p on the facets of `where`: the dead load t = -p N along the outward
    reference normal N."""

    where: str
    value: float


def _jitted(method):
    """A method compiled once per Problem instance and argument shapes (the problem is static;
    arrays are traced). Concrete calls run an ahead-of-time compiled executable, so calls from
    the host Newton inside `jax.pure_callback` reuse it instead of recompiling; inside another
    trace it is inlined, so it composes with grad, jit and vmap."""

    @functools.wraps(method)
    def wrapper(self, *args):
        name = method.__name__
        jitted = cached(self, name, lambda: jax.jit(functools.partial(method, self)))
        leaves, tree = jax.tree_util.tree_flatten(args)
        if any(isinstance(x, jax.core.Tracer) for x in leaves):
            return jitted(*args)
        leaves = [x if isinstance(x, jax.Array | np.ndarray) else np.asarray(x) for x in leaves]
        key = (name, tree, tuple((np.shape(x), jnp.result_type(x)) for x in leaves))
        compiled = cached(self, key, lambda: jitted.lower(*args).compile())
        return compiled(*jax.tree_util.tree_unflatten(tree, leaves))

    return wrapper


class Compiled(NamedTuple):
    """The jit-compiled functions Newton calls; (u, p) are full dofs and parameters."""

    residual_energy: Callable   # (u, p, lam) -> (R (ndof,), energy or 0.5 |R_free|^2)
    tangent_values: Callable    # (u, p) -> (nnz,) values in `Problem.sparsity`
    bad_cells: Callable         # (u, p) -> (m,) bool


class Problem:
    """A mesh, a pointwise model, boundary conditions and loads.

    source: body force / source density f, a constant ((c,) or scalar) or a function
    x (d,) -> (c,) evaluated at quadrature points (then params()["source"] scales it).
    quadrature_degree: exactness of the cell quadrature (default `Element.default_degree`: one
    point for linear simplices, twice the order otherwise).
    """

    def __init__(self, mesh: Mesh, model: Model, *, dirichlet: Sequence[Dirichlet] = (),
                 tractions: Sequence[Traction] = (), pressures: Sequence[Pressure] = (),
                 source=None, quadrature_degree: int | None = None):
        if not isinstance(mesh, Mesh):
            raise InputError(f"expected a morphax Mesh, got {type(mesh).__name__}")
        mesh.check()
        self.mesh, self.model = mesh, model
        self.elem = mesh.element
        self.dim = mesh.dim
        self.ncomp = model.ncomp(self.dim)
        self.ndof = mesh.n_nodes * self.ncomp
        self.degree = self.elem.default_degree if quadrature_degree is None else quadrature_degree
        self.dirichlet, self.tractions, self.pressures = tuple(dirichlet), tuple(tractions), \
            tuple(pressures)
        for load in self.tractions + self.pressures:
            mesh.facet_set(load.where)
        if self.pressures and self.ncomp != self.dim:
            raise InputError("pressure loads need a vector field (elasticity models)")
        self._init_dirichlet()
        self._source_fn = source if callable(source) else None
        self._source_const = None if source is None or callable(source) else \
            self._vector(source, "source")
        self._init_pattern()

    # ----- parameters ------------------------------------------------------------------------
    def params(self) -> dict:
        """The default parameter pytree; differentiate any solution with respect to it."""
        source = jnp.asarray(1.0) if self._source_fn else (
            jnp.asarray(self._source_const) if self._source_const is not None else
            jnp.zeros(self.ncomp))
        return {"points": jnp.asarray(self.mesh.points),
                "material": {k: jnp.asarray(v) for k, v in self.model.params().items()},
                "dirichlet": tuple(jnp.asarray(v) for v in self._dirichlet_values),
                "traction": tuple(jnp.asarray(self._vector(t.value, f"traction on {t.where!r}"))
                                  for t in self.tractions),
                "pressure": tuple(jnp.asarray(float(p.value)) for p in self.pressures),
                "source": source}

    def check_params(self, p) -> None:
        """Clear errors for wrong shapes or out-of-range values in a concrete parameter tree."""
        ref = jax.tree_util.tree_structure(self.params())
        if jax.tree_util.tree_structure(p) != ref:
            raise InputError("the parameter tree does not match problem.params(); start from "
                             "problem.params() and replace leaves")
        for got, want, path in zip(jax.tree_util.tree_leaves(p),
                                   jax.tree_util.tree_leaves(self.params()),
                                   jax.tree_util.tree_flatten_with_path(self.params())[0],
                                   strict=True):
            if np.shape(got) != np.shape(want):
                raise InputError(f"parameter {jax.tree_util.keystr(path[0])} has shape "
                                 f"{np.shape(got)}, expected {np.shape(want)}")
            if not jnp.issubdtype(jnp.result_type(got), jnp.floating):
                raise InputError(f"parameter {jax.tree_util.keystr(path[0])} must be floating "
                                 f"point, got {jnp.result_type(got)}")
        if not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(p)):
            self.model.check_params(p["material"])

    def _vector(self, value, what) -> np.ndarray:
        v = np.atleast_1d(np.asarray(value, dtype=float))
        if v.shape != (self.ncomp,):
            raise InputError(f"{what} must have {self.ncomp} component(s), got shape {v.shape}")
        return v

    # ----- Dirichlet conditions --------------------------------------------------------------
    def _init_dirichlet(self):
        c, x = self.ncomp, np.asarray(self.mesh.points)
        dofs, values = [], []
        for bc in self.dirichlet:
            nodes = self.mesh.node_set(bc.where)
            comps = np.arange(c) if bc.components is None else np.asarray(bc.components)
            if comps.size == 0 or comps.min() < 0 or comps.max() >= c:
                raise InputError(f"Dirichlet condition on {bc.where!r}: components must lie in "
                                 f"0..{c - 1}, got {list(comps)}")
            if callable(bc.value):
                val = np.asarray(bc.value(x[nodes]), dtype=float).reshape(len(nodes), -1)
            else:
                val = np.asarray(bc.value, dtype=float)
            try:
                val = np.broadcast_to(val, (len(nodes), comps.size)).astype(float)
            except ValueError:
                raise InputError(f"Dirichlet value on {bc.where!r} has shape {np.shape(val)}; "
                                 f"give a scalar or {comps.size} value(s)") from None
            dofs.append((nodes[:, None] * c + comps[None, :]).ravel())
            values.append(val)
        self._fixed_dofs = FixedDofs(self.ndof, dofs)
        self.fixed, self.free = self._fixed_dofs.fixed, self._fixed_dofs.free
        self._dirichlet_values = tuple(values)

    def prescribed(self, p, lam=1.0) -> jax.Array:
        """Values of the fixed dofs (n_fixed,) at load factor lam."""
        return self._fixed_dofs.values(p["dirichlet"], lam, _float(p))

    def prescribed_values(self, p) -> np.ndarray:
        """Host copy of `prescribed(p)` at full load, for concrete parameters."""
        return self._fixed_dofs.host_values(p["dirichlet"])

    @_jitted
    def lift(self, u_free, p, lam=1.0) -> jax.Array:
        """The full dof vector (ndof,) from the free values and the prescribed ones."""
        u = jnp.zeros(self.ndof, dtype=jnp.result_type(u_free))
        return u.at[self.free].set(u_free).at[self.fixed].set(self.prescribed(p, lam))

    # ----- cell kernels ----------------------------------------------------------------------
    def _geometry(self, points):
        w, N, dN = self.elem.tables(self.degree)
        X = points[self.mesh.cells]                                   # (m, k, d)
        G = jnp.einsum("mkd,qke->mqde", X, dN)                        # dx_d / dxi_e
        dNdx = jnp.einsum("qke,mqed->mqkd", dN, inv(G))
        jxw = det(G) * w[None, :]
        xq = jnp.einsum("qk,mkd->mqd", N, X)
        return N, dNdx, jxw, xq

    def _fields(self, u, points):
        N, dNdx, jxw, xq = self._geometry(points)
        ue = u.reshape(-1, self.ncomp)[self.mesh.cells]               # (m, k, c)
        uq = jnp.einsum("qk,mkc->mqc", N, ue)
        gq = jnp.einsum("mkc,mqkd->mqcd", ue, dNdx)
        return N, dNdx, jxw, xq, uq, gq

    def _source(self, xq, p):
        if self._source_fn is not None:
            f = jax.vmap(jax.vmap(self._source_fn))(xq)
            return p["source"] * f.reshape(*xq.shape[:2], self.ncomp)
        return jnp.broadcast_to(p["source"], (*xq.shape[:2], self.ncomp))

    def _pointwise(self, mat):
        """(u, g, x) -> (flux (c, d), reaction (c,)) without loads."""
        if self.model.energy:
            grad = jax.grad(self.model.density, argnums=(0, 1))
            return lambda u, g, x: grad(u, g, x, mat)[::-1]
        return lambda u, g, x: self.model.flux_reaction(u, g, x, mat)

    def cell_residuals(self, u, p, lam=1.0) -> jax.Array:
        """Residual contributions (m, k, c) of each cell, loads of the source included."""
        N, dNdx, jxw, xq, uq, gq = self._fields(u, p["points"])
        flux, react = jax.vmap(jax.vmap(self._pointwise(p["material"])))(uq, gq, xq)
        react = react - lam * self._source(xq, p)
        return (jnp.einsum("mqcd,mqkd,mq->mkc", flux, dNdx, jxw)
                + jnp.einsum("mqc,qk,mq->mkc", react, N, jxw))

    def cell_tangents(self, u, p) -> jax.Array:
        """Tangent blocks (m, k*c, k*c) of each cell."""
        N, dNdx, jxw, xq, uq, gq = self._fields(u, p["points"])
        point = self._pointwise(p["material"])
        jac = jax.vmap(jax.vmap(jax.jacfwd(point, argnums=(0, 1))))(uq, gq, xq)
        (dq_du, dq_dg), (ds_du, ds_dg) = jac
        K = (jnp.einsum("mqki,mqaibj,mqlj,mq->mkalb", dNdx, dq_dg, dNdx, jxw)
             + jnp.einsum("mqki,mqaib,ql,mq->mkalb", dNdx, dq_du, N, jxw)
             + jnp.einsum("qk,mqabj,mqlj,mq->mkalb", N, ds_dg, dNdx, jxw)
             + jnp.einsum("qk,mqab,ql,mq->mkalb", N, ds_du, N, jxw))
        n = self.elem.n_nodes * self.ncomp
        return K.reshape(-1, n, n)

    def cell_energies(self, u, p, lam=1.0) -> jax.Array:
        """Stored energy minus the work of the source, per cell (m,). Energy models only."""
        _, _, jxw, xq, uq, gq = self._fields(u, p["points"])
        mat = p["material"]
        psi = jax.vmap(jax.vmap(lambda a, b, c: self.model.density(a, b, c, mat)))(uq, gq, xq)
        work = jnp.sum(lam * self._source(xq, p) * uq, axis=-1)
        return jnp.sum((psi - work) * jxw, axis=1)

    # ----- facet loads -----------------------------------------------------------------------
    @functools.cached_property
    def _facet_data(self):
        """Per load: facets (f, k_f) and the sign that makes the normal point outwards."""
        out = []
        pts = np.asarray(self.mesh.points)
        for load in self.tractions + self.pressures:
            facets = self.mesh.facet_set(load.where)
            sign = np.ones(len(facets))
            if isinstance(load, Pressure):
                owner = facet_cells(self.mesh, facets)
                n = np.asarray(self._facet_normals(jnp.asarray(pts), facets)[0][:, 0])
                out_dir = pts[facets].mean(1) - pts[self.mesh.cells[owner]].mean(1)
                sign = np.sign(np.sum(n * out_dir, axis=1))
            out.append((facets, sign))
        return out

    def _facet_normals(self, points, facets):
        felem = element(self.elem.facet)
        w, N, dN = felem.tables(self.degree)
        T = jnp.einsum("fkd,qke->fqde", points[facets], dN)           # (f, q, d, d-1)
        if self.dim == 2:
            n = jnp.stack([T[..., 1, 0], -T[..., 0, 0]], axis=-1)
        elif self.dim == 3:
            n = jnp.cross(T[..., 0], T[..., 1])
        else:
            n = jnp.ones((*T.shape[:2], 1))
        area = jnp.linalg.norm(n, axis=-1)
        return n / area[..., None], area * w[None, :], N

    def load_vector(self, p, lam=1.0) -> jax.Array:
        """External facet loads as a dof vector (ndof,) (positive = work-conjugate)."""
        f = jnp.zeros(self.ndof, dtype=_float(p))
        values = list(p["traction"]) + [None] * len(self.pressures)
        for (facets, sign), t, press in zip(self._facet_data, values,
                                            [None] * len(self.tractions) + list(p["pressure"]),
                                            strict=True):
            n, dA, N = self._facet_normals(p["points"], facets)
            if t is None:
                t_q = -press * n * jnp.asarray(sign)[:, None, None]    # (f, q, c)
            else:
                t_q = jnp.broadcast_to(t, (*dA.shape, self.ncomp))
            fe = jnp.einsum("fqc,qk,fq->fkc", t_q, N, dA)
            idx = (facets[..., None] * self.ncomp + np.arange(self.ncomp)).ravel()
            f = f.at[idx].add(lam * fe.ravel())
        return f

    # ----- global quantities -----------------------------------------------------------------
    @_jitted
    def residual(self, u, p, lam=1.0) -> jax.Array:
        """Global residual (ndof,) at the full dof vector u (prescribed entries included)."""
        r = self.cell_residuals(u, p, lam)
        return jnp.zeros(self.ndof, r.dtype).at[self._cell_dofs.ravel()].add(r.ravel()) \
            - self.load_vector(p, lam)

    @_jitted
    def residual_energy(self, u, p, lam=1.0):
        """(residual, energy) for energy models, (residual, |R_free|^2 / 2) otherwise."""
        r = self.residual(u, p, lam)
        e = self.energy(u, p, lam) if self.model.energy else 0.5 * jnp.sum(r[self.free] ** 2)
        return r, e

    @_jitted
    def energy(self, u, p, lam=1.0) -> jax.Array:
        """Total potential energy (scalar); +inf where an element is inverted."""
        if not self.model.energy:
            raise InputError(f"{type(self.model).__name__} has no energy; use the residual")
        return jnp.sum(self.cell_energies(u, p, lam)) - jnp.dot(self.load_vector(p, lam), u)

    @_jitted
    def tangent_values(self, u, p) -> jax.Array:
        """Values (nnz,) of the global tangent in the fixed CSR pattern `self.sparsity`."""
        return jax.ops.segment_sum(self.cell_tangents(u, p).ravel(), self.sparsity.scatter,
                                   num_segments=self.sparsity.nnz)

    def tangent(self, u, p) -> sp.csr_matrix:
        """The global tangent (ndof, ndof) as a SciPy CSR matrix (host)."""
        return self.sparsity.matrix(self.tangent_values(u, p))

    # ----- sparsity --------------------------------------------------------------------------
    def _init_pattern(self):
        c = self.ncomp
        cd = (self.mesh.cells[:, :, None] * c + np.arange(c)).reshape(self.mesh.n_cells, -1)
        self._cell_dofs = cd
        self.sparsity = Pattern(cd, self.ndof, self.free, self.fixed)

    def free_block(self, values) -> sp.csr_matrix:
        """The free-free block (n_free, n_free) of a tangent given by its pattern values."""
        return self.sparsity.free_block(values)

    def free_fixed_block(self, values) -> sp.csr_matrix:
        """The free-fixed block (n_free, n_fixed) of a tangent given by its pattern values."""
        return self.sparsity.free_fixed_block(values)

    # ----- post-processing -------------------------------------------------------------------
    @_jitted
    def cell_flux(self, u, p) -> jax.Array:
        """Cell averages (m, c, d) of the weak-form flux: k grad u for Poisson models (the heat
        flux is its negative), the first Piola-Kirchhoff stress P for solids (the Cauchy
        stress for linear elasticity)."""
        _, _, jxw, xq, uq, gq = self._fields(jnp.ravel(u), p["points"])
        flux, _ = jax.vmap(jax.vmap(self._pointwise(p["material"])))(uq, gq, xq)
        return jnp.einsum("mqcd,mq->mcd", flux, jxw) / jnp.sum(jxw, axis=1)[:, None, None]

    @_jitted
    def cauchy_stress(self, u, p) -> jax.Array:
        """Cell averages (m, d, d) of the Cauchy stress sigma = P F^T / det F (solids)."""
        if self.ncomp != self.dim:
            raise InputError("the Cauchy stress is defined for solid mechanics models")
        _, _, jxw, xq, uq, gq = self._fields(jnp.ravel(u), p["points"])
        flux, _ = jax.vmap(jax.vmap(self._pointwise(p["material"])))(uq, gq, xq)
        F = jnp.eye(self.dim, dtype=gq.dtype)[None, None] + gq
        sigma = jnp.einsum("mqij,mqkj->mqik", flux, F) / det(F)[..., None, None]
        return jnp.einsum("mqij,mq->mij", sigma, jxw) / jnp.sum(jxw, axis=1)[:, None, None]

    # ----- diagnostics -----------------------------------------------------------------------
    @_jitted
    def bad_cells(self, u, p) -> jax.Array:
        """Cells (m,) bool whose energy density or flux is not finite (e.g. det F <= 0)."""
        if self.model.energy:
            return ~jnp.isfinite(self.cell_energies(u, p))
        return ~jnp.all(jnp.isfinite(self.cell_residuals(u, p)), axis=(1, 2))

    @functools.cached_property
    def compiled(self):
        """The compiled functions Newton calls."""
        return Compiled(self.residual_energy, self.tangent_values, self.bad_cells)

    def __repr__(self):
        return (f"Problem({type(self.model).__name__}, {self.mesh!r}, {self.ndof} dofs, "
                f"{self.free.size} free)")


def _float(p):
    return jnp.result_type(p["points"])


_warned_float32 = []


def warn_if_float32(p) -> None:
    """Warn once when solving in float32 (enable x64 for solver-tolerance accuracy)."""
    if _float(p) == jnp.float32 and not _warned_float32:
        _warned_float32.append(True)
        warnings.warn("morphax is solving in float32; tolerances below ~1e-6 are out of reach. "
                      "Call jax.config.update('jax_enable_x64', True) before creating arrays.",
                      stacklevel=3)

