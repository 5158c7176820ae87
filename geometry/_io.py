"""Writing meshes with their named groups and PNG previews of the groups."""

from __future__ import annotations

import pathlib

import numpy as np

from morphax._core import new_figure, save_figure
from morphax.physics import Mesh, write_mesh


def write_mesh_groups(path, mesh: Mesh) -> pathlib.Path:
    """Write a mesh with every named group (the unions left/right/bottom/top/pores, their
    parts, cell regions and single nodes), atomically; returns the path. The same as
    `morphax.physics.write_mesh` (.msh, .vtu, .xdmf, .vtk), which says how groups are stored;
    `morphax.physics.read_mesh` reads them back."""
    return write_mesh(path, mesh)


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
