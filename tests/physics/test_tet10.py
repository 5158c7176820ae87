"""Quadratic tetrahedra (tet10): shape functions, reproduction of quadratics, convergence rates,
gmsh order-2 meshes with their groups, and a bending case where linear tetrahedra lock."""

import jax.numpy as jnp
import numpy as np
import pytest

from morphax import physics as mp
from morphax.physics import validation

SIDES = ["left", "right", "front", "back", "bottom", "top"]


def test_tet10_shape_functions_are_a_partition_of_unity_and_nodal():
    elem = mp.element("tet10")
    corners = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    edges = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]
    nodes = np.concatenate([corners, [(corners[i] + corners[j]) / 2 for i, j in edges]])
    values = np.stack([np.asarray(elem.shape(jnp.asarray(x))) for x in nodes])
    np.testing.assert_allclose(values, np.eye(10), atol=1e-14)
    w, N, dN = elem.tables()
    assert w.sum() == pytest.approx(1 / 6, rel=1e-14)
    np.testing.assert_allclose(N.sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(dN.sum(axis=1), 0.0, atol=1e-13)


def test_box_tet10_is_valid_and_facets_are_p2():
    mesh = mp.box(2, 1, 1, "tet10", size=(2.0, 1.0, 1.0))
    assert mesh.cell_type == "tet10" and mesh.cells.shape == (12, 10)
    assert mesh.facet_set("top").shape[1] == 6
    volume = float(jnp.sum(mesh.jacobian_determinants(2) * mesh.element.tables(2)[0][None, :]))
    assert volume == pytest.approx(2.0, rel=1e-13)


def test_tet10_reproduces_quadratics_on_a_distorted_mesh():
    """u = x^2 + y^2 - z^2/2 + xz has -laplace u = -3; straight-sided P2 cells reproduce it."""
    mesh = mp.box(2, 2, 2, "tet4")
    pts = np.asarray(mesh.points).copy()
    inner = np.all((pts > 1e-9) & (pts < 1 - 1e-9), axis=1)
    pts[inner] += np.array([0.07, -0.05, 0.04])
    mesh = mp.elevate(mesh.with_points(pts))

    def exact(x):
        return x[..., 0] ** 2 + x[..., 1] ** 2 - 0.5 * x[..., 2] ** 2 + x[..., 0] * x[..., 2]

    problem = mp.Problem(mesh, mp.Poisson(), source=-3.0,
                         dirichlet=[mp.Dirichlet(s, lambda x: exact(x)) for s in SIDES])
    u = np.asarray(mp.solve(problem).u)[:, 0]
    np.testing.assert_allclose(u, exact(np.asarray(mesh.points)), atol=1e-12)


def _exact(x):
    return jnp.sin(jnp.pi * x[..., 0]) * jnp.sin(jnp.pi * x[..., 1]) * jnp.sin(jnp.pi * x[..., 2])


def _source(x):
    return (3 * jnp.pi ** 2 * _exact(x))[..., None]


@pytest.mark.slow
def test_tet10_poisson_converges_at_rates_3_and_2():
    """L2 error at rate 3 and H1 error at rate 2 on a manufactured solution."""
    errors = []
    sizes = [2, 4, 8]
    for n in sizes:
        mesh = mp.box(n, n, n, "tet10")
        problem = mp.Problem(mesh, mp.Poisson(), source=_source,
                             dirichlet=[mp.Dirichlet(s, 0.0) for s in SIDES])
        u = mp.solve(problem).u
        errors.append(validation.l2_h1_errors(mesh, u, _exact, degree=6))
    l2, h1 = np.log(np.asarray(errors)).T
    rates_l2 = -np.diff(l2) / np.log(2)
    rates_h1 = -np.diff(h1) / np.log(2)
    assert rates_l2[-1] == pytest.approx(3.0, abs=0.25)
    assert rates_h1[-1] == pytest.approx(2.0, abs=0.15)


def test_tet10_patch_test_elasticity():
    mesh = mp.box(2, 2, 2, "tet10")
    A = np.array([[0.01, 0.02, 0.0], [-0.03, 0.015, 0.01], [0.0, 0.005, -0.02]])
    bcs = [mp.Dirichlet(s, lambda x: x @ A.T) for s in SIDES]
    u = np.asarray(mp.solve(mp.Problem(mesh, mp.LinearElasticity(), dirichlet=bcs)).u)
    np.testing.assert_allclose(u, np.asarray(mesh.points) @ A.T, atol=1e-13)


def _tip_deflection(cell_type):
    """A cantilever 10 x 1 x 1 (E = 1000, nu = 0.3), clamped at x = 0, with a shear traction
    of total force P = 0.1 on its free end: the mean vertical tip displacement."""
    mesh = mp.box(10, 1, 1, cell_type, size=(10.0, 1.0, 1.0))
    problem = mp.Problem(mesh, mp.LinearElasticity(E=1000.0, nu=0.3),
                         dirichlet=[mp.Dirichlet("left", 0.0)],
                         tractions=[mp.Traction("right", [0.0, 0.0, -0.1])])
    u = np.asarray(mp.solve(problem).u)
    return -u[mesh.node_set("right"), 2].mean()


def test_tet10_bends_where_tet4_locks():
    """Timoshenko tip deflection P L^3 / (3 E I) + P L / (k G A), k = 5/6: one layer of quadratic
    tetrahedra through the thickness is within 3 %, linear ones are far too stiff."""
    E, nu, L, P = 1000.0, 0.3, 10.0, 0.1
    I, A, G = 1.0 / 12.0, 1.0, E / (2 * (1 + nu))
    beam = P * L ** 3 / (3 * E * I) + P * L / (5 / 6 * G * A)
    assert _tip_deflection("tet10") == pytest.approx(beam, rel=0.03)
    assert _tip_deflection("tet4") < 0.5 * beam


def test_gmsh_order_2_mesh_reads_as_tet10_with_groups(tmp_path):
    from morphax._core import gmsh_session

    path = tmp_path / "block.msh"
    with gmsh_session() as gmsh:
        gmsh.model.occ.addBox(0, 0, 0, 2, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="solid")
        left = [t for d, t in gmsh.model.getEntities(2)
                if abs(gmsh.model.occ.getCenterOfMass(2, t)[0]) < 1e-9]
        gmsh.model.addPhysicalGroup(2, left, name="clamp")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.5)
        gmsh.model.mesh.generate(3)
        gmsh.model.mesh.setOrder(2)
        gmsh.write(str(path))
    mesh = mp.read_mesh(path)
    assert mesh.cell_type == "tet10"
    clamp = mesh.facet_set("clamp")
    assert clamp.shape[1] == 6
    np.testing.assert_allclose(np.asarray(mesh.points)[clamp.ravel(), 0], 0.0, atol=1e-12)
    volume = float(jnp.sum(mesh.jacobian_determinants(2) * mesh.element.tables(2)[0][None, :]))
    assert volume == pytest.approx(2.0, rel=1e-10)
    problem = mp.Problem(mesh, mp.LinearElasticity(), dirichlet=[mp.Dirichlet("clamp", 0.0)],
                         source=[0.0, 0.0, -1e-3])
    assert np.isfinite(np.asarray(mp.solve(problem).u)).all()
