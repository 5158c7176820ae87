"""The asynchronous simulator: implicit models reach their synchronous fixed points under
bounded staleness, divergence is detected and reported, runs are deterministic and jit-able,
and explicit GNNs change their outputs under asynchrony."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import ConvergenceError, InputError
from morphax.learners.gnn import (
    GCN,
    IGNN,
    EnergyGNN,
    Schedule,
    coordinates,
    evaluate_async,
    run_async,
    simulate,
    simulate_many,
)

F64 = jnp.float64


@pytest.fixture(scope="module")
def task():
    return coordinates(2, 10, radius=0.5, key=jax.random.key(0))


@pytest.fixture(scope="module")
def energy(task):
    return EnergyGNN(task.in_dim, 2, task.edge_dim, hidden=4, key=jax.random.key(1), dtype=F64)


@pytest.fixture(scope="module")
def ignn(task):
    return IGNN(task.in_dim, 2, hidden=4, key=jax.random.key(2), dtype=F64).project()


def _check_async_equals_sync(model, graph, mode, stalenesses):
    sync = np.asarray(model(graph))
    for b in stalenesses:
        res = run_async(model, graph, Schedule(mode=mode, staleness=b, max_ticks=300000),
                        key=jax.random.key(b))
        out = np.asarray(model.readout(graph, res.states))
        assert bool(res.converged) and not bool(res.diverged)
        assert np.max(np.abs(out - sync)) < 1e-5, (mode, b)


@pytest.mark.parametrize("which", ["energy", "ignn"])
def test_implicit_models_async_equals_sync_for_every_staleness(which, task, request):
    _check_async_equals_sync(request.getfixturevalue(which), task.test, "subset", (0, 2, 5))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["single", "clocks"])
@pytest.mark.parametrize("which", ["energy", "ignn"])
def test_implicit_models_async_equals_sync_in_every_mode(which, mode, task, request):
    _check_async_equals_sync(request.getfixturevalue(which), task.test, mode, (1, 4))


def test_too_large_energy_step_is_detected_as_divergence(energy, task):
    with pytest.raises(ConvergenceError, match="diverged.*step scale 4 is too large for staleness B = 3"):
        run_async(energy, task.test, Schedule(staleness=3, step_scale=4.0), key=jax.random.key(0))
    res = run_async(energy, task.test, Schedule(staleness=3, step_scale=4.0), key=jax.random.key(0),
                    check=False)
    assert bool(res.diverged) and not bool(res.converged)


def test_non_contractive_ignn_is_detected_as_divergence(ignn, task):
    bad = eqx.tree_at(lambda m: m.w, ignn, jnp.abs(ignn.w) * 20 + 0.5)   # ||W||_inf >> 1
    assert float(jnp.abs(bad.w).sum(1).max()) >= 1
    with pytest.raises(ConvergenceError, match="not a contraction"):
        run_async(bad, task.test, Schedule(staleness=2), key=jax.random.key(0))


def test_runs_are_deterministic_per_key_and_run_under_jit(energy, task):
    sched = Schedule(staleness=2, max_ticks=50)
    a = simulate(energy, task.test, sched, key=jax.random.key(3))
    b = simulate(energy, task.test, sched, key=jax.random.key(3))
    c = simulate(energy, task.test, sched, key=jax.random.key(4))
    np.testing.assert_array_equal(a.states, b.states)
    assert float(jnp.max(jnp.abs(a.states - c.states))) > 0
    jitted = jax.jit(lambda k: simulate(energy, task.test, sched, key=k).states)
    np.testing.assert_allclose(jitted(jax.random.key(3)), a.states, rtol=0, atol=1e-12)


def test_many_schedules_in_one_program_equal_single_runs_and_report_non_convergence(ignn, task):
    keys = jax.random.split(jax.random.key(5), 3)
    sched = Schedule(staleness=2)
    many = simulate_many(ignn, task.test, sched, keys=keys)
    one = simulate(ignn, task.test, sched, key=keys[1])
    np.testing.assert_allclose(many.states[1], one.states, rtol=0, atol=1e-12)
    assert int(many.ticks[1]) == int(one.ticks) and bool(jnp.all(many.converged))
    short = Schedule(staleness=2, max_ticks=3)   # far too few ticks: reported, not hidden
    with pytest.raises(ConvergenceError, match="did not converge in 3 ticks"):
        run_async(ignn, task.test, short, key=keys[0])
    ev = evaluate_async(ignn, task, short, runs=3, key=jax.random.key(0))
    assert ev["converged"] == 0 and ev["residual_max"] > short.tol


def test_explicit_gcn_finishes_its_layers_but_changes_its_outputs(task):
    m = GCN(task.in_dim, 2, hidden=8, num_layers=4, key=jax.random.key(5), dtype=F64)
    sync = np.asarray(m.solve(task.test))
    res = run_async(m, task.test, Schedule(staleness=2), key=jax.random.key(1))
    assert bool(res.converged) and int(res.updates) == 4 * task.test.n_nodes
    assert np.max(np.abs(np.asarray(res.states) - sync)) > 1e-2


def test_schedule_rejects_bad_settings():
    with pytest.raises(InputError, match="mode"):
        Schedule(mode="random")
    with pytest.raises(InputError, match="probability"):
        Schedule(p=0.0)
    with pytest.raises(InputError, match="staleness"):
        Schedule(staleness=-1)
