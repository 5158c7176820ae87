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

Outer-side groups exist only where the cell next to that side holds material. The gmsh work
is in `_gmsh_mesh`, the snapping of pore nodes onto the exact curves in `_morph`.
"""

from __future__ import annotations

import numpy as np

from morphax._core import InputError
from morphax.physics import Mesh

from ._design import CellularSolid
from ._gmsh_mesh import MeshOptions
from ._morph import morphable_mesh


def mesh_design(design: CellularSolid, *, size: float | None = None, order: int = 1,
                options: MeshOptions | None = None, **kwargs) -> Mesh:
    """Mesh the material of a design with gmsh (headless, deterministic: the same design and
    options give the same arrays). Returns a tri3 (order 1) or tri6 (order 2) Mesh with the
    named groups listed in this module's docstring; pore boundary nodes lie on the exact
    pore curves. Options: see MeshOptions (size in mm)."""
    return morphable_mesh(design, size=size, order=order, options=options, **kwargs).mesh


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
