"""Part files: binary STL, 3MF (zip + XML, millimetres) and STEP (gmsh's OpenCASCADE kernel).
Readers are included so that written files can be checked and tested."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

import numpy as np

from ._solid import FabricationError, Solid

_STL_DTYPE = np.dtype([("normal", "<f4", (3,)), ("v", "<f4", (3, 3)), ("attr", "<u2")])


def stl_bytes(solid: Solid) -> bytes:
    """Binary STL of a solid (float32 coordinates, facet normals from the winding)."""
    v = solid.vertices[solid.faces]
    nrm = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-300)
    data = np.zeros(len(v), dtype=_STL_DTYPE)
    data["normal"] = nrm
    data["v"] = v
    header = b"morphax binary STL, units mm".ljust(80, b" ")
    return header + np.uint32(len(v)).tobytes() + data.tobytes()


def read_stl(path) -> Solid:
    """Read a binary STL as an indexed solid (vertices merged by exact coordinates)."""
    raw = open(path, "rb").read()
    if len(raw) < 84:
        raise FabricationError(f"{path}: too short for a binary STL")
    n = int(np.frombuffer(raw[80:84], "<u4")[0])
    if len(raw) != 84 + 50 * n:
        raise FabricationError(f"{path}: binary STL size does not match its {n} triangles")
    tri = np.frombuffer(raw[84:], dtype=_STL_DTYPE)["v"].astype(float).reshape(-1, 3)
    verts, inv = np.unique(tri, axis=0, return_inverse=True)
    return Solid(verts, inv.ravel().reshape(-1, 3))


def float32_solid(solid: Solid) -> Solid:
    """The solid with coordinates rounded as a binary STL stores them."""
    return Solid(solid.vertices.astype(np.float32).astype(float), solid.faces)


_NS = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="model" ContentType="application/'
    'vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>')


def threemf_bytes(solid: Solid, name: str = "morphax part") -> bytes:
    """A 3MF package (core spec, unit millimetre) holding one mesh object."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<model unit="millimeter" '
             f'xml:lang="en-US" xmlns="{_NS}">\n<metadata name="Title">'
             f'{_xml_escape(name)}</metadata>\n<metadata name="Application">morphax</metadata>\n'
             '<resources><object id="1" type="model"><mesh><vertices>\n']
    parts += [f'<vertex x="{x!r}" y="{y!r}" z="{z!r}"/>\n'
              for x, y, z in solid.vertices.tolist()]
    parts.append("</vertices><triangles>\n")
    parts += [f'<triangle v1="{a}" v2="{b}" v3="{c}"/>\n' for a, b, c in solid.faces.tolist()]
    parts.append('</triangles></mesh></object></resources>\n<build><item objectid="1"/></build>'
                 "\n</model>\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("3D/3dmodel.model", "".join(parts))
    return buf.getvalue()


def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def read_3mf(path) -> Solid:
    """Read the first mesh object of a 3MF file."""
    try:
        with zipfile.ZipFile(path) as z:
            root = ElementTree.fromstring(z.read("3D/3dmodel.model"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as err:
        raise FabricationError(f"{path}: not a readable 3MF file ({err})") from None
    if root.get("unit", "millimeter") != "millimeter":
        raise FabricationError(f"{path}: unit {root.get('unit')!r}, expected millimeter")
    mesh = root.find(f".//{{{_NS}}}mesh")
    verts = np.array([[float(v.get(k)) for k in "xyz"]
                      for v in mesh.find(f"{{{_NS}}}vertices")], dtype=float)
    faces = np.array([[int(t.get(k)) for k in ("v1", "v2", "v3")]
                      for t in mesh.find(f"{{{_NS}}}triangles")], dtype=np.int64)
    return Solid(verts, faces)


def face_area(gmsh, face: int, samples: int = 256, order: int = 8) -> float:
    """Area of a planar face from its boundary curves, 1/2 closed-integral (x dy - y dx),
    with Gauss-Legendre quadrature on `samples` pieces of each curve's parameter range.
    (OpenCASCADE's own mass integration is only ~1e-3 accurate on spline boundaries.)"""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    total = 0.0
    for _, c in gmsh.model.getBoundary([(2, face)], combined=False, oriented=True):
        lo, hi = gmsh.model.getParametrizationBounds(1, abs(c))
        edges = np.linspace(lo[0], hi[0], samples + 1)
        half = 0.5 * np.diff(edges)
        u = (0.5 * (edges[:-1] + edges[1:]))[:, None] + half[:, None] * nodes[None, :]
        w = (half[:, None] * weights[None, :]).ravel()
        xyz = np.asarray(gmsh.model.getValue(1, abs(c), u.ravel())).reshape(-1, 3)
        d = np.asarray(gmsh.model.getDerivative(1, abs(c), u.ravel())).reshape(-1, 3)
        total += np.sign(c) * 0.5 * float(np.sum(w * (xyz[:, 0] * d[:, 1]
                                                     - xyz[:, 1] * d[:, 0])))
    return abs(total)


def prism_volume(gmsh, volume: int) -> tuple[float, float]:
    """(volume, height) of a right prism along z (an extruded part): the area of its top face(s)
    times the height, after checking that bottom and top areas agree and that every other face
    spans the full height. FabricationError if the solid is not such a prism."""
    _, _, z0, _, _, z1 = gmsh.model.getBoundingBox(3, volume)
    pad = 1e-7   # OCC's bounding-box gap
    z0, z1 = z0 + pad, z1 - pad
    height = z1 - z0
    tol = 1e-5 * max(1.0, height)  # OCC pads bounding boxes by ~1e-7
    top = bottom = 0.0
    for _, f in gmsh.model.getBoundary([(3, volume)], combined=False, oriented=False):
        f = abs(f)
        _, _, fz0, _, _, fz1 = gmsh.model.getBoundingBox(2, f)
        if abs(fz1 - fz0) < tol and abs(fz0 - z1) < tol:
            top += face_area(gmsh, f)
        elif abs(fz1 - fz0) < tol and abs(fz0 - z0) < tol:
            bottom += face_area(gmsh, f)
        elif abs(fz0 - z0) > tol or abs(fz1 - z1) > tol:
            raise FabricationError("the STEP solid is not an extruded prism (a side face does "
                                   "not span the full height)")
    if not top > 0 or abs(top - bottom) > 1e-9 * top:
        raise FabricationError(f"the STEP solid's top and bottom areas differ ({top:.9g} vs "
                               f"{bottom:.9g} mm^2)")
    return top * height, height


def step_check(gmsh, path, expected_volume: float, rtol: float = 1e-6) -> dict:
    """Re-import a STEP file into a fresh OCC model (gmsh session given) and check it: at
    least one volume, every boundary edge shared by exactly two face uses (closed shells), a
    right prism whose volume (top area x height, boundary-integral areas) is positive and equal
    to the expected one to rtol. Returns the measured numbers."""
    gmsh.model.add("step_check")
    try:
        gmsh.model.occ.importShapes(str(path))
        gmsh.model.occ.synchronize()
        vols = gmsh.model.getEntities(3)
        if not vols:
            raise FabricationError(f"{path}: the STEP file holds no solid")
        volume = occ_volume = 0.0
        for _, v in vols:
            occ_volume += gmsh.model.occ.getMass(3, v)
            volume += prism_volume(gmsh, v)[0]
            uses: dict[int, int] = {}
            for _, f in gmsh.model.getBoundary([(3, v)], combined=False, oriented=False):
                for _, c in gmsh.model.getBoundary([(2, abs(f))], combined=False,
                                                   oriented=False):
                    uses[abs(c)] = uses.get(abs(c), 0) + 1
            odd = [c for c, k in uses.items() if k != 2]
            if odd:
                raise FabricationError(f"{path}: the shell of volume {v} is not closed "
                                       f"({len(odd)} edges not shared by exactly two faces)")
        err = abs(volume - expected_volume) / abs(expected_volume)
        if not volume > 0 or not err <= rtol:
            raise FabricationError(f"{path}: STEP volume {volume:.9g} mm^3 (OpenCASCADE: "
                                   f"{occ_volume:.9g}) differs from area x thickness = "
                                   f"{expected_volume:.9g} mm^3 by {err:.2e} (relative; allowed "
                                   f"{rtol:g})")
        return {"watertight": True, "solids": len(vols), "volume_mm3": volume,
                "expected_volume_mm3": expected_volume, "volume_rel_error": err,
                "occ_mass_volume_mm3": occ_volume}
    finally:
        gmsh.model.remove()


def step_volume(path) -> float:
    """Total volume (mm^3) of the extruded solids in a STEP file re-imported by gmsh (top area
    from boundary integrals x height; see `prism_volume`)."""
    from morphax._core import gmsh_session

    with gmsh_session("step_volume") as gmsh:
        gmsh.model.occ.importShapes(str(path))
        gmsh.model.occ.synchronize()
        return float(sum(prism_volume(gmsh, v)[0] for _, v in gmsh.model.getEntities(3)))
