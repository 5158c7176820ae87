"""Meta-PDE task families: seeded sampling, round trips, FEA ground truth convergence and the
Burgers tasks' finite-difference references."""

import numpy as np
import pytest

from morphax.learners.meta_pde import (
    PoissonFEA,
    PoissonTask,
    relative_mse,
    sample_burgers_tasks,
    sample_poisson_tasks,
)
from morphax.physics import interpolate


def test_poisson_tasks_are_seeded_and_round_trip():
    a, b = sample_poisson_tasks(3, 5), sample_poisson_tasks(3, 5)
    assert a == b and a != sample_poisson_tasks(3, 6)
    for t in a:
        assert abs(t.c1) <= 0.2 and abs(t.c2) <= 0.2
        assert PoissonTask.from_vector(t.vector()).vector() == pytest.approx(t.vector())
        x = t.sample_points(200, seed=1)
        assert x.shape == (200, 2) and t.contains(x).all()
        # the packed-vector functions agree with the dataclass
        th = np.linspace(0, 2 * np.pi, 7)
        assert np.allclose(PoissonTask.radius_of(t.vector(), th), t.domain.radius(th))


def test_poisson_fea_converges_to_the_fine_solution():
    task = sample_poisson_tasks(1, 3)[0]
    x = task.sample_points(512, seed=0)
    ref = PoissonFEA(0.04, 2)
    mesh, u, _ = ref.solve(task)
    # boundary values are exact on the curved boundary
    b = mesh.node_set("boundary")
    assert np.allclose(u[b, 0], PoissonTask.boundary_of(task.vector(), np.asarray(mesh.points)[b]))
    truth = interpolate(mesh, u, x)[:, 0]
    sizes, errs = [0.2, 0.1, 0.05], []
    for h in sizes:
        m, uh, _ = PoissonFEA(h, 1).solve(task)
        errs.append(relative_mse(interpolate(m, uh, x)[:, 0], truth))
    slope = np.polyfit(np.log(sizes), np.log(errs), 1)[0]
    assert slope > 3.0, (errs, slope)        # relative MSE ~ h^4 for P1
    assert errs[-1] < 1e-5


def test_burgers_tasks_and_boundary_values():
    tasks = sample_burgers_tasks(4, 0)
    assert tasks == sample_burgers_tasks(4, 0)
    s = tasks[0].solve_fd(32, 32)
    assert np.allclose(s.u[:, [0, -1]], 0.0) and np.allclose(s.u[0], tasks[0].initial(s.x))
    assert np.allclose(s(np.stack([s.x, np.zeros_like(s.x)], 1)), s.u[0])
