"""Export of designs (reference or deformed) as printable parts: STL, 3MF, STEP."""

from __future__ import annotations

import pathlib
import zipfile

import numpy as np

from morphax._core import (
    DataError,
    InputError,
    atomic_path,
    atomic_write_bytes,
    check_writable,
    gmsh_session,
    quiet_stdout,
)
from morphax.geometry import CellularSolid, MeshOptions, mesh_design
from morphax.physics import Mesh, orient_cells

from ._formats import face_area, float32_solid, read_3mf, read_stl, step_check, stl_bytes, threemf_bytes
from ._report import PrintReport, draw_report, make_report, material_density
from ._solid import FabricationError, Section, check_solid, extrude, polygon_area, section_from_mesh

FORMATS = {".stl": "stl", ".3mf": "3mf", ".step": "step", ".stp": "step"}
"""Part file suffix -> format written by `export_part`."""


def design_section(design: CellularSolid, *, segments: int = 128,
                   size: float | None = None) -> Section:
    """The planar section of a design in its reference configuration: the material cells minus
    the pores, each pore the polygon through `segments` points of its exact curve."""
    mesh = mesh_design(design, options=MeshOptions(size=size or design.cell_size / 3.0,
                                                   pore_segments=segments))
    return section_from_mesh(mesh)


def _format(path) -> str:
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"cannot tell the part format from {str(path)!r}; use a file name "
                         "ending in .stl, .3mf or .step")
    return FORMATS[suffix]


def export_part(path, *, design: CellularSolid | None = None, thickness: float,
                mesh: Mesh | None = None, displacement=None, segments: int = 128,
                material="TPU", nozzle_width: float = 0.4, report: bool = True) -> PrintReport:
    """Write a design extruded to `thickness` (mm) as a part file; return its PrintReport.

    The format follows the suffix: .stl (binary), .3mf, .step/.stp (OpenCASCADE via gmsh, from
    the exact pore curves in the reference configuration). Reference configuration: give
    `design`. Deformed configuration: give the `mesh` the displacement was computed on and
    `displacement` (n, 2) (and optionally `design` to check they match). Every solid is checked
    (watertight, consistent winding, volume = area x thickness to 1e-6) before the file is
    atomically put in place; FabricationError says why a part was refused. With report=True the
    report is also written beside the part as <part name>.report.json and .report.png (e.g.
    part.stl.report.json), so parts of one design in several formats keep their own reports.
    """
    fmt = _format(path)
    path = pathlib.Path(path)
    reports = report_paths(path) if report else ()
    _check_options(thickness, segments, material, nozzle_width)
    check_writable(path, *reports)
    deformed = displacement is not None
    if deformed:
        if mesh is None:
            raise InputError("a deformed export needs the mesh the displacement lives on")
        if design is not None:
            _check_matches(design, mesh)
        section = section_from_mesh(mesh, displacement)
    elif mesh is not None:
        section = section_from_mesh(mesh)
    elif design is not None:
        section = design_section(design, segments=segments)
    else:
        raise InputError("export_part needs a design, or a mesh (and a displacement)")
    expected = section.area * float(thickness)
    if fmt == "step":
        if design is not None and not deformed and mesh is None:
            check = _write_step_design(design, path, thickness, segments)
        else:
            check = _write_step_section(section, path, thickness)
    else:
        solid = extrude(section, thickness)
        if fmt == "stl":
            check_solid(float32_solid(solid), expected, merge=True)
            data, reader = stl_bytes(solid), read_stl
        else:
            check_solid(solid, expected)
            data, reader = threemf_bytes(solid, name=path.stem), read_3mf
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
            check = check_solid(reader(tmp), expected, merge=True).to_dict()
    if fmt == "step":  # the exact CAD volume, not the polygonal one
        section_area = check["volume_mm3"] / float(thickness)
    else:
        section_area = None
    rep = make_report(section, part=str(path), fmt=fmt, area=section_area,
                      configuration="deformed" if deformed else "reference",
                      thickness=thickness, solid=check, material=material,
                      nozzle_width=nozzle_width)
    if report:
        rep.write_json(reports[0])
        draw_report(section, rep, reports[1])
    return rep


def _check_options(thickness, segments, material, nozzle_width) -> None:
    """Every export option, checked before anything is built or written."""
    if isinstance(thickness, bool) or not isinstance(thickness, int | float) \
            or not (np.isfinite(thickness) and thickness > 0):
        raise FabricationError(f"thickness must be a finite positive length in mm, got "
                               f"{thickness!r}")
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 8:
        raise InputError(f"segments (points per pore curve) must be an integer >= 8, got "
                         f"{segments!r}")
    if isinstance(nozzle_width, bool) or not isinstance(nozzle_width, int | float) \
            or not (np.isfinite(nozzle_width) and nozzle_width > 0):
        raise InputError(f"nozzle width must be a finite positive length in mm, got "
                         f"{nozzle_width!r}")
    material_density(material)


def _check_matches(design: CellularSolid, mesh: Mesh) -> None:
    pts = np.asarray(mesh.points)
    w, h = design.size
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    tol = 1e-6 * max(w, h)
    if lo.min() < -tol or hi[0] > w + tol or hi[1] > h + tol:
        raise InputError(f"the mesh spans {lo.round(4).tolist()} .. {hi.round(4).tolist()} mm, "
                         f"outside the design's {w} x {h} mm grid: the result does not belong "
                         "to this design")


def _write_step(gmsh, faces, path, thickness, reference_area=None) -> dict:
    occ = gmsh.model.occ
    occ.synchronize()
    area = float(sum(face_area(gmsh, f) for _, f in faces))
    if reference_area is not None and abs(area - reference_area) > 1e-4 * reference_area:
        raise FabricationError(f"the OpenCASCADE section has area {area:.6f} mm^2, the design "
                               f"{reference_area:.6f} mm^2; the CAD construction failed")
    occ.extrude(faces, 0.0, 0.0, float(thickness))
    occ.synchronize()
    with atomic_path(path) as tmp:
        with quiet_stdout():  # OpenCASCADE prints transfer statistics on stdout
            gmsh.write(str(tmp))
        return step_check(gmsh, tmp, area * float(thickness))


def report_paths(path) -> tuple[pathlib.Path, pathlib.Path]:
    """The print report files of a part: <part file name>.report.json and .report.png."""
    path = pathlib.Path(path)
    return path.with_name(path.name + ".report.json"), path.with_name(path.name + ".report.png")


def _write_step_design(design: CellularSolid, path, thickness, segments) -> dict:
    """STEP of the reference design from its exact geometry: cell squares fused, pores cut out
    as periodic splines through `segments` points of the exact curves."""
    s = design.cell_size
    with gmsh_session("step") as gmsh:
        occ = gmsh.model.occ
        rects = [(2, occ.addRectangle(j * s, i * s, 0.0, s, s))
                 for i in range(design.rows) for j in range(design.cols)
                 if design.material(i, j)]
        shape = occ.fuse(rects[:1], rects[1:])[0] if len(rects) > 1 else rects
        holes = []
        for name, *_ in design.pores():
            xy = design.pore_polygon(name, max(segments, 256))
            tags = [occ.addPoint(float(x), float(y), 0.0) for x, y in xy]
            curve = occ.addSpline([*tags, tags[0]])
            holes.append((2, occ.addPlaneSurface([occ.addCurveLoop([curve])])))
        if holes:
            shape = occ.cut(shape, holes)[0]
        return _write_step(gmsh, shape, path, thickness, design.material_area())


def _write_step_section(section: Section, path, thickness) -> dict:
    """STEP of a polygonal section (deformed configurations): outer loops with their holes."""
    from matplotlib.path import Path

    loops = section.loop_points()
    signed = [polygon_area(lp) for lp in loops]
    outers = [k for k, a in enumerate(signed) if a > 0]
    holes_of = {k: [] for k in outers}
    for k, a in enumerate(signed):
        if a > 0:
            continue
        inside = [o for o in outers if Path(loops[o]).contains_point(loops[k][0])]
        if not inside:
            raise FabricationError("a hole of the section lies in no outer boundary")
        holes_of[min(inside, key=lambda o: signed[o])].append(k)
    with gmsh_session("step") as gmsh:
        occ = gmsh.model.occ

        def wire(lp):
            tags = [occ.addPoint(float(x), float(y), 0.0) for x, y in lp]
            lines = [occ.addLine(tags[i], tags[(i + 1) % len(tags)]) for i in range(len(tags))]
            return occ.addCurveLoop(lines)

        faces = []
        for o in outers:   # each outer loop minus its holes (a cut is orientation-proof)
            face = [(2, occ.addPlaneSurface([wire(loops[o])]))]
            holes = [(2, occ.addPlaneSurface([wire(loops[h])])) for h in holes_of[o]]
            faces += occ.cut(face, holes)[0] if holes else face
        return _write_step(gmsh, faces, path, thickness, section.area)


def save_result(path, mesh: Mesh, displacement) -> None:
    """Write a mesh and its displacement (n, 2) for `morphax export --deformed`: .npz (points,
    cells, cell_type, u) or any meshio format (.vtu, .msh, .xdmf) with point data "u"."""
    path = pathlib.Path(path)
    u = np.asarray(displacement, dtype=float)
    pts = np.asarray(mesh.points, dtype=float)
    if u.shape != pts.shape:
        raise InputError(f"displacement shape {u.shape} does not match the points {pts.shape}")
    if path.suffix == ".npz":
        import io

        buf = io.BytesIO()
        np.savez(buf, points=pts, cells=np.asarray(mesh.cells), cell_type=mesh.cell_type, u=u)
        atomic_write_bytes(path, buf.getvalue())
        return
    import meshio

    m = meshio.Mesh(np.column_stack([pts, np.zeros(len(pts))]),
                    [(mesh.element.meshio_name, np.asarray(mesh.cells))],
                    point_data={"u": np.column_stack([u, np.zeros(len(u))])})
    with atomic_path(path) as tmp:
        meshio.write(tmp, m, file_format=None if path.suffix != ".msh" else "gmsh")


def load_result(path) -> tuple[Mesh, np.ndarray]:
    """Read a deformed result written by `save_result` (or any meshio file of triangles with a
    point field "u", "displacement" or "U"): (mesh, displacement (n, 2))."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise InputError(f"result file {str(path)!r} is a folder; give a .npz or mesh file")
    if not path.is_file():
        raise InputError(f"result file {str(path)!r} does not exist")
    mesh, u = _read_npz(path) if path.suffix == ".npz" else _read_meshio(path)
    if u.shape != np.shape(mesh.points):
        raise DataError(f"{path}: the displacement has shape {u.shape}, the points "
                        f"{np.shape(mesh.points)}")
    for name, values in (("coordinates", np.asarray(mesh.points)), ("displacement", u)):
        bad = np.nonzero(~np.isfinite(values).all(axis=1))[0]
        if bad.size:
            raise DataError(f"{path}: the {name} of node {bad[0]} are not finite "
                            f"({values[bad[0]].tolist()}; {bad.size} nodes in all)")
    return orient_cells(mesh), u


def _read_npz(path) -> tuple[Mesh, np.ndarray]:
    """(mesh, u) from a .npz of save_result; plain arrays only (never pickled objects)."""
    damaged = (f"{path}: not a readable result .npz (damaged, or not written by "
               "morphax.fabrication.save_result: it needs the arrays points, cells, cell_type, u)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("points", "cells", "cell_type", "u")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise DataError(damaged) from None
    try:
        cells = arrays["cells"]
        if not np.issubdtype(cells.dtype, np.integer):
            raise DataError(f"{path}: cells must be integers, got {cells.dtype}")
        mesh = Mesh(np.asarray(arrays["points"], dtype=float), cells, str(arrays["cell_type"]))
        return mesh, np.asarray(arrays["u"], dtype=float)
    except (TypeError, ValueError):
        raise DataError(damaged) from None


def _read_meshio(path) -> tuple[Mesh, np.ndarray]:
    """(mesh, u) from a meshio file of triangles with a point field u / displacement."""
    import meshio

    try:
        m = meshio.read(path)
    except (Exception, SystemExit):  # noqa: BLE001 (meshio raises many kinds, even exits)
        raise DataError(f"{path}: cannot read it as a mesh (damaged, or not a format meshio "
                        f"reads from the suffix {path.suffix or '(none)'!r})") from None
    blocks = [(c.type, c.data) for c in m.cells if c.type in ("triangle", "triangle6")]
    if len({t for t, _ in blocks}) != 1:
        raise DataError(f"{path}: needs triangle or triangle6 cells (one kind)")
    key = next((k for k in ("u", "displacement", "U", "Displacement") if k in m.point_data),
               None)
    if key is None:
        raise DataError(f"{path}: no point field u / displacement; it has "
                        f"{sorted(m.point_data)}")
    kind = {"triangle": "tri3", "triangle6": "tri6"}[blocks[0][0]]
    mesh = Mesh(np.asarray(m.points)[:, :2], np.concatenate([d for _, d in blocks]), kind)
    return mesh, np.asarray(m.point_data[key], dtype=float)[:, :2]
