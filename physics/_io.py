"""Mesh input (any meshio format, gmsh .msh with physical groups) and result output
(VTU through meshio, PNG pictures through off-screen pyvista)."""

from __future__ import annotations

import contextlib
import io
import os
import pathlib

import numpy as np
from jaxtyping import ArrayLike, Float

from morphax._core import DataError, InputError, MeshError, atomic_path

from ._elements import element
from ._mesh import Mesh, check_finite_points, orient_cells

_FACET_OF = {"tri3": "line2", "tri6": "line3", "quad4": "line2", "tet4": "tri3", "hex8": "quad4"}
_SUPPORTED = {"line": "line2", "line3": "line3", "triangle": "tri3", "triangle6": "tri6",
              "quad": "quad4", "tetra": "tet4", "hexahedron": "hex8", "vertex": "vertex"}


def read_mesh(path) -> Mesh:
    """Read a mesh file. Physical groups (gmsh) or cell sets (other formats) become named cell
    sets (cells of the top dimension), facet sets (one dimension lower) and node sets (points).
    Unused nodes are dropped and planar cells are oriented counter-clockwise."""
    import meshio

    path = pathlib.Path(path)
    if not path.exists():
        raise InputError(f"mesh file {str(path)!r} does not exist")
    if path.is_dir():
        raise InputError(f"mesh file {str(path)!r} is a folder; give a mesh file")
    try:
        with contextlib.redirect_stdout(io.StringIO()):   # meshio's gmsh reader prints
            raw = meshio.read(path)
    except (Exception, SystemExit):  # meshio raises many types (even exits) on bad files
        raise DataError(f"cannot read mesh {str(path)!r}: it is damaged, truncated or not a "
                        f"mesh format meshio reads from its suffix {path.suffix or '(none)'!r}; "
                        "re-export it (gmsh: File > Export, .msh version 2 or 4)") from None
    try:
        check_finite_points(raw.points)
        return from_meshio(raw)
    except MeshError as err:
        raise MeshError(f"mesh {str(path)!r}: {err}", err.cells) from None


def from_meshio(raw) -> Mesh:
    """A morphax Mesh from a meshio.Mesh (see `read_mesh`)."""
    blocks = [(_SUPPORTED.get(b.type), np.asarray(b.data)) for b in raw.cells]
    cell_types = {t for t, _ in blocks if t and t not in ("vertex", "line2", "line3")}
    if not cell_types:
        raise MeshError("the mesh has no supported cells (triangles, quads, tetrahedra, hexahedra)")
    top = max(element(t).dim for t in cell_types)
    kinds = sorted(t for t in cell_types if element(t).dim == top)
    if len(kinds) > 1:
        raise MeshError(f"mixed {'/'.join(kinds)} meshes are not supported; mesh with one cell type")
    cell_type = kinds[0]
    facet_type = _FACET_OF[cell_type]
    tags = _block_tags(raw)
    cells, facet_sets, cell_sets, node_sets = [], {}, {}, {}
    offset = 0
    for i, (kind, data) in enumerate(blocks):
        if kind == cell_type:
            for name, mask in tags[i].items():
                cell_sets.setdefault(name, []).append(np.nonzero(mask)[0] + offset)
            cells.append(data)
            offset += len(data)
        elif kind == facet_type:
            for name, mask in tags[i].items():
                facet_sets.setdefault(name, []).append(data[mask])
        elif kind == "vertex":
            for name, mask in tags[i].items():
                node_sets.setdefault(name, []).append(data[mask].ravel())
    cells = np.concatenate(cells)
    used = np.unique(cells)
    renumber = np.full(len(raw.points), -1, dtype=np.int64)
    renumber[used] = np.arange(used.size)
    points = np.asarray(raw.points, dtype=float)[used]
    if top == 2 and points.shape[1] == 3:
        if np.ptp(points[:, 2]) > 1e-12 * max(1.0, np.ptp(points[:, :2])):
            raise MeshError("the 2-D mesh is not planar in z; morphax meshes surfaces in the xy-plane")
        points = points[:, :2]

    def remap(a):
        out = renumber[a]
        if (out < 0).any():
            raise MeshError("a named group refers to nodes that no cell uses")
        return out

    return orient_cells(Mesh(points, remap(cells), cell_type,
                             node_sets={k: remap(np.concatenate(v)) for k, v in node_sets.items()},
                             facet_sets={k: remap(np.concatenate(v)) for k, v in facet_sets.items()},
                             cell_sets={k: np.concatenate(v) for k, v in cell_sets.items()}))


def _block_tags(raw) -> list[dict[str, np.ndarray]]:
    """Per cell block: name -> bool mask of the block's cells in that group."""
    out = [{} for _ in raw.cells]
    phys = raw.cell_data.get("gmsh:physical")
    if phys is not None and raw.field_data:
        names = {(int(v[1]), int(v[0])): k for k, v in raw.field_data.items()}
        for i, block in enumerate(raw.cells):
            dim = {"vertex": 0, "line": 1, "line3": 1, "triangle": 2, "triangle6": 2,
                   "quad": 2}.get(block.type, 3)
            for tag in np.unique(phys[i]):
                name = names.get((dim, int(tag)))
                if name is not None:
                    out[i][name] = np.asarray(phys[i]) == tag
    for name, per_block in (raw.cell_sets or {}).items():
        if name.startswith("gmsh:"):
            continue
        for i, idx in enumerate(per_block):
            if idx is not None and len(idx) and name not in out[i]:
                mask = np.zeros(len(raw.cells[i].data), dtype=bool)
                mask[np.asarray(idx)] = True
                out[i][name] = mask
    return out


def to_meshio(mesh: Mesh, point_data=None, cell_data=None):
    """A meshio.Mesh with 3-D points and vectors (2-D vectors padded with a zero z for ParaView)."""
    import meshio

    points = _pad3(np.asarray(mesh.points))
    pd = {k: _pad_vectors(np.asarray(v), mesh.dim) for k, v in (point_data or {}).items()}
    cd = {k: [_pad_vectors(np.asarray(v), mesh.dim)] for k, v in (cell_data or {}).items()}
    return meshio.Mesh(points, [(mesh.element.meshio_name, np.asarray(mesh.cells))],
                       point_data=pd, cell_data=cd)


def write_vtu(path, mesh: Mesh, point_data: dict[str, Float[ArrayLike, "n ..."]] | None = None,
              cell_data: dict[str, Float[ArrayLike, "m ..."]] | None = None) -> pathlib.Path:
    """Write mesh and fields to a .vtu file atomically; returns the path.
    point_data: name -> (n,) or (n, c); cell_data: name -> (m,), (m, c) or (m, c, d)."""
    path = pathlib.Path(path)
    if path.suffix != ".vtu":
        raise InputError(f"write_vtu writes .vtu files, got {path.name!r}")
    m = to_meshio(mesh, point_data, cell_data)
    with atomic_path(path) as tmp:
        m.write(tmp, file_format="vtu")
    return path


def write_mesh(path, mesh: Mesh) -> pathlib.Path:
    """Write a mesh in the format of the suffix (.msh, .vtu, .xdmf, ...) atomically. In gmsh
    files the named cell, facet and node sets become physical groups (read back by read_mesh)."""
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".msh":
            _with_groups(mesh).write(tmp, file_format="gmsh22", binary=False)
        else:
            to_meshio(mesh).write(tmp)
    return path


def _with_groups(mesh: Mesh):
    """A meshio.Mesh whose blocks carry gmsh physical tags for every named set."""
    import meshio

    dim = mesh.dim
    blocks, tags, field_data = [], [], {}
    cell_tag = np.zeros(mesh.n_cells, dtype=int)
    for name, idx in sorted(mesh.cell_sets.items()):
        field_data[name] = np.array([len(field_data) + 1, dim])
        cell_tag[idx] = len(field_data)
    if not mesh.cell_sets:
        field_data["domain"] = np.array([1, dim])
        cell_tag[:] = 1
    for tag in np.unique(cell_tag):
        blocks.append((mesh.element.meshio_name, mesh.cells[cell_tag == tag]))
        tags.append(np.full((cell_tag == tag).sum(), tag))
    facet_name = element(mesh.element.facet).meshio_name
    for name, facets in sorted(mesh.facet_sets.items()):
        field_data[name] = np.array([len(field_data) + 1, dim - 1])
        blocks.append((facet_name, facets))
        tags.append(np.full(len(facets), len(field_data)))
    for name, nodes in sorted(mesh.node_sets.items()):
        if name not in mesh.facet_sets:
            field_data[name] = np.array([len(field_data) + 1, 0])
            blocks.append(("vertex", nodes[:, None]))
            tags.append(np.full(len(nodes), len(field_data)))
    return meshio.Mesh(_pad3(np.asarray(mesh.points)), blocks, field_data=field_data,
                       cell_data={"gmsh:physical": tags, "gmsh:geometrical": tags})


def _pad3(points):
    if points.shape[1] == 3:
        return points
    return np.concatenate([points, np.zeros((len(points), 3 - points.shape[1]))], axis=1)


def _pad_vectors(v, dim):
    if dim == 2 and v.ndim == 2 and v.shape[1] == 2:
        return _pad3(v)
    if dim == 2 and v.ndim == 3 and v.shape[1:] == (2, 2):   # 2x2 tensors -> 3x3, flattened
        out = np.zeros((len(v), 3, 3))
        out[:, :2, :2] = v
        return out.reshape(len(v), 9)
    if v.ndim == 3:
        return v.reshape(len(v), -1)
    return v


def plot_png(path, mesh: Mesh, u: Float[ArrayLike, "n c"] | None = None, *,
             field: Float[ArrayLike, " n_or_m"] | None = None, label: str = "", deformed: bool = True,
             scale: float = 1.0, window_size=(1000, 800)) -> pathlib.Path:
    """An off-screen picture of the mesh, displaced by `u` (n, d) when `deformed`, coloured by
    `field` ((n,) point values, (m,) cell values, or |u| by default). Atomic write."""
    import pyvista as pv

    path = pathlib.Path(path)
    grid = pv.from_meshio(to_meshio(mesh))
    if u is not None:
        u = np.asarray(u).reshape(mesh.n_nodes, -1)
        if deformed and u.shape[1] == mesh.dim:
            grid.points = grid.points + scale * _pad3(u)
        if field is None:
            field = np.linalg.norm(u, axis=1)
            label = label or ("|u|" if u.shape[1] > 1 else "u")
    with _headless_vtk():
        plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
        if field is not None:
            field = np.asarray(field).ravel()
            name = label or "field"
            if field.size == mesh.n_nodes:
                grid.point_data[name] = field
            else:
                grid.cell_data[name] = field
            plotter.add_mesh(grid, scalars=name, show_edges=mesh.n_cells < 20000, cmap="viridis",
                             scalar_bar_args={"title": name})
        else:
            plotter.add_mesh(grid, show_edges=True, color="lightsteelblue")
        if mesh.dim == 2:
            plotter.view_xy()
        else:
            plotter.view_isometric()
        with atomic_path(path) as tmp:
            plotter.screenshot(str(tmp))
        plotter.close()
    return path


@contextlib.contextmanager
def _headless_vtk():
    """Without a display, VTK renders through EGL: its factory reads VTK_DEFAULT_OPENGL_WINDOW
    when a window is made. Set only for that while, then the environment is as it was."""
    key = "VTK_DEFAULT_OPENGL_WINDOW"
    if os.environ.get("DISPLAY") or key in os.environ:
        yield
        return
    os.environ[key] = "vtkEGLRenderWindow"
    try:
        yield
    finally:
        os.environ.pop(key, None)
