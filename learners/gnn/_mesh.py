"""A learned asynchronous Poisson solver: an energy GNN on the node graph of a
`morphax.physics` mesh whose minimiser is the finite-element solution, compared with
`morphax.physics.solve`.

The graph is read off the physics problem: the stiffness matrix K and load b of
-div(grad u) = f assembled by `Problem` (P1 triangles), Dirichlet data on the whole boundary.
Node features (n, 8): K_ii, b_i (with_load=False: the lumped load f(x_i) A_i instead, which a
node knows locally, so that a network learns the correction to the consistent load), Dirichlet
flag, g_i, x, y, f(x_i), 100 f(x_i) A_i (A_i: a third of the adjacent triangles' area).
Edge features (E, 3): K_ij, x_s - x_r, y_s - y_r.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import InputError
from morphax.physics import Dirichlet, Mesh, Poisson, Problem, rectangle, solve

from ._graphs import Graph, batch_graphs, make_graph
from ._tasks import _rng

SIDES = ("left", "right", "bottom", "top")


@dataclasses.dataclass(frozen=True)
class PoissonCase:
    """One Poisson problem: the physics Problem, its node graph, the FEA solution
    (n,) from `morphax.physics.solve`, and the source values at the nodes (n,)."""

    problem: Problem
    graph: Graph
    reference: np.ndarray
    source: np.ndarray


def lumped_areas(mesh: Mesh) -> np.ndarray:
    """A third of the total area of the triangles around each node (n,)."""
    p, c = np.asarray(mesh.points), np.asarray(mesh.cells)[:, :3]
    a, b, d = p[c[:, 0]], p[c[:, 1]], p[c[:, 2]]
    area = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (d[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (d[:, 0] - a[:, 0]))
    out = np.zeros(len(p))
    np.add.at(out, c.ravel(), np.repeat(area / 3.0, 3))
    return out


def mesh_graph(problem: Problem, source_values, *, with_load: bool = True) -> Graph:
    """The node graph of a scalar P1 problem with its FEM data as features (module doc)."""
    if problem.ncomp != 1 or problem.mesh.cell_type != "tri3":
        raise InputError("mesh_graph needs a scalar problem on tri3 cells (e.g. Poisson on "
                         "rectangle(nx, ny))")
    p = problem.params()
    zero = jnp.zeros(problem.ndof)
    k = problem.tangent(zero, p).tocoo()
    b = -np.asarray(problem.residual(zero, p))
    n = problem.ndof
    diag = np.asarray(k.diagonal())
    off = k.row != k.col
    s, r, kv = k.col[off], k.row[off], k.data[off]
    bc, g = np.zeros(n), np.zeros(n)
    bc[problem.fixed] = 1.0
    g[problem.fixed] = problem.prescribed_values(p)
    x = np.asarray(problem.mesh.points)
    f = np.asarray(source_values, dtype=float).reshape(n)
    lumped = f * lumped_areas(problem.mesh)
    load = b if with_load else lumped
    nodes = np.stack([diag, load, bc, g, x[:, 0], x[:, 1], f, 100.0 * lumped], 1)
    edges = np.concatenate([kv[:, None], x[s] - x[r]], axis=1)
    return make_graph(nodes, s, r, edges)


def _source(centres, widths, amps):
    def f(x):
        d2 = jnp.sum((x[None, :] - centres) ** 2, axis=1)
        return jnp.atleast_1d(jnp.sum(amps * jnp.exp(-0.5 * d2 / widths ** 2)))
    return f


def poisson_cases(num: int, *, key, sizes=(6, 9), jitter: float = 0.2,
                  with_load: bool = True) -> list[PoissonCase]:
    """`num` random problems -div(grad u) = f on jittered rectangle meshes: nx, ny drawn from
    sizes[0]..sizes[1], sides 0.8..1.2, interior nodes moved by up to `jitter` cell widths, f a
    sum of two Gaussian bumps (amplitudes in [-10, 10]), u = a0 + a1 x + a2 y on the boundary."""
    rng = _rng(key)
    cases = []
    for _ in range(num):
        nx, ny = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, 2))
        lx, ly = rng.uniform(0.8, 1.2, 2)
        mesh = rectangle(nx, ny, size=(lx, ly))
        pts = np.asarray(mesh.points).copy()
        inner = (pts[:, 0] > 1e-9) & (pts[:, 0] < lx - 1e-9) & (pts[:, 1] > 1e-9) & (pts[:, 1] < ly - 1e-9)
        pts[inner] += jitter * rng.uniform(-1, 1, (inner.sum(), 2)) * np.array([lx / nx, ly / ny])
        mesh = mesh.with_points(pts)
        a = rng.uniform(-1, 1, 3)
        bcs = [Dirichlet(side, lambda x, a=a: a[0] + a[1] * x[:, :1] + a[2] * x[:, 1:2]) for side in SIDES]
        centres = rng.uniform(0.2, 0.8, (2, 2)) * np.array([lx, ly])
        widths, amps = rng.uniform(0.1, 0.25, 2), rng.uniform(-10, 10, 2)
        src = _source(jnp.asarray(centres), jnp.asarray(widths), jnp.asarray(amps))
        problem = Problem(mesh, Poisson(), dirichlet=bcs, source=src)
        ref = np.asarray(solve(problem).u)[:, 0]
        fv = np.asarray(jax.vmap(src)(jnp.asarray(pts)))[:, 0]
        cases.append(PoissonCase(problem, mesh_graph(problem, fv, with_load=with_load), ref, fv))
    return cases


def relative_error(u, reference) -> float:
    """||u - u_ref|| / ||u_ref|| over the nodes."""
    u, reference = np.asarray(u).ravel(), np.asarray(reference).ravel()
    return float(np.linalg.norm(u - reference) / np.linalg.norm(reference))


def _batch(cases):
    graph = batch_graphs([c.graph for c in cases])
    return graph, jnp.asarray(np.concatenate([c.reference for c in cases]))


def train_mesh_solver(model, cases, *, steps: int = 100, lr: float = 1e-2, tol: float = 1e-8,
                      max_iter: int = 1000, progress=None):
    """Fit the energy GNN so that its minimiser's readout matches the FEA solutions of the
    training cases; loss: mean over cases of ||u - u_ref||^2 / ||u_ref||^2. Returns
    (model, losses)."""
    graph, ref = _batch(cases)
    gid, m = graph.graph_id, len(cases)
    norms = jax.ops.segment_sum(ref * ref, gid, num_segments=m)
    opt = optax.adam(lr)
    state = opt.init(eqx.filter(model, eqx.is_array))

    def loss_fn(model):
        u = model(graph, tol=tol, max_iter=max_iter)[:, 0]
        err = jax.ops.segment_sum((u - ref) ** 2, gid, num_segments=m)
        return jnp.mean(err / norms)

    @eqx.filter_jit
    def step(model, state):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model)
        with jax.numpy_dtype_promotion("standard"):   # optax's bias correction: float ** int32
            updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, loss

    losses = []
    for i in range(steps):
        model, state, loss = step(model, state)
        losses.append(float(loss))
        if progress is not None:
            progress(i, losses[-1])
    return model, losses
