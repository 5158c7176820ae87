"""Mesh input with named groups, VTU output and PNG pictures."""

import meshio
import numpy as np
import pytest

from morphax import physics as mp
from morphax.physics import validation


@pytest.fixture(scope="module")
def plate():
    return validation.perforated_plate(holes=(2, 1), mesh_size=0.15)


def test_gmsh_physical_groups_become_named_sets(plate, tmp_path):
    assert set(plate.facet_sets) == {"left", "right", "bottom", "top", "holes"}
    assert set(plate.cell_sets) == {"plate"}
    x = np.asarray(plate.points)
    np.testing.assert_allclose(x[plate.node_sets["left"], 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(x[plate.node_sets["top"], 1], 1.0, atol=1e-12)
    plate.check()
    path = mp.write_mesh(tmp_path / "plate.msh", plate)
    again = mp.read_mesh(path)
    np.testing.assert_allclose(np.asarray(again.points), x)
    np.testing.assert_array_equal(again.cells, plate.cells)


def test_gmsh_meshing_is_deterministic():
    a = validation.perforated_plate(holes=(2, 1), mesh_size=0.2)
    b = validation.perforated_plate(holes=(2, 1), mesh_size=0.2)
    np.testing.assert_array_equal(np.asarray(a.points), np.asarray(b.points))
    assert a.topology == b.topology and hash(a.topology) == hash(b.topology)


def test_second_order_gmsh_mesh(tmp_path):
    mesh = validation.perforated_plate(holes=(1, 1), mesh_size=0.3, order=2)
    assert mesh.cell_type == "tri6" and mesh.facet_sets["holes"].shape[1] == 3
    mesh.check()


def test_vtu_pads_2d_vectors_and_round_trips(plate, tmp_path):
    u = np.random.default_rng(0).standard_normal((plate.n_nodes, 2))
    stress = np.ones((plate.n_cells, 2, 2))
    path = mp.write_vtu(tmp_path / "out.vtu", plate, point_data={"u": u},
                        cell_data={"stress": stress})
    back = meshio.read(path)
    assert back.points.shape[1] == 3 and back.point_data["u"].shape == (plate.n_nodes, 3)
    np.testing.assert_allclose(back.point_data["u"][:, :2], u)
    np.testing.assert_allclose(back.point_data["u"][:, 2], 0.0)
    assert back.cell_data["stress"][0].shape == (plate.n_cells, 9)
    assert not list(tmp_path.glob(".*"))   # no temporary files left behind


def test_unreadable_mesh_is_a_clear_error(tmp_path):
    with pytest.raises(mp.InputError, match="does not exist"):
        mp.read_mesh(tmp_path / "missing.msh")
    (tmp_path / "junk.msh").write_text("not a mesh")
    with pytest.raises(mp.InputError, match="cannot read mesh"):
        mp.read_mesh(tmp_path / "junk.msh")


def test_png_of_deformed_mesh(plate, tmp_path):
    u = np.zeros((plate.n_nodes, 2))
    u[:, 1] = -0.1 * np.asarray(plate.points)[:, 1]
    path = mp.plot_png(tmp_path / "u.png", plate, u)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
