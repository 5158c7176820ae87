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
from morphax.learners.nma import TASKS, NMAConfig, build_design, make_task, preset

#: target ranges (Varmint projects/nma_v1): translation offsets in cell sizes (the
#: controller sees them divided by 0.3), rotations in rad
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
        goal = np.asarray(batch["goal"])
        if name == "translation":   # the goal's offset (cell sizes); the input, scaled to +-1
            goal = (goal - mm.design.cell_center(cfg.rows // 2, cfg.cols // 2)) / cfg.cell_size
            np.testing.assert_allclose(np.asarray(batch["input"]), goal / hi, rtol=1e-12)
        assert np.all((goal >= lo) & (goal <= hi))
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


def test_split_sides_runs_are_contiguous_and_mirror_symmetric():
    from morphax.learners.nma._tasks import split_sides

    sides = tuple(f"left_{i}" for i in range(1, 6))
    assert split_sides(sides, 3) == [sides[:2], sides[2:3], sides[3:]]
    assert split_sides(sides, 1) == [sides]
    assert [len(r) for r in split_sides(tuple(range(7)), 2)] == [4, 3]


def test_paper_scale_shape_has_a_large_centre_pore_and_twelve_actuators():
    """Varmint's shape matching: a 7 x 7 lattice whose centre 3 x 3 block is one pore with 48
    radii, 3 actuators per outer side, each pushing its run of cell sides inwards; squeezing
    from left and right makes the round pore oval (its shape distance to the rest curve)."""
    from morphax.learners.nma import NMASystem

    cfg = preset("shape", scale="paper", mesh_divisions=2, iterations=1, batch=1)
    design = build_design(cfg)
    (lp,) = design.large_pores
    assert (lp.row, lp.col, lp.size, len(lp.radii)) == (2, 2, 3, 48)
    assert len(design.porous_cells) == 49 - 9
    system = NMASystem(cfg)
    task = system.task
    assert task.n_act == 12 and len(task.actuators) == 12
    m = np.stack([np.asarray(a.matrix) for a in task.actuators])        # (12, 2, 12)
    assert np.array_equal(np.abs(m).sum(axis=(1, 2)), np.ones(12))    # one output each
    groups = [g for a in task.actuators for g in a.groups]
    assert len(groups) == len(set(groups)) == 4 * 5                    # every interior side once
    model = system.init_model(key=jax.random.key(0), noise=False)
    a = jnp.concatenate([jnp.full(6, 0.2 * cfg.cell_size), jnp.zeros(6)])   # left, right
    x, _, ok = system.equilibrium(model.geometry, a)
    assert bool(ok)
    nodes = task.readout["curve"]
    rest = jnp.asarray(system.mm.mesh.points)[nodes]
    assert float(task.loss(x, model.colour, {"goal": rest})) > 1e-3


def test_picture_titles_list_few_actuations_and_summarise_many():
    from morphax.learners.nma._output import actuation_label

    assert actuation_label([0.123, -1.0]) == "a = [0.12, -1.0] mm"
    assert actuation_label(np.linspace(-0.5, 0.25, 12)) == "12 actuations in [-0.50, 0.25] mm"


def test_paper_scale_digits_is_varmints_seven_segment_frame():
    """Varmint's digital MNIST: 4 x 6 porous cells of 6 mm between solid strips 3 mm wide
    (30 x 45 mm); the digit's 21 sample points lie on the strips, the six actuators push the
    porous runs between them, and pushing them deforms the frame."""
    from morphax.learners.nma import NMASystem

    cfg = preset("digits", scale="paper", mesh_divisions=2, iterations=1, batch=1)
    design = build_design(cfg)
    xs = np.arange(cfg.cols + 1) * cfg.cell_size + design.offsets[0, :, 0]
    ys = np.arange(cfg.rows + 1) * cfg.cell_size + design.offsets[:, 0, 1]
    np.testing.assert_allclose(np.diff(xs), [6, 3, 6, 6, 3, 6], atol=1e-12)
    np.testing.assert_allclose(np.diff(ys), [6, 3, 6, 6, 3, 6, 6, 3, 6], atol=1e-12)
    assert len(design.porous_cells) == 24
    for i, j in design.porous_cells:      # every porous cell is a 6 mm square
        assert xs[j + 1] - xs[j] == pytest.approx(6) and ys[i + 1] - ys[i] == pytest.approx(6)
    system = NMASystem(cfg)
    task = system.task
    for x, y in task.readout["segments"].reshape(-1, 2):
        j, i = np.searchsorted(xs, x) - 1, np.searchsorted(ys, y) - 1
        assert design.kind(i, j) == "solid", (x, y)
    assert {a.name: a.groups for a in task.actuators} == {
        "act_left_lo": ("left_2", "left_3"), "act_left_hi": ("left_5", "left_6"),
        "act_right_lo": ("right_2", "right_3"), "act_right_hi": ("right_5", "right_6"),
        "act_top": ("top_2", "top_3"), "act_bottom": ("bottom_2", "bottom_3")}
    model = system.init_model(key=jax.random.key(0))
    x, u, ok = system.equilibrium(model.geometry, jnp.full(6, 1.0))   # 1 mm inwards
    pts = np.asarray(system.mesh.points)
    near = [np.argmin(np.linalg.norm(pts - q, axis=1))
            for q in task.readout["segments"].reshape(-1, 2)]
    moved = np.linalg.norm(np.asarray(u)[near], axis=1)
    assert bool(ok) and moved.max() > 0.2 and moved.max() < 1.5


@pytest.mark.parametrize("changes", [dict(task="shape"), dict(rows=6, cols=4),
                                     dict(strip_width=15.0)])
def test_strip_width_outside_the_digits_frame_is_refused(changes):
    cfg = dict(preset("digits", scale="paper").to_dict(), **changes)
    with pytest.raises(InputError, match="seven-segment frame"):
        NMAConfig.from_dict(cfg)
