"""Meshing a cellular-solid design with gmsh into a morphax Mesh that carries named groups.

Every cell side is its own pair of gmsh curves (split at its midpoint), so the mesh conforms
across cells and every side midpoint is a node. Group names (row i from the bottom, column j
from the left, cells counted from 0):

facet sets (and node sets of the same name)
    left_<i>, right_<i>        the outer left / right side of row i (x = 0 / x = cols * s)
    bottom_<j>, top_<j>        the outer bottom / top side of column j (y = 0 / y = rows * s)
    left, right, bottom, top   the union of the segments of that outer side
    solid_<i>_<j>_<side>       side = left, right, bottom, top of solid cell (i, j)
    pore_<i>_<j>               the pore boundary of porous cell (i, j)
    large_pore_<k>             the boundary of large pore k;  pores: every pore boundary
node sets
    corner_bl, corner_br, corner_tl, corner_tr   the outer corners of the grid (when material)
    solid_<i>_<j>_center       the centre node of solid cell (i, j)
    solid_<i>_<j>_<side>_mid   the midpoint node of a side of solid cell (i, j)
cell sets
    porous, solid, large; cell_<i>_<j> (each porous or solid cell), block_<k> (large pore k)

Outer-side groups exist only where the cell next to that side holds material.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from morphax._core import InputError, MeshError, gmsh_session
from morphax.physics import Mesh, elevate, orient_cells

from . import _fourier
from ._design import CellularSolid


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
    algorithm: int = 6

    def __post_init__(self):
        if self.order not in (1, 2):
            raise InputError(f"mesh order must be 1 (P1 triangles) or 2 (P2), got {self.order}")
        for name in ("size", "pore_size"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise InputError(f"mesh {name} must be a positive length in mm, got {v}")
        if self.pore_segments is not None and self.pore_segments < 8:
            raise InputError(f"pore_segments must be >= 8, got {self.pore_segments}")


def _raw_mesh(design: CellularSolid, opts: MeshOptions):
    """gmsh P1 mesh -> (points (n, 2), tri (m, 3), facet sets, node sets, cell sets)."""
    s = design.cell_size
    size = opts.size or s / 6.0
    pore_size = opts.pore_size or 0.6 * size
    with gmsh_session("design") as gmsh:
        geo = gmsh.model.geo
        points: dict = {}

        def point(a, b, lc=size):  # a, b: half-cell grid units (x, y)
            if (a, b) not in points:
                points[(a, b)] = geo.addPoint(0.5 * a * s, 0.5 * b * s, 0.0, lc)
            return points[(a, b)]

        edges: dict = {}

        def edge(kind, i, j):  # ("h", i, j): y = i, x from j to j+1; ("v", i, j): x = j
            key = (kind, i, j)
            if key not in edges:
                if kind == "h":
                    p = [point(2 * j, 2 * i), point(2 * j + 1, 2 * i), point(2 * j + 2, 2 * i)]
                else:
                    p = [point(2 * j, 2 * i), point(2 * j, 2 * i + 1), point(2 * j, 2 * i + 2)]
                edges[key] = (geo.addLine(p[0], p[1]), geo.addLine(p[1], p[2]))
            return edges[key]

        def loop_of_block(i, j, k):
            curves = []
            for b in range(k):
                curves += list(edge("h", i, j + b))
            for b in range(k):
                curves += list(edge("v", i + b, j + k))
            for b in reversed(range(k)):
                curves += [-c for c in reversed(edge("h", i + k, j + b))]
            for b in reversed(range(k)):
                curves += [-c for c in reversed(edge("v", i + b, j))]
            return geo.addCurveLoop(curves)

        def pore_loop(centre, h, radii):
            n = opts.pore_segments or opts.spline_points
            th = _fourier.sample_angles(n)
            rho = h * (_fourier.interpolation_matrix(th, radii.size) @ radii)
            xy = centre + rho[:, None] * np.stack([np.cos(th), np.sin(th)], axis=1)
            tags = [geo.addPoint(float(x), float(y), 0.0, pore_size) for x, y in xy]
            if opts.pore_segments:
                curves = [geo.addLine(tags[k], tags[(k + 1) % n]) for k in range(n)]
            else:
                q = n // 4
                cuts = [0, q, 2 * q, 3 * q, n]
                curves = [geo.addSpline([tags[m % n] for m in range(a, b + 1)])
                          for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
            return geo.addCurveLoop(curves), curves

        surfaces = []   # (tag, region name, kind)
        pore_curves = {}
        centres = {}
        pores = {name: (c, h, r) for name, c, h, r in design.pores()}
        for i in range(design.rows):
            for j in range(design.cols):
                kind = design.kind(i, j)
                if kind == "porous":
                    outer = loop_of_block(i, j, 1)
                    hole, curves = pore_loop(*pores[f"pore_{i}_{j}"])
                    pore_curves[f"pore_{i}_{j}"] = curves
                    surfaces.append((geo.addPlaneSurface([outer, hole]), f"cell_{i}_{j}", kind))
                elif kind == "solid":
                    outer = loop_of_block(i, j, 1)
                    surf = geo.addPlaneSurface([outer])
                    surfaces.append((surf, f"cell_{i}_{j}", kind))
                    centres[(i, j)] = (point(2 * j + 1, 2 * i + 1), surf)
        for k, lp in enumerate(design.large_pores):
            outer = loop_of_block(lp.row, lp.col, lp.size)
            hole, curves = pore_loop(*pores[f"large_pore_{k}"])
            pore_curves[f"large_pore_{k}"] = curves
            surfaces.append((geo.addPlaneSurface([outer, hole]), f"block_{k}", "large"))
        if not surfaces:
            raise InputError("the design has no material cells to mesh")
        geo.synchronize()
        for pt, surf in centres.values():
            gmsh.model.mesh.embed(0, [pt], 2, surf)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
        gmsh.option.setNumber("Mesh.Algorithm", opts.algorithm)
        gmsh.option.setNumber("Mesh.ElementOrder", 1)
        gmsh.model.mesh.generate(2)

        tags, coords, _ = gmsh.model.mesh.getNodes()
        order = np.argsort(tags)
        tags = np.asarray(tags)[order]
        xy = np.asarray(coords).reshape(-1, 3)[order, :2]

        def index(node_tags):
            return np.searchsorted(tags, np.asarray(node_tags, dtype=np.uint64))

        tris, tri_region = [], []
        cell_sets: dict[str, list] = {"porous": [], "solid": [], "large": []}
        for surf, region, kind in surfaces:
            types, _, nodes = gmsh.model.mesh.getElements(2, surf)
            t = index(nodes[list(types).index(2)]).reshape(-1, 3)
            start = sum(len(x) for x in tris)
            ids = np.arange(start, start + len(t))
            tris.append(t)
            cell_sets[kind].append(ids)
            cell_sets[region] = [ids]
            tri_region.append(region)

        def lines(curves):
            out = []
            for c in curves:
                types, _, nodes = gmsh.model.mesh.getElements(1, abs(c))
                out.append(index(nodes[list(types).index(1)]).reshape(-1, 2))
            return np.concatenate(out) if out else np.zeros((0, 2), np.int64)

        facet_sets = {}
        sides = {"left": [], "right": [], "bottom": [], "top": []}
        for i in range(design.rows):
            if design.material(i, 0):
                facet_sets[f"left_{i}"] = lines(edges[("v", i, 0)])
            if design.material(i, design.cols - 1):
                facet_sets[f"right_{i}"] = lines(edges[("v", i, design.cols)])
        for j in range(design.cols):
            if design.material(0, j):
                facet_sets[f"bottom_{j}"] = lines(edges[("h", 0, j)])
            if design.material(design.rows - 1, j):
                facet_sets[f"top_{j}"] = lines(edges[("h", design.rows, j)])
        for name in list(facet_sets):
            sides[name.split("_")[0]].append(facet_sets[name])
        for side, parts in sides.items():
            if parts:
                facet_sets[side] = np.concatenate(parts)
        node_sets = {}
        for (i, j), (pt, _) in centres.items():
            for side, key, mid in (("bottom", ("h", i, j), (2 * j + 1, 2 * i)),
                                   ("top", ("h", i + 1, j), (2 * j + 1, 2 * i + 2)),
                                   ("left", ("v", i, j), (2 * j, 2 * i + 1)),
                                   ("right", ("v", i, j + 1), (2 * j + 2, 2 * i + 1))):
                facet_sets[f"solid_{i}_{j}_{side}"] = lines(edges[key])
                node_sets[f"solid_{i}_{j}_{side}_mid"] = index(
                    gmsh.model.mesh.getNodes(0, points[mid])[0])
            node_sets[f"solid_{i}_{j}_center"] = index(gmsh.model.mesh.getNodes(0, pt)[0])
        for name, curves in pore_curves.items():
            facet_sets[name] = lines(curves)
        if pore_curves:
            facet_sets["pores"] = np.concatenate([facet_sets[n] for n in pore_curves])
        R, C = design.rows, design.cols
        for name, key in (("corner_bl", (0, 0)), ("corner_br", (2 * C, 0)),
                          ("corner_tl", (0, 2 * R)), ("corner_tr", (2 * C, 2 * R))):
            if key in points:
                node_sets[name] = index(gmsh.model.mesh.getNodes(0, points[key])[0])

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


def mesh_design(design: CellularSolid, *, size: float | None = None, order: int = 1,
                options: MeshOptions | None = None, **kwargs) -> Mesh:
    """Mesh the material of a design with gmsh (headless, deterministic: the same design and
    options give the same arrays). Returns a tri3 (order 1) or tri6 (order 2) Mesh with the
    named groups listed in this module's docstring; pore boundary nodes lie on the exact
    pore curves. Options: see MeshOptions (size in mm)."""
    from ._morph import morphable_mesh

    return morphable_mesh(design, size=size, order=order, options=options, **kwargs).mesh


def raw_mesh(design: CellularSolid, opts: MeshOptions) -> Mesh:
    """The gmsh mesh before any snapping (internal; used by the morphing setup)."""
    xy, tri, facets, nodes, cells = _raw_mesh(design, opts)
    mesh = orient_cells(Mesh(xy, tri, "tri3", node_sets=nodes, facet_sets=facets,
                             cell_sets=cells))
    return elevate(mesh) if opts.order == 2 else mesh


def add_groups(mesh: Mesh, groups: dict[str, list[str]]) -> Mesh:
    """A mesh with extra groups, each the union of existing ones, e.g. an actuator
    `{"pull_left": ["left_1", "left_2", "left_3"]}`. A union of facet sets is a facet set (and a
    node set); a union that includes node-only sets is a node set."""
    facet_sets = dict(mesh.facet_sets)
    node_sets = {k: v for k, v in mesh.node_sets.items() if k not in mesh.facet_sets}
    for new, parts in groups.items():
        if new in mesh.node_sets or new in facet_sets or new in node_sets:
            raise InputError(f"the mesh already has a group named {new!r}; pick another name")
        if not parts:
            raise InputError(f"group {new!r} must list at least one existing group")
        for p in parts:
            mesh.node_set(p)
        if all(p in mesh.facet_sets for p in parts):
            facet_sets[new] = np.concatenate([mesh.facet_sets[p] for p in parts])
        else:
            node_sets[new] = np.unique(np.concatenate([mesh.node_sets[p] for p in parts]))
    return Mesh(mesh.points, mesh.cells, mesh.cell_type, node_sets=node_sets,
                facet_sets=facet_sets, cell_sets=dict(mesh.cell_sets))
