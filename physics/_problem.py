"""A boundary-value problem on a mesh: boundary conditions, loads, and its assembled residual,
energy and sparse tangent as jit-compiled JAX functions of (solution, parameters).

Everything differentiable lives in the parameter pytree `Problem.params()`:
  points (n, d): node coordinates;  material: dict of floats;
  dirichlet: tuple of (n_s, c_s) prescribed values, one per Dirichlet condition;
  traction: tuple of (c,) vectors;  pressure: tuple of scalars;
  source: (c,), a scale of a source function, or the parameters of a `Source`.
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

CELL_CHUNK_ENTRIES = 2 ** 17
"""Cell-matrix entries per chunk of cells in the cell kernels (256 hex8 or 145 tet10 elasticity
cells, 3,640 tri3 ones): a chunk's intermediates stay in cache. On 8,000 hex8 cells (warm, one
core) neo-Hookean tangents took 128 ms in chunks of 256 and 202 ms in one batch, residuals
24 ms and 51 ms."""


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
    """A pressure p (force per unit area) on the facets of `where`.

    follower=False: the dead load t = -p N per unit reference area, N the outward reference
    normal. follower=True: the load -p n per unit deformed area on the deformed outward normal
    n (a pressurised cavity or membrane); it depends on u, adds a non-symmetric load stiffness
    (from AD) to the tangent, and the problem has no potential energy.
    """

    where: str
    value: float
    follower: bool = False


@dataclasses.dataclass(frozen=True)
class Source:
    """A parametrised body force / source density f = fn(x, q) (c,) at x (d,), whose parameters
    q (any pytree of arrays) live in `params()["source"]`: one compiled problem then serves every
    q (e.g. a family of source fields), and solutions are differentiable with respect to q."""

    fn: Callable
    params: object


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
    tangent_values: Callable    # (u, p) -> values in `Problem.sparsity` (see tangent_values)
    bad_cells: Callable         # (u, p) -> (m,) bool
    #: follower loads: tangent_values takes (u, p, lam) and is not symmetric, and the second
    #: value of residual_energy is 0.5 |R_free|^2 (no potential energy)
    follower: bool = False
    #: (u, p) -> dR/d(lam) (ndof,) at fixed u (None: Newton differences R(u, 1) - R(u, 0))
    load_rate: Callable | None = None


class Problem:
    """A mesh, a pointwise model, boundary conditions and loads.

    source: body force / source density f: a constant ((c,) or scalar), a function
    x (d,) -> (c,) evaluated at quadrature points (then params()["source"] scales it), or a
    `Source` (then params()["source"] holds its parameters).
    quadrature_degree: exactness of the cell quadrature (default `Element.default_degree`: one
    point for linear simplices, twice the order otherwise).
    thickness: out-of-plane thickness of a 2-D body (length units, default 1): cell and facet
    integrals are multiplied by it, so energies, reactions and loads are per body, not per
    unit thickness; tractions and pressures stay forces per unit area.
    """

    def __init__(self, mesh: Mesh, model: Model, *, dirichlet: Sequence[Dirichlet] = (),
                 tractions: Sequence[Traction] = (), pressures: Sequence[Pressure] = (),
                 source=None, quadrature_degree: int | None = None, thickness: float = 1.0):
        if not isinstance(mesh, Mesh):
            raise InputError(f"expected a morphax Mesh, got {type(mesh).__name__}")
        mesh.check()
        self.mesh, self.model = mesh, model
        self.elem = mesh.element
        self.dim = mesh.dim
        self.ncomp = model.ncomp(self.dim)
        self.ndof = mesh.n_nodes * self.ncomp
        self.degree = self.elem.default_degree if quadrature_degree is None else quadrature_degree
        self.thickness = float(_finite(np.asarray(thickness, dtype=float), "thickness"))
        if self.thickness <= 0 or (self.dim != 2 and self.thickness != 1.0):
            raise InputError(f"thickness must be a positive number and is for 2-D bodies only, "
                             f"got {thickness} on a {self.dim}-D mesh")
        self.dirichlet, self.tractions, self.pressures = tuple(dirichlet), tuple(tractions), \
            tuple(pressures)
        for load in self.tractions + self.pressures:
            mesh.facet_set(load.where)
        if self.pressures and self.ncomp != self.dim:
            raise InputError("pressure loads need a vector field (elasticity models)")
        for t in self.tractions:
            self._vector(t.value, f"traction on {t.where!r}")
        for q in self.pressures:
            _finite(np.asarray(q.value, dtype=float), f"pressure on {q.where!r}")
        self.follower = any(q.follower for q in self.pressures)
        self._init_dirichlet()
        self._init_facets()
        self._source = source if isinstance(source, Source) else None
        self._source_fn = source if callable(source) else None
        self._source_const = None if source is None or callable(source) or self._source else \
            self._vector(source, "source")
        self._init_pattern()

    # ----- parameters ------------------------------------------------------------------------
    def params(self) -> dict:
        """The default parameter pytree; differentiate any solution with respect to it."""
        if self._source is not None:
            source = jax.tree_util.tree_map(jnp.asarray, self._source.params)
        elif self._source_fn is not None:
            source = jnp.asarray(1.0)
        elif self._source_const is not None:
            source = jnp.asarray(self._source_const)
        else:
            source = jnp.zeros(self.ncomp)
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
        return _finite(v, what)

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
            values.append(_finite(val, f"Dirichlet value on {bc.where!r}"))
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
    def _cell_geometry(self, X):
        """(N (q, k), dN/dx (m, q, k, d), |J| w (m, q), x (m, q, d)) at the quadrature points of
        cells with node coordinates X (m, k, d)."""
        w, N, dN = self.elem.tables(self.degree)
        G = jnp.einsum("mkd,qke->mqde", X, dN)                        # dx_d / dxi_e
        dNdx = jnp.einsum("qke,mqed->mqkd", dN, inv(G))
        jxw = det(G) * (w * self.thickness)[None, :]
        xq = jnp.einsum("qk,mkd->mqd", N, X)
        return N, dNdx, jxw, xq

    def _cell_fields(self, X, ue):
        """`_cell_geometry` and the field's values u (m, q, c) and gradients (m, q, c, d) at the
        quadrature points, from the cells' node values ue (m, k, c)."""
        N, dNdx, jxw, xq = self._cell_geometry(X)
        uq = jnp.einsum("qk,mkc->mqc", N, ue)
        gq = jnp.einsum("mkc,mqkd->mqcd", ue, dNdx)
        return N, dNdx, jxw, xq, uq, gq

    def _geometry(self, points):
        return self._cell_geometry(points[self.mesh.cells])

    def _fields(self, u, points):
        return self._cell_fields(points[self.mesh.cells],
                                 u.reshape(-1, self.ncomp)[self.mesh.cells])

    def _source_density(self, xq, p):
        """f at the quadrature points xq (m, q, d): (m, q, c)."""
        if self._source is not None:
            f = jax.vmap(jax.vmap(lambda x: self._source.fn(x, p["source"])))(xq)
            return f.reshape(*xq.shape[:2], self.ncomp)
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

    @property
    def _chunks(self) -> tuple[int, int]:
        """(count, size): the cells go in `count` equal chunks of `size` <= CELL_CHUNK_ENTRIES /
        (k c)^2 cells, the last padded (fewer than `count` padded cells)."""
        m, k = self.mesh.cells.shape
        count = -(-m // max(1, CELL_CHUNK_ENTRIES // (k * self.ncomp) ** 2))
        return count, -(-m // count)

    def _split(self, a: np.ndarray, fill) -> np.ndarray:
        """A per-cell NumPy array (m, ...) in `_chunks`: (count, size, ...), padded with fill."""
        count, size = self._chunks
        pad = np.broadcast_to(fill, (count * size - a.shape[0], *a.shape[1:]))
        return np.concatenate([a, pad]).reshape(count, size, *a.shape[1:])

    def _map_cells(self, fn, u, p):
        """fn(X (b, k, d), ue (b, k, c)) -> per-cell arrays (b, ...), over all cells in `_chunks`
        (`jax.lax.map`; the last chunk padded with copies of the last cell): a chunk's
        intermediates stay in cache and the peak memory is the result's."""
        cells, values = self.mesh.cells, jnp.asarray(u).reshape(-1, self.ncomp)
        points, m = jnp.asarray(p["points"]), cells.shape[0]
        count, size = self._chunks
        if count == 1:
            return fn(points[cells], values[cells])
        out = jax.lax.map(lambda cl: fn(points[cl], values[cl]), self._split(cells, cells[-1]))
        return jax.tree_util.tree_map(lambda o: o.reshape(count * size, *o.shape[2:])[:m], out)

    def cell_residuals(self, u, p, lam=1.0) -> jax.Array:
        """Residual contributions (m, k, c) of each cell, loads of the source included."""
        return self._map_cells(self._residual_chunk(p, lam), u, p)

    def _residual_chunk(self, p, lam):
        """fn(X (b, k, d), ue (b, k, c)) -> the residual contributions (b, k, c) of b cells."""
        pointwise = self._pointwise(p["material"])

        def chunk(X, ue):
            N, dNdx, jxw, xq, uq, gq = self._cell_fields(X, ue)
            flux, react = jax.vmap(jax.vmap(pointwise))(uq, gq, xq)
            react = react - lam * self._source_density(xq, p)
            return (jnp.einsum("mqcd,mqkd,mq->mkc", flux, dNdx, jxw)
                    + jnp.einsum("mqc,qk,mq->mkc", react, N, jxw))

        return chunk

    def cell_tangents(self, u, p) -> jax.Array:
        """Tangent blocks (m, k*c, k*c) of each cell, processed in chunks (`_map_cells`): in
        closed form for models with `Model.closed_form_tangent`, else by automatic differentiation
        (`_automatic_blocks`)."""
        return self._map_cells(lambda X, ue: self._chunk_tangents(X, ue, p["material"]), u, p)

    def _assemble_cells(self, fn, u, p, index: np.ndarray, size: int, *per_cell) -> jax.Array:
        """sum over cells of fn(X (b, k, d), ue (b, k, c), *per-cell chunks) -> values
        (b, r, w), each row added into row index[cell, r] of a (size, w) array. The cells go
        in `_chunks` (`jax.lax.scan`), each chunk's values added while in cache: the (m, r, w)
        values are never stored. index (m, r), per_cell (m, ...): NumPy."""
        cells, points = self.mesh.cells, jnp.asarray(p["points"])
        values = jnp.asarray(u).reshape(-1, self.ncomp)

        def chunk_values(cl, *more):
            return fn(points[cl], values[cl], *more)

        def add(total, xs):
            cl, rows, *more = xs
            v = chunk_values(cl, *more).reshape(rows.size, -1)
            return total.at[rows.ravel()].add(v, mode="drop"), None

        xs = (self._split(cells, cells[-1]), self._split(index, size),   # padding rows dropped
              *(self._split(a, a[-1]) for a in per_cell))
        out = jax.eval_shape(chunk_values, xs[0][0], *(a[0] for a in xs[2:]))
        return jax.lax.scan(add, jnp.zeros((size, out.shape[2]), out.dtype), xs)[0]

    def _chunk_tangents(self, X, ue, mat, pairs=False) -> jax.Array:
        """`cell_tangents` of the cells with node coordinates X (m, k, d) and values ue (m, k, c),
        or with pairs=True the blocks (m, P, c, c) of their node pairs `Pattern.node_pairs`
        (on and above the diagonal: all a symmetric tangent needs). Models with
        `Model.tangent_terms` use that closed form, the others automatic differentiation."""
        N, dNdx, jxw, xq, uq, gq = self._cell_fields(X, ue)
        (m, k), c = dNdx.shape[::2], gq.shape[2]
        terms = jax.vmap(jax.vmap(lambda g: self.model.closed_form_tangent(g, mat)))(gq)
        K = (self._closed_form_blocks(dNdx, jxw, *terms) if terms is not None
             else self._automatic_blocks(N, dNdx, jxw, xq, uq, gq, mat))
        K = jax.lax.optimization_barrier(K)  # not fused into the scatter that assembles it
        if pairs:
            first, second = self.sparsity.node_pairs[:2]
            return jnp.swapaxes(K, 2, 3)[:, first, second]
        return K.reshape(m, k * c, k * c)

    def _automatic_blocks(self, N, dNdx, jxw, xq, uq, gq, mat) -> jax.Array:
        """Cell tangents (m, k, c, k, c) by automatic differentiation of the model: its second
        derivatives in z = (g, u) (c, d + 1) (g alone, (c, d), when `Model.depends_on_value` is
        False) taken forward-over-forward on a points-last batch (contiguous in the point
        index, so the arithmetic vectorises), contracted with the extended shape gradients
        [dN/dx | N] (k, d + 1) in one batched product per quadrature point."""
        m, q, c, d = gq.shape
        model = self.model
        value = model.depends_on_value
        e = d + 1 if value else d

        def unpack(z):  # (c * e,) -> (u (c,) or None, g (c, d))
            z = z.reshape(c, e)
            return (z[:, d] if value else None), z[:, :d]

        if model.energy:
            second_derivative = jax.jacfwd(jax.jacfwd(
                lambda z, x: model.density(*unpack(z), x, mat)))
        else:
            def weak(z, x):  # (flux | reaction) (c * e,)
                flux, react = model.flux_reaction(*unpack(z), x, mat)
                return (jnp.concatenate([flux, react[:, None]], 1) if value else flux).ravel()
            second_derivative = jax.jacfwd(weak)
        z = jnp.concatenate([gq, uq[..., None]], axis=-1) if value else gq
        H = jax.vmap(second_derivative, in_axes=-1, out_axes=-1)(z.reshape(m * q, c * e).T,
                                                                   xq.reshape(m * q, d).T)
        H = jnp.moveaxis(H, -1, 0).reshape(m, q, c, e, c, e) * jxw[..., None, None, None, None]
        B = jnp.concatenate([dNdx, jnp.broadcast_to(N[None, :, :, None], (m, *N.shape, 1))],
                            axis=-1) if value else dNdx                       # (m, q, k, e)
        K = 0.0
        for s in range(q):   # H enters through a dot, so XLA keeps it materialised instead of
            T = jnp.einsum("maibj,mlj->mialb", H[:, s], B[:, s])   # recomputing it per entry
            K = K + sum(B[:, s, :, None, i, None, None] * T[:, None, i] for i in range(e))
        return K

    @staticmethod
    def _closed_form_blocks(dNdx, jxw, a, b, c, A) -> jax.Array:
        """Cell tangents (m, k, n, k, n) of a model with `Model.tangent_terms`: entry (i, j) of
        the block of nodes (r, s) is sum_q |J| w (a dN_r.dN_s d_ij + b g_ri g_sj + c g_si g_rj),
        g_r = A dN_r, from shape gradients dNdx (m, q, k, d), weights jxw (m, q) and the terms
        a, b, c (m, q), A (m, q, n, d). Under half the arithmetic of the general product."""
        n = A.shape[2]
        g = jnp.einsum("mqij,mqaj->mqai", A, dNdx)                            # (m, q, k, n)
        S = jnp.einsum("mqrd,mqsd,mq->mrs", dNdx, dNdx, a * jxw)
        return (jnp.einsum("mqri,mqsj,mq->mrisj", g, g, b * jxw)
                + jnp.einsum("mqsi,mqrj,mq->mrisj", g, g, c * jxw)
                + S[:, :, None, :, None] * jnp.eye(n, dtype=S.dtype)[None, None, :, None, :])

    def cell_energies(self, u, p, lam=1.0) -> jax.Array:
        """Stored energy minus the work of the source, per cell (m,). Energy models only."""
        mat = p["material"]

        def chunk(X, ue):
            _, _, jxw, xq, uq, gq = self._cell_fields(X, ue)
            psi = jax.vmap(jax.vmap(lambda a, b, c: self.model.density(a, b, c, mat)))(uq, gq, xq)
            work = jnp.sum(lam * self._source_density(xq, p) * uq, axis=-1)
            return jnp.sum((psi - work) * jxw, axis=1)

        return self._map_cells(chunk, u, p)

    # ----- facet loads -----------------------------------------------------------------------
    def _init_facets(self):
        """Per load: facets (f, k_f) and the sign (f,) that makes the normal point outwards,
        computed once here, eagerly: never inside a trace, where np.asarray would fail."""
        self._facet_data = []
        pts = np.asarray(self.mesh.points)
        with jax.ensure_compile_time_eval():
            for load in self.tractions + self.pressures:
                facets = self.mesh.facet_set(load.where)
                sign = np.ones(len(facets))
                if isinstance(load, Pressure):
                    owner = facet_cells(self.mesh, facets)
                    n = np.asarray(self._facet_normals(jnp.asarray(pts[facets]))[0][:, 0])
                    out_dir = pts[facets].mean(1) - pts[self.mesh.cells[owner]].mean(1)
                    sign = np.sign(np.sum(n * out_dir, axis=1))
                self._facet_data.append((facets, sign))

    def _facet_normals(self, xf):
        """Unit normals (f, q, d), area weights (f, q) and shape values (q, k_f) at the facet
        quadrature points, for facet node coordinates xf (f, k_f, d)."""
        felem = element(self.elem.facet)
        w, N, dN = felem.tables(self.degree)
        T = jnp.einsum("fkd,qke->fqde", xf, dN)                        # (f, q, d, d-1)
        if self.dim == 2:
            n = jnp.stack([T[..., 1, 0], -T[..., 0, 0]], axis=-1)
        elif self.dim == 3:
            n = jnp.cross(T[..., 0], T[..., 1])
        else:
            n = jnp.ones((*T.shape[:2], 1))
        area = jnp.linalg.norm(n, axis=-1)
        return n / area[..., None], area * (w * self.thickness)[None, :], N

    def _facet_forces(self, xf, load, sign):
        """Nodal forces (f, k_f, c) of a traction (c,) or a pressure () on facets at xf."""
        n, dA, N = self._facet_normals(xf)
        if load.ndim == 0:
            t_q = -load * n * sign[:, None, None]                         # (f, q, c)
        else:
            t_q = jnp.broadcast_to(load, (*dA.shape, self.ncomp))
        return jnp.einsum("fqc,qk,fq->fkc", t_q, N, dA)

    def _facet_loads(self, p):
        """(facets, sign, load value, follower) per facet load."""
        loads = list(p["traction"]) + list(p["pressure"])
        follow = [False] * len(self.tractions) + [q.follower for q in self.pressures]
        return [(f, jnp.asarray(s, _float(p)), v, fw)
                for (f, s), v, fw in zip(self._facet_data, loads, follow, strict=True)]

    def load_vector(self, p, lam=1.0, u=None) -> jax.Array:
        """External facet loads as a dof vector (ndof,) (positive = work-conjugate). Follower
        pressures act on the deformed facets, so they need the full dof vector u (ndof,)."""
        f = jnp.zeros(self.ndof, dtype=_float(p))
        for facets, sign, value, follower in self._facet_loads(p):
            x = p["points"]
            if follower:
                if u is None:
                    raise InputError("follower pressure loads depend on u: pass load_vector(p, "
                                     "lam, u)")
                x = x + jnp.reshape(u, (-1, self.ncomp))
            fe = self._facet_forces(x[facets], value, sign)
            idx = (facets[..., None] * self.ncomp + np.arange(self.ncomp)).ravel()
            f = f.at[idx].add(lam * fe.ravel())
        return f

    def _follower_tangent(self, u, p, lam):
        """(values, slots): the load stiffness -d(load)/du of follower pressures as facet blocks
        (f k_f c)^2 and their slots in the sparsity pattern."""
        vals, slots = [], []
        x = p["points"] + jnp.reshape(u, (-1, self.ncomp))
        for (facets, sign, value, follower), idx in zip(self._facet_loads(p), self._follower_slots,
                                                       strict=True):
            if not follower:
                continue

            def one(xf, s, value=value):
                return self._facet_forces(xf[None], value, s[None])[0]

            jac = jax.vmap(jax.jacfwd(one))(x[facets], sign)            # (f, k, c, k, c)
            vals.append(-lam * jac.ravel())
            slots.append(idx)
        return vals, slots

    @functools.cached_property
    def _follower_slots(self):
        """Per facet load: the slots (f k_f^2 c^2,) of its facet blocks in the pattern (follower
        pressures), or None."""
        indptr, cols = self.sparsity.indptr, self.sparsity.indices
        rows = np.repeat(np.arange(self.ndof), np.diff(indptr))
        keys = rows * self.ndof + cols                                    # sorted
        out = []
        for (facets, _), load in zip(self._facet_data, self.tractions + self.pressures, strict=True):
            if not getattr(load, "follower", False):
                out.append(None)
                continue
            fd = (facets[..., None] * self.ncomp + np.arange(self.ncomp)).reshape(len(facets), -1)
            want = (fd[:, :, None] * self.ndof + fd[:, None, :]).ravel()
            out.append(np.searchsorted(keys, want))
        return out

    # ----- global quantities -----------------------------------------------------------------
    @_jitted
    def residual(self, u, p, lam=1.0) -> jax.Array:
        """Global residual (ndof,) at the full dof vector u (prescribed entries included)."""
        r = self._assemble_cells(self._residual_chunk(p, lam), u, p, self.mesh.cells,
                                 self.mesh.n_nodes)
        return r.ravel() - self.load_vector(p, lam, u)

    @_jitted
    def load_rate(self, u, p) -> jax.Array:
        """dR/d(lam) (ndof,) at fixed u: the residual is affine in the load factor, and this
        forward derivative skips the internal forces (a fraction of a residual's cost)."""
        one = jnp.ones((), _float(p))
        return jax.jvp(lambda lam: self.residual(u, p, lam), (one,), (one,))[1]

    @_jitted
    def residual_energy(self, u, p, lam=1.0):
        """(residual, energy) for energy models, (residual, |R_free|^2 / 2) otherwise (residual
        models, follower loads)."""
        r = self.residual(u, p, lam)
        e = self.energy(u, p, lam) if self.potential else 0.5 * jnp.sum(r[self.free] ** 2)
        return r, e

    @_jitted
    def energy(self, u, p, lam=1.0) -> jax.Array:
        """Total potential energy (scalar); +inf where an element is inverted."""
        if not self.potential:
            what = "follower pressure loads have" if self.follower else \
                f"{type(self.model).__name__} has"
            raise InputError(f"{what} no potential energy; use the residual")
        return jnp.sum(self.cell_energies(u, p, lam)) - jnp.dot(self.load_vector(p, lam), u)

    @property
    def potential(self) -> bool:
        """Whether the residual is the gradient of `energy` (an energy model without follower
        loads): then the tangent is symmetric."""
        return self.model.energy and not self.follower

    @_jitted
    def tangent_values(self, u, p, lam=1.0) -> jax.Array:
        """Values of the global tangent dR/du in the fixed CSR pattern `self.sparsity`: for a
        symmetric tangent (`potential`) its node blocks on and above the diagonal, flat,
        assembled from the cells' node-pair blocks (`Pattern.node_pairs`), else all of them
        (nnz,). The pattern's `matrix`, `free_block` and `free_fixed_block` take either. lam
        (the load factor) matters only for follower loads."""
        mat = p["material"]
        if self.potential:
            blocks, flipped, n_blocks = self.sparsity.node_pairs[2:]

            def pair_blocks(X, ue, flip):   # (b, P, c * c), flipped ones transposed
                K = self._chunk_tangents(X, ue, mat, pairs=True)
                K = jnp.where(flip[..., None, None], jnp.swapaxes(K, 2, 3), K)
                return K.reshape(*flip.shape, -1)

            return self._assemble_cells(pair_blocks, u, p, blocks, n_blocks, flipped).ravel()
        scatter = self.sparsity.scatter.reshape(self.mesh.n_cells, -1)
        values = self._assemble_cells(lambda X, ue: self._chunk_tangents(X, ue, mat)
                                      .reshape(X.shape[0], -1, 1), u, p, scatter,
                                      self.sparsity.nnz).ravel()
        if not self.follower:
            return values
        vals, slots = self._follower_tangent(u, p, lam)
        return values.at[np.concatenate(slots)].add(jnp.concatenate(vals))

    def tangent(self, u, p, lam=1.0) -> sp.csr_matrix:
        """The global tangent (ndof, ndof) as a SciPy CSR matrix (host)."""
        return self.sparsity.matrix(self.tangent_values(u, p, lam))

    # ----- sparsity --------------------------------------------------------------------------
    def _init_pattern(self):
        c = self.ncomp
        cd = (self.mesh.cells[:, :, None] * c + np.arange(c)).reshape(self.mesh.n_cells, -1)
        self.sparsity = Pattern(cd, self.ndof, self.free, self.fixed, block=c)

    def near_null_space(self) -> np.ndarray:
        """Modes (n_free, r) the free-free tangent nearly annihilates, for algebraic multigrid:
        rigid-body translations and rotations (about the centroid) of solids, constants of
        scalar fields."""
        x = np.asarray(self.mesh.points, dtype=float)
        x = (x - x.mean(axis=0)) / max(np.ptp(x, axis=0).max(), 1e-300)
        c, n = self.ncomp, x.shape[0]
        modes = [np.eye(c)[None].repeat(n, 0)[..., k] for k in range(c)]       # (n, c) each
        if c == self.dim == 2:
            modes.append(np.stack([-x[:, 1], x[:, 0]], axis=1))
        elif c == self.dim == 3:
            zero = np.zeros(n)
            modes += [np.stack([zero, -x[:, 2], x[:, 1]], 1), np.stack([x[:, 2], zero, -x[:, 0]], 1),
                      np.stack([-x[:, 1], x[:, 0], zero], 1)]
        return np.stack([m.reshape(-1) for m in modes], axis=1)[self.free]

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
        return Compiled(self.residual_energy, self.tangent_values, self.bad_cells, self.follower,
                        self.load_rate)

    def __repr__(self):
        return (f"Problem({type(self.model).__name__}, {self.mesh!r}, {self.ndof} dofs, "
                f"{self.free.size} free)")


def _float(p):
    return jnp.result_type(p["points"])


def _finite(values: np.ndarray, what: str) -> np.ndarray:
    """values, or InputError naming `what` when some are NaN or inf."""
    if not np.all(np.isfinite(values)):
        raise InputError(f"{what} must be finite, got {np.asarray(values).ravel()[:6].tolist()}")
    return values


def warn_if_float32(p) -> None:
    """Warn when solving in float32 (enable x64 for solver-tolerance accuracy); Python's default
    warning filter shows it once per calling place."""
    if _float(p) == jnp.float32:
        warnings.warn("morphax is solving in float32; tolerances below ~1e-6 are out of reach. "
                      "Call jax.config.update('jax_enable_x64', True) before creating arrays.",
                      stacklevel=3)

