"""NMA task registry: every task in TASKS builds on its initial design, samples reproducible
targets in the paper's ranges and gives finite losses; an unknown task name is an InputError
that lists the known ones."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.geometry import morphable_mesh
from morphax.learners.nma import TASKS, build_design, make_task, preset

#: target ranges (Varmint projects/nma_v1): translation in cell sizes, rotations in rad
RANGES = {"translation": (-0.3, 0.3), "rotation": (0.0, math.pi / 4),
          "double-rotation": (-math.pi / 6, math.pi / 6)}


def _built(name):
    cfg = preset(name, quick=True)
    return cfg, morphable_mesh(build_design(cfg), size=cfg.mesh_size)


@pytest.mark.parametrize("name", TASKS)
def test_every_registered_task_builds(name):
    cfg, mm = _built(name)
    task = make_task(cfg, mm)
    assert task.name == name and task.design is mm.design
    for act in task.actuators:
        assert np.asarray(act.matrix).shape == (2, task.n_act)
        assert all(g in mm.mesh.facet_sets for g in act.groups)
    batch = task.sample(3, key=jax.random.key(0))
    again = task.sample(3, key=jax.random.key(0))
    assert batch["input"].shape == (3, task.n_inputs)
    for k in batch:
        np.testing.assert_array_equal(np.asarray(batch[k]), np.asarray(again[k]))
    if name in RANGES:
        lo, hi = RANGES[name]
        assert np.all((np.asarray(batch["input"]) >= lo) & (np.asarray(batch["input"]) <= hi))
    colour = jnp.zeros(mm.mesh.n_nodes if task.uses_colour else 0)
    target = jax.tree_util.tree_map(lambda v: v[0], batch)
    x = jnp.asarray(mm.mesh.points)
    assert np.isfinite(float(task.loss(x, colour, target)))
    assert np.isfinite(float(task.error(x, colour, target)))


def test_unknown_task_names_the_known_ones():
    with pytest.raises(InputError, match="walking") as err:
        preset("walking")
    assert all(name in str(err.value) for name in TASKS)
    cfg, mm = _built("translation")
    object.__setattr__(cfg, "task", "walking")   # NMAConfig refuses it: force it to the registry
    with pytest.raises(InputError, match="walking") as err:
        make_task(cfg, mm)
    assert all(name in str(err.value) for name in TASKS)
