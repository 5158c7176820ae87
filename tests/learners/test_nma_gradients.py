"""NMA: adjoint gradients against finite differences, equilibrium residuals, the shape loss
and failed-solve handling."""

import logging
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.learners.nma import (
    NMASystem,
    Trainer,
    equilibrium_residual,
    gradient_check,
    heldout_targets,
    preset,
    shape_distance,
)
from morphax.learners.nma import _system as nma_system


@pytest.fixture(scope="module")
def translation():
    cfg = preset("translation", iterations=2, batch=2, n_eval=2)
    return cfg, NMASystem(cfg)


def _first(batch):
    return jax.tree_util.tree_map(lambda v: v[0], batch)


def test_gradient_matches_finite_differences(translation):
    cfg, system = translation
    model = system.init_model(cfg, key=jax.random.key(3))
    # a non-circular, asymmetric geometry so that every radius matters
    radii = model.geometry["radii"] + 0.05 * jax.random.normal(jax.random.key(4),
                                                               model.geometry["radii"].shape)
    model = eqx.tree_at(lambda m: m.geometry, model, {**model.geometry, "radii": radii})
    target = _first(heldout_targets(system, 1))
    g = gradient_check(system, model, target, key=jax.random.key(5))
    assert abs(g["ad"]["net"]) > 1e-6 and abs(g["ad"]["radii"]) > 1e-6
    assert g["net"] < 1e-5, g
    assert g["radii"] < 1e-5, g
    assert equilibrium_residual(system, model, target) < 1e-8


def test_shape_distance_invariances():
    t = jnp.linspace(0.0, 2 * math.pi, 24, endpoint=False)
    x = jnp.stack([1.5 * jnp.cos(t), 0.7 * jnp.sin(t) + 0.2 * jnp.cos(3 * t)], axis=1)
    c, s = math.cos(0.7), math.sin(0.7)
    rot = jnp.asarray([[c, -s], [s, c]])
    y = 3.0 * jnp.roll(x @ rot.T, 5, axis=0) + jnp.asarray([[2.0, -1.0]])
    assert float(shape_distance(x, y)) < 1e-10
    circle = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    assert float(shape_distance(x, circle)) > 0.1
    assert np.isfinite(np.asarray(jax.grad(lambda z: shape_distance(z, circle))(x))).all()


def test_failed_solve_is_retried_dropped_and_counted(translation, caplog, monkeypatch):
    cfg, _ = translation
    # absurd actuation: the left side pushed 2.9 cells to the right across a 3-cell lattice
    # (the exact, mirror-symmetric lattice), with few step cuts: given 14 cuts and 50 Newton
    # iterations, the lattice can buckle through to an equilibrium (no contact in the model)
    monkeypatch.setattr(nma_system, "LEVELS", ({"max_cuts": 1}, {"max_cuts": 2}))
    bad = cfg.replace(max_disp=2.9, lr=1e-3, batch=1, init_noise=0.0)
    system = NMASystem(bad)
    trainer = Trainer(bad, system=system)
    model = trainer.state.model
    last = model.controller.layers[-1]
    w = jnp.concatenate([-1e4 * jnp.ones((1, last.weight.shape[1])),
                         jnp.zeros((1, last.weight.shape[1]))])
    model = eqx.tree_at(lambda m: m.controller.layers[-1].weight, model, w)
    trainer.state.model = model
    a = model.controller(_first(trainer.batch(0))["input"])
    np.testing.assert_allclose(np.asarray(a), [-14.5, 0.0], atol=1e-9)
    before = jax.tree_util.tree_leaves(model)
    with caplog.at_level(logging.WARNING, logger="morphax.learners.nma"):
        rec = trainer.step()
    assert rec["failed"] == bad.batch and trainer.state.failed_solves == bad.batch
    assert math.isnan(rec["loss"])
    assert "dropped" in caplog.text
    # nothing was updated from a failed batch, and nothing became NaN
    for a, b in zip(before, jax.tree_util.tree_leaves(trainer.state.model), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # the run goes on: a sane controller trains normally on the same system afterwards
    trainer.state.model = eqx.tree_at(lambda m: m.controller.layers[-1].weight, model,
                                      1e-3 * last.weight)
    rec = trainer.step()
    assert rec["failed"] == 0 and np.isfinite(rec["loss"])
