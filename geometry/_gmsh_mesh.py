"""The gmsh model of a cellular-solid design: geometry, meshing and the named groups (listed
in the docstring of `_meshing`, whose `mesh_design` is the public front end).

Grid points are keyed in half-cell units (a, b): the point (a s / 2, b s / 2) mm. A cell side
is keyed ("h", i, j) (y = i s, x from j s to (j + 1) s) or ("v", i, j) (x = j s, y from i s to
(i + 1) s). The order of the gmsh calls fixes the mesh; keep it when editing.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from morphax._core import InputError, MeshError, gmsh_session
from morphax.physics import Mesh, elevate, orient_cells

from ._design import CellularSolid
from ._fourier import interpolation_matrix, sample_angles

DEFAULT_DIVISIONS = 6      # default element size: cell_size / 6
PORE_SIZE_FACTOR = 0.6     # default element size on pore curves: 0.6 x size
SPLINES_PER_PORE = 4       # a spline pore is drawn as four splines (quarter turns)
FRONTAL_DELAUNAY = 6       # gmsh Mesh.Algorithm number
_SIDES = ("left", "right", "bottom", "top")


@dataclasses.dataclass(frozen=True)
class MeshOptions:
    """size: target element size (mm, default cell_size / 6). pore_size: element size on pore
    curves (default 0.6 * size). order: 1 (tri3) or 2 (tri6, pore nodes on the exact curve).
    pore_segments: None meshes pores as gmsh splines and snaps their nodes onto the exact
    curve; an integer makes each pore the polygon through that many points of the curve (used
    for print export, where the part must be exactly that polygon). algorithm: gmsh 2-D
    algorithm (6 = Frontal-Delaunay)."""

    size: float | None = None
    pore_size: float | None = None
    order: int = 1
    pore_segments: int | None = None
    spline_points: int = 64
    algorithm: int = FRONTAL_DELAUNAY

    def __post_init__(self):
        if self.order not in (1, 2):
            raise InputError(f"mesh order must be 1 (P1 triangles) or 2 (P2), got {self.order}")
        for name in ("size", "pore_size"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise InputError(f"mesh {name} must be a positive length in mm, got {v}")
        if self.pore_segments is not None and self.pore_segments < 8:
            raise InputError(f"pore_segments must be >= 8, got {self.pore_segments}")


@dataclasses.dataclass
class _Grid:
    """The gmsh points and side curves of the cell grid, made on first use and shared by
    neighbouring cells. geo: gmsh.model.geo; cell_size, size: s and the element size (mm)."""

    geo: object
    cell_size: float
    size: float
    points: dict = dataclasses.field(default_factory=dict)   # (a, b) -> point tag
    edges: dict = dataclasses.field(default_factory=dict)    # (kind, i, j) -> 2 curve tags


@dataclasses.dataclass
class _Surfaces:
    """What `_add_cells` made: surfaces [(tag, region name, kind)], pore curves by pore name,
    and solid cells (i, j) -> (centre point tag, surface tag)."""

    surfaces: list
    pore_curves: dict
    centres: dict


def _point(grid: _Grid, a: int, b: int) -> int:
    """The gmsh point at half-cell grid coordinates (a, b)."""
    if (a, b) not in grid.points:
        s = grid.cell_size
        grid.points[(a, b)] = grid.geo.addPoint(0.5 * a * s, 0.5 * b * s, 0.0, grid.size)
    return grid.points[(a, b)]


def _edge(grid: _Grid, kind: str, i: int, j: int) -> tuple[int, int]:
    """The two line curves (split at the midpoint) of cell side (kind, i, j)."""
    key = (kind, i, j)
    if key not in grid.edges:
        if kind == "h":
            p = [_point(grid, 2 * j + d, 2 * i) for d in (0, 1, 2)]
        else:
            p = [_point(grid, 2 * j, 2 * i + d) for d in (0, 1, 2)]
        grid.edges[key] = (grid.geo.addLine(p[0], p[1]), grid.geo.addLine(p[1], p[2]))
    return grid.edges[key]


def _block_loop(grid: _Grid, i: int, j: int, k: int) -> int:
    """The counter-clockwise curve loop around the k x k block with bottom-left cell (i, j)."""
    curves = []
    for b in range(k):
        curves += list(_edge(grid, "h", i, j + b))
    for b in range(k):
        curves += list(_edge(grid, "v", i + b, j + k))
    for b in reversed(range(k)):
        curves += [-c for c in reversed(_edge(grid, "h", i + k, j + b))]
    for b in reversed(range(k)):
        curves += [-c for c in reversed(_edge(grid, "v", i + b, j))]
    return grid.geo.addCurveLoop(curves)


def _pore_loop(geo, centre, h: float, radii, opts: MeshOptions, pore_size: float):
    """(curve loop tag, curve tags) of a pore: centre (2,) and half size h in mm, radii (N,).
    A polygon through opts.pore_segments curve points, or SPLINES_PER_PORE splines through
    opts.spline_points of them."""
    n = opts.pore_segments or opts.spline_points
    th = sample_angles(n)
    rho = h * (interpolation_matrix(th, radii.size) @ radii)
    xy = centre + rho[:, None] * np.stack([np.cos(th), np.sin(th)], axis=1)
    tags = [geo.addPoint(float(x), float(y), 0.0, pore_size) for x, y in xy]
    if opts.pore_segments:
        curves = [geo.addLine(tags[k], tags[(k + 1) % n]) for k in range(n)]
    else:
        q = n // SPLINES_PER_PORE
        cuts = [m * q for m in range(SPLINES_PER_PORE)] + [n]
        curves = [geo.addSpline([tags[m % n] for m in range(a, b + 1)])
                  for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    return geo.addCurveLoop(curves), curves


def _add_cells(grid: _Grid, design: CellularSolid, opts: MeshOptions,
               pore_size: float) -> _Surfaces:
    """One plane surface per porous or solid cell (row-major) and per large-pore block."""
    geo = grid.geo
    out = _Surfaces([], {}, {})
    pores = {name: (c, h, r) for name, c, h, r in design.pores()}
    for i in range(design.rows):
        for j in range(design.cols):
            kind = design.kind(i, j)
            if kind == "porous":
                outer = _block_loop(grid, i, j, 1)
                hole, curves = _pore_loop(geo, *pores[f"pore_{i}_{j}"], opts, pore_size)
                out.pore_curves[f"pore_{i}_{j}"] = curves
                out.surfaces.append((geo.addPlaneSurface([outer, hole]), f"cell_{i}_{j}", kind))
            elif kind == "solid":
                surf = geo.addPlaneSurface([_block_loop(grid, i, j, 1)])
                out.surfaces.append((surf, f"cell_{i}_{j}", kind))
                out.centres[(i, j)] = (_point(grid, 2 * j + 1, 2 * i + 1), surf)
    for k, lp in enumerate(design.large_pores):
        outer = _block_loop(grid, lp.row, lp.col, lp.size)
        hole, curves = _pore_loop(geo, *pores[f"large_pore_{k}"], opts, pore_size)
        out.pore_curves[f"large_pore_{k}"] = curves
        out.surfaces.append((geo.addPlaneSurface([outer, hole]), f"block_{k}", "large"))
    if not out.surfaces:
        raise InputError("the design has no material cells to mesh")
    return out


def _generate(gmsh, made: _Surfaces, size: float, algorithm: int) -> None:
    """Synchronize, embed the solid-cell centres and mesh in 2-D (P1, maximum size `size`)."""
    gmsh.model.geo.synchronize()
    for pt, surf in made.centres.values():
        gmsh.model.mesh.embed(0, [pt], 2, surf)
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", algorithm)
    gmsh.option.setNumber("Mesh.ElementOrder", 1)
    gmsh.model.mesh.generate(2)


def _nodes(gmsh):
    """(sorted node tags (n,), coordinates (n, 2)) of the generated mesh."""
    tags, coords, _ = gmsh.model.mesh.getNodes()
    order = np.argsort(tags)
    return np.asarray(tags)[order], np.asarray(coords).reshape(-1, 3)[order, :2]


def _index(tags: np.ndarray, node_tags) -> np.ndarray:
    """Row indices of gmsh node tags in the sorted tag table `tags`."""
    return np.searchsorted(tags, np.asarray(node_tags, dtype=np.uint64))


def _point_node(gmsh, tags: np.ndarray, point: int) -> np.ndarray:
    """(1,) index of the mesh node on gmsh point `point`."""
    return _index(tags, gmsh.model.mesh.getNodes(0, point)[0])


def _triangles(gmsh, made: _Surfaces, tags: np.ndarray):
    """(triangles (m, 3) per surface, cell sets: kind and region name -> index arrays)."""
    tris = []
    cell_sets: dict[str, list] = {"porous": [], "solid": [], "large": []}
    for surf, region, kind in made.surfaces:
        types, _, nodes = gmsh.model.mesh.getElements(2, surf)
        t = _index(tags, nodes[list(types).index(2)]).reshape(-1, 3)
        start = sum(len(x) for x in tris)
        ids = np.arange(start, start + len(t))
        tris.append(t)
        cell_sets[kind].append(ids)
        cell_sets[region] = [ids]
    return tris, cell_sets


def _lines(gmsh, tags: np.ndarray, curves) -> np.ndarray:
    """(f, 2) node indices of the line elements on `curves`."""
    out = []
    for c in curves:
        types, _, nodes = gmsh.model.mesh.getElements(1, abs(c))
        out.append(_index(tags, nodes[list(types).index(1)]).reshape(-1, 2))
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def _outer_facets(gmsh, tags: np.ndarray, grid: _Grid, design: CellularSolid) -> dict:
    """left_<i>, right_<i>, bottom_<j>, top_<j> where material touches the outside, and the
    unions left, right, bottom, top."""
    facet_sets = {}
    for i in range(design.rows):
        if design.material(i, 0):
            facet_sets[f"left_{i}"] = _lines(gmsh, tags, grid.edges[("v", i, 0)])
        if design.material(i, design.cols - 1):
            facet_sets[f"right_{i}"] = _lines(gmsh, tags, grid.edges[("v", i, design.cols)])
    for j in range(design.cols):
        if design.material(0, j):
            facet_sets[f"bottom_{j}"] = _lines(gmsh, tags, grid.edges[("h", 0, j)])
        if design.material(design.rows - 1, j):
            facet_sets[f"top_{j}"] = _lines(gmsh, tags, grid.edges[("h", design.rows, j)])
    sides = {side: [] for side in _SIDES}
    for name in list(facet_sets):
        sides[name.split("_")[0]].append(facet_sets[name])
    for side, parts in sides.items():
        if parts:
            facet_sets[side] = np.concatenate(parts)
    return facet_sets


def _solid_groups(gmsh, tags: np.ndarray, grid: _Grid, made: _Surfaces):
    """(facet sets solid_<i>_<j>_<side>, node sets of their midpoints and of the centres)."""
    facet_sets, node_sets = {}, {}
    for (i, j), (pt, _) in made.centres.items():
        for side, key, mid in (("bottom", ("h", i, j), (2 * j + 1, 2 * i)),
                               ("top", ("h", i + 1, j), (2 * j + 1, 2 * i + 2)),
                               ("left", ("v", i, j), (2 * j, 2 * i + 1)),
                               ("right", ("v", i, j + 1), (2 * j + 2, 2 * i + 1))):
            facet_sets[f"solid_{i}_{j}_{side}"] = _lines(gmsh, tags, grid.edges[key])
            node_sets[f"solid_{i}_{j}_{side}_mid"] = _point_node(gmsh, tags, grid.points[mid])
        node_sets[f"solid_{i}_{j}_center"] = _point_node(gmsh, tags, pt)
    return facet_sets, node_sets


def _pore_facets(gmsh, tags: np.ndarray, made: _Surfaces) -> dict:
    """One facet set per pore boundary and their union "pores" (when there are pores)."""
    facet_sets = {name: _lines(gmsh, tags, curves) for name, curves in made.pore_curves.items()}
    if made.pore_curves:
        facet_sets["pores"] = np.concatenate([facet_sets[n] for n in made.pore_curves])
    return facet_sets


def _corner_nodes(gmsh, tags: np.ndarray, grid: _Grid, design: CellularSolid) -> dict:
    """corner_bl, corner_br, corner_tl, corner_tr: the outer grid corners that exist."""
    R, C = design.rows, design.cols
    corners = (("corner_bl", (0, 0)), ("corner_br", (2 * C, 0)),
               ("corner_tl", (0, 2 * R)), ("corner_tr", (2 * C, 2 * R)))
    return {name: _point_node(gmsh, tags, grid.points[key])
            for name, key in corners if key in grid.points}


def _compact(xy, tris, facet_sets, node_sets, cell_sets):
    """Drop nodes outside every triangle (gmsh keeps geometry points) and renumber: returns
    (points (n, 2), tri (m, 3), facet sets, node sets, cell sets)."""
    tri = np.concatenate(tris)
    used = np.unique(tri)
    renum = np.full(len(xy), -1, np.int64)
    renum[used] = np.arange(used.size)
    for name, ids in node_sets.items():
        if np.any(renum[ids] < 0):
            raise MeshError(f"gmsh left the node of {name!r} out of the triangles")
    cells = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cell_sets.items()}
    return (xy[used], renum[tri], {k: renum[v] for k, v in facet_sets.items()},
            {k: renum[v] for k, v in node_sets.items()}, cells)


def _raw_mesh(design: CellularSolid, opts: MeshOptions):
    """gmsh P1 mesh -> (points (n, 2) mm, tri (m, 3), facet sets, node sets, cell sets)."""
    size = opts.size or design.cell_size / DEFAULT_DIVISIONS
    pore_size = opts.pore_size or PORE_SIZE_FACTOR * size
    with gmsh_session("design") as gmsh:
        grid = _Grid(gmsh.model.geo, design.cell_size, size)
        made = _add_cells(grid, design, opts, pore_size)
        _generate(gmsh, made, size, opts.algorithm)
        tags, xy = _nodes(gmsh)
        tris, cell_sets = _triangles(gmsh, made, tags)
        facet_sets = _outer_facets(gmsh, tags, grid, design)
        solid_facets, node_sets = _solid_groups(gmsh, tags, grid, made)
        facet_sets.update(solid_facets)
        facet_sets.update(_pore_facets(gmsh, tags, made))
        node_sets.update(_corner_nodes(gmsh, tags, grid, design))
    return _compact(xy, tris, facet_sets, node_sets, cell_sets)


def raw_mesh(design: CellularSolid, opts: MeshOptions) -> Mesh:
    """The gmsh mesh of `design` before pore nodes are snapped onto the exact curves: tri3,
    or tri6 for opts.order == 2, with the groups of this module's docstring."""
    xy, tri, facets, nodes, cells = _raw_mesh(design, opts)
    mesh = orient_cells(Mesh(xy, tri, "tri3", node_sets=nodes, facet_sets=facets,
                             cell_sets=cells))
    return elevate(mesh) if opts.order == 2 else mesh
