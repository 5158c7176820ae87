"""Graphs as arrays: node and edge features, sender/receiver index lists, masks for padding.

A `Graph` is a NamedTuple (hence a pytree), laid out like jraph's GraphsTuple so that one
graph or a disjoint union of many (a batch) look the same to every model. Undirected graphs
store each edge in both directions. Messages travel sender -> receiver and are summed per
receiver with `jax.ops.segment_sum`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError


class Graph(NamedTuple):
    """A (batch of) graph(s) as arrays.

    nodes (n, F) node features; edges (E, Fe) edge features (Fe may be 0);
    senders, receivers (E,) int node indices (message s -> r); node_mask (n,) and
    edge_mask (E,) are False on padding; graph_id (n,) says which graph of a batch each node
    belongs to.
    """

    nodes: jax.Array
    edges: jax.Array
    senders: jax.Array
    receivers: jax.Array
    node_mask: jax.Array
    edge_mask: jax.Array
    graph_id: jax.Array

    @property
    def n_nodes(self) -> int:
        return self.nodes.shape[0]

    @property
    def n_edges(self) -> int:
        return self.senders.shape[0]


def make_graph(nodes, senders, receivers, edges=None, *, symmetric: bool = False) -> Graph:
    """A single graph from numpy-like arrays.

    nodes (n, F); senders, receivers (E,) ints in [0, n); edges (E, Fe) or None.
    symmetric=True adds every edge reversed with the same features; for direction-dependent
    edge features (displacements) list both directions yourself and keep symmetric=False.
    """
    nodes = np.asarray(nodes, dtype=float)
    if nodes.ndim != 2:
        raise InputError(f"node features must be (n, F), got shape {nodes.shape}")
    s, r = np.asarray(senders, dtype=np.int32).ravel(), np.asarray(receivers, dtype=np.int32).ravel()
    if s.shape != r.shape:
        raise InputError(f"senders {s.shape} and receivers {r.shape} must have the same length")
    n = nodes.shape[0]
    if s.size and (min(s.min(), r.min()) < 0 or max(s.max(), r.max()) >= n):
        raise InputError(f"edge indices must lie in [0, {n}); check senders/receivers")
    e = np.zeros((s.size, 0)) if edges is None else np.asarray(edges, dtype=float).reshape(s.size, -1)
    if symmetric:
        s, r, e = np.concatenate([s, r]), np.concatenate([r, s]), np.concatenate([e, e])
    return Graph(jnp.asarray(nodes), jnp.asarray(e), jnp.asarray(s), jnp.asarray(r),
                 jnp.ones(n, bool), jnp.ones(s.size, bool), jnp.zeros(n, jnp.int32))


def batch_graphs(graphs) -> Graph:
    """The disjoint union of graphs (same feature widths); graph_id numbers them 0, 1, ..."""
    graphs = list(graphs)
    if not graphs:
        raise InputError("batch_graphs needs at least one graph")
    offsets = np.cumsum([0] + [g.n_nodes for g in graphs[:-1]])
    ids, first = [], 0
    for g in graphs:
        ids.append(np.asarray(g.graph_id) + first)
        first = int(ids[-1].max()) + 1 if g.n_nodes else first
    cat = lambda xs: jnp.asarray(np.concatenate([np.asarray(x) for x in xs]))  # noqa: E731
    idx = lambda xs: cat(xs).astype(jnp.int32)  # noqa: E731
    return Graph(cat([g.nodes for g in graphs]), cat([g.edges for g in graphs]),
                 idx([np.asarray(g.senders) + o for g, o in zip(graphs, offsets, strict=True)]),
                 idx([np.asarray(g.receivers) + o for g, o in zip(graphs, offsets, strict=True)]),
                 cat([g.node_mask for g in graphs]), cat([g.edge_mask for g in graphs]), idx(ids))


def pad_graph(graph: Graph, n_nodes: int, n_edges: int) -> Graph:
    """Pad to exactly n_nodes nodes and n_edges edges (padding edges join padding nodes), so
    batches of different sizes share one compiled function. Needs n_nodes > graph.n_nodes."""
    dn, de = n_nodes - graph.n_nodes, n_edges - graph.n_edges
    if dn < 1 or de < 0:
        raise InputError(f"cannot pad a graph of {graph.n_nodes} nodes / {graph.n_edges} edges "
                         f"to {n_nodes} / {n_edges}: give at least one more node and no fewer edges")
    pad = jnp.full(de, graph.n_nodes, jnp.int32)
    z = lambda x, k: jnp.concatenate([x, jnp.zeros((k, *x.shape[1:]), x.dtype)])  # noqa: E731
    return Graph(z(graph.nodes, dn), z(graph.edges, de),
                 jnp.concatenate([graph.senders, pad]), jnp.concatenate([graph.receivers, pad]),
                 z(graph.node_mask, dn), z(graph.edge_mask, de),
                 jnp.concatenate([graph.graph_id, jnp.full(dn, -1, jnp.int32)]))


def segment_sum(values, segments, n: int):
    """Sum rows of values (E, ...) into n bins by segments (E,)."""
    return jax.ops.segment_sum(values, segments, num_segments=n)


def degrees(graph: Graph):
    """In-degree (n,) of each node, counting only real edges."""
    return segment_sum(graph.edge_mask.astype(graph.nodes.dtype), graph.receivers, graph.n_nodes)


def gcn_weights(graph: Graph):
    """Symmetrically normalised adjacency with self-loops, D^-1/2 (A + I) D^-1/2 (Kipf & Welling):
    (edge weights (E,), self weights (n,)). Its spectral radius is 1 on every graph."""
    d = degrees(graph) + 1.0
    inv = 1.0 / jnp.sqrt(d)
    w = jnp.where(graph.edge_mask, inv[graph.senders] * inv[graph.receivers], 0.0)
    return w, jnp.where(graph.node_mask, inv * inv, 0.0)


def spectral_radius(graph: Graph, w_edge, w_self, iterations: int = 200):
    """Perron-Frobenius eigenvalue of a non-negative weighted adjacency (power iteration)."""
    def body(_, v):
        av = w_self * v + segment_sum(w_edge * v[graph.senders], graph.receivers, graph.n_nodes)
        return av / jnp.maximum(jnp.max(av), 1e-30)

    v = jax.lax.fori_loop(0, iterations, body, graph.node_mask.astype(graph.nodes.dtype))
    av = w_self * v + segment_sum(w_edge * v[graph.senders], graph.receivers, graph.n_nodes)
    return jnp.max(av) / jnp.maximum(jnp.max(v), 1e-30)


def softmax_per_receiver(scores, graph: Graph):
    """Softmax of edge scores (E,) over each receiver's incoming edges (padding edges get 0)."""
    s = jnp.where(graph.edge_mask, scores, -jnp.inf)
    top = jax.ops.segment_max(s, graph.receivers, num_segments=graph.n_nodes)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    e = jnp.where(graph.edge_mask, jnp.exp(s - top[graph.receivers]), 0.0)
    z = segment_sum(e, graph.receivers, graph.n_nodes)
    return e / jnp.maximum(z[graph.receivers], 1e-30)
