"""Mesh input (any meshio format with named groups; geometry files meshed with gmsh: see
`morphax.physics._cad`) and output (.msh, .vtu, .xdmf, ... with every named group; VTU results;
PNG pictures drawn with matplotlib).

How named groups are stored (`write_mesh`, read back by `read_mesh`):

* gmsh .msh (version 2.2 ASCII): one physical group per cell set (dimension d), facet set
  (d - 1) and node-only set (points), named as in the mesh. An element in several groups is
  written once per group (what gmsh itself does); `read_mesh` merges such duplicate cells.
* other formats (.vtu, .xdmf, .vtk): the cells only, with int32 arrays: cell data
  "cells:NAME" (1 for the cells of a cell set), cell data "facets:NAME" (bit f, value 2**f,
  set when the cell's local facet f, in `Element.local_facets` order, is in the facet set;
  each facet is stored on one cell that has it) and point data "nodes:NAME" (1 for the nodes
  of a node-only set). In ParaView, threshold "cells:NAME" or "nodes:NAME" at 1 (facets:
  above 0, the cells along that boundary) to see a group.
* meshio cell sets (e.g. from Abaqus or MED files) are read as groups too.
"""

from __future__ import annotations

import contextlib
import io
import pathlib

import numpy as np
from jaxtyping import ArrayLike, Float

from morphax._core import DataError, InputError, MeshError, atomic_path, new_figure, save_figure

from ._cad import GEOMETRY_SUFFIXES, mesh_geometry
from ._elements import element
from ._mesh import Mesh, _local_facet_nodes, check_finite_points, orient_cells

_FACET_OF = {"tri3": "line2", "tri6": "line3", "quad4": "line2", "tet4": "tri3", "tet10": "tri6",
             "hex8": "quad4"}
_SUPPORTED = {"line": "line2", "line3": "line3", "triangle": "tri3", "triangle6": "tri6",
              "quad": "quad4", "tetra": "tet4", "tetra10": "tet10", "hexahedron": "hex8",
              "vertex": "vertex"}
CELLS, FACETS, NODES = "cells:", "facets:", "nodes:"   # group array prefixes
#: suffixes `write_mesh` stores every named group in
MESH_FORMATS = (".msh", ".vtu", ".xdmf", ".vtk")


def read_mesh(path, *, size: float | None = None, order: int | None = None) -> Mesh:
    """Read a mesh file, or mesh a geometry file with gmsh.

    Mesh files (.msh, .vtu, .xdmf, any meshio format): physical groups (gmsh), the group
    arrays of `write_mesh` (see this module's docstring) or meshio cell sets become named cell
    sets (cells of
    the top dimension), facet sets (one dimension lower) and node sets (points). Unused nodes
    are dropped, duplicate cells merged and planar cells oriented counter-clockwise.

    Geometry files: STEP/IGES/BREP (.step, .stp, .iges, .igs, .brep), closed STL surfaces
    (.stl) and DXF outlines (.dxf, needs the ezdxf package) are meshed with gmsh, `size` the
    target element size (file units; default 1/20 of the bounding-box diagonal) and `order`
    1 (tet4/tri3, the default) or 2 (tet10/tri6). Groups: see `morphax.physics._cad`.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise InputError(f"mesh file {str(path)!r} does not exist")
    if path.is_dir():
        raise InputError(f"mesh file {str(path)!r} is a folder; give a mesh file")
    if path.suffix.lower() in GEOMETRY_SUFFIXES:
        raw = mesh_geometry(path, size=size, order=1 if order is None else order)
        try:
            return from_meshio(raw)
        except MeshError as err:
            raise MeshError(f"{path.name}: {err}", err.cells) from None
    if size is not None or order is not None:
        raise InputError(f"size and order are for geometry files ({', '.join(GEOMETRY_SUFFIXES)}); "
                         f"{path.name!r} is already a mesh (elevate a P1 mesh with "
                         "morphax.physics.elevate)")
    return _read_mesh_file(path)


def _read_mesh_file(path) -> Mesh:
    import meshio

    try:
        with contextlib.redirect_stdout(io.StringIO()):   # meshio's gmsh reader prints
            raw = meshio.read(path)
    except ImportError as err:   # meshio's XDMF and MED readers need h5py
        raise InputError(f"reading {path.name} needs the {err.name} package: pip install "
                         f"{err.name} (or write the mesh as .msh or .vtu)") from None
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
    for name, values in raw.point_data.items():
        if name.startswith(NODES):
            node_sets.setdefault(name[len(NODES):], []).append(
                np.nonzero(np.asarray(values).ravel())[0])
    local = _local_facet_nodes(element(cell_type))
    for key, per_block in raw.cell_data.items():
        if key.startswith(FACETS):
            for (kind, data), bits in zip(blocks, per_block, strict=True):
                if kind == cell_type:
                    bits = np.asarray(bits, dtype=np.int64).ravel()
                    has = (bits[:, None] >> np.arange(len(local))) & 1
                    c, f = np.nonzero(has)
                    facet_sets.setdefault(key[len(FACETS):], []).append(
                        data[c[:, None], local[f]])
    cells, cell_sets = _merge_duplicates(np.concatenate(cells),
                                         {k: np.concatenate(v) for k, v in cell_sets.items()})
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
                             cell_sets=cell_sets))


def _merge_duplicates(cells, cell_sets):
    """Cells that appear more than once (an element in several gmsh physical groups is written
    once per group) kept once, in order of first appearance; cell sets renumbered."""
    keys = np.sort(cells, axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    if first.size == len(cells):
        return cells, cell_sets
    keep = np.sort(first)
    new_index = np.empty(first.size, np.int64)
    new_index[np.argsort(first)] = np.arange(first.size)
    old_to_new = new_index[inverse.ravel()]
    return cells[keep], {k: np.unique(old_to_new[v]) for k, v in cell_sets.items()}


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
    for key, per_block in raw.cell_data.items():
        if key.startswith(CELLS):
            for i, values in enumerate(per_block):
                mask = np.asarray(values).ravel() != 0
                if mask.any():
                    out[i][key[len(CELLS):]] = mask
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
    """Write a mesh with every named cell, facet and node set, atomically, in the format of the
    suffix: .msh (gmsh 2.2 physical groups), .vtu, .xdmf (XML data in one file; meshio's XDMF
    code needs the h5py package) or .vtk (group arrays); this module's docstring says how.
    `read_mesh` reads them back. Empty groups are not written."""
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_FORMATS:
        raise InputError(f"cannot write the mesh groups to {path.name!r}; use a name ending in "
                         f"{', '.join(MESH_FORMATS)}")
    with atomic_path(path) as tmp:
        if suffix == ".msh":
            _with_physical_groups(mesh).write(tmp, file_format="gmsh22", binary=False)
        elif suffix == ".xdmf":
            import meshio

            try:
                meshio.xdmf.write(tmp, _with_group_arrays(mesh), data_format="XML")
            except ImportError:
                raise InputError("writing .xdmf needs the h5py package (pip install h5py); or "
                                 "write .vtu or .msh") from None
        else:
            _with_group_arrays(mesh).write(tmp, file_format=suffix[1:])
    return path


def _node_only_sets(mesh: Mesh) -> dict[str, np.ndarray]:
    return {k: v for k, v in mesh.node_sets.items() if k not in mesh.facet_sets}


def _with_physical_groups(mesh: Mesh):
    """A meshio.Mesh whose blocks carry gmsh physical tags for every named set (cells in
    several sets repeated once per set; cells in none in the group "domain")."""
    import meshio

    dim = mesh.dim
    blocks, tags, field_data = [], [], {}

    def add(kind, data, name, d):
        field_data[name] = np.array([len(field_data) + 1, d])
        blocks.append((kind, np.asarray(data)))
        tags.append(np.full(len(data), len(field_data)))

    covered = np.zeros(mesh.n_cells, dtype=bool)
    for name, idx in sorted(mesh.cell_sets.items()):
        if len(idx):
            add(mesh.element.meshio_name, mesh.cells[idx], name, dim)
            covered[idx] = True
    if not covered.all():
        add(mesh.element.meshio_name, mesh.cells[~covered], "domain", dim)
    facet_name = element(mesh.element.facet).meshio_name
    for name, facets in sorted(mesh.facet_sets.items()):
        add(facet_name, facets, name, dim - 1)
    for name, nodes in sorted(_node_only_sets(mesh).items()):
        add("vertex", np.asarray(nodes)[:, None], name, 0)
    return meshio.Mesh(_pad3(np.asarray(mesh.points)), blocks, field_data=field_data,
                       cell_data={"gmsh:physical": tags, "gmsh:geometrical": tags})


def _with_group_arrays(mesh: Mesh):
    """A meshio.Mesh of the cells with int32 cell data "cells:NAME" (0/1) per cell set,
    "facets:NAME" (bit f set: the cell's local facet f is in the set) per facet set, and point
    data "nodes:NAME" (0/1) per node-only set."""
    import meshio

    local = _local_facet_nodes(mesh.element)
    nc = len(mesh.element.local_facets[0])
    keys = np.sort(mesh.cells[:, local[:, :nc]], axis=2).reshape(-1, nc)
    slot = {tuple(k): i for i, k in reversed(list(enumerate(keys.tolist())))}   # first owner
    cell_data = {}
    for name, idx in sorted(mesh.cell_sets.items()):
        mask = np.zeros(mesh.n_cells, np.int32)
        mask[idx] = 1
        cell_data[CELLS + name] = [mask]
    for name, facets in sorted(mesh.facet_sets.items()):
        where = np.array([slot[tuple(k)] for k in np.sort(facets[:, :nc], axis=1).tolist()],
                         dtype=np.int64)
        bits = np.zeros(mesh.n_cells, np.int32)
        np.bitwise_or.at(bits, where // len(local), (1 << (where % len(local))).astype(np.int32))
        cell_data[FACETS + name] = [bits]
    point_data = {}
    for name, nodes in sorted(_node_only_sets(mesh).items()):
        mask = np.zeros(mesh.n_nodes, np.int32)
        mask[nodes] = 1
        point_data[NODES + name] = mask
    return meshio.Mesh(_pad3(np.asarray(mesh.points)),
                       [(mesh.element.meshio_name, np.asarray(mesh.cells))],
                       cell_data=cell_data, point_data=point_data)


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
             field: Float[ArrayLike, " n_or_m"] | None = None, label: str = "", title: str = "",
             length_unit: str = "", deformed: bool = True, scale: float = 1.0) -> pathlib.Path:
    """A picture of the mesh (PNG, or the format of the suffix; atomic write), displaced by `u`
    (n, d) times `scale` when `deformed`, coloured by `field` ((n,) point values, (m,) cell
    values, or |u| by default) with a colour bar titled `label` (name and unit, e.g.
    "von Mises stress [MPa]"). Axes in `length_unit`, equal aspect, the figure sized to the
    body. 2-D meshes are drawn flat; 3-D meshes as their boundary faces seen in perspective."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    x = np.asarray(mesh.points, dtype=float)
    if u is not None:
        u = np.asarray(u, dtype=float).reshape(mesh.n_nodes, -1)
        if deformed and u.shape[1] == mesh.dim:
            x = x + scale * u
        if field is None:
            field = np.linalg.norm(u, axis=1)
            label = label or ("displacement |u|" if u.shape[1] > 1 else "u")
    if field is not None:
        field = np.asarray(field, dtype=float).ravel()
        if field.size not in (mesh.n_nodes, mesh.n_cells):
            raise InputError(f"field has {field.size} values; give one per node ({mesh.n_nodes}) "
                             f"or per cell ({mesh.n_cells})")
    unit = f" [{length_unit}]" if length_unit else ""
    span = np.ptp(x, axis=0)
    if mesh.dim == 2:
        aspect = span[1] / max(span[0], 1e-12)
        width = 7.0
        fig = new_figure(width, min(max(width * aspect * 0.8 + 1.1, 2.5), 10.0))
        ax = fig.subplots()
        artist = _draw_2d(ax, mesh, x, field)
        ax.set_aspect("equal")
        ax.set_xlabel("x" + unit)
        ax.set_ylabel("y" + unit)
        ax.margins(0.01)
    else:
        fig = new_figure(7.0, 4.6)
        ax = fig.add_subplot(projection="3d")
        artist = _draw_3d(ax, mesh, x, field)
        ax.set_box_aspect(np.maximum(span, 0.15 * span.max()), zoom=1.0)
        for axis, name in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), "xyz", strict=True):
            axis(name + unit)
        ax.locator_params(nbins=4)
        ax.view_init(elev=30, azim=-60)
    if field is not None:
        mappable = artist if mesh.dim == 2 else ScalarMappable(
            Normalize(field.min(), field.max()), cmap="viridis")
        fig.colorbar(mappable, ax=ax, label=label or "field", aspect=30,
                     **({"shrink": 0.7, "pad": 0.12} if mesh.dim == 3 else {}))
    ax.set_title(title or f"{mesh.n_cells} {mesh.cell_type} cells, {mesh.n_nodes} nodes"
                 + (f", deformation x {scale:g}" if u is not None and deformed and scale != 1 else ""),
                 fontsize=10)
    return save_figure(fig, path, dpi=130)


def _triangles(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """(corner triangles (t, 3), the cell of each) of a 2-D mesh: quads split in two."""
    cells = np.asarray(mesh.cells)
    if mesh.element.simplex:
        return cells[:, :3], np.arange(mesh.n_cells)
    tri = np.concatenate([cells[:, [0, 1, 2]], cells[:, [0, 2, 3]]])
    return tri, np.tile(np.arange(mesh.n_cells), 2)


def _draw_2d(ax, mesh: Mesh, x, field):
    tri, owner = _triangles(mesh)
    edges = dict(edgecolors="0.3", linewidth=0.15) if mesh.n_cells < 4000 else {}
    if field is None:
        return ax.triplot(x[:, 0], x[:, 1], tri, color="0.35", lw=0.3)
    if field.size == mesh.n_nodes:
        artist = ax.tripcolor(x[:, 0], x[:, 1], tri, field, shading="gouraud", cmap="viridis")
        if edges:
            ax.triplot(x[:, 0], x[:, 1], tri, color="0.3", lw=0.15, alpha=0.5)
        return artist
    return ax.tripcolor(x[:, 0], x[:, 1], tri, facecolors=field[owner], cmap="viridis", **edges)


def _draw_3d(ax, mesh: Mesh, x, field):
    from matplotlib import colormaps
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    from ._mesh import boundary_facets, facet_cells

    faces = boundary_facets(mesh)
    corners = faces[:, : len(mesh.element.local_facets[0])]
    if field is None:
        colors = "lightsteelblue"
    else:
        values = (field[corners].mean(axis=1) if field.size == mesh.n_nodes
                  else field[facet_cells(mesh, faces)])
        lo, hi = field.min(), field.max()
        colors = colormaps["viridis"]((values - lo) / (hi - lo if hi > lo else 1.0))
    poly = Poly3DCollection(x[corners], facecolors=colors, edgecolors="0.25",
                            linewidths=0.1 if len(faces) < 20000 else 0.0, shade=True)
    ax.add_collection3d(poly)
    lo, hi = x.min(axis=0), x.max(axis=0)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), zlim=(lo[2], hi[2]))
    return poly
