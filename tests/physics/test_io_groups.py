"""Named groups survive every mesh format `write_mesh` offers, and geometry files (STEP, BREP,
STL, DXF) are meshed with their groups."""

import numpy as np
import pytest

from morphax import physics as mp
from morphax._core import gmsh_session
from morphax.physics._io import MESH_FORMATS


def _groups(mesh) -> dict:
    """Every non-empty group as sorted coordinates: cell and facet centroids, node positions
    (independent of node, cell and facet numbering and of facet orientation)."""
    x = np.asarray(mesh.points)
    out = {}
    for name, idx in mesh.cell_sets.items():
        if len(idx):
            out["cells:" + name] = sorted(map(tuple, x[mesh.cells[idx]].mean(1).round(9).tolist()))
    for name, f in mesh.facet_sets.items():
        out["facets:" + name] = sorted(map(tuple, x[f].mean(1).round(9).tolist()))
    for name, v in mesh.node_sets.items():
        out["nodes:" + name] = sorted(map(tuple, x[v].round(9).tolist()))
    return out


def _with_overlapping_groups(mesh):
    """Overlapping cell sets, facet sets and their union, an interior facet set and a node-only
    set, like the groups `morphax mesh` writes (left_0 and left, cell_0_0 and porous, ...)."""
    x = np.asarray(mesh.points)
    centre = x[mesh.cells].mean(1)
    cells = {"low": np.nonzero(centre[:, 1] < 0.5)[0], "all": np.arange(mesh.n_cells)}
    facets = dict(mesh.facet_sets)
    facets["outer"] = np.concatenate([facets["bottom"], facets["right"], facets["top"]])
    boundary = {tuple(sorted(f)) for f in mp.boundary_facets(mesh)[:, :2].tolist()}
    local = mesh.cells[:, [0, 1]] if mesh.dim == 2 else None
    inner = [c for c, f in zip(mesh.cells, local.tolist(), strict=True)
             if tuple(sorted(f)) not in boundary][:3]
    facets["inner"] = np.array([[c[0], c[1], c[3]] for c in inner]) if mesh.cell_type == "tri6" \
        else np.array([c[:2] for c in inner])
    nodes = {"corner": np.array([0]), "pair": np.array([1, mesh.n_nodes - 1])}
    return mp.Mesh(mesh.points, mesh.cells, mesh.cell_type, node_sets=nodes, facet_sets=facets,
                   cell_sets=cells)


@pytest.mark.parametrize("suffix", MESH_FORMATS)
@pytest.mark.parametrize("cell_type", ["tri3", "tri6"])
def test_every_group_round_trips(tmp_path, suffix, cell_type):
    mesh = _with_overlapping_groups(mp.rectangle(3, 2, cell_type))
    back = mp.read_mesh(mp.write_mesh(tmp_path / f"m{suffix}", mesh))
    assert back.n_cells == mesh.n_cells and back.cell_type == cell_type
    assert _groups(back) == _groups(mesh)


def test_3d_groups_round_trip(tmp_path):
    mesh = mp.box(2, 1, 1, "tet4")
    mesh = mp.Mesh(mesh.points, mesh.cells, "tet4", facet_sets=dict(mesh.facet_sets),
                   node_sets={"origin": np.array([0])},
                   cell_sets={"first": np.arange(6), "all": np.arange(mesh.n_cells)})
    for suffix in (".msh", ".vtu"):
        back = mp.read_mesh(mp.write_mesh(tmp_path / f"b{suffix}", mesh))
        assert _groups(back) == _groups(mesh)


def test_unknown_mesh_suffix_is_refused(tmp_path):
    with pytest.raises(mp.InputError, match=r"\.msh, \.vtu"):
        mp.write_mesh(tmp_path / "m.stl", mp.rectangle(1, 1))
    with pytest.raises(mp.InputError, match="geometry files"):
        mp.read_mesh(mp.write_mesh(tmp_path / "m.vtu", mp.rectangle(1, 1)), size=0.1)


def _bar_with_hole(path, *, surface_mesh=None):
    """A 4 x 2 x 1 bar with a radius-0.5 hole along z, written by gmsh's OpenCASCADE."""
    with gmsh_session("test-cad") as gmsh:
        occ = gmsh.model.occ
        occ.cut([(3, occ.addBox(0, 0, 0, 4, 2, 1))], [(3, occ.addCylinder(2, 1, 0, 0, 0, 1, 0.5))])
        occ.synchronize()
        if surface_mesh:
            gmsh.option.setNumber("Mesh.MeshSizeMax", surface_mesh)
            gmsh.model.mesh.generate(2)
        from morphax.physics._cad import quiet_stdout

        with quiet_stdout():
            gmsh.write(str(path))
    return path


def _volume(mesh):
    x = np.asarray(mesh.points)[mesh.cells[:, :4]]
    return np.abs(np.linalg.det(x[:, 1:] - x[:, :1])).sum() / 6.0


def test_step_part_is_meshed_with_groups(tmp_path):
    step = _bar_with_hole(tmp_path / "bar.step")
    mesh = mp.read_mesh(step, size=0.5)
    assert mesh.cell_type == "tet4" and mesh.dim == 3
    assert {"boundary", "xmin", "xmax", "ymin", "ymax", "zmin", "zmax"} <= set(mesh.facet_sets)
    assert set(mesh.cell_sets) == {"volume_1"}
    x = np.asarray(mesh.points)
    np.testing.assert_allclose(x[mesh.node_sets["xmin"], 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(x[mesh.node_sets["zmax"], 2], 1.0, atol=1e-12)
    area = 0.5 * np.linalg.norm(np.cross(*(x[mesh.facet_sets["xmin"][:, 1:]] -
                                          x[mesh.facet_sets["xmin"][:, :1]]).transpose(1, 0, 2)),
                                axis=1).sum()
    assert area == pytest.approx(2.0, rel=1e-12)           # the flat end face is exact
    exact = 8.0 - np.pi * 0.25
    assert _volume(mesh) == pytest.approx(exact, rel=2e-2) and _volume(mesh) > exact   # inscribed hole
    faces = [k for k in mesh.facet_sets if k.startswith("surface_")]
    assert len(faces) == 7                                 # 6 box faces + the hole


@pytest.mark.slow
def test_step_part_of_second_order(tmp_path):
    quadratic = mp.read_mesh(_bar_with_hole(tmp_path / "bar.brep"), size=1.0, order=2)
    assert quadratic.cell_type == "tet10" and quadratic.facet_sets["xmax"].shape[1] == 6
    quadratic.check()
    x = np.asarray(quadratic.points)
    mid = x[quadratic.facet_sets["surface_7"][:, 3:]]      # mid-edge nodes on the hole
    np.testing.assert_allclose(np.linalg.norm(mid[..., :2] - [2.0, 1.0], axis=-1), 0.5, rtol=1e-6)


def test_closed_stl_is_volume_meshed_and_open_stl_refused(tmp_path):
    stl = _bar_with_hole(tmp_path / "bar.stl", surface_mesh=0.4)
    mesh = mp.read_mesh(stl, size=0.4)
    assert mesh.cell_type == "tet4" and {"xmin", "zmax", "boundary"} <= set(mesh.facet_sets)
    assert _volume(mesh) == pytest.approx(8.0 - np.pi * 0.25, rel=3e-2)
    lines = stl.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("facet"))
    del lines[start:start + 7]                             # drop one triangle: a hole
    (tmp_path / "open.stl").write_text("\n".join(lines) + "\n")
    with pytest.raises(mp.MeshError, match="not a closed surface: 3 edges bound only one"):
        mp.read_mesh(tmp_path / "open.stl")


@pytest.mark.slow
def test_flat_step_face_gives_a_plane_mesh(tmp_path):
    with gmsh_session("test-face") as gmsh:
        occ = gmsh.model.occ
        occ.cut([(2, occ.addRectangle(0, 0, 0, 3, 1))], [(2, occ.addDisk(1.5, 0.5, 0, 0.25, 0.25))])
        occ.synchronize()
        from morphax.physics._cad import quiet_stdout

        with quiet_stdout():
            gmsh.write(str(tmp_path / "face.step"))
    mesh = mp.read_mesh(tmp_path / "face.step", size=0.2, order=2)
    assert mesh.cell_type == "tri6" and mesh.dim == 2
    assert {"xmin", "xmax", "ymin", "ymax", "boundary"} <= set(mesh.facet_sets)
    mesh.check()


def test_dxf_outline_with_hole(tmp_path):
    ezdxf = pytest.importorskip("ezdxf")
    doc = ezdxf.new()
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (4, 0), (4, 2), (0, 2)], close=True, dxfattribs={"layer": "edge"})
    msp.add_circle((2, 1), 0.5, dxfattribs={"layer": "bolt"})
    msp.add_line((5, 5), (6, 6))                           # open: ignored
    doc.saveas(tmp_path / "plate.dxf")
    mesh = mp.read_mesh(tmp_path / "plate.dxf", size=0.25)
    assert mesh.cell_type == "tri3"
    assert {"outline", "hole_0", "edge", "bolt", "xmin", "ymax"} <= set(mesh.facet_sets)
    x = np.asarray(mesh.points)
    r = np.linalg.norm(x[mesh.node_sets["bolt"]] - [2.0, 1.0], axis=1)
    np.testing.assert_allclose(r, 0.5, rtol=1e-4)   # a spline through the flattened circle
    tri = x[mesh.cells]
    a, b = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area = 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()
    assert area == pytest.approx(8.0 - np.pi * 0.25, rel=1e-2)
    empty = ezdxf.new()
    empty.modelspace().add_line((0, 0), (1, 0))
    empty.saveas(tmp_path / "lines.dxf")
    with pytest.raises(mp.InputError, match="no closed outline.*LINE"):
        mp.read_mesh(tmp_path / "lines.dxf")
