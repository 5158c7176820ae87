"""The Meta-PDE hyperelastic family: task sampling, FEA ground truth, mirror-min error."""

import numpy as np
import pytest

from morphax.learners.meta_pde import (
    HyperFEA,
    HyperTask,
    mirror_min_error,
    mirror_points,
    sample_hyper_tasks,
)
from morphax.physics import InputError, interpolate, relative_mse


def test_tasks_reject_thin_ligaments():
    tasks = sample_hyper_tasks(300, seed=0)
    s = np.array([t.scale for t in tasks])
    assert len(tasks) == 300 and s.min() >= 0.2
    assert all(t.ligament >= 0.05 for t in tasks)
    # s above ~1.19 would leave a ligament below 5 %: those draws were redrawn
    assert HyperTask(1.3).ligament < 0.05 and s.max() < 1.191 and s.max() > 1.1
    assert sample_hyper_tasks(5, seed=3) == sample_hyper_tasks(5, seed=3)
    x = tasks[0].sample_points(200, seed=1)
    assert tasks[0].inside(x).all()


def _field(x):
    return np.stack([x[:, 0] ** 2 * x[:, 1] + 0.3 * x[:, 0], x[:, 0] + x[:, 1] ** 3], axis=1)


def test_mirror_min_error_of_a_mirrored_field_is_zero():
    x = np.random.default_rng(0).uniform(size=(300, 2))
    mirrored = _field(mirror_points(x)) * np.array([-1.0, 1.0])
    assert relative_mse(mirrored, _field(x)) > 1e-2           # not symmetric by itself
    assert mirror_min_error(mirrored, _field, x) < 1e-28
    assert mirror_min_error(_field(x), _field, x) < 1e-28
    # truth given as values on a mirror-symmetric point set
    xs = np.concatenate([x, mirror_points(x)])
    pred = _field(mirror_points(xs)) * np.array([-1.0, 1.0])
    assert mirror_min_error(pred, _field(xs), xs) < 1e-28
    with pytest.raises(InputError):
        mirror_min_error(pred[:300], _field(x), x)


def test_fea_converges_under_mesh_refinement():
    task = HyperTask(1.0)
    x = task.sample_points(512, seed=0)
    fields = {}
    for size in (0.1, 0.05, 0.025):
        mesh, u, _ = HyperFEA(size, order=1).solve(task)
        fields[size] = interpolate(mesh, u, x)
    # the top moved down by 0.12, the bottom stayed
    assert np.isfinite(fields[0.025]).all() and np.abs(fields[0.025][:, 1]).max() < 0.125
    e_coarse = relative_mse(fields[0.1], fields[0.025])
    e_mid = relative_mse(fields[0.05], fields[0.025])
    assert e_mid < 0.5 * e_coarse and e_mid < 5e-3
    # the FEA field and its mirror image: mirror-min error 0
    f = lambda p: interpolate(mesh, u, p)                    # noqa: E731
    assert mirror_min_error(f(mirror_points(x)) * np.array([-1.0, 1.0]), f, x) < 1e-28
