"""Planar sections and their extrusions: closed triangle surfaces, with the checks every
written part must pass (watertight, consistently wound, positive volume = area x thickness)."""

from __future__ import annotations

import dataclasses

import numpy as np

from morphax._core import InputError
from morphax.physics import Mesh


class FabricationError(InputError):
    """A part that cannot be written as a valid solid; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Section:
    """A planar region: points (n, 2) mm, counter-clockwise triangles (m, 3), and its
    boundary loops (lists of point indices; outer loops counter-clockwise, holes clockwise)."""

    points: np.ndarray
    triangles: np.ndarray
    loops: tuple[np.ndarray, ...]

    @property
    def area(self) -> float:
        """Area from the boundary loops (shoelace), independent of the triangulation."""
        return float(sum(polygon_area(self.points[loop]) for loop in self.loops))

    @property
    def triangle_area(self) -> float:
        return float(np.sum(triangle_areas(self.points, self.triangles)))

    def loop_points(self) -> list[np.ndarray]:
        return [self.points[loop] for loop in self.loops]


def polygon_area(xy: np.ndarray) -> float:
    """Signed area of a closed polygon (k, 2): positive when counter-clockwise."""
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def triangle_areas(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a, b, c = points[tri[:, 0]], points[tri[:, 1]], points[tri[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _linear_triangles(mesh: Mesh) -> np.ndarray:
    cells = np.asarray(mesh.cells)
    if mesh.cell_type == "tri3":
        return cells
    if mesh.cell_type == "tri6":  # corners 0 1 2, mid-edges 3 (01), 4 (12), 5 (20)
        return np.concatenate([cells[:, [0, 3, 5]], cells[:, [3, 1, 4]], cells[:, [5, 4, 2]],
                               cells[:, [3, 4, 5]]])
    raise FabricationError(f"only triangle meshes (tri3, tri6) can be exported, not "
                           f"{mesh.cell_type}")


def section_from_mesh(mesh: Mesh, displacement=None) -> Section:
    """The planar section covered by a triangle mesh, optionally displaced by u (n, 2).

    Raises FabricationError when triangles are inverted (the deformed shape folds over) or the
    boundary is not a set of simple closed curves."""
    pts = np.asarray(mesh.points, dtype=float)
    if pts.shape[1] != 2:
        raise FabricationError(f"export needs a planar (2-D) mesh, got {pts.shape[1]}-D points")
    if displacement is not None:
        u = np.asarray(displacement, dtype=float)
        if u.shape != pts.shape:
            raise FabricationError(f"the displacement has shape {u.shape}, the mesh points "
                                   f"{pts.shape}; they must match")
        if not np.all(np.isfinite(u)):
            raise FabricationError("the displacement has NaN or inf values; the solve that "
                                   "produced it failed")
        pts = pts + u
    tri = _linear_triangles(mesh)
    used = np.unique(tri)
    renum = np.full(len(pts), -1, np.int64)
    renum[used] = np.arange(used.size)
    pts, tri = pts[used], renum[tri]
    area = triangle_areas(pts, tri)
    scale = float(np.ptp(pts, axis=0).max()) ** 2
    bad = np.nonzero(area <= 1e-14 * scale)[0]
    if bad.size:
        raise FabricationError(f"{bad.size} of {len(tri)} triangles are inverted or collapsed in "
                               f"this configuration (e.g. near x, y = "
                               f"{pts[tri[bad[0]]].mean(axis=0).round(3).tolist()}): the part "
                               "would fold over itself; export a smaller deformation")
    return Section(pts, tri, boundary_loops(tri))


def boundary_loops(tri: np.ndarray) -> tuple[np.ndarray, ...]:
    """Closed boundary loops of a counter-clockwise triangulation, each a node index array
    (outer boundaries counter-clockwise, holes clockwise)."""
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    key = np.sort(edges, axis=1)
    _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    if np.any(counts > 2):
        raise FabricationError("the triangulation has edges shared by more than two triangles "
                               "(non-manifold); it cannot bound a solid")
    bnd = edges[counts[inv] == 1]
    nxt = {}
    for a, b in bnd.tolist():
        if a in nxt:
            raise FabricationError(f"the boundary touches itself at node {a} (two parts of the "
                                   "region meet at a point); the solid would be non-manifold")
        nxt[a] = b
    loops, seen = [], set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop, node = [], start
        while node not in seen:
            seen.add(node)
            loop.append(node)
            node = nxt.get(node)
            if node is None:
                raise FabricationError("an open boundary curve: the triangulation is not a "
                                       "closed region")
        if node != start:
            raise FabricationError("a boundary curve closes on itself away from its start")
        loops.append(np.asarray(loop, dtype=np.int64))
    return tuple(loops)


@dataclasses.dataclass(frozen=True)
class Solid:
    """A closed triangle surface: vertices (n, 3) mm and outward-wound faces (m, 3)."""

    vertices: np.ndarray
    faces: np.ndarray

    @property
    def volume(self) -> float:
        """Signed volume by the divergence theorem (positive for outward winding)."""
        v = self.vertices[self.faces]
        return float(np.sum(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2]))) / 6.0)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)


def extrude(section: Section, thickness: float) -> Solid:
    """The prism section x [0, thickness] as a closed, outward-wound triangle surface."""
    if not (np.isfinite(thickness) and thickness > 0):
        raise FabricationError(f"thickness must be a positive length in mm, got {thickness}")
    n = len(section.points)
    xy = section.points
    verts = np.concatenate([np.column_stack([xy, np.zeros(n)]),
                            np.column_stack([xy, np.full(n, float(thickness))])])
    tri = section.triangles
    faces = [tri[:, [0, 2, 1]], tri + n]
    for loop in section.loops:
        a = loop
        b = np.roll(loop, -1)
        faces += [np.stack([a, b, b + n], axis=1), np.stack([a, b + n, a + n], axis=1)]
    return Solid(verts, np.concatenate(faces))


@dataclasses.dataclass(frozen=True)
class SolidCheck:
    """What `check_solid` found: the checks passed and the measured numbers."""

    n_faces: int
    n_vertices: int
    volume: float
    expected_volume: float | None
    volume_rel_error: float | None

    def to_dict(self) -> dict:
        return {"watertight": True, "consistent_winding": True, "triangles": self.n_faces,
                "vertices": self.n_vertices, "volume_mm3": self.volume,
                "expected_volume_mm3": self.expected_volume,
                "volume_rel_error": self.volume_rel_error}


def check_solid(solid: Solid, expected_volume: float | None = None, rtol: float = 1e-6,
                merge: bool = False) -> SolidCheck:
    """Check a triangle surface is a valid solid, raising FabricationError with the reason:
    no degenerate faces, every edge used by exactly two faces in opposite directions (watertight
    and consistently wound), positive volume, and volume = expected_volume to rtol.
    merge=True first merges vertices with identical coordinates (for triangle soups like STL)."""
    verts = np.asarray(solid.vertices, dtype=float)
    faces = np.asarray(solid.faces, dtype=np.int64)
    if merge:
        verts, inv = np.unique(verts, axis=0, return_inverse=True)
        faces = inv.ravel()[faces]
    if faces.size == 0:
        raise FabricationError("the part has no triangles")
    if faces.min() < 0 or faces.max() >= len(verts):
        raise FabricationError("faces refer to vertices that do not exist")
    v = verts[faces]
    cross = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    scale = float(np.ptp(verts, axis=0).max()) ** 2
    degenerate = np.nonzero(np.linalg.norm(cross, axis=1) <= 1e-14 * scale)[0]
    if degenerate.size:
        raise FabricationError(f"{degenerate.size} degenerate (zero-area) triangles, e.g. at "
                               f"{v[degenerate[0]].mean(axis=0).round(4).tolist()} mm")
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    n = len(verts)
    code = directed[:, 0] * n + directed[:, 1]
    uniq, counts = np.unique(code, return_counts=True)
    if np.any(counts > 1):
        a, b = divmod(int(uniq[np.argmax(counts > 1)]), n)
        raise FabricationError(f"inconsistent winding or non-manifold edge between vertices at "
                               f"{verts[a].round(4).tolist()} and {verts[b].round(4).tolist()}: "
                               "an edge is traversed twice in the same direction")
    reverse = directed[:, 1] * n + directed[:, 0]
    missing = ~np.isin(reverse, uniq)
    if np.any(missing):
        k = int(np.argmax(missing))
        raise FabricationError(f"the surface is not watertight: {int(missing.sum())} edges have "
                               f"no opposite face (a hole near "
                               f"{verts[directed[k]].mean(axis=0).round(4).tolist()} mm)")
    volume = Solid(verts, faces).volume
    if not volume > 0:
        raise FabricationError(f"the solid has volume {volume:.6g} mm^3 <= 0: its faces are "
                               "wound inwards or it is flat")
    err = None
    if expected_volume is not None:
        err = abs(volume - expected_volume) / abs(expected_volume)
        if not err <= rtol:
            raise FabricationError(f"the solid's volume {volume:.9g} mm^3 differs from area x "
                                   f"thickness = {expected_volume:.9g} mm^3 by {err:.2e} "
                                   f"(relative; allowed {rtol:g}): the surface self-overlaps or "
                                   "lost faces")
    return SolidCheck(len(faces), len(verts), volume, expected_volume, err)
