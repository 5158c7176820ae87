"""Gradients of solutions three ways: implicit adjoint, central finite differences, and
differentiation through an unrolled Newton loop (dense, in JAX)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import physics as mp


def _unrolled(problem, p, iterations=12):
    """Newton in pure JAX with a dense tangent: differentiable by ordinary reverse mode."""
    def free_residual(u_free, q):
        return problem.residual(problem.lift(u_free, q), q)[problem.free]

    def step(_, u_free):
        K = jax.jacfwd(free_residual)(u_free, p)
        return u_free - jnp.linalg.solve(K, free_residual(u_free, p))

    u_free = jax.lax.fori_loop(0, iterations, step, jnp.zeros(problem.free.size))
    return problem.lift(u_free, p).reshape(-1, problem.ncomp)


def _fd(f, p, leaf_path, index, eps):
    def bump(delta):
        leaves, tree = jax.tree_util.tree_flatten_with_path(p)
        out = [v.at[index].add(delta) if k == leaf_path else v for k, v in leaves]
        return f(jax.tree_util.tree_unflatten(tree, out))
    return (bump(eps) - bump(-eps)) / (2 * eps)


def _solid_problem():
    mesh = mp.rectangle(4, 2, "quad4", size=(2.0, 1.0))
    return mp.Problem(mesh, mp.NeoHookean(mu=1.0, kappa=4.0),
                      dirichlet=[mp.Dirichlet("left", 0.0), mp.Dirichlet("right", (0.2, -0.1))],
                      tractions=[mp.Traction("top", (0.05, -0.08))], source=(0.0, -0.1))


def _poisson_problem():
    mesh = mp.rectangle(4, 4, "tri3")
    return mp.Problem(mesh, mp.NonlinearPoisson(alpha=0.3),
                      dirichlet=[mp.Dirichlet("left", 1.0), mp.Dirichlet("bottom", -0.5)],
                      tractions=[mp.Traction("right", 0.7)], source=2.0)


@pytest.mark.parametrize("make", [_solid_problem, _poisson_problem], ids=["neo-hookean", "nl-poisson"])
def test_gradient_three_ways(make):
    problem = make()
    p = problem.params()
    weights = jnp.asarray(np.random.default_rng(0).standard_normal((problem.mesh.n_nodes,
                                                                    problem.ncomp)))

    def loss(q):
        return jnp.sum(weights * mp.solve(problem, q).u ** 2)

    def loss_unrolled(q):
        return jnp.sum(weights * _unrolled(problem, q) ** 2)

    g_adj = jax.grad(loss)(p)
    g_unr = jax.jit(jax.grad(loss_unrolled))(p)
    for a, b in zip(jax.tree_util.tree_leaves(g_adj), jax.tree_util.tree_leaves(g_unr), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    # central differences on a few entries of every kind of parameter
    leaves = jax.tree_util.tree_flatten_with_path(p)[0]
    grads = dict(zip([k for k, _ in leaves], jax.tree_util.tree_leaves(g_adj), strict=True))
    for path, value in leaves:
        for index in list(np.ndindex(value.shape))[:: max(1, value.size // 2)][:2]:
            fd = _fd(loss, p, path, index, 1e-6)
            assert float(grads[path][index]) == pytest.approx(float(fd), rel=1e-5, abs=1e-8), \
                (jax.tree_util.keystr(path), index)


def test_gradient_with_respect_to_node_coordinates_and_jit_vmap():
    """d(solution)/d(points) by the adjoint under jit, and vmap over a batch of parameters."""
    problem = _solid_problem()
    p = problem.params()

    def loss(points):
        q = {**p, "points": points}
        return jnp.sum(mp.solve(problem, q).u[:, 1])

    g = jax.jit(jax.grad(loss))(p["points"])
    for node in (3, 12):
        for comp in (0, 1):
            e = jnp.zeros_like(p["points"]).at[node, comp].set(1e-6)
            fd = (loss(p["points"] + e) - loss(p["points"] - e)) / 2e-6
            assert float(g[node, comp]) == pytest.approx(float(fd), rel=1e-5, abs=1e-9)
    batch = jax.tree_util.tree_map(lambda x: jnp.stack([x, x * 1.01]), p)
    us = jax.vmap(lambda q: mp.solve(problem, q).u)(batch)
    np.testing.assert_allclose(us[0], mp.solve(problem).u, atol=1e-12)
    assert not np.allclose(us[0], us[1])


def test_adjoint_costs_one_factorization(monkeypatch):
    """The backward pass factorizes the tangent once and solves once."""
    problem = _solid_problem()
    calls = []
    solver = mp.SuperLU()
    original = solver.factorize
    monkeypatch.setattr(solver, "factorize",
                        lambda A, sym=False: calls.append(A.shape) or original(A, sym))
    p = problem.params()
    f = lambda q: jnp.sum(mp.solve(problem, q, linear_solver=solver).u)  # noqa: E731
    jax.block_until_ready(f(p))
    forward = len(calls)
    jax.block_until_ready(jax.grad(f)(p))
    assert len(calls) - forward == forward + 1
