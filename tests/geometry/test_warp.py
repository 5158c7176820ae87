"""Lattice-node offsets: the piecewise-bilinear warp (affine fields reproduced exactly,
continuity across cells, corner Jacobians), designs that carry offsets (JSON round trip,
folded cells refused, warped pores and walls) and the morphed mesh's gradient in them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.geometry import (
    CellularSolid,
    DesignError,
    corner_jacobians,
    ligaments,
    morphable_mesh,
    warp_points,
)

S = 5.0


def _affine_offsets(rows, cols, A, b):
    """Offsets d = A x + b at the lattice nodes (x in mm)."""
    a, c = np.meshgrid(np.arange(rows + 1), np.arange(cols + 1), indexing="ij")
    x = np.stack([c * S, a * S], axis=-1)
    return x @ A.T + b


def test_affine_offsets_are_reproduced_exactly_and_continuously():
    A = np.array([[0.05, -0.08], [0.03, 0.06]])
    b = np.array([0.2, -0.1])
    d = _affine_offsets(3, 4, A, b)
    pts = np.random.default_rng(0).uniform(0, 1, (200, 2)) * [4 * S, 3 * S]
    pts = np.vstack([pts, [[S, 1.3], [2 * S, 2 * S], [0.0, 0.0], [4 * S, 3 * S]]])  # cell lines
    for xp in (np, jnp):
        np.testing.assert_allclose(np.asarray(warp_points(pts, d, S, xp)),
                                   pts + pts @ A.T + b, atol=1e-12)
    det = corner_jacobians(d, S, np)
    np.testing.assert_allclose(det, np.linalg.det(np.eye(2) + A), rtol=1e-12)
    # a non-affine field is still continuous across a cell side
    d2 = np.random.default_rng(1).normal(0, 0.3, d.shape)
    y = np.linspace(0, 3 * S, 7)
    left = warp_points(np.stack([np.full(7, S - 1e-12), y], 1), d2, S, np)
    right = warp_points(np.stack([np.full(7, S + 1e-12), y], 1), d2, S, np)
    np.testing.assert_allclose(left, right, atol=1e-9)


def test_design_with_offsets_round_trips_and_refuses_folded_cells():
    d = CellularSolid.lattice(2, 2, S, 0.15)
    off = np.zeros((3, 3, 2))
    off[1, 1] = [0.6, -0.4]
    w = d.with_params({**d.params(), "offsets": off})
    assert w.warped and CellularSolid.from_json(w.to_json()) == w
    assert not d.warped and "offsets" not in d.to_dict()
    # the warped pores move with the node: every pore touching node (1, 1) is shifted
    moved = np.abs(w.pore_polygon("pore_0_0", 64) - d.pore_polygon("pore_0_0", 64)).max()
    assert moved > 0.1
    assert min(g.width for g in ligaments(w)) != pytest.approx(min(g.width for g in ligaments(d)))
    folded = np.zeros((3, 3, 2))
    folded[1, 1] = [-5.5, 0.0]      # past the left neighbour: cells (0, 0) and (1, 0) fold
    with pytest.raises(DesignError, match="fold"):
        d.with_params({**d.params(), "offsets": folded})


def test_morphed_mesh_follows_the_offsets_with_exact_gradients():
    d = CellularSolid.lattice(2, 2, S, 0.15)
    mm = morphable_mesh(d, size=S / 3)
    p = d.params()
    np.testing.assert_allclose(np.asarray(mm.points(p)), np.asarray(mm.mesh.points), atol=1e-12)
    v = np.zeros((3, 3, 2))
    v[1, 1] = [0.7, -0.3]

    def f(t):
        return jnp.sum(jnp.sin(mm.points({**p, "offsets": p["offsets"] + t * v})))

    eps = 1e-6
    fd = (f(eps) - f(-eps)) / (2 * eps)
    assert float(jax.grad(f)(0.0)) == pytest.approx(float(fd), rel=1e-7)
    # the centre node itself moves with its offset
    node = np.argmin(np.linalg.norm(np.asarray(mm.mesh.points) - [S, S], axis=1))
    moved = np.asarray(mm.points({**p, "offsets": v}))[node]
    np.testing.assert_allclose(moved, [S + 0.7, S - 0.3], atol=1e-12)
