"""Tasks generated offline (Solodova et al. 2025, Sec. 5): chains, counting, sums and
relative-to-absolute coordinates (on random geometric graphs or, with the optional PyGSP, its
sensor networks and Minnesota road graph), plus small real graphs shipped with networkx.

A `Task` holds a training and a test graph (each a batch of disjoint graphs), targets per
node, and whether it is classification (targets: int labels (n,)) or regression
(targets: (n, out) floats).
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from morphax._core import InputError

from ._graphs import Graph, batch_graphs, make_graph


@dataclasses.dataclass(frozen=True)
class Task:
    """name; kind "classification" | "regression"; train/test graphs and targets;
    out_dim: classes or regression outputs. Metric: accuracy or RMSE over real nodes."""

    name: str
    kind: str
    train: Graph
    y_train: np.ndarray
    test: Graph
    y_test: np.ndarray
    out_dim: int

    @property
    def in_dim(self) -> int:
        return self.train.nodes.shape[1]

    @property
    def edge_dim(self) -> int:
        return self.train.edges.shape[1]


def _rng(key) -> np.random.Generator:
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


def _undirected(n, pairs, nodes, disp=None):
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    s, r = np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
    edges = None if disp is None else np.concatenate([disp, -disp])
    return make_graph(nodes, s, r, edges)


def _chain_set(num_chains, length, classes, rng):
    graphs, labels = [], []
    for _ in range(num_chains):
        c = rng.integers(classes)
        x = np.zeros((length, classes + 1))
        x[0, c] = 1.0
        x[:, classes] = 1.0
        graphs.append(_undirected(length, [(i, i + 1) for i in range(length - 1)], x))
        labels.append(np.full(length, c))
    return batch_graphs(graphs), np.concatenate(labels)


def chains(num_chains: int = 20, length: int = 10, classes: int = 2, *, key) -> Task:
    """Long-range information (the IGNN chains task): each path of `length` nodes carries its
    class one-hot only at its first node; every node must output the class. Features
    (n, classes + 1): the one-hot and a constant 1."""
    if length < 2 or classes < 2 or num_chains < 1:
        raise InputError("chains needs length >= 2, classes >= 2 and num_chains >= 1")
    rng = _rng(key)
    tr, ytr = _chain_set(num_chains, length, classes, rng)
    te, yte = _chain_set(num_chains, length, classes, rng)
    return Task("chains", "classification", tr, ytr, te, yte, classes)


def _random_tree(n, rng):
    return [(i, int(rng.integers(i))) for i in range(1, n)]


def _tree_set(num_graphs, n_min, n_max, rng, what):
    graphs, ys = [], []
    for _ in range(num_graphs):
        n = int(rng.integers(n_min, n_max + 1))
        if what == "count":
            x, y = np.ones((n, 1)), np.full((n, 1), n / n_max)
        else:
            v = rng.uniform(0.0, 1.0, (n, 1))
            x, y = v, np.full((n, 1), v.sum())
        graphs.append(_undirected(n, _random_tree(n, rng), x))
        ys.append(y)
    return batch_graphs(graphs), np.concatenate(ys)


def counting(num_graphs: int = 20, n_min: int = 3, n_max: int = 12, *, key) -> Task:
    """Every node of a random tree predicts the tree's size n / n_max; features (n, 1) ones."""
    rng = _rng(key)
    return Task("counting", "regression", *_tree_set(num_graphs, n_min, n_max, rng, "count"),
                *_tree_set(num_graphs, n_min, n_max, rng, "count"), 1)


def sums(num_graphs: int = 20, n_min: int = 3, n_max: int = 12, *, key) -> Task:
    """Every node of a random tree predicts the sum of the node values x ~ U(0, 1)."""
    rng = _rng(key)
    return Task("sums", "regression", *_tree_set(num_graphs, n_min, n_max, rng, "sum"),
                *_tree_set(num_graphs, n_min, n_max, rng, "sum"), 1)


def geometric_graph(n: int, radius: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """A connected 2-D random geometric graph: points (n, 2) in the unit square and the pairs
    (m, 2) closer than `radius` (resampled until connected)."""
    for _ in range(1000):
        p = rng.uniform(0.0, 1.0, (n, 2))
        d = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=2)
        adj = (d < radius) & ~np.eye(n, dtype=bool)
        seen, frontier = {0}, [0]
        while frontier:
            frontier = [j for i in frontier for j in np.flatnonzero(adj[i]) if j not in seen]
            seen.update(frontier)
        if len(seen) == n:
            i, j = np.nonzero(np.triu(adj))
            return p, np.stack([i, j], axis=1)
    raise InputError(f"no connected geometric graph with n = {n}, radius = {radius}; "
                     "raise the radius")


def pygsp_graph(name: str, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, 2) scaled into the unit square and pairs (m, 2) of a graph that ships with
    PyGSP (optional: pip install morphax[gnn]): "sensor" (a random k-NN sensor network of n
    nodes, seeded from rng) or "minnesota" (the Minnesota road network, 2642 nodes; n unused)."""
    try:
        from pygsp import graphs
    except ImportError:
        raise InputError(f"the {name!r} graph needs PyGSP: pip install 'morphax[gnn]'") from None
    if name == "sensor":
        g = graphs.Sensor(N=n, seed=int(rng.integers(2**31)))
    elif name == "minnesota":
        g = graphs.Minnesota()
    else:
        raise InputError(f"PyGSP graph must be 'sensor' or 'minnesota', got {name!r}")
    p = np.asarray(g.coords, dtype=float)
    p = (p - p.min(0)) / np.max(p.max(0) - p.min(0))
    i, j = np.nonzero(np.triu(np.asarray(g.W.todense()) != 0, k=1))
    return p, np.stack([i, j], axis=1)


def _coordinate_set(num_graphs, n, radius, noise, anchors, rng, source):
    graphs, ys = [], []
    for _ in range(num_graphs):
        p, pairs = geometric_graph(n, radius, rng) if source == "random" else pygsp_graph(source, n, rng)
        n = len(p)
        disp = p[pairs[:, 0]] - p[pairs[:, 1]] + noise * rng.normal(size=(len(pairs), 2))
        flag = np.zeros(n)
        flag[rng.choice(n, anchors, replace=False)] = 1.0
        g = _undirected(n, pairs, np.zeros((n, 1)), disp)
        # node features: anchor flag, anchor position (0 elsewhere), sum of measured
        # displacements to the neighbours (so that edge-feature-free models see them), degree
        inc = np.zeros((n, 2))
        np.add.at(inc, np.asarray(g.receivers), np.asarray(g.edges))
        deg = np.bincount(np.asarray(g.receivers), minlength=n)[:, None]
        x = np.concatenate([flag[:, None], flag[:, None] * p, inc, deg / 10.0], axis=1)
        graphs.append(g._replace(nodes=np.asarray(x)))
        ys.append(p)
    return batch_graphs(graphs), np.concatenate(ys)


def coordinates(num_graphs: int = 10, n: int = 20, radius: float = 0.4, noise: float = 0.01,
                anchors: int = 3, *, key, source: str = "random") -> Task:
    """Relative to absolute coordinates: nodes of a 2-D random geometric graph (unit square)
    measure noisy displacements to their neighbours (edge features (E, 2), p_s - p_r +
    N(0, noise^2)) and `anchors` nodes know their position; every node outputs its position
    (n, 2). Node features (n, 6): anchor flag, anchor x, y, summed incoming displacements,
    degree / 10. source: "random" (random geometric graphs of the radius) or a PyGSP graph
    ("sensor": k-NN sensor networks of n nodes; "minnesota": the road network, every graph
    of both sets the same 2642 nodes with fresh noise and anchors, so test positions are not
    held out), see `pygsp_graph`."""
    if anchors < 1 or anchors > n:
        raise InputError(f"coordinates needs 1 <= anchors <= n, got {anchors} and n = {n}")
    rng = _rng(key)
    args = (num_graphs, n, radius, noise, anchors, rng, source)
    return Task("coordinates", "regression", *_coordinate_set(*args), *_coordinate_set(*args), 2)


def from_networkx(graph, features=None) -> Graph:
    """A Graph from a networkx graph (nodes relabelled 0..n-1 in iteration order); features
    (n, F) or None for a constant column."""
    nodes = list(graph.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    pairs = [(index[a], index[b]) for a, b in graph.edges()]
    x = np.ones((len(nodes), 1)) if features is None else np.asarray(features, dtype=float)
    return _undirected(len(nodes), pairs, x)


def _networkx():
    try:
        import networkx
    except ImportError:
        raise InputError("this task needs networkx: pip install networkx") from None
    return networkx


def karate_club() -> tuple[Graph, np.ndarray]:
    """Zachary's karate club (34 nodes, 78 edges) with labels 0 = "Mr. Hi", 1 = "Officer";
    features (34, 2): 1 and degree / 10."""
    nx = _networkx()
    g = nx.karate_club_graph()
    deg = np.array([d for _, d in g.degree()], dtype=float)
    labels = np.array([g.nodes[v]["club"] != "Mr. Hi" for v in g.nodes()], dtype=np.int64)
    return from_networkx(g, np.stack([np.ones_like(deg), deg / 10.0], axis=1)), labels


def atlas_counting(max_nodes: int = 7, per_set: int = 60, *, key) -> Task:
    """Counting on the networkx graph atlas: connected atlas graphs with 2..max_nodes nodes,
    split at random into train and test; targets n / max_nodes, features ones."""
    nx = _networkx()
    pool = [g for g in nx.graph_atlas_g()[1:] if 2 <= g.number_of_nodes() <= max_nodes
            and nx.is_connected(g)]
    order = _rng(key).permutation(len(pool))

    def subset(idx):
        gs = [pool[i] for i in idx]
        return (batch_graphs([from_networkx(g) for g in gs]),
                np.concatenate([np.full((g.number_of_nodes(), 1), g.number_of_nodes() / max_nodes)
                                for g in gs]))

    return Task("atlas_counting", "regression", *subset(order[:per_set]),
                *subset(order[per_set:2 * per_set]), 1)
