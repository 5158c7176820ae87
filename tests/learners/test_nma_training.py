"""NMA training: loss decreases, resume equals an uninterrupted run, every task trains; the
run folder; damaged checkpoints, divergence and failed batches."""

import logging

import jax
import numpy as np
import pytest

from morphax import SolverError
from morphax.learners.nma import NMASystem, Trainer, evaluate, preset, train, write_outputs


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


@pytest.mark.slow
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
    for k in ("radii", "offsets"):
        np.testing.assert_array_equal(np.asarray(trainer.state.model.geometry[k]),
                                      np.asarray(trainer.initial_geometry[k]))
    first = jax.tree_util.tree_leaves(Trainer(cfg, system=system).state.model.controller)
    assert any(not np.array_equal(a, b) for a, b in
               zip(first, jax.tree_util.tree_leaves(trainer.state.model.controller), strict=True))


@pytest.mark.parametrize("task", ["rotation", *(pytest.param(t, marks=pytest.mark.slow)
                                              for t in ("double-rotation", "shape", "digits"))])
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
    model = system.init_model(cfg, key=jax.random.key(0))
    ev = evaluate(system, model, n=3)
    assert len(ev["errors"]) == 3 and ev["failed"] == 0 and ev["error"] > 0


def test_write_outputs_leaves_the_part_to_fabrication(system, tmp_path):
    cfg = preset("translation", iterations=0, n_eval=2)
    trainer = train(cfg, system=system)
    m = write_outputs(trainer, tmp_path, n_pictures=1)
    assert (tmp_path / "design.json").exists() and (tmp_path / "metrics.json").exists()
    assert not (tmp_path / "part.stl").exists() and "part" not in m
    with pytest.warns(DeprecationWarning, match="export_part"):
        write_outputs(trainer, tmp_path / "old", n_pictures=1, part=False)


def test_checkpoints_keep_the_previous_one_and_a_damaged_one_is_skipped(system, tmp_path, caplog):
    cfg = preset("translation", iterations=4, batch=1, n_eval=1, eval_every=100,
                 checkpoint_every=2)
    full = train(cfg, system=system, out=tmp_path)
    folder = tmp_path / "checkpoint"
    assert sorted(p.name for p in folder.iterdir()) == [
        "latest.json", "state-0000002.eqx", "state-0000002.json", "state-0000004.eqx",
        "state-0000004.json"]
    state = folder / "state-0000004.eqx"
    state.write_bytes(state.read_bytes()[:100])          # a truncated newest state
    (folder / "latest.json").write_text('{"file": "st')  # and a truncated latest.json
    resumed = Trainer(cfg, system=system, out=tmp_path)
    with caplog.at_level(logging.WARNING, logger="morphax.learners.nma"):
        assert resumed.load_checkpoint()
    assert resumed.state.iteration == 2
    assert "state-0000004.eqx" in caplog.text and "damaged" in caplog.text
    resumed.run()   # continues from iteration 2 to the same model, bit for bit
    for a, b in zip(jax.tree_util.tree_leaves(full.state.model),
                    jax.tree_util.tree_leaves(resumed.state.model), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_non_finite_parameters_stop_the_run_and_keep_the_last_good_state(system):
    trainer = Trainer(preset("translation", batch=1, n_eval=1), system=system)
    before = jax.tree_util.tree_leaves(trainer.state.model)
    trainer._step = lambda model, opt, grads: (jax.tree_util.tree_map(lambda x: x * np.nan, model),
                                               opt)
    with pytest.raises(SolverError, match="non-finite.*lower lr"):
        trainer.step()
    assert trainer.state.iteration == 0
    for a, b in zip(before, jax.tree_util.tree_leaves(trainer.state.model), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_batch_whose_every_solve_fails_stops_the_run(system, monkeypatch, tmp_path):
    cfg = preset("translation", iterations=3, batch=2, n_eval=1, checkpoint_every=1)
    monkeypatch.setattr(system, "sample_grad", lambda model, target: None)
    trainer = Trainer(cfg, system=system, out=tmp_path)
    with pytest.raises(SolverError, match="every equilibrium solve of iteration 0 failed"):
        trainer.run()
    assert not (tmp_path / "checkpoint").exists()
