"""Writing meshes (gmsh .msh with named physical groups, or .vtu) and PNG previews."""

from __future__ import annotations

import pathlib

import numpy as np

from morphax._core import InputError, atomic_path, new_figure, save_figure
from morphax.physics import Mesh, write_vtu

_LINE = {"tri3": "line", "tri6": "line3"}


def write_mesh_groups(path, mesh: Mesh) -> pathlib.Path:
    """Write a 2-D triangle mesh with its named groups, atomically; returns the path.
    `morphax.physics.read_mesh` reads the groups back. .msh (gmsh 2.2 ASCII): each triangle once, in a
    physical group per region (cell_<i>_<j>, block_<k>, or "domain"), one line group per facet
    set (the unions left/right/bottom/top/pores are written as their parts) and one point
    group per node-only set, named as in the mesh. .vtu: the triangles with cell data
    "region" (0 porous, 1 solid, 2 large)."""
    import meshio

    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".msh", ".vtu"):
        raise InputError(f"cannot write a mesh as {suffix or 'a file without suffix'}; use "
                         ".msh or .vtu")
    pts = np.asarray(mesh.points, dtype=float)
    pts3 = np.column_stack([pts, np.zeros(len(pts))])
    tri_type = mesh.element.meshio_name
    cells = np.asarray(mesh.cells)
    if suffix == ".vtu":
        region = np.full(len(cells), -1, np.int64)
        for k, name in enumerate(("porous", "solid", "large")):
            region[mesh.cell_sets.get(name, np.zeros(0, np.int64))] = k
        return write_vtu(path, mesh, cell_data={"region": region})
    blocks, phys, field = [], [], {}
    tag = 0

    def add(kind, data, name, dim):
        nonlocal tag
        tag += 1
        blocks.append((kind, np.asarray(data)))
        phys.append(np.full(len(data), tag, np.int64))
        field[name] = np.array([tag, dim])

    regions = {k: v for k, v in mesh.cell_sets.items() if k.startswith(("cell_", "block_"))}
    covered = np.zeros(len(cells), bool)
    for name, ids in sorted(regions.items()):
        add(tri_type, cells[ids], name, 2)
        covered[ids] = True
    if not covered.all():
        add(tri_type, cells[~covered], "domain", 2)
    unions = {"left", "right", "bottom", "top", "pores"}
    for name, facets in sorted(mesh.facet_sets.items()):
        prefix = ("pore_", "large_pore_") if name == "pores" else (name + "_",)
        parts = [k for k in mesh.facet_sets if k.startswith(prefix)]
        if name in unions and parts:
            continue  # written as its parts (left_0, left_1, ... / pore_<i>_<j>)
        add(_LINE[mesh.cell_type], facets, name, 1)
    for name, nodes in sorted(mesh.node_sets.items()):
        if name not in mesh.facet_sets:
            add("vertex", np.asarray(nodes).reshape(-1, 1), name, 0)
    out = meshio.Mesh(pts3, blocks, cell_data={"gmsh:physical": phys,
                                               "gmsh:geometrical": phys},
                      field_data=field)
    with atomic_path(path) as tmp:
        meshio.write(tmp, out, file_format="gmsh22", binary=False)
    return path


def plot_mesh_groups(path, mesh: Mesh, *, title: str = "") -> pathlib.Path:
    """A PNG preview: triangles, pore boundaries (red), outer sides (blue), solid cell faces
    (green) and single-node sets (black dots)."""
    from matplotlib.collections import LineCollection

    pts = np.asarray(mesh.points, dtype=float)
    tri = np.asarray(mesh.cells)[:, :3]
    span = np.ptp(pts, axis=0)
    fig = new_figure(7, 7 * span[1] / max(span[0], 1e-9) + 0.5)
    ax = fig.subplots()
    ax.triplot(pts[:, 0], pts[:, 1], tri, lw=0.3, color="0.55")
    colors = {"pore": "tab:red", "large": "tab:red", "solid": "tab:green"}
    for name, facets in mesh.facet_sets.items():
        head = name.split("_")[0]
        if name in ("left", "right", "bottom", "top"):
            color = "tab:blue"
        elif head in colors and name != "pores":
            color = colors[head]
        else:
            continue
        ax.add_collection(LineCollection(pts[facets[:, :2]], colors=color, lw=1.2))
    singles = [v[0] for k, v in mesh.node_sets.items() if len(v) == 1]
    if singles:
        ax.plot(pts[singles, 0], pts[singles, 1], "k.", ms=4)
    ax.set_aspect("equal")
    ax.set_title(title or f"{mesh.n_cells} {mesh.cell_type} cells, {mesh.n_nodes} nodes",
                 fontsize=9)
    save_figure(fig, path)
    return path
