"""Differentiable morphing: identity at the build radii, exact pore curves after morphing,
d(coordinates)/d(radii) and d(FEM result)/d(radii) against finite differences, validity
reports and remeshing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import MeshError
from morphax.geometry import CellularSolid, LargePore, bertoldi_radii, interpolation_matrix, morphable_mesh
from morphax.physics import Dirichlet, NeoHookean, Problem, solve


@pytest.fixture(scope="module")
def design():
    return CellularSolid.lattice(3, 3, 5.0, 0.25, solid=[(1, 1)])


@pytest.fixture(scope="module")
def morph(design):
    return morphable_mesh(design, size=1.5)


def _perturb(design, scale, seed=0):
    p = design.params()
    dr = np.random.default_rng(seed).normal(0.0, 1.0, p["radii"].shape)
    return {"radii": p["radii"] + scale * jnp.asarray(dr), "large": ()}, dr


def test_identity_at_build_radii(design, morph):
    assert np.allclose(np.asarray(morph.points(design.params())), np.asarray(morph.mesh.points),
                       atol=1e-12)


def test_morphed_pores_follow_the_exact_curve_and_the_rest_stays(design, morph):
    p, _ = _perturb(design, 0.03)
    x = np.asarray(morph.points(p))
    x0 = np.asarray(morph.mesh.points)
    for k, (name, c, h, _) in enumerate(design.pores()):
        d = x[morph.mesh.node_set(name)] - c
        th = np.arctan2(d[:, 1], d[:, 0])
        rho = h * interpolation_matrix(th, 16) @ np.asarray(p["radii"][k])
        assert np.allclose(np.hypot(d[:, 0], d[:, 1]), rho, atol=1e-12)
    fixed = np.unique(np.concatenate([morph.mesh.node_set(n) for n in
                                      ("left", "right", "top", "bottom", "solid_1_1_left",
                                       "solid_1_1_center", "corner_bl")]))
    assert np.array_equal(x[fixed], x0[fixed])
    assert morph.check(p).valid


def test_coordinate_jacobian_matches_finite_differences(design, morph):
    p = design.params()
    J = jax.jacfwd(lambda r: morph.points({"radii": r, "large": ()}))(p["radii"])
    assert J.shape == (morph.mesh.n_nodes, 2, *p["radii"].shape)
    _, dr = _perturb(design, 1.0, seed=3)
    eps = 1e-6
    fd = (morph.points({"radii": p["radii"] + eps * dr, "large": ()})
          - morph.points({"radii": p["radii"] - eps * dr, "large": ()})) / (2 * eps)
    jv = jnp.einsum("nkpq,pq->nk", J, jnp.asarray(dr))
    err = float(jnp.max(jnp.abs(jv - fd)) / jnp.max(jnp.abs(fd)))
    assert err < 1e-8
    # pore nodes move, others do not: the Jacobian is sparse in the right places
    assert float(jnp.max(jnp.abs(J[morph.mesh.node_set("left")]))) == 0.0
    assert float(jnp.max(jnp.abs(jv))) > 0.5


def test_bertoldi_parameters_and_large_pores_are_differentiable():
    d = CellularSolid.from_grid(["PPPP", "PLLP", "PLLP", "PPPP"], 4.0, radii=0.5,
                                large_pores=[LargePore(1, 1, 2, (0.6,) * 24)])
    m = morphable_mesh(d, size=1.2)
    theta = jnp.asarray([0.5, 0.1, -0.05])

    def f(q):
        radii = jnp.tile(bertoldi_radii(q[0], q[1], q[2], 16)[None, :], (12, 1))
        large = (0.6 + 0.1 * q[1] * jnp.cos(jnp.asarray(np.linspace(0, 2 * np.pi, 25)[:-1])),)
        return jnp.sum(jnp.sin(m.points({"radii": radii, "large": large})))

    g = jax.grad(f)(theta)
    eps = 1e-6
    fd = [(f(theta.at[k].add(eps)) - f(theta.at[k].add(-eps))) / (2 * eps) for k in range(3)]
    assert np.allclose(np.asarray(g), np.asarray(fd), rtol=1e-7, atol=1e-9)
    # jit and vmap over a batch of designs
    batch = jnp.stack([theta, theta * 1.05])
    assert jax.jit(jax.vmap(f))(batch).shape == (2,)


def test_validity_report_and_remesh(design, morph):
    p_ok, _ = _perturb(design, 0.02)
    assert morph.check(p_ok).valid and morph.check(p_ok).min_jacobian_ratio > 0.3
    big = {"radii": design.params()["radii"] * 0.2, "large": ()}   # r ~ 0.12: small pores
    report = morph.check(big, min_angle=20.0)
    assert not report.valid and report.bad_cells and "remesh" in report.message
    assert report.min_angle < 20.0
    with pytest.raises(MeshError, match="remesh"):
        morph.mesh_at(big, check=True, min_angle=20.0)
    s = morph.valid_step(design.params(), big, min_angle=20.0)
    assert 0.0 < s < 1.0
    mid = {"radii": design.params()["radii"] * (1 - 0.8 * s * 0.99), "large": ()}
    assert morph.check(mid, min_angle=20.0).valid
    assert morph.valid_step(design.params(), p_ok, min_angle=20.0) == 1.0
    new = morph.remesh(big)
    assert new.check(big, min_angle=20.0).valid
    assert np.allclose(new.design.radii, np.asarray(big["radii"]))
    nodes = morph.pore_nodes("pore_0_0")
    d = np.asarray(morph.mesh.points)[nodes] - design.cell_center(0, 0)
    th = np.mod(np.arctan2(d[:, 1], d[:, 0]), 2 * np.pi)
    assert np.all(np.diff(th) > 0)
    curve = morph.pore_curve(design.params(), "pore_0_0", 48)
    assert curve.shape == (48, 2)
    assert morph.node("solid_1_1_center") == int(morph.mesh.node_set("solid_1_1_center")[0])


def test_fem_result_gradient_matches_finite_differences(design, morph):
    """d(displacement of the centre of the solid cell)/d(radii) through the implicit adjoint."""
    problem = Problem(morph.mesh, NeoHookean.from_young(1.0, 0.3),
                      dirichlet=[Dirichlet("bottom", 0.0), Dirichlet("top", [0.3, -0.5])])
    base = problem.params()
    c = morph.node("solid_1_1_center")

    def readout(p):
        u = solve(problem, {**base, "points": morph.points(p)}).u
        return u[c, 0] + 0.3 * u[c, 1]

    p = design.params()
    g = jax.grad(readout)(p)["radii"]
    _, dr = _perturb(design, 1.0, seed=5)
    dr = 0.1 * dr
    eps = 1e-4
    fd = (readout({"radii": p["radii"] + eps * dr, "large": ()})
          - readout({"radii": p["radii"] - eps * dr, "large": ()})) / (2 * eps)
    ad = float(jnp.sum(g * jnp.asarray(dr)))
    assert abs(ad) > 1e-4
    assert abs(ad - float(fd)) <= 1e-6 * abs(ad)
