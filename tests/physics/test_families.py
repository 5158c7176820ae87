"""Meta-PDE task families: sampling, FEA ground truth convergence, the Burgers stepper against
Cole-Hopf, and the paper's hyperelastic energy."""

import jax.numpy as jnp
import numpy as np
import pytest

from morphax.physics import (
    BurgersTask,
    MetaNeoHookean,
    PoissonFEA,
    PoissonTask,
    burgers_cole_hopf,
    burgers_fd,
    interpolate,
    relative_mse,
    sample_burgers_tasks,
    sample_poisson_tasks,
)


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
        assert np.allclose(PoissonTask.radius_of(t.vector(), th), t.radius(th))


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


def test_interpolate_reproduces_linear_and_quadratic_fields():
    from morphax.physics import disk_mesh

    for order, f in ((1, lambda p: 1 + 2 * p[:, 0] - p[:, 1]),
                     (2, lambda p: p[:, 0] ** 2 - p[:, 0] * p[:, 1] + 3 * p[:, 1])):
        mesh = disk_mesh(0.3, order)
        p = np.asarray(mesh.points)
        x = np.random.default_rng(0).uniform(-0.45, 0.45, (50, 2))   # away from curved cells
        assert np.allclose(interpolate(mesh, f(p)[:, None], x)[:, 0], f(x), atol=1e-10)


def test_burgers_stepper_matches_cole_hopf():
    task, nu = BurgersTask(0.0, 0.0, 100.0), 0.01
    errs = []
    for n in (128, 256, 512):
        s = burgers_fd(task, n, n)
        # the series loses digits near x = 1, where theta is tiny: compare on x <= 0.7
        x, t = s.x[s.x <= 0.7], s.t[s.t >= 0.25]
        exact = burgers_cole_hopf(x[None, :], t[:, None], nu)
        errs.append(np.abs(s.u[np.ix_(s.t >= 0.25, s.x <= 0.7)] - exact).max())
    assert errs[-1] < 3e-5, errs
    assert errs[0] / errs[1] > 3.5 and errs[1] / errs[2] > 3.5, errs   # second order
    # the Cole-Hopf series reproduces the initial condition away from x = 1
    xx = np.linspace(0, 0.5, 6)
    assert np.allclose(burgers_cole_hopf(xx, 0.0, nu), np.sin(np.pi * xx), atol=1e-8)


def test_burgers_tasks_and_boundary_values():
    tasks = sample_burgers_tasks(4, 0)
    assert tasks == sample_burgers_tasks(4, 0)
    s = burgers_fd(tasks[0], 32, 32)
    assert np.allclose(s.u[:, [0, -1]], 0.0) and np.allclose(s.u[0], tasks[0].initial(s.x))
    assert np.allclose(s(np.stack([s.x, np.zeros_like(s.x)], 1)), s.u[0])


def test_meta_neo_hookean_energy():
    model = MetaNeoHookean.from_young(1.0, 0.49)
    p = {k: jnp.asarray(v) for k, v in model.params().items()}
    zero = jnp.zeros((1,))
    assert float(model.density(zero, jnp.zeros((2, 2)), zero, p)) == pytest.approx(0.0, abs=1e-14)
    g = jnp.asarray([[0.1, 0.05], [-0.02, 0.03]])
    R = jnp.asarray([[0.0, -1.0], [1.0, 0.0]])   # frame indifference: W(R F) = W(F)
    F = jnp.eye(2) + g
    w1 = model.density(zero, g, zero, p)
    w2 = model.density(zero, R @ F - jnp.eye(2), zero, p)
    assert float(w1) == pytest.approx(float(w2)) and float(w1) > 0
    assert not np.isfinite(float(model.density(zero, jnp.asarray([[-2.0, 0.0], [0.0, 0.0]]),
                                               zero, p)))
