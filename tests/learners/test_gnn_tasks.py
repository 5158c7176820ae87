"""Task generators, networkx graphs, the mesh graph against the physics core, and a short
training run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.learners.gnn import (
    GCN,
    EnergyGNN,
    atlas_counting,
    chains,
    coordinates,
    counting,
    karate_club,
    poisson_cases,
    relative_error,
    sums,
    train,
)

F64 = jnp.float64


def test_chains_carry_the_label_only_at_the_first_node():
    t = chains(4, 5, key=jax.random.key(0))
    x, y = np.asarray(t.train.nodes), t.y_train
    assert x.shape == (20, 3) and t.train.n_edges == 2 * 4 * 4
    first = np.arange(0, 20, 5)
    np.testing.assert_array_equal(x[first, :2].argmax(1), y[first])
    assert np.all(x[np.setdiff1d(np.arange(20), first), :2] == 0)
    with pytest.raises(InputError):
        chains(2, 1, key=jax.random.key(0))


def test_counting_and_sums_targets_are_graph_totals():
    c = counting(5, key=jax.random.key(1))
    s = sums(5, key=jax.random.key(2))
    for t, total in ((c, lambda x: len(x) / 12), (s, lambda x: x.sum())):
        gid = np.asarray(t.train.graph_id)
        for k in range(5):
            sel = gid == k
            np.testing.assert_allclose(t.y_train[sel], total(np.asarray(t.train.nodes)[sel, 0]))
            assert t.train.n_edges == 2 * (t.train.n_nodes - 5)   # trees


def test_coordinates_edges_measure_displacements_and_anchors_know_positions():
    t = coordinates(3, 12, noise=0.0, key=jax.random.key(3))
    p, g = t.y_train, t.train
    np.testing.assert_allclose(g.edges, p[np.asarray(g.senders)] - p[np.asarray(g.receivers)], atol=1e-12)
    x = np.asarray(g.nodes)
    assert x[:, 0].sum() == 9
    np.testing.assert_allclose(x[x[:, 0] == 1, 1:3], p[x[:, 0] == 1])


def test_networkx_graphs():
    pytest.importorskip("networkx")
    g, labels = karate_club()
    assert g.n_nodes == 34 and g.n_edges == 2 * 78 and labels.sum() == 17
    t = atlas_counting(per_set=10, key=jax.random.key(0))
    assert np.all(t.y_train * 7 >= 2)


def test_training_fits_a_small_task():
    t = chains(6, 3, key=jax.random.key(4))
    res = train(GCN(t.in_dim, 2, hidden=8, num_layers=3, key=jax.random.key(5), dtype=F64), t,
                steps=60, lr=3e-2)
    assert res.losses[-1] < 0.1 * res.losses[0]


def test_mesh_energy_minimiser_is_the_fea_solution():
    case = poisson_cases(1, key=jax.random.key(6), sizes=(4, 5))[0]
    m = EnergyGNN(8, 1, 3, hidden=1, mu=1e-6, fem=True, gain=1e-9, key=jax.random.key(7), dtype=F64)
    # with the FEM load in the energy and the learned terms switched off, only the Dirichlet
    # penalty (1e3) and mu separate the minimiser from morphax.physics.solve
    assert relative_error(m(case.graph)[:, 0], case.reference) < 5e-3
    k = case.problem.tangent(jnp.zeros(case.problem.ndof), case.problem.params()).toarray()
    g = case.graph
    np.testing.assert_allclose(np.asarray(g.nodes[:, 0]), np.diag(k))
    np.testing.assert_allclose(np.asarray(g.edges[:, 0]), k[np.asarray(g.receivers), np.asarray(g.senders)])


@pytest.mark.parametrize("source", ["sensor", "minnesota"])
def test_coordinates_on_pygsp_graphs(source):
    pytest.importorskip("pygsp")
    t = coordinates(1, 30, noise=0.0, key=jax.random.key(0), source=source)
    g, p = t.test, np.asarray(t.y_test)
    assert p.min() >= 0.0 and p.max() <= 1.0 + 1e-12
    disp = p[np.asarray(g.senders)] - p[np.asarray(g.receivers)]
    np.testing.assert_allclose(np.asarray(g.edges), disp, atol=1e-12)   # noise 0: exact
    assert int(np.asarray(g.nodes)[:, 0].sum()) == 3                       # anchors
    assert g.n_nodes == (30 if source == "sensor" else 2642)
