"""Cross-checks against established FEA codes on identical meshes and boundary conditions."""

import numpy as np
import pytest

from morphax import physics as mp


def test_poisson_matches_scikit_fem():
    skfem = pytest.importorskip("skfem")
    from skfem.models.poisson import laplace, unit_load

    mesh = mp.rectangle(12, 9, "tri3", size=(1.5, 1.0))
    problem = mp.Problem(mesh, mp.Poisson(), source=1.0,
                         dirichlet=[mp.Dirichlet(s, 0.0) for s in mesh.facet_sets])
    u = np.asarray(mp.solve(problem).u)[:, 0]
    sk_mesh = skfem.MeshTri(np.asarray(mesh.points).T.copy(), mesh.cells.T.copy())
    basis = skfem.Basis(sk_mesh, skfem.ElementTriP1())
    A, b = laplace.assemble(basis), unit_load.assemble(basis)
    x = skfem.solve(*skfem.condense(A, b, D=basis.get_dofs()))
    np.testing.assert_allclose(u, x, rtol=1e-10, atol=1e-13 * np.abs(x).max())


def test_neo_hookean_hex_matches_felupe():
    fem = pytest.importorskip("felupe")
    mu, lmbda = 1.0, 2.0
    mesh = mp.box(4, 4, 4, "hex8")
    problem = mp.Problem(mesh, mp.NeoHookean(mu=mu, kappa=lmbda),
                         dirichlet=[mp.Dirichlet("bottom", 0.0),
                                    mp.Dirichlet("top", (0.0, 0.0, -0.1))])
    sol = mp.solve(problem, rtol=1e-12)
    fe_mesh = fem.Mesh(np.asarray(mesh.points), np.asarray(mesh.cells), "hexahedron")
    field = fem.FieldContainer([fem.Field(fem.RegionHexahedron(fe_mesh), dim=3)])
    boundaries = {"bottom": fem.Boundary(field[0], fz=0.0),
                  "top_xy": fem.Boundary(field[0], fz=1.0, skip=(0, 0, 1)),
                  "top_z": fem.Boundary(field[0], fz=1.0, skip=(1, 1, 0), value=-0.1)}
    solid = fem.SolidBody(fem.NeoHookeCompressible(mu=mu, lmbda=lmbda), field)
    dof0, dof1 = fem.dof.partition(field, boundaries)
    ext0 = fem.dof.apply(field, boundaries, dof0)
    result = fem.newtonraphson(items=[solid], dof1=dof1, dof0=dof0, ext0=ext0, tol=1e-12,
                               verbose=0)
    assert result.success
    np.testing.assert_allclose(np.asarray(sol.u), field[0].values, atol=1e-10)
