"""Meshes as plain arrays: traced node coordinates plus a static, hashable topology."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float, Int

from morphax._core import MeshError, describe_cells

from ._elements import Element, det, element


def _frozen(array, dtype) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class Topology:
    """Everything about a mesh except its coordinates. Hashable, so it can be static under jit.

    cells: (m, k) int node indices. cell_type: element name ("tri3", "hex8", ...).
    node_sets: name -> (n_s,) node indices. facet_sets: name -> (f_s, k_f) facet node indices.
    cell_sets: name -> (c_s,) cell indices.
    """

    cells: np.ndarray
    cell_type: str
    node_sets: Mapping[str, np.ndarray]
    facet_sets: Mapping[str, np.ndarray]
    cell_sets: Mapping[str, np.ndarray]

    @functools.cached_property
    def _key(self) -> bytes:
        h = hashlib.sha1(self.cell_type.encode())
        h.update(self.cells.tobytes())
        for group in (self.node_sets, self.facet_sets, self.cell_sets):
            for name in sorted(group):
                h.update(name.encode())
                h.update(group[name].tobytes())
        return h.digest()

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Topology) and (self is other or self._key == other._key)


@jax.tree_util.register_pytree_node_class
class Mesh:
    """A mesh: `points (n, d)` (a JAX pytree leaf, so it can be traced) and a static `Topology`.

    Build one with `Mesh(points, cells, cell_type, node_sets=..., facet_sets=..., cell_sets=...)`.
    Facet sets also define node sets of the same name unless a node set of that name is given.
    """

    def __init__(self, points: Float[ArrayLike, "n d"], cells: Int[ArrayLike, "m k"] | None = None,
                 cell_type: str | None = None, *, node_sets=None, facet_sets=None,
                 cell_sets=None, topology: Topology | None = None):
        self.points = points
        if topology is None:
            topology = _make_topology(np.asarray(points).shape, cells, cell_type, node_sets,
                                      facet_sets, cell_sets)
        self.topology = topology

    # pytree protocol: only the coordinates are traced.
    def tree_flatten(self):
        return (self.points,), self.topology

    @classmethod
    def tree_unflatten(cls, topology, children):
        return cls(children[0], topology=topology)

    @property
    def cells(self) -> np.ndarray:
        return self.topology.cells

    @property
    def cell_type(self) -> str:
        return self.topology.cell_type

    @property
    def element(self) -> Element:
        return element(self.topology.cell_type)

    @property
    def dim(self) -> int:
        return int(np.shape(self.points)[1])

    @property
    def n_nodes(self) -> int:
        return int(np.shape(self.points)[0])

    @property
    def n_cells(self) -> int:
        return int(self.topology.cells.shape[0])

    @property
    def node_sets(self):
        return self.topology.node_sets

    @property
    def facet_sets(self):
        return self.topology.facet_sets

    @property
    def cell_sets(self):
        return self.topology.cell_sets

    def with_points(self, points) -> Mesh:
        """The same topology with new coordinates (for morphing and shape derivatives)."""
        if np.shape(points) != np.shape(self.points):
            raise MeshError(f"new points have shape {np.shape(points)}, expected "
                            f"{np.shape(self.points)} (same number of nodes and dimension)")
        return Mesh(points, topology=self.topology)

    def node_set(self, name: str) -> np.ndarray:
        """Node indices of the set `name`; the error lists the sets that exist."""
        if name not in self.topology.node_sets:
            raise MeshError(f"the mesh has no node set {name!r}; it has "
                            f"{sorted(self.topology.node_sets) or 'none'}")
        return self.topology.node_sets[name]

    def facet_set(self, name: str) -> np.ndarray:
        if name not in self.topology.facet_sets:
            raise MeshError(f"the mesh has no facet set {name!r}; it has "
                            f"{sorted(self.topology.facet_sets) or 'none'}")
        return self.topology.facet_sets[name]

    def jacobian_determinants(self, degree: int | None = None) -> jax.Array:
        """det(dx/dxi) at the quadrature points, (m, q). Positive for valid, oriented cells.
        Computed with NumPy for concrete points (no compilation per mesh shape), with JAX for
        traced ones (differentiable)."""
        _, _, dshape = self.element.tables(degree)
        xp = jnp if isinstance(self.points, jax.core.Tracer) else np
        x = xp.asarray(self.points)[self.topology.cells]           # (m, k, d)
        return det(xp.einsum("mkd,qke->mqde", x, dshape))

    def check(self, min_quality: float = 1e-12) -> Mesh:
        """Raise MeshError naming nodes with non-finite coordinates and cells whose Jacobian is
        not positive; return self."""
        check_finite_points(self.points)
        det = np.asarray(self.jacobian_determinants())
        scale = np.ptp(np.asarray(self.points), axis=0).max() ** self.dim
        bad = np.nonzero(det.min(axis=1) <= min_quality * scale)[0]
        if bad.size:
            flipped = np.nonzero(det.max(axis=1) < 0)[0]
            kind = "inverted" if flipped.size == bad.size else "inverted or degenerate"
            raise MeshError(f"{bad.size} {kind} cells ({describe_cells(bad)}): their Jacobian "
                            "determinant is not positive. Fix the node ordering (see "
                            "morphax.physics.orient_cells) or remove collapsed cells.", bad)
        return self

    def __repr__(self):
        return (f"Mesh({self.n_nodes} nodes, {self.n_cells} {self.cell_type} cells, dim={self.dim},"
                f" node sets {sorted(self.node_sets)}, facet sets {sorted(self.facet_sets)})")


def check_finite_points(points) -> None:
    """MeshError naming the nodes whose coordinates (n, d) are NaN or inf (concrete values)."""
    points = np.asarray(points)
    bad = np.nonzero(~np.isfinite(points).all(axis=1))[0]
    if bad.size:
        shown = ", ".join(str(i) for i in bad[:10]) + (", ..." if bad.size > 10 else "")
        raise MeshError(f"{bad.size} node(s) have non-finite (NaN or inf) coordinates: node "
                        f"{shown} (node {bad[0]} is at {points[bad[0]].tolist()}); fix the mesh")


def _make_topology(shape, cells, cell_type, node_sets, facet_sets, cell_sets) -> Topology:
    if len(shape) != 2 or shape[1] not in (1, 2, 3):
        raise MeshError(f"points must have shape (n, d) with d in 1..3, got {shape}")
    if cells is None or cell_type is None:
        raise MeshError("a Mesh needs cells and a cell_type (or a topology)")
    elem = element(cell_type)
    cells = np.asarray(cells)
    if not np.issubdtype(cells.dtype, np.integer):
        raise MeshError(f"cells must be integers, got dtype {cells.dtype}")
    if cells.ndim != 2 or cells.shape[1] != elem.n_nodes:
        raise MeshError(f"{elem.name} cells must have shape (m, {elem.n_nodes}), got {cells.shape}")
    if elem.dim != shape[1]:
        raise MeshError(f"{elem.name} cells need {elem.dim}-D points, got {shape[1]}-D; "
                        "drop or add coordinates (e.g. points[:, :2] for a planar mesh)")
    n = shape[0]
    if cells.size and (cells.min() < 0 or cells.max() >= n):
        bad = np.nonzero((cells < 0).any(1) | (cells >= n).any(1))[0]
        raise MeshError(f"{describe_cells(bad)} refer to nodes outside 0..{n - 1}", bad)
    facet_sets = {k: _frozen(v, np.int64) for k, v in (facet_sets or {}).items()}
    nodes = {k: np.unique(v) for k, v in facet_sets.items()}
    nodes.update({k: np.unique(np.asarray(v, dtype=np.int64)) for k, v in (node_sets or {}).items()})
    for name, idx in nodes.items():
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise MeshError(f"node set {name!r} refers to nodes outside 0..{n - 1}")
    facet_elem = elem.facet and element(elem.facet)
    for name, f in facet_sets.items():
        if facet_elem is None or f.ndim != 2 or f.shape[1] != facet_elem.n_nodes:
            raise MeshError(f"facet set {name!r} must have shape (f, {facet_elem and facet_elem.n_nodes})"
                            f" for {elem.name} cells, got {f.shape}")
    return Topology(_frozen(cells, np.int64), elem.name,
                    {k: _frozen(v, np.int64) for k, v in nodes.items()}, facet_sets,
                    {k: _frozen(v, np.int64) for k, v in (cell_sets or {}).items()})


def orient_cells(mesh: Mesh) -> Mesh:
    """Reorder the nodes of simplex cells whose Jacobian is negative (files may use either
    orientation for planar meshes). Degenerate cells are left for `Mesh.check` to report."""
    elem = mesh.element
    det = np.asarray(mesh.jacobian_determinants(1)).mean(axis=1)
    flip = det < 0
    if not flip.any():
        return mesh
    swap = {"tri3": [0, 2, 1], "tri6": [0, 2, 1, 5, 4, 3], "tet4": [0, 2, 1, 3],
            "tet10": [0, 2, 1, 3, 6, 5, 4, 7, 9, 8],
            "quad4": [0, 3, 2, 1], "hex8": [0, 3, 2, 1, 4, 7, 6, 5]}[elem.name]
    cells = mesh.cells.copy()
    cells[flip] = cells[flip][:, swap]
    topo = mesh.topology
    return Mesh(mesh.points, topology=Topology(_frozen(cells, np.int64), topo.cell_type,
                                               topo.node_sets, topo.facet_sets, topo.cell_sets))


def boundary_facets(mesh: Mesh) -> np.ndarray:
    """Facets (f, k_f) that belong to exactly one cell, as node indices (outer boundary and holes)."""
    elem = mesh.element
    facet_elem = element(elem.facet)
    local = _local_facet_nodes(elem)
    faces = mesh.cells[:, local].reshape(-1, facet_elem.n_nodes)
    keys = np.sort(faces[:, : len(elem.local_facets[0])], axis=1)
    _, first, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
    return faces[np.sort(first[counts == 1])]


def _local_facet_nodes(elem: Element) -> np.ndarray:
    """(n_facets, k_f) local node indices of each facet, corners first (then P2 mid-edge nodes)."""
    if elem.name == "tri6":
        return np.array([[0, 1, 3], [1, 2, 4], [2, 0, 5]])
    if elem.name == "tet10":   # tri6 faces: corners, then mid-edges (a, b), (b, c), (c, a)
        return np.array([[0, 2, 1, 6, 5, 4], [0, 1, 3, 4, 8, 7], [1, 2, 3, 5, 9, 8],
                         [0, 3, 2, 7, 9, 6]])
    return np.array(elem.local_facets)


def facet_cells(mesh: Mesh, facets: np.ndarray) -> np.ndarray:
    """For each facet (f, k_f), the index of a cell that has it; MeshError if one has none."""
    elem = mesh.element
    local = _local_facet_nodes(elem)
    nc = len(elem.local_facets[0])
    faces = np.sort(mesh.cells[:, local[:, :nc]].reshape(-1, nc), axis=1)
    owner = np.repeat(np.arange(mesh.n_cells), len(local))
    lookup = {tuple(f): c for f, c in zip(faces.tolist(), owner.tolist(), strict=True)}
    keys = np.sort(np.asarray(facets)[:, :nc], axis=1).tolist()
    out = [lookup.get(tuple(k), -1) for k in keys]
    missing = [i for i, c in enumerate(out) if c < 0]
    if missing:
        raise MeshError(f"{len(missing)} facets (e.g. nodes {keys[missing[0]]}) are not a side of "
                        "any cell; check that the facet set belongs to this mesh")
    return np.asarray(out, dtype=np.int64)
