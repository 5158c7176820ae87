"""GNN models: graph utilities, PICNN convexity, the IGNN projection, energy gradients and
implicit gradients against brute force and unrolled autodiff."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.learners.gnn import (
    GCN,
    IGNN,
    PICNN,
    EnergyGNN,
    batch_graphs,
    gcn_weights,
    make_graph,
    pad_graph,
    project_inf_ball,
    softmax_per_receiver,
    spectral_radius,
    unrolled_fixed_point,
    unrolled_gradient_descent,
)

F64 = jnp.float64


def _graph(seed=0, n=7, fe=2):
    rng = np.random.default_rng(seed)
    pairs = np.array([(i, i + 1) for i in range(n - 1)] + [(0, 3), (2, n - 1)])
    ef = rng.normal(size=(len(pairs), fe))
    return make_graph(rng.normal(size=(n, 3)), np.concatenate([pairs[:, 0], pairs[:, 1]]),
                      np.concatenate([pairs[:, 1], pairs[:, 0]]), np.concatenate([ef, -ef]))


def _dense(graph):
    a = np.zeros((graph.n_nodes, graph.n_nodes))
    np.add.at(a, (np.asarray(graph.receivers), np.asarray(graph.senders)), 1.0)
    return a


def test_graph_utilities_match_dense_linear_algebra():
    g = _graph()
    w, ws = gcn_weights(g)
    a = _dense(g) + np.eye(g.n_nodes)
    d = a.sum(1)
    norm = a / np.sqrt(d[:, None] * d[None, :])
    dense = np.zeros_like(norm)
    np.add.at(dense, (np.asarray(g.receivers), np.asarray(g.senders)), np.asarray(w))
    np.testing.assert_allclose(dense + np.diag(ws), norm, atol=1e-12)
    rho = np.max(np.abs(np.linalg.eigvals(norm)))
    assert float(spectral_radius(g, w, ws)) == pytest.approx(rho, abs=1e-8)
    alpha = softmax_per_receiver(jnp.asarray(np.random.default_rng(1).normal(size=g.n_edges)), g)
    np.testing.assert_allclose(np.bincount(np.asarray(g.receivers), np.asarray(alpha)), 1.0, atol=1e-12)
    g2 = _graph(2, 5)
    b = pad_graph(batch_graphs([g, g2]), 20, 40)
    assert b.n_nodes == 20 and int(b.node_mask.sum()) == 12
    assert int(b.edge_mask.sum()) == g.n_edges + g2.n_edges
    np.testing.assert_array_equal(b.senders[g.n_edges:g.n_edges + g2.n_edges], g2.senders + 7)
    assert set(np.asarray(b.graph_id).tolist()) == {-1, 0, 1}
    with pytest.raises(InputError):
        make_graph(np.ones((3, 1)), [0, 5], [1, 2])


def test_picnn_is_convex_in_y_for_any_features():
    f = PICNN(4, 3, hidden=8, key=jax.random.key(0), dtype=F64)
    for k in range(5):
        ky, ku = jax.random.split(jax.random.key(k))
        y, u = jax.random.normal(ky, (4,), F64) * 3, jax.random.normal(ku, (3,), F64) * 3
        assert np.linalg.eigvalsh(np.asarray(jax.hessian(f)(y, u))).min() > -1e-10


def test_inf_norm_projection_is_the_euclidean_projection_onto_the_l1_ball():
    w = jax.random.normal(jax.random.key(0), (6, 5), F64)
    p = np.asarray(project_inf_ball(w, 0.9))
    assert np.abs(p).sum(1).max() == pytest.approx(0.9)
    for row, prow in zip(np.asarray(w), p, strict=True):     # brute force: bisection on theta
        lo, hi = 0.0, np.abs(row).max()
        for _ in range(200):
            th = 0.5 * (lo + hi)
            lo, hi = (th, hi) if np.maximum(np.abs(row) - th, 0).sum() > 0.9 else (lo, th)
        np.testing.assert_allclose(prow, np.sign(row) * np.maximum(np.abs(row) - th, 0), atol=1e-10)
    small = 0.01 * w
    np.testing.assert_array_equal(project_inf_ball(small, 0.9), small)


@pytest.mark.parametrize("fem", [False, True])
def test_local_energy_gradient_equals_autodiff_of_the_energy(fem):
    g = _graph()
    if fem:   # FEM columns: k_diag > 0, load, dirichlet flag, g ; edge column 0: k_offdiag
        g = g._replace(nodes=g.nodes.at[:, 0].set(4.0).at[:, 2].set((jnp.arange(7) % 3 == 0).astype(F64)),
                       edges=g.edges.at[:, 0].set(-1.0))
    m = EnergyGNN(3, 2, 2, hidden=3, fem=fem, key=jax.random.key(1), dtype=F64)
    ctx = m.prepare(g)
    h = jax.random.normal(jax.random.key(2), (g.n_nodes, 3), F64)
    np.testing.assert_allclose(m.grad(ctx, h), jax.grad(lambda x: m.energy(ctx, x))(h), atol=1e-12)


def test_block_jacobi_preconditioner_is_the_hessians_diagonal_blocks():
    g = _graph()
    m = EnergyGNN(3, 2, 2, hidden=3, key=jax.random.key(11), dtype=F64)
    ctx = m.prepare(g)
    h = jax.random.normal(jax.random.key(12), (g.n_nodes, 3), F64)
    dense = np.asarray(jax.jit(jax.hessian(lambda x: m.energy(ctx, x.reshape(h.shape))))(h.ravel()))
    blocks, pre, at_h0 = jax.jit(lambda h: (m.hessian_blocks(ctx, h), m.precond(ctx),
                                            m.hessian_blocks(ctx, 0.0 * h)))(h)
    for i in range(g.n_nodes):
        np.testing.assert_allclose(blocks[i], dense[3 * i:3 * i + 3, 3 * i:3 * i + 3], atol=1e-10)
    np.testing.assert_allclose(pre, at_h0, atol=1e-12)   # precond: the blocks at h0 = 0


def test_energy_gnn_states_minimise_a_strongly_convex_energy():
    g = _graph()
    m = EnergyGNN(3, 2, 2, hidden=3, key=jax.random.key(3), dtype=F64)
    ctx = m.prepare(g)
    h = m.solve(g)
    e0 = float(m.energy(ctx, h))
    for k in range(5):
        d = 1e-2 * jax.random.normal(jax.random.key(k), h.shape, F64)
        # strong convexity: E(h* + d) >= E(h*) + mu/2 |d|^2
        assert float(m.energy(ctx, h + d)) >= e0 + 0.5 * m.mu * float(jnp.sum(d * d)) - 1e-12


def _max_leaf_diff(a, b):
    la, lb = jax.tree.leaves(eqx.filter(a, eqx.is_array)), jax.tree.leaves(eqx.filter(b, eqx.is_array))
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(la, lb, strict=True))


@pytest.mark.slow   # the IGNN case below is the fast one of implicit vs unrolled
def test_energy_gnn_implicit_gradient_equals_unrolled_gradient_descent():
    g = _graph()
    m = EnergyGNN(3, 2, 2, hidden=3, mu=1.0, key=jax.random.key(4), dtype=F64)
    target = jax.random.normal(jax.random.key(5), (g.n_nodes, 2), F64)

    def implicit(m):
        return jnp.sum((m(g, tol=1e-13) - target) ** 2)

    def unrolled(m):
        ctx = m.prepare(g)
        step = jax.lax.stop_gradient(m.step_size(ctx))
        h = unrolled_gradient_descent(lambda c, h: m.grad(c, h), ctx, m.init_state(ctx), step, 300)
        return jnp.sum((m.readout(g, h) - target) ** 2)

    ga, gb = eqx.filter_grad(implicit)(m), eqx.filter_grad(unrolled)(m)
    assert _max_leaf_diff(ga, gb) < 1e-6
    assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(ga)) > 1e-3


def test_ignn_implicit_gradient_equals_unrolled_and_projection_bounds_the_norm():
    g = _graph()
    m = IGNN(3, 2, hidden=4, kappa=0.8, key=jax.random.key(6), dtype=F64)
    m = eqx.tree_at(lambda x: x.w, m, 5.0 * m.w).project()
    assert float(jnp.abs(m.w).sum(1).max()) <= 0.8 + 1e-12
    target = jax.random.normal(jax.random.key(7), (g.n_nodes, 2), F64)

    def implicit(m):
        return jnp.sum((m(g, tol=1e-14) - target) ** 2)

    def unrolled(m):
        ctx = m.prepare(g)
        h = unrolled_fixed_point(lambda c, h: m.sync_update(c, h), ctx, m.init_state(ctx), 150)
        return jnp.sum((m.readout(g, h) - target) ** 2)

    assert _max_leaf_diff(eqx.filter_grad(implicit)(m), eqx.filter_grad(unrolled)(m)) < 1e-6


def test_gcn_synchronous_pass_equals_the_dense_formula():
    g = _graph()
    m = GCN(3, 2, hidden=4, num_layers=2, key=jax.random.key(8), dtype=F64)
    a = _dense(g) + np.eye(g.n_nodes)
    d = a.sum(1)
    norm = a / np.sqrt(d[:, None] * d[None, :])
    h = np.maximum(np.asarray(g.nodes) @ np.asarray(m.enc.weight).T + np.asarray(m.enc.bias)[None, :], 0)
    for layer in range(2):
        h = np.maximum(norm @ h @ np.asarray(m.weights[layer]).T + np.asarray(m.biases[layer])[None, :], 0)
    np.testing.assert_allclose(m.solve(g), h, atol=1e-12)


def test_gsd_minimiser_solves_the_denoising_linear_system():
    from morphax.learners.gnn import GSDGNN

    g = _graph()
    m = GSDGNN(3, 2, hidden=3, key=jax.random.key(9), dtype=F64)
    ctx = m.prepare(g)
    a = _dense(g)
    lap = np.diag(a.sum(1)) - a
    lam = float(jax.nn.softplus(m.raw_lam))
    expected = np.linalg.solve(np.eye(g.n_nodes) + lam * lap, np.asarray(ctx["target"]))
    np.testing.assert_allclose(m.solve(g), expected, atol=1e-8)


def test_gat_with_zero_attention_parameters_averages_neighbours_and_self():
    from morphax.learners.gnn import GAT

    g = _graph()
    m = GAT(3, 2, hidden=4, num_layers=1, key=jax.random.key(10), dtype=F64)
    m = eqx.tree_at(lambda x: (x.a_src, x.a_dst), m, (jnp.zeros_like(m.a_src), jnp.zeros_like(m.a_dst)))
    a = _dense(g) + np.eye(g.n_nodes)
    h0 = np.maximum(np.asarray(g.nodes) @ np.asarray(m.enc.weight).T + np.asarray(m.enc.bias)[None, :], 0)
    mean = (a / a.sum(1, keepdims=True)) @ h0
    expected = np.maximum(mean @ np.asarray(m.weights[0]).T + np.asarray(m.biases[0])[None, :], 0)
    np.testing.assert_allclose(m.solve(g), expected, atol=1e-12)
