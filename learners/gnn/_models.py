"""GNN models behind one interface, so that the asynchronous simulator can run any of them.

Every model has `prepare(graph) -> ctx` (feature-only quantities: normalised adjacency,
attention), `init_state(ctx) -> h0 (n, d)`, and the local rule a node applies when it wakes,
`update(ctx, h, h_send, h_recv, counters, step) -> (n, d)`: for each edge e = (s -> r),
`h_send[e]` is the sender's state as the receiver last read it and `h_recv[e]` the receiver's
state as the sender last read it (both equal h[s], h[r] when synchronous). `solve(graph)`
gives the synchronous node states and `__call__(graph)` the outputs (n, out).

kinds: "explicit" (GCN, GAT: L layers, per-node layer counters when asynchronous),
"fixed_point" (IGNN: h = relu(W A h + Omega x), Gu et al. 2020), "energy" (GSD-GNN and the
energy GNN of Solodova et al. 2025: h* = argmin E, updated by gradient steps of size `step`).
"""

from __future__ import annotations

import functools
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from morphax._core import InputError

from ._graphs import Graph, gcn_weights, segment_sum, softmax_per_receiver
from ._implicit import apply_precond, argmin, fixed_point, hessian_bound, precond_powers
from ._picnn import PICNN


def _readout(f_in: int, out: int, key, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    return eqx.nn.MLP(f_in, out, 32, 2, activation=jax.nn.gelu, key=key, **kw)


def _apply_readout(mlp, graph: Graph, h):
    return jax.vmap(mlp)(jnp.concatenate([h, graph.nodes], axis=1))


def _views(graph: Graph, h):
    return h[graph.senders], h[graph.receivers]


def _aggregate(ctx, h, h_send):
    """sum_j A_ij h_j with the normalised adjacency, neighbours' values as read (n, d)."""
    w_edge, w_self = ctx["w"]
    g = ctx["graph"]
    return w_self[:, None] * h + segment_sum(w_edge[:, None] * h_send, g.receivers, g.n_nodes)


class GNNModel(eqx.Module):
    """Base of all models; subclasses set `kind` and the methods below."""

    kind: ClassVar[str] = ""

    def prepare(self, graph: Graph) -> dict:
        return {"graph": graph, "w": gcn_weights(graph)}

    @eqx.filter_jit
    def __call__(self, graph: Graph, *, tol: float = 1e-10, max_iter: int = 5000):
        """Synchronous outputs (n, out); tol, max_iter: the implicit models' solver settings.
        Compiled (once per model structure and graph shape)."""
        return self.readout(graph, self.solve(graph, tol=tol, max_iter=max_iter))

    def sync_update(self, ctx, h, counters=None, step=None):
        return self.update(ctx, h, *_views(ctx["graph"], h), counters, step)


# ----- explicit baselines -------------------------------------------------------------------
class GCN(GNNModel):
    """L-layer graph convolution (Kipf and Welling 2017) h <- relu(W_l A h + b_l) after an
    encoder, readout MLP of [h, x]."""

    kind: ClassVar[str] = "explicit"
    enc: eqx.nn.Linear
    weights: jax.Array
    biases: jax.Array
    head: eqx.nn.MLP
    num_layers: int = eqx.field(static=True)

    def __init__(self, in_dim: int, out_dim: int, *, hidden: int = 16, num_layers: int = 3, key,
                 dtype=None):
        k = jax.random.split(key, 3)
        kw = {} if dtype is None else {"dtype": dtype}
        self.enc = eqx.nn.Linear(in_dim, hidden, key=k[0], **kw)
        self.weights = jax.random.normal(k[1], (num_layers, hidden, hidden), **kw) / jnp.sqrt(hidden)
        self.biases = jnp.zeros((num_layers, hidden), **kw)
        self.head = _readout(hidden + in_dim, out_dim, k[2], dtype)
        self.num_layers = num_layers

    def init_state(self, ctx):
        return jax.nn.relu(jax.vmap(self.enc)(ctx["graph"].nodes))

    def _layer_input(self, ctx, h, h_send, layer):
        return _aggregate(ctx, h, h_send)

    def update(self, ctx, h, h_send, h_recv, counters, step=None):
        layer = jnp.clip(counters, 0, self.num_layers - 1)
        m = self._layer_input(ctx, h, h_send, layer)
        new = jax.nn.relu(jnp.einsum("nij,nj->ni", self.weights[layer], m) + self.biases[layer])
        return jnp.where((counters < self.num_layers)[:, None], new, h)

    def solve(self, graph: Graph, *, tol: float = 0.0, max_iter: int = 0):
        """Synchronous L-layer pass (n, hidden); tol and max_iter are unused (explicit model)."""
        ctx = self.prepare(graph)
        h = self.init_state(ctx)
        for layer in range(self.num_layers):
            h = self.sync_update(ctx, h, jnp.full(graph.n_nodes, layer))
        return h

    def readout(self, graph: Graph, h):
        return _apply_readout(self.head, graph, h)


class GAT(GCN):
    """Graph attention (Velickovic et al. 2018), one head: neighbours and self weighted by a
    softmax of leaky_relu(a_dst . W h_i + a_src . W h_j); attention depends on the states."""

    a_src: jax.Array
    a_dst: jax.Array

    def __init__(self, in_dim: int, out_dim: int, *, hidden: int = 16, num_layers: int = 3, key,
                 dtype=None):
        k1, k2 = jax.random.split(key)
        super().__init__(in_dim, out_dim, hidden=hidden, num_layers=num_layers, key=k1, dtype=dtype)
        kw = {} if dtype is None else {"dtype": dtype}
        a = jax.random.normal(k2, (2, num_layers, hidden), **kw) / jnp.sqrt(hidden)
        self.a_src, self.a_dst = a[0], a[1]

    def _layer_input(self, ctx, h, h_send, layer):
        # attention weights (incl. a self-loop) computed with the receiver's layer; the caller
        # multiplies the result by W_layer, so mixing raw states here is the same as mixing W h.
        g = ctx["graph"]
        wl = self.weights[layer]                                    # (n, d, d)
        z_self = jnp.einsum("nij,nj->ni", wl, h)
        z_nb = jnp.einsum("eij,ej->ei", wl[g.receivers], h_send)
        dst = jnp.sum(self.a_dst[layer] * z_self, axis=1)
        s_edge = jax.nn.leaky_relu(dst[g.receivers] + jnp.sum(self.a_src[layer][g.receivers] * z_nb, 1), 0.2)
        s_self = jax.nn.leaky_relu(dst + jnp.sum(self.a_src[layer] * z_self, axis=1), 0.2)
        s_edge = jnp.where(g.edge_mask, s_edge, -jnp.inf)
        top = jnp.maximum(jax.ops.segment_max(s_edge, g.receivers, num_segments=g.n_nodes), s_self)
        e_edge = jnp.where(g.edge_mask, jnp.exp(s_edge - top[g.receivers]), 0.0)
        e_self = jnp.exp(s_self - top)
        z = e_self + segment_sum(e_edge, g.receivers, g.n_nodes)
        return (e_self[:, None] * h + segment_sum(e_edge[:, None] * h_send, g.receivers, g.n_nodes)) \
            / z[:, None]


# ----- fixed-point model --------------------------------------------------------------------
def project_inf_ball(w, radius):
    """Project each row of w (d, d) onto the l1 ball of the radius (Duchi et al. 2008), so that
    ||w||_inf = max_i sum_j |w_ij| <= radius."""
    a = jnp.abs(w)
    u = -jnp.sort(-a, axis=1)
    cs = jnp.cumsum(u, axis=1)
    j = jnp.arange(1, w.shape[1] + 1, dtype=w.dtype)[None, :]
    ok = u * j > (cs - radius)
    rho = jnp.maximum(jnp.sum(ok, axis=1), 1)
    theta = (jnp.take_along_axis(cs, (rho - 1)[:, None], axis=1) - radius) / rho[:, None].astype(w.dtype)
    inside = jnp.sum(a, axis=1, keepdims=True) <= radius
    return jnp.where(inside, w, jnp.sign(w) * jnp.maximum(a - theta, 0.0))


class IGNN(GNNModel):
    """Implicit GNN (Gu et al. 2020): h = relu(W sum_j A_ij h_j + Omega x_i) with the
    normalised adjacency A (spectral radius 1). With ||W||_inf <= kappa < 1 the map is a
    contraction in the max norm, so the fixed point is unique and asynchronous iteration with
    bounded staleness converges to it (Bertsekas 1983). `project()` enforces the bound."""

    kind: ClassVar[str] = "fixed_point"
    w: jax.Array
    omega: eqx.nn.Linear
    head: eqx.nn.MLP
    kappa: float = eqx.field(static=True)

    def __init__(self, in_dim: int, out_dim: int, *, hidden: int = 16, kappa: float = 0.95, key,
                 dtype=None):
        k = jax.random.split(key, 3)
        kw = {} if dtype is None else {"dtype": dtype}
        self.w = jax.random.normal(k[0], (hidden, hidden), **kw) / hidden
        self.omega = eqx.nn.Linear(in_dim, hidden, key=k[1], **kw)
        self.head = _readout(hidden + in_dim, out_dim, k[2], dtype)
        self.kappa = kappa

    def project(self, rho: float = 1.0):
        """The model with W projected onto ||W||_inf <= kappa / rho (rho: the adjacency's
        spectral radius, 1 for the normalised one used here)."""
        return eqx.tree_at(lambda m: m.w, self, project_inf_ball(self.w, self.kappa / rho))

    def init_state(self, ctx):
        return jnp.zeros((ctx["graph"].n_nodes, self.w.shape[0]), self.w.dtype)

    def prepare(self, graph: Graph) -> dict:
        ctx = super().prepare(graph)
        ctx["bias"] = jnp.where(graph.node_mask[:, None], jax.vmap(self.omega)(graph.nodes), 0.0)
        return ctx

    def update(self, ctx, h, h_send, h_recv, counters=None, step=None):
        m = _aggregate(ctx, h, h_send)
        return jnp.where(ctx["graph"].node_mask[:, None], jax.nn.relu(m @ self.w.T + ctx["bias"]), 0.0)

    def solve(self, graph: Graph, *, tol: float = 1e-10, max_iter: int = 5000):
        params, static = eqx.partition(self, eqx.is_array)
        ctx = self.prepare(graph)
        return fixed_point(functools.partial(_fp_map, static), (params, ctx), self.init_state(ctx),
                           tol, max_iter)

    def readout(self, graph: Graph, h):
        return _apply_readout(self.head, graph, h)


def _fp_map(static, theta, h):
    model = eqx.combine(theta[0], static)
    return model.sync_update(theta[1], h)


# ----- energy models ------------------------------------------------------------------------
class EnergyModel(GNNModel):
    """h* = argmin_H E(H), E = sum_i e_i(h_i) + sum_(s->r) e_rs(h_r, h_s) + mu/2 |H|^2,
    strongly convex in H. A node's gradient needs only its neighbours' states, so a node that
    wakes takes a local preconditioned gradient step h_i <- h_i - S_i dE/dh_i with whatever
    neighbour values it last read; S_i = omega P_i^-1 / (1.1 L) with P_i the node's diagonal
    Hessian block at the start (block Jacobi, local) and L the largest eigenvalue of the
    preconditioned Hessian (`step_size`)."""

    kind: ClassVar[str] = "energy"

    def node_energy(self, ctx, h):            # (n,) energies
        raise NotImplementedError

    def edge_energy(self, ctx, h_recv, h_send):   # (E,) energies
        raise NotImplementedError

    def hessian_blocks(self, ctx, h):
        """The diagonal blocks d2E/dh_i2 (n, d, d) of the Hessian at h. Node i's block needs only
        its own energy and its edges' energies, so each node can compute it locally."""
        g = ctx["graph"]
        hr, hs = h[g.receivers], h[g.senders]

        def node_g(x):
            return jax.grad(lambda x: jnp.sum(self.node_energy(ctx, x)))(x)

        def edge_g_recv(a):
            return jax.grad(lambda a: jnp.sum(self.edge_energy(ctx, a, hs)))(a)

        def edge_g_send(b):
            return jax.grad(lambda b: jnp.sum(self.edge_energy(ctx, hr, b)))(b)

        def column(e):   # column k of every block: one Hessian-vector product per term
            cn = jax.jvp(node_g, (h,), (jnp.broadcast_to(e, h.shape),))[1]
            ca = jax.jvp(edge_g_recv, (hr,), (jnp.broadcast_to(e, hr.shape),))[1]
            cb = jax.jvp(edge_g_send, (hs,), (jnp.broadcast_to(e, hs.shape),))[1]
            return cn + segment_sum(ca, g.receivers, g.n_nodes) + segment_sum(cb, g.senders, g.n_nodes)

        eye = jnp.eye(h.shape[1], dtype=h.dtype)
        blocks = jnp.moveaxis(jax.vmap(column)(eye), 0, 2) + self.mu * eye[None]
        return 0.5 * (blocks + jnp.swapaxes(blocks, 1, 2))

    def precond(self, ctx):
        """Block-Jacobi preconditioner (n, d, d): the Hessian's diagonal blocks at the initial
        state (identity on padding nodes), computed once per graph from the features."""
        g = ctx["graph"]
        blocks = jax.lax.stop_gradient(self.hessian_blocks(ctx, self.init_state(ctx)))
        eye = jnp.eye(blocks.shape[1], dtype=blocks.dtype)
        return jnp.where(g.node_mask[:, None, None], blocks, eye[None])

    def energy(self, graph_or_ctx, h):
        """Total energy E(H) (scalar) at node states h (n, d)."""
        ctx = graph_or_ctx if isinstance(graph_or_ctx, dict) else self.prepare(graph_or_ctx)
        g = ctx["graph"]
        return (jnp.sum(self.node_energy(ctx, h)) + jnp.sum(self.edge_energy(ctx, *_views(g, h)[::-1]))
                + 0.5 * self.mu * jnp.sum(jnp.where(g.node_mask[:, None], h * h, 0.0)))

    def local_grad(self, ctx, h, h_send, h_recv):
        """dE/dh_i (n, d) from node i's own state and its reads of its neighbours."""
        g = ctx["graph"]
        gn = jax.grad(lambda x: jnp.sum(self.node_energy(ctx, x)))(h)
        g1 = jax.grad(lambda a: jnp.sum(self.edge_energy(ctx, a, h_send)))(h[g.receivers])
        g2 = jax.grad(lambda b: jnp.sum(self.edge_energy(ctx, h_recv, b)))(h[g.senders])
        total = gn + segment_sum(g1, g.receivers, g.n_nodes) + segment_sum(g2, g.senders, g.n_nodes)
        return jnp.where(g.node_mask[:, None], total + self.mu * h, 0.0)

    def grad(self, ctx, h):
        return self.local_grad(ctx, h, *_views(ctx["graph"], h))

    def update(self, ctx, h, h_send, h_recv, counters=None, step=None):
        return h - apply_precond(step, self.local_grad(ctx, h, h_send, h_recv))

    def init_state(self, ctx):
        return jnp.zeros((ctx["graph"].n_nodes, self.hidden), ctx["graph"].nodes.dtype)

    def step_size(self, ctx, h=None, *, scale: float = 1.0):
        """Per-node step matrices (n, d, d): scale P_i^-1 / (1.1 L), L the largest eigenvalue of
        the preconditioned Hessian P^-1/2 (d2E/dH2) P^-1/2 at h (h0 by default; exact for
        quadratic energies), 1.1 a margin for its change along the iteration. scale = 1 is the
        synchronous step; bounded staleness needs a smaller one (see `Schedule`)."""
        params, static = eqx.partition(self, eqx.is_array)
        h = self.init_state(ctx) if h is None else h
        p = self.precond(ctx)
        lip = hessian_bound(functools.partial(_energy_grad, static), (params, ctx), h, p)
        return (scale / (1.1 * lip)) * precond_powers(p)[1]

    def solve(self, graph: Graph, *, tol: float = 1e-10, max_iter: int = 5000):
        params, static = eqx.partition(self, eqx.is_array)
        ctx = self.prepare(graph)
        return argmin(functools.partial(_energy_grad, static), (params, ctx), self.init_state(ctx),
                      self.precond(ctx), tol, max_iter)

    def readout(self, graph: Graph, h):
        return _apply_readout(self.head, graph, h)


def _energy_grad(static, theta, h):
    model = eqx.combine(theta[0], static)
    return model.grad(theta[1], h)


class GSDGNN(EnergyModel):
    """Graph-signal-denoising GNN (APPNP/UGNN family): E = 1/2 sum_i |h_i - f(x_i)|^2 +
    lam/4 sum_(s->r) |h_r - h_s|^2 (each undirected edge counted twice), lam = softplus(.)."""

    f: eqx.nn.MLP
    raw_lam: jax.Array
    head: eqx.nn.MLP
    hidden: int = eqx.field(static=True)
    mu: float = eqx.field(static=True)

    def __init__(self, in_dim: int, out_dim: int, *, hidden: int = 16, key, dtype=None):
        k1, k2 = jax.random.split(key)
        kw = {} if dtype is None else {"dtype": dtype}
        self.f = eqx.nn.MLP(in_dim, hidden, 32, 1, activation=jax.nn.gelu, key=k1, **kw)
        self.raw_lam = jnp.asarray(1.0, **kw)
        self.head = _readout(hidden + in_dim, out_dim, k2, dtype)
        self.hidden, self.mu = hidden, 0.0

    def prepare(self, graph: Graph) -> dict:
        return {"graph": graph, "target": jax.vmap(self.f)(graph.nodes)}

    def node_energy(self, ctx, h):
        d = h - ctx["target"]
        return jnp.where(ctx["graph"].node_mask, 0.5 * jnp.sum(d * d, axis=1), 0.0)

    def edge_energy(self, ctx, h_recv, h_send):
        d = h_recv - h_send
        e = 0.25 * jax.nn.softplus(self.raw_lam) * jnp.sum(d * d, axis=1)
        return jnp.where(ctx["graph"].edge_mask, e, 0.0)


#: columns of a mesh graph (see `mesh_graph`) that the FEM energy term reads
FEM_NODE_COLUMNS = ("k_diag", "load", "dirichlet", "g")
FEM_EDGE_COLUMNS = ("k_offdiag",)


class EnergyGNN(EnergyModel):
    """The energy GNN (Solodova, Richardson, Oktay and Adams, ICLR 2025).

    E(H) = sum_i N(h_i; x_i) + sum_(s->r) alpha_rs C(h_r, h_s; x_r, x_s, e_rs) + mu/2 |H|^2
    with PICNN node and edge energies N, C (convex in the states, any function of the
    features) and attention alpha_rs >= 0 from features only (a softmax over r's incoming
    edges, times r's degree), so E stays strongly convex in H. Readout: MLP of [h_i*, x_i].
    `gain` scales both learned energies (a learned positive factor).

    fem=True adds the P1 finite-element energy of a Poisson problem on the first state
    component, 1/2 u^T K u - b^T u + penalty/2 sum_(Dirichlet i) K_ii (u_i - g_i)^2, read from
    the first columns of a `mesh_graph` (FEM_NODE_COLUMNS, FEM_EDGE_COLUMNS), and
    the output is then u = h[:, 0]
    plus a readout correction that starts at zero.
    """

    node_e: PICNN
    edge_e: PICNN
    att: eqx.nn.MLP | None
    head: eqx.nn.MLP
    log_gain: jax.Array
    hidden: int = eqx.field(static=True)
    mu: float = eqx.field(static=True)
    fem: bool = eqx.field(static=True)
    penalty: float = eqx.field(static=True)

    def __init__(self, in_dim: int, out_dim: int, edge_dim: int = 0, *, hidden: int = 8,
                 width: int = 16, mu: float = 0.1, attention: bool = True, fem: bool = False,
                 penalty: float = 1e3, gain: float = 1.0, key, dtype=None):
        if mu <= 0:
            raise InputError(f"the energy GNN needs mu > 0 for strong convexity, got {mu}")
        k = jax.random.split(key, 4)
        kw = {} if dtype is None else {"dtype": dtype}
        pe = 2 * in_dim + edge_dim
        self.node_e = PICNN(hidden, in_dim, hidden=width, key=k[0], dtype=dtype)
        self.edge_e = PICNN(2 * hidden, pe, hidden=width, quad=hidden, key=k[1], dtype=dtype)
        self.att = eqx.nn.MLP(pe, 1, width, 1, activation=jax.nn.gelu, key=k[2], **kw) \
            if attention else None
        head = _readout(hidden + in_dim, out_dim, k[3], dtype)
        if fem:   # outputs u = h[:, 0] + a learned correction that starts at zero
            head = eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), head,
                               (jnp.zeros_like(head.layers[-1].weight),
                                jnp.zeros_like(head.layers[-1].bias)))
        self.head = head
        self.log_gain = jnp.log(jnp.asarray(gain, **kw))
        self.hidden, self.mu, self.fem, self.penalty = hidden, mu, fem, penalty

    def prepare(self, graph: Graph) -> dict:
        x = graph.nodes
        ef = jnp.concatenate([x[graph.receivers], x[graph.senders], graph.edges], axis=1)
        if self.att is None:
            alpha = graph.edge_mask.astype(x.dtype)
        else:
            deg = segment_sum(graph.edge_mask.astype(x.dtype), graph.receivers, graph.n_nodes)
            alpha = softmax_per_receiver(jax.vmap(self.att)(ef)[:, 0], graph) * deg[graph.receivers]
        # the PICNNs' feature-only coefficients, computed once per graph
        return {"graph": graph, "alpha": alpha, "node_coef": jax.vmap(self.node_e.coefficients)(x),
                "edge_coef": jax.vmap(self.edge_e.coefficients)(ef)}

    def node_energy(self, ctx, h):
        g = ctx["graph"]
        e = jnp.exp(self.log_gain) * jax.vmap(self.node_e.energy)(h, ctx["node_coef"])
        if self.fem:
            x, u = g.nodes, h[:, 0]
            kd, b, bc, gv = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
            e = e + 0.5 * kd * u * u - b * u + 0.5 * self.penalty * bc * kd * (u - gv) ** 2
        return jnp.where(g.node_mask, e, 0.0)

    def edge_energy(self, ctx, h_recv, h_send):
        g = ctx["graph"]
        y = jnp.concatenate([h_recv, h_send], axis=1)
        e = jnp.exp(self.log_gain) * ctx["alpha"] * jax.vmap(self.edge_e.energy)(y, ctx["edge_coef"])
        if self.fem:
            e = e + 0.5 * g.edges[:, 0] * h_recv[:, 0] * h_send[:, 0]
        return jnp.where(g.edge_mask, e, 0.0)

    def readout(self, graph: Graph, h):
        out = _apply_readout(self.head, graph, h)
        return h[:, :1] + out if self.fem else out
