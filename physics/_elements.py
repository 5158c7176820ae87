"""Reference elements: shape functions, their reference gradients and quadrature rules.

Node orderings follow meshio/VTK (the same as gmsh for the linear and P2 triangle cells).
Reference domains: simplices are the unit simplex {xi >= 0, sum(xi) <= 1}; quadrilaterals and
hexahedra are [-1, 1]^d; lines are [0, 1].
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

_MESHIO_NAMES = {"line2": "line", "line3": "line3", "tri3": "triangle", "tri6": "triangle6",
                 "quad4": "quad", "tet4": "tetra", "tet10": "tetra10", "hex8": "hexahedron"}


@dataclasses.dataclass(frozen=True)
class Element:
    """A reference element.

    name: "tri3", "tri6", "quad4", "tet4", "tet10", "hex8" (cells) or "line2", "line3" (facets).
    dim: reference dimension. order: polynomial degree. n_nodes: nodes per cell.
    shape: xi (dim,) -> N (n_nodes,), a JAX function. facet: the element of its facets.
    local_facets: corner-node lists of each facet, in cell-local numbering.
    default_degree: the quadrature degree used when a problem names none.
    """

    name: str
    dim: int
    order: int
    n_nodes: int
    shape: Callable = dataclasses.field(repr=False, compare=False)
    simplex: bool
    facet: str | None
    local_facets: tuple[tuple[int, ...], ...]
    n_corners: int

    @property
    def meshio_name(self) -> str:
        return _MESHIO_NAMES[self.name]

    @property
    def default_degree(self) -> int:
        """One point for linear simplices (their gradients are constant); for P2 tetrahedra the
        4-point degree-2 rule, exact for the stiffness of affine cells (FElupe and most codes
        use it); 2 * order otherwise (P2 triangles: also exact for mass and source terms)."""
        if self.simplex and self.order == 1:
            return 1
        return 2 if self.name == "tet10" else 2 * self.order

    @functools.cache  # noqa: B019 (elements are module-level singletons)
    def quadrature(self, degree: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Points (q, dim) and weights (q,) exact for polynomials of `degree`."""
        degree = self.default_degree if degree is None else int(degree)
        if self.simplex:
            return _simplex_rule(self.dim, degree)
        return _tensor_rule(self.dim, degree, -1.0, 1.0)

    @functools.cache  # noqa: B019
    def tables(self, degree: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights (q,), shape values N (q, n_nodes) and reference gradients (q, n_nodes, dim)."""
        points, weights = self.quadrature(degree)

        def both(x):   # one compiled function (kept by the persistent cache), not op by op
            return jax.vmap(self.shape)(x), jax.vmap(jax.jacfwd(self.shape))(x)

        with jax.ensure_compile_time_eval():  # tables are constants, also when first built in a trace
            values, grads = jax.jit(both)(jnp.asarray(points))
        return weights, np.asarray(values), np.asarray(grads).reshape(len(points), self.n_nodes,
                                                                     self.dim)


def _gauss_01(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


def _tensor_rule(dim, degree, lo, hi):
    x, w = np.polynomial.legendre.leggauss(max(1, -(-(degree + 1) // 2)))
    x = lo + (x + 1.0) * (hi - lo) / 2.0
    w = w * (hi - lo) / 2.0
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    weights = np.prod(np.meshgrid(*([w] * dim), indexing="ij"), axis=0)
    return np.stack([g.ravel() for g in grids], axis=1), weights.ravel()


def _simplex_rule(dim, degree):
    if dim == 1:
        return _tensor_rule(1, degree, 0.0, 1.0)
    if dim == 2 and degree <= 1:
        return np.array([[1 / 3, 1 / 3]]), np.array([0.5])
    if dim == 2 and degree == 2:
        pts = np.array([[1 / 6, 1 / 6], [2 / 3, 1 / 6], [1 / 6, 2 / 3]])
        return pts, np.full(3, 1 / 6)
    if dim == 2 and degree <= 4:  # Strang-Fix / Dunavant 6-point rule, degree 4
        a, b = 0.445948490915965, 0.091576213509771
        wa, wb = 0.223381589678011 / 2, 0.109951743655322 / 2
        pts = np.array([[a, a], [1 - 2 * a, a], [a, 1 - 2 * a],
                        [b, b], [1 - 2 * b, b], [b, 1 - 2 * b]])
        return pts, np.array([wa] * 3 + [wb] * 3)
    if dim == 3 and degree <= 1:
        return np.array([[0.25, 0.25, 0.25]]), np.array([1 / 6])
    if dim == 3 and degree == 2:
        a, b = 0.5854101966249685, 0.1381966011250105
        pts = np.array([[b, b, b], [a, b, b], [b, a, b], [b, b, a]])
        return pts, np.full(4, 1 / 24)
    # Collapsed (Duffy) Gauss rule: exact for any degree, not minimal.
    n = -(-(degree + dim) // 2)
    x, w = _gauss_01(n)
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    wts = np.prod(np.meshgrid(*([w] * dim), indexing="ij"), axis=0).ravel()
    s = [g.ravel() for g in grids]
    if dim == 2:
        pts = np.stack([s[0], s[1] * (1 - s[0])], axis=1)
        return pts, wts * (1 - s[0])
    pts = np.stack([s[0], s[1] * (1 - s[0]), s[2] * (1 - s[0]) * (1 - s[1])], axis=1)
    return pts, wts * (1 - s[0]) ** 2 * (1 - s[1])


def _line2(xi):
    return jnp.stack([1.0 - xi[0], xi[0]])


def _line3(xi):
    s = xi[0]
    return jnp.stack([(1 - s) * (1 - 2 * s), s * (2 * s - 1), 4 * s * (1 - s)])


def _tri3(xi):
    return jnp.stack([1.0 - xi[0] - xi[1], xi[0], xi[1]])


def _tri6(xi):
    l0, l1, l2 = 1.0 - xi[0] - xi[1], xi[0], xi[1]
    return jnp.stack([l0 * (2 * l0 - 1), l1 * (2 * l1 - 1), l2 * (2 * l2 - 1),
                      4 * l0 * l1, 4 * l1 * l2, 4 * l2 * l0])


_QUAD_CORNERS = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float)
_HEX_CORNERS = np.array([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
                         [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], dtype=float)


def _quad4(xi):
    return jnp.prod(1.0 + _QUAD_CORNERS * xi[None, :], axis=1) / 4.0


def _tet4(xi):
    return jnp.stack([1.0 - xi[0] - xi[1] - xi[2], xi[0], xi[1], xi[2]])


def _tet10(xi):
    l = jnp.stack([1.0 - xi[0] - xi[1] - xi[2], xi[0], xi[1], xi[2]])
    edges = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]   # VTK/meshio mid-edge order
    return jnp.concatenate([l * (2 * l - 1), jnp.stack([4 * l[i] * l[j] for i, j in edges])])


def _hex8(xi):
    return jnp.prod(1.0 + _HEX_CORNERS * xi[None, :], axis=1) / 8.0


ELEMENTS: dict[str, Element] = {e.name: e for e in [
    Element("line2", 1, 1, 2, _line2, True, None, ((0,), (1,)), 2),
    Element("line3", 1, 2, 3, _line3, True, None, ((0,), (1,)), 2),
    Element("tri3", 2, 1, 3, _tri3, True, "line2", ((0, 1), (1, 2), (2, 0)), 3),
    Element("tri6", 2, 2, 6, _tri6, True, "line3", ((0, 1), (1, 2), (2, 0)), 3),
    Element("quad4", 2, 1, 4, _quad4, False, "line2", ((0, 1), (1, 2), (2, 3), (3, 0)), 4),
    Element("tet4", 3, 1, 4, _tet4, True, "tri3", ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)), 4),
    Element("tet10", 3, 2, 10, _tet10, True, "tri6", ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)), 4),
    Element("hex8", 3, 1, 8, _hex8, False, "quad4",
            ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)), 8),
]}
"""The reference elements by morphax name: facets line2, line3; cells tri3, tri6, quad4, tet4,
tet10, hex8."""

_BY_MESHIO = {v: k for k, v in _MESHIO_NAMES.items()}


def element(name: str) -> Element:
    """The element called `name` (morphax or meshio spelling)."""
    key = _BY_MESHIO.get(name, name)
    if key not in ELEMENTS:
        raise InputError(f"unknown element {name!r}; morphax supports {', '.join(ELEMENTS)}")
    return ELEMENTS[key]


def det(a):
    """Determinants of small matrices (..., d, d), d <= 3, in closed form (cheap to compile
    and differentiate, unlike an LU factorization)."""
    d = a.shape[-1]
    if d == 1:
        return a[..., 0, 0]
    if d == 2:
        return a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    return (a[..., 0, 0] * (a[..., 1, 1] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 1])
            - a[..., 0, 1] * (a[..., 1, 0] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 0])
            + a[..., 0, 2] * (a[..., 1, 0] * a[..., 2, 1] - a[..., 1, 1] * a[..., 2, 0]))


def inv(a):
    """Inverses of small matrices (..., d, d), d <= 3, by the adjugate formula."""
    d = a.shape[-1]
    if d == 1:
        return 1.0 / a
    if d == 2:
        adj = jnp.stack([jnp.stack([a[..., 1, 1], -a[..., 0, 1]], -1),
                         jnp.stack([-a[..., 1, 0], a[..., 0, 0]], -1)], -2)
    else:
        c = lambda i, j: a[..., i, j]  # noqa: E731
        rows = []
        for i in range(3):
            i1, i2 = (i + 1) % 3, (i + 2) % 3
            rows.append(jnp.stack([c(j1, i1) * c(j2, i2) - c(j1, i2) * c(j2, i1)
                                   for j1, j2 in [((j + 1) % 3, (j + 2) % 3) for j in range(3)]],
                                  -1))
        adj = jnp.stack(rows, -2)
    return adj / det(a)[..., None, None]
