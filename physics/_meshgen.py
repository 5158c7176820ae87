"""Structured meshes of rectangles and boxes, a quasi-uniform disk, and P1 -> P2 elevation."""

from __future__ import annotations

import math

import numpy as np

from morphax._core import InputError, MeshError

from ._mesh import Mesh, orient_cells


def rectangle(nx: int, ny: int, cell_type: str = "tri3", size=(1.0, 1.0), origin=(0.0, 0.0)) -> Mesh:
    """An nx x ny structured mesh of [x0, x0+lx] x [y0, y0+ly] (units of `size`).

    cell_type: "tri3" (each square split along a diagonal, alternating), "tri6" or "quad4".
    Facet and node sets: "left" (x min), "right" (x max), "bottom" (y min), "top" (y max).
    """
    if nx < 1 or ny < 1:
        raise MeshError(f"rectangle needs nx, ny >= 1, got {nx}, {ny}")
    x = origin[0] + np.linspace(0.0, size[0], nx + 1)
    y = origin[1] + np.linspace(0.0, size[1], ny + 1)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    node = np.arange((nx + 1) * (ny + 1)).reshape(nx + 1, ny + 1)
    a, b = node[:-1, :-1].ravel(), node[1:, :-1].ravel()
    c, d = node[1:, 1:].ravel(), node[:-1, 1:].ravel()
    sides = {"left": node[0, :], "right": node[-1, :], "bottom": node[:, 0], "top": node[:, -1]}
    facets = {k: np.stack([v[:-1], v[1:]], axis=1) for k, v in sides.items()}
    if cell_type == "quad4":
        return Mesh(points, np.stack([a, b, c, d], axis=1), "quad4", facet_sets=facets)
    if cell_type not in ("tri3", "tri6"):
        raise MeshError(f"rectangle makes tri3, tri6 or quad4 cells, not {cell_type!r}")
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    even = ((ix + iy) % 2 == 0).ravel()
    tris = np.where(even[:, None, None],
                    np.stack([np.stack([a, b, c], 1), np.stack([a, c, d], 1)], axis=1),
                    np.stack([np.stack([a, b, d], 1), np.stack([b, c, d], 1)], axis=1))
    mesh = Mesh(points, tris.reshape(-1, 3), "tri3", facet_sets=facets)
    return elevate(mesh) if cell_type == "tri6" else mesh


def box(nx: int, ny: int, nz: int, cell_type: str = "hex8", size=(1.0, 1.0, 1.0),
        origin=(0.0, 0.0, 0.0)) -> Mesh:
    """A structured mesh of a box; cell_type "hex8", "tet4" (six tetrahedra per hexahedron) or
    "tet10" (those tetrahedra with mid-edge nodes).

    Facet and node sets: "left"/"right" (x min/max), "front"/"back" (y), "bottom"/"top" (z).
    """
    if min(nx, ny, nz) < 1:
        raise MeshError(f"box needs nx, ny, nz >= 1, got {nx}, {ny}, {nz}")
    axes = [o + np.linspace(0.0, s, n + 1) for o, s, n in zip(origin, size, (nx, ny, nz),
                                                              strict=True)]
    grid = np.meshgrid(*axes, indexing="ij")
    points = np.stack([g.ravel() for g in grid], axis=1)
    node = np.arange(points.shape[0]).reshape(nx + 1, ny + 1, nz + 1)
    corners = [node[i:i + nx, j:j + ny, k:k + nz].ravel()
               for (i, j, k) in [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0),
                                 (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]]
    hexes = np.stack(corners, axis=1)

    def quads(face):  # (a, b) grid of nodes -> quads oriented by the grid's (i, j) order
        return np.stack([face[:-1, :-1].ravel(), face[1:, :-1].ravel(), face[1:, 1:].ravel(),
                         face[:-1, 1:].ravel()], axis=1)

    faces = {"left": quads(node[0]), "right": quads(node[-1]),
             "front": quads(node[:, 0, :]), "back": quads(node[:, -1, :]),
             "bottom": quads(node[:, :, 0]), "top": quads(node[:, :, -1])}
    if cell_type == "hex8":
        return Mesh(points, hexes, "hex8", facet_sets=faces)
    if cell_type not in ("tet4", "tet10"):
        raise MeshError(f"box makes hex8, tet4 or tet10 cells, not {cell_type!r}")
    # Kuhn split of each hexahedron along its 0-6 diagonal: conforming across neighbours.
    paths = [(1, 2), (1, 5), (3, 2), (3, 7), (4, 5), (4, 7)]
    tets = np.concatenate([hexes[:, [0, p, q, 6]] for p, q in paths])
    tris = {k: np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]]) for k, q in faces.items()}

    mesh = orient_cells(Mesh(points, tets, "tet4", facet_sets=tris))
    return elevate(mesh) if cell_type == "tet10" else mesh


_P2 = {"tri3": ("tri6", [(0, 1), (1, 2), (2, 0)]),   # mid-edge node order of the P2 cell
       "tet4": ("tet10", [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)])}
_P2_FACET_EDGES = {2: [(0, 1)], 3: [(0, 1), (1, 2), (2, 0)]}   # line3 / tri6 facet mid-nodes


def elevate(mesh: Mesh) -> Mesh:
    """A P2 mesh (tri6, tet10) from a P1 mesh (tri3, tet4): one new node at the midpoint of
    every edge. Facet sets become P2 facets; node sets of facets gain their mid-edge nodes."""
    if mesh.cell_type in ("tri6", "tet10"):
        return mesh
    if mesh.cell_type not in _P2:
        raise MeshError(f"elevation to second order is implemented for tri3 and tet4 meshes, "
                        f"not {mesh.cell_type}")
    cell_type, pairs = _P2[mesh.cell_type]
    cells = mesh.cells
    edges = np.concatenate([cells[:, list(e)] for e in pairs])
    unique, inverse = np.unique(np.sort(edges, axis=1), axis=0, return_inverse=True)
    points = np.asarray(mesh.points)
    n = points.shape[0]
    new_cells = np.concatenate([cells, (n + inverse.ravel()).reshape(len(pairs), -1).T], axis=1)
    lookup = {tuple(e): n + i for i, e in enumerate(unique.tolist())}
    facets = {}
    for name, f in mesh.facet_sets.items():
        mid = [[lookup[tuple(sorted((row[i], row[j])))] for i, j in _P2_FACET_EDGES[f.shape[1]]]
               for row in f.tolist()]
        facets[name] = np.concatenate([f, np.asarray(mid, dtype=np.int64).reshape(len(f), -1)],
                                      axis=1)
    node_sets = {k: v for k, v in mesh.node_sets.items() if k not in mesh.facet_sets}
    return Mesh(np.concatenate([points, points[unique].mean(axis=1)]), new_cells, cell_type,
                node_sets=node_sets, facet_sets=facets, cell_sets=dict(mesh.cell_sets))


def disk_mesh(size: float, order: int = 1) -> Mesh:
    """A quasi-uniform mesh of the unit disk (rings of nodes, Delaunay triangles) with facet set
    "boundary"; nodes of the outer ring (and P2 mid-edge nodes there) lie on the unit circle.
    No gmsh: cheap and deterministic, and a star domain is its image under x -> x r(theta)."""
    from scipy.spatial import Delaunay

    if not 0 < size <= 1.0 or order not in (1, 2):
        raise InputError(f"disk_mesh needs 0 < size <= 1 and order 1 or 2, got {size}, {order}")
    rings = max(1, math.ceil(1.0 / size))
    pts = [np.zeros((1, 2))]
    for k in range(1, rings + 1):
        m = max(6, round(2 * math.pi * k))
        th = 2 * math.pi * (np.arange(m) + 0.5 * (k % 2)) / m
        pts.append(k / rings * np.stack([np.cos(th), np.sin(th)], axis=1))
    xy = np.concatenate(pts)
    tri = Delaunay(xy).simplices.astype(np.int64)
    nb = pts[-1].shape[0]
    outer = np.arange(len(xy) - nb, len(xy))
    edges = np.stack([outer, np.roll(outer, -1)], axis=1)
    mesh = orient_cells(Mesh(xy, tri, "tri3", facet_sets={"boundary": edges}))
    if order == 2:
        mesh = elevate(mesh)
        p = np.array(mesh.points)
        b = mesh.node_set("boundary")
        p[b] /= np.hypot(p[b, 0], p[b, 1])[:, None]
        mesh = mesh.with_points(p)
    return mesh
