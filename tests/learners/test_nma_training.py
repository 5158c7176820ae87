"""NMA training: loss decreases, resume equals an uninterrupted run, every task trains."""

import jax
import numpy as np
import pytest

from morphax.learners.nma import NMASystem, Trainer, evaluate, preset, train


@pytest.fixture(scope="module")
def system():
    return NMASystem(preset("translation"))


def test_heldout_loss_decreases(system):
    cfg = preset("translation", iterations=40, batch=4, n_eval=8, eval_every=40,
                 checkpoint_every=1000)
    trainer = train(cfg, system=system)
    ev = trainer.state.evaluations
    assert ev[0]["iteration"] == 0 and ev[-1]["iteration"] == 40
    assert ev[-1]["loss"] < ev[0]["loss"], ev
    assert trainer.state.failed_solves == 0
    # co-design moved the radii and kept them inside the manufacturing bounds
    r = np.asarray(trainer.state.model.geometry["radii"])
    assert not np.allclose(r, system.design.radii)
    assert r.min() >= cfg.r_min and r.max() <= cfg.r_max


def test_resume_matches_uninterrupted_run(system, tmp_path):
    cfg = preset("translation", iterations=6, batch=2, n_eval=2, eval_every=3,
                 checkpoint_every=3)
    full = train(cfg, system=system, out=tmp_path / "a")
    part = Trainer(cfg, system=system, out=tmp_path / "b")
    part.run(iterations=3)                      # "interrupted" after the checkpoint at 3
    resumed = train(cfg, system=system, out=tmp_path / "b", resume=True)
    assert resumed.state.iteration == 6
    for a, b in zip(jax.tree_util.tree_leaves(full.state.model),
                    jax.tree_util.tree_leaves(resumed.state.model), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [h["loss"] for h in full.state.history] == [h["loss"] for h in resumed.state.history]


def test_frozen_geometry_trains_only_the_controller(system):
    cfg = preset("translation", iterations=3, batch=2, n_eval=2, codesign=False)
    trainer = train(cfg, system=system)
    np.testing.assert_array_equal(np.asarray(trainer.state.model.geometry["radii"]),
                                  system.design.radii)
    first = jax.tree_util.tree_leaves(Trainer(cfg, system=system).state.model.controller)
    assert any(not np.array_equal(a, b) for a, b in
               zip(first, jax.tree_util.tree_leaves(trainer.state.model.controller), strict=True))


@pytest.mark.parametrize("task", ["rotation", "double-rotation", "shape", "digits"])
def test_every_task_runs(task):
    cfg = preset(task, iterations=2, batch=2, n_eval=2)
    trainer = train(cfg)
    assert trainer.state.iteration == 2
    assert all(np.isfinite(h["loss"]) for h in trainer.state.history)
    assert np.isfinite(trainer.state.evaluations[-1]["error"])


@pytest.mark.slow
@pytest.mark.parametrize("task", ["rotation", "double-rotation", "shape", "digits"])
def test_every_task_reduces_its_loss(task):
    cfg = preset(task, iterations=60, batch=4, n_eval=8, eval_every=60)
    trainer = train(cfg)
    ev = trainer.state.evaluations
    assert ev[-1]["loss"] < ev[0]["loss"], ev


def test_evaluate_reports_errors(system):
    cfg = preset("translation")
    model = system.init_model(cfg, key=jax.random.PRNGKey(0))
    ev = evaluate(system, model, n=3)
    assert len(ev["errors"]) == 3 and ev["failed"] == 0 and ev["error"] > 0
