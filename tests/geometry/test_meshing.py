"""gmsh meshing of designs: determinism, size control, P1/P2, named groups, files; the
Meta-PDE domains (star, pore lattice)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.geometry import (
    CellularSolid,
    LargePore,
    MeshOptions,
    StarDomain,
    add_groups,
    mesh_design,
    plot_mesh_groups,
    pore_lattice,
    write_mesh_groups,
)
from morphax.physics import read_mesh


@pytest.fixture(scope="module")
def design():
    return CellularSolid.lattice(3, 3, 5.0, 0.3, pore="bertoldi", c1=0.1, c2=0.05,
                                 solid=[(1, 1)])


@pytest.fixture(scope="module")
def mesh(design):
    return mesh_design(design, size=1.2)


def _area_jnp(mesh):
    w = mesh.element.tables()[0]
    return jnp.sum(mesh.jacobian_determinants() * jnp.asarray(w)[None, :])


def _area(mesh):
    return float(_area_jnp(mesh))


def test_gmsh_is_deterministic(design, mesh):
    again = mesh_design(design, size=1.2)
    assert np.array_equal(np.asarray(again.points), np.asarray(mesh.points))
    assert np.array_equal(again.cells, mesh.cells)
    assert again.topology == mesh.topology


def test_size_control_and_order(design, mesh):
    fine = mesh_design(design, size=0.6)
    assert fine.n_cells > 2.5 * mesh.n_cells
    p2 = mesh_design(design, size=1.2, order=2)
    assert p2.cell_type == "tri6" and mesh.cell_type == "tri3"
    assert np.all(np.asarray(p2.jacobian_determinants()) > 0)
    exact = design.material_area()
    # P2 puts the mid-edge nodes on the exact pore curves: much closer area
    assert abs(_area(p2) - exact) < 0.05 * abs(_area(mesh) - exact)
    assert abs(_area(mesh) - exact) < 2e-2 * exact
    with pytest.raises(InputError, match="order"):
        MeshOptions(order=3)


def test_named_groups_are_where_the_names_say(design, mesh):
    x = np.asarray(mesh.points)
    s = design.cell_size
    corners = {"corner_bl": (0, 0), "corner_br": (3 * s, 0), "corner_tl": (0, 3 * s),
               "corner_tr": (3 * s, 3 * s)}
    for name, xy in corners.items():
        assert np.allclose(x[mesh.node_set(name)], [xy])
    for i in range(3):
        left = x[mesh.node_set(f"left_{i}")]
        assert np.allclose(left[:, 0], 0) and left[:, 1].min() == pytest.approx(i * s)
        assert left[:, 1].max() == pytest.approx((i + 1) * s)
        top = x[mesh.node_set(f"top_{i}")]
        assert np.allclose(top[:, 1], 3 * s) and top[:, 0].min() == pytest.approx(i * s)
    assert len(mesh.facet_set("left")) == sum(len(mesh.facet_set(f"left_{i}")) for i in range(3))
    assert np.allclose(x[mesh.node_set("solid_1_1_center")], [[1.5 * s, 1.5 * s]])
    assert np.allclose(x[mesh.node_set("solid_1_1_left_mid")], [[s, 1.5 * s]])
    face = x[mesh.node_set("solid_1_1_top")]
    assert np.allclose(face[:, 1], 2 * s) and np.all((face[:, 0] >= s - 1e-12)
                                                     & (face[:, 0] <= 2 * s + 1e-12))
    # pore nodes lie on the exact curve
    for name, c, h, r in design.pores():
        d = x[mesh.node_set(name)] - c
        th = np.arctan2(d[:, 1], d[:, 0])
        rho = h * r[0] * (1 + 0.1 * np.cos(4 * th) + 0.05 * np.cos(8 * th)) / (1 + 0.15)
        assert np.allclose(np.hypot(d[:, 0], d[:, 1]), rho, atol=1e-12)
    assert mesh.cell_sets["solid"].size and mesh.cell_sets["porous"].size
    assert "pore_1_1" not in mesh.facet_sets


def test_empty_cells_large_pores_and_groups():
    d = CellularSolid.from_grid(["PPPP.", "PLLPP", "PLLPS"], 4.0, radii=0.45,
                                large_pores=[LargePore(0, 1, 2, (0.7,) * 24)])
    m = mesh_design(d, size=1.0)
    assert "right_2" not in m.facet_sets and "corner_tr" not in m.node_sets
    assert "right_1" in m.facet_sets and "large_pore_0" in m.facet_sets
    assert m.cell_sets["large"].size and "block_0" in m.cell_sets
    x = np.asarray(m.points)[m.node_set("large_pore_0")] - np.array([3 * 4.0 / 1.5, 4.0])
    assert np.allclose(np.hypot(x[:, 0], x[:, 1]), 0.7 * 4.0, atol=1e-12)
    g = add_groups(m, {"act": ["left_0", "left_1"], "pins": ["corner_bl", "corner_tl"]})
    assert len(g.facet_set("act")) == len(m.facet_set("left_0")) + len(m.facet_set("left_1"))
    assert g.node_set("pins").size == 2
    with pytest.raises(InputError, match="already has"):
        add_groups(m, {"left": ["left_0"]})


def test_mesh_files_keep_groups(tmp_path, mesh):
    path = write_mesh_groups(tmp_path / "m.msh", mesh)
    back = read_mesh(path)
    assert back.n_cells == mesh.n_cells and back.n_nodes == mesh.n_nodes
    for name in ("left_0", "pore_0_0", "solid_1_1_top"):
        assert len(back.facet_set(name)) == len(mesh.facet_set(name))
    assert np.allclose(np.asarray(back.points)[back.node_set("solid_1_1_center")],
                       np.asarray(mesh.points)[mesh.node_set("solid_1_1_center")])
    write_mesh_groups(tmp_path / "m.vtu", mesh)
    plot_mesh_groups(tmp_path / "m.png", mesh)
    assert (tmp_path / "m.vtu").stat().st_size > 0
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_star_domain_mesh_area_and_morph():
    star = StarDomain(0.15, -0.1)
    m = star.mesh(size=0.15, order=2)
    assert _area(m) == pytest.approx(star.area(), rel=1e-4)
    b = np.asarray(m.points)[m.node_set("boundary")]
    th = np.arctan2(b[:, 1], b[:, 0])
    assert np.allclose(np.hypot(b[:, 0], b[:, 1]), np.asarray(star.radius(th)), atol=1e-12)
    assert star.contains([[0.0, 0.0]])[0] and not star.contains([[1.5, 0.0]])[0]

    def area(c):
        return _area_jnp(m.with_points(star.morph(m.points, c[0], c[1])))

    c = jnp.asarray([0.05, 0.1])
    exact = math.pi * (1 + 0.5 * (0.05 ** 2 + 0.1 ** 2))
    assert float(area(c)) == pytest.approx(exact, rel=1e-4)
    g = np.asarray(jax.grad(area)(c))
    eps = 1e-5
    fd = [(float(area(c.at[k].add(eps))) - float(area(c.at[k].add(-eps)))) / (2 * eps)
          for k in range(2)]
    assert np.allclose(g, fd, rtol=1e-7)
    # and the discrete derivative approaches the exact d(area)/dc = pi c
    assert np.allclose(g, [math.pi * 0.05, math.pi * 0.1], rtol=3e-2)
    with pytest.raises(InputError):
        StarDomain(0.6, 0.5)


def test_pore_lattice_mesh():
    d = pore_lattice(2, [[0.1, 0.15], [0.12, 0.2]])
    m = mesh_design(d, size=0.05, order=2)
    assert _area(m) == pytest.approx(1 - math.pi * (0.01 + 0.0225 + 0.0144 + 0.04), rel=1e-5)
    assert set(m.facet_sets) >= {"left", "right", "top", "bottom", "pore_1_1"}
