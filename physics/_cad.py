"""Geometry files meshed with gmsh: STEP/IGES/BREP (OpenCASCADE), closed STL surfaces and DXF
outlines (through the optional `ezdxf` package), for `read_mesh`.

A file with solids gives a tetrahedral mesh (tet4, or tet10 for order 2); a file with only
planar faces in a plane z = const, or a DXF outline, gives a triangle mesh (tri3 / tri6) for
plane problems. Named groups, besides those the file names (STEP/IGES entity labels, last part
of the label path):

    volume_<k> / surface_<k>     cell sets: each solid (3-D) or face (2-D), by gmsh entity tag
    surface_<k> / curve_<k>      facet sets: each face (3-D) or edge curve (2-D)
    boundary                     facet set: every face (edge) on the outside of the body
    xmin, xmax, ymin, ymax, zmin, zmax   facet sets: the boundary faces (edges) that lie in a
                                 plane of the body's bounding box (e.g. the bottom of a box
                                 is zmin), where there are such
    outline, hole_<k>            DXF only: the outer loop and each inner loop; also one facet
                                 set per DXF layer name

Entity tags are those gmsh gives on import (`gmsh part.step` shows them: Tools > Visibility).
"""

from __future__ import annotations

import contextlib
import io
import math
import pathlib
import tempfile

import numpy as np

from morphax._core import DataError, InputError, MeshError, gmsh_session, quiet_stdout

CAD_SUFFIXES = (".step", ".stp", ".iges", ".igs", ".brep")
GEOMETRY_SUFFIXES = (*CAD_SUFFIXES, ".stl", ".dxf")
DEFAULT_DIVISIONS = 20          # default element size: bounding-box diagonal / 20
STL_FEATURE_ANGLE = 40.0        # degrees between facets that start a new STL surface patch
CURVE_POINTS = 64               # points on a DXF circle or ellipse, joined by four splines


def mesh_geometry(path, *, size: float | None = None, order: int = 1):
    """Mesh a geometry file (see this module's docstring) into a meshio.Mesh with gmsh physical
    groups, for `read_mesh`; size in file units (default: the bounding-box diagonal / 20),
    order 1 or 2."""
    import meshio

    path = pathlib.Path(path)
    if size is not None and not (isinstance(size, int | float) and math.isfinite(size) and size > 0):
        raise InputError(f"mesh size must be a positive number (file units), got {size!r}")
    if order not in (1, 2):
        raise InputError(f"mesh order must be 1 or 2, got {order!r}")
    suffix = path.suffix.lower()
    with gmsh_session("geometry") as gmsh, tempfile.TemporaryDirectory() as tmp:
        if suffix in CAD_SUFFIXES:
            _load_cad(gmsh, path)
        elif suffix == ".stl":
            _load_stl(gmsh, path)
        else:
            _load_dxf(gmsh, path)
        dim = 3 if gmsh.model.getEntities(3) else 2
        if not gmsh.model.getEntities(dim):
            raise MeshError(f"{path.name}: no solid or face to mesh (only curves or points)")
        _add_groups(gmsh, dim)
        lo, hi = _bbox(gmsh)
        gmsh.option.setNumber("Mesh.MeshSizeMax", float(size or np.linalg.norm(hi - lo) /
                                                       DEFAULT_DIVISIONS))
        gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
        gmsh.option.setNumber("Mesh.SaveAll", 0)
        try:
            gmsh.model.mesh.generate(dim)
            if order == 2:
                gmsh.model.mesh.setOrder(2)
        except Exception as err:   # gmsh raises a bare Exception with its last error
            raise MeshError(f"gmsh could not mesh {path.name}: {err}; try another size, or "
                            "repair the geometry in CAD") from None
        out = pathlib.Path(tmp) / "mesh.msh"
        gmsh.write(str(out))
        with contextlib.redirect_stdout(io.StringIO()):   # meshio's gmsh reader prints
            return meshio.read(out)


def _load_cad(gmsh, path) -> None:
    try:
        with quiet_stdout():   # OpenCASCADE prints transfer statistics on stdout
            gmsh.model.occ.importShapes(str(path))
        gmsh.model.occ.synchronize()
    except Exception:   # noqa: BLE001 (gmsh raises a bare Exception)
        raise DataError(f"cannot read {path.name}: OpenCASCADE found no shape in it; export it "
                        "again from CAD as STEP (AP214/AP242), IGES or BREP") from None
    if not gmsh.model.getEntities(3):
        faces = gmsh.model.getEntities(2)
        if faces and not _planar_z(gmsh):
            raise InputError(f"{path.name} holds faces but no solid, and they do not lie in one "
                             "plane z = const: a plane problem needs a face in the xy-plane; "
                             "move it there in CAD (or export the solid)")


def _planar_z(gmsh) -> bool:
    lo, hi = _bbox(gmsh)
    return hi[2] - lo[2] <= 1e-5 * float(np.max(hi - lo))   # OCC boxes carry a tolerance


def _load_stl(gmsh, path) -> None:
    try:
        gmsh.merge(str(path))
    except Exception:   # noqa: BLE001
        raise DataError(f"cannot read STL {path.name}: it is damaged or not an STL file") from None
    gmsh.model.mesh.removeDuplicateNodes()
    tri = []
    for dim, tag in gmsh.model.getEntities(2):
        types, _, nodes = gmsh.model.mesh.getElements(dim, tag)
        tri += [np.asarray(n).reshape(-1, 3) for t, n in zip(types, nodes, strict=True) if t == 2]
    if not tri:
        raise DataError(f"STL {path.name} has no triangles")
    tri = np.concatenate(tri)
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    open_edges, shared = int((counts == 1).sum()), int((counts > 2).sum())
    if open_edges or shared:
        what = (f"{open_edges} edges bound only one triangle (holes in the surface)" if open_edges
                else f"{shared} edges are shared by more than two triangles (non-manifold)")
        raise MeshError(f"STL {path.name} is not a closed surface: {what}. A volume mesh needs a "
                        "watertight surface; repair it (e.g. MeshLab: Filters > Remeshing > "
                        "Close Holes, or your slicer's repair) and export it again")
    gmsh.model.mesh.classifySurfaces(math.radians(STL_FEATURE_ANGLE), True, True, math.pi)
    gmsh.model.mesh.createGeometry()
    surfaces = [tag for _, tag in gmsh.model.getEntities(2)]
    loop = gmsh.model.geo.addSurfaceLoop(surfaces)
    gmsh.model.geo.addVolume([loop])
    gmsh.model.geo.synchronize()


def _load_dxf(gmsh, path) -> None:
    """Closed polylines, circles, ellipses and closed splines of a DXF modelspace: the loop of
    largest area is the outline, the others holes in it."""
    try:
        import ezdxf
        from ezdxf import path as dxfpath
    except ImportError:
        raise InputError("reading DXF outlines needs the ezdxf package: pip install ezdxf "
                         "(or export the outline as STEP)") from None
    try:
        doc = ezdxf.readfile(str(path))
    except (OSError, ezdxf.DXFError):
        raise DataError(f"cannot read DXF {path.name}: it is damaged or not a DXF file") from None
    loops, skipped = [], set()
    for entity in doc.modelspace():
        kind = entity.dxftype()
        if kind not in ("LWPOLYLINE", "POLYLINE", "CIRCLE", "ELLIPSE", "SPLINE"):
            skipped.add(kind)
            continue
        p = dxfpath.make_path(entity)
        if not (kind in ("CIRCLE", "ELLIPSE") or getattr(entity, "closed", False) or p.is_closed):
            skipped.add(f"open {kind}")
            continue
        straight = kind in ("LWPOLYLINE", "POLYLINE") and not p.has_curves
        if kind == "CIRCLE":      # exact points (ezdxf paths approximate circles by Beziers)
            vertices = entity.vertices(np.linspace(0.0, 360.0, CURVE_POINTS, endpoint=False))
        elif kind == "ELLIPSE":
            start = entity.dxf.start_param
            vertices = entity.vertices(start + np.linspace(0.0, 2 * np.pi, CURVE_POINTS,
                                                           endpoint=False))
        else:
            vertices = p.control_vertices() if straight else p.flattening(1e-4 * _extent(p))
        pts = np.array([(v.x, v.y) for v in vertices])
        if np.allclose(pts[0], pts[-1]):
            pts = pts[:-1]
        loops.append((pts, straight, entity.dxf.layer))
    if not loops:
        found = f"; it has {', '.join(sorted(skipped))}" if skipped else ""
        raise InputError(f"DXF {path.name} has no closed outline (closed polyline, circle, "
                         f"ellipse or closed spline){found}. Join LINE/ARC chains into one "
                         "closed polyline (JOIN / PEDIT) first")
    areas = [abs(_signed_area(pts)) for pts, _, _ in loops]
    outer = int(np.argmax(areas))
    order = [outer] + [k for k in range(len(loops)) if k != outer]
    geo = gmsh.model.geo
    curve_loops, names = [], {}
    for rank, k in enumerate(order):
        pts, straight, layer = loops[k]
        tags = [geo.addPoint(float(x), float(y), 0.0) for x, y in pts]
        n = len(tags)
        if straight:
            curves = [geo.addLine(tags[i], tags[(i + 1) % n]) for i in range(n)]
        else:
            cuts = [i * n // 4 for i in range(4)] + [n]
            curves = [geo.addSpline([tags[i % n] for i in range(a, b + 1)])
                      for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        curve_loops.append(geo.addCurveLoop(curves))
        names.setdefault("outline" if rank == 0 else f"hole_{rank - 1}", []).extend(curves)
        names.setdefault(layer, []).extend(curves)
    geo.addPlaneSurface(curve_loops)
    geo.synchronize()
    for name, curves in names.items():
        gmsh.model.setPhysicalName(1, gmsh.model.addPhysicalGroup(1, curves), name)


def _extent(p) -> float:
    box = np.array([(v.x, v.y) for v in p.control_vertices()])
    return float(np.ptp(box, axis=0).max()) or 1.0


def _signed_area(pts) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _bbox(gmsh) -> tuple[np.ndarray, np.ndarray]:
    box = np.array(gmsh.model.getBoundingBox(-1, -1))
    return box[:3], box[3:]


def _add_groups(gmsh, dim: int) -> None:
    """Physical groups (see the module docstring) for the entities of dimension dim and dim - 1;
    groups the file already has are kept."""
    model = gmsh.model
    named: dict[tuple[int, str], list[int]] = {}
    for d, tag in model.getPhysicalGroups():
        named[(d, model.getPhysicalName(d, tag))] = list(model.getEntitiesForPhysicalGroup(d, tag))
        model.removePhysicalGroups([(d, tag)])
    kind = {3: "volume", 2: "surface", 1: "curve"}
    for d in (dim, dim - 1):
        for _, tag in model.getEntities(d):
            label = model.getEntityName(d, tag).split("/")[-1].strip()
            if label and not label.startswith("Open CASCADE"):   # OCC's name for a bare solid
                named.setdefault((d, label), []).append(tag)
            named.setdefault((d, f"{kind[d]}_{tag}"), []).append(tag)
    outside = [tag for _, tag in model.getEntities(dim - 1)
               if len(model.getAdjacencies(dim - 1, tag)[0]) == 1]
    if outside:
        named[(dim - 1, "boundary")] = outside
    lo, hi = _bbox(gmsh)
    tol = 1e-6 * float(np.linalg.norm(hi - lo))
    for axis, letter in enumerate("xyz"[:dim]):
        for side, plane in (("min", lo[axis]), ("max", hi[axis])):
            on = [tag for tag in outside if _within(model.getBoundingBox(dim - 1, tag), axis,
                                                    plane, tol)]
            if on:
                named.setdefault((dim - 1, f"{letter}{side}"), on)
    for (d, name), tags in sorted(named.items()):
        model.setPhysicalName(d, model.addPhysicalGroup(d, sorted(set(tags))), name)


def _within(box, axis: int, plane: float, tol: float) -> bool:
    return abs(box[axis] - plane) <= tol and abs(box[axis + 3] - plane) <= tol
