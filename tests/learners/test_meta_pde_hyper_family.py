"""The Meta-PDE hyperelastic family: task sampling, FEA ground truth, mirror-min error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.learners.meta_pde import (
    HyperelasticFamily,
    HyperFEA,
    HyperTask,
    meta_neo_hookean_density,
    mirror_min_error,
    mirror_points,
    relative_mse,
    sample_hyper_tasks,
)
from morphax.learners.meta_pde._hyper_family import max_scale
from morphax.physics import interpolate


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


def _affine(stretch_x):
    """u(x, y) = (stretch_x (x - 1/2), -0.12 y): the bottom fixed in y, the top at -0.12."""
    return lambda x: jnp.stack([stretch_x * (x[0] - 0.5), -0.12 * x[1]])


def test_energy_loss_of_a_homogeneous_compression_is_its_energy_density():
    fam = HyperelasticFamily()
    task = fam.sample_tasks(1, key=jax.random.key(0))[0]
    F = jnp.diag(jnp.asarray([1.0, 0.88]))
    J, Ic = 0.88, 1.0 + 0.88 ** 2
    W = 0.5 * fam.mu * (Ic / J - 2.0) + 0.5 * fam.kappa * (J - 1.0) ** 2
    assert float(meta_neo_hookean_density(F, fam.mu, fam.kappa)) == pytest.approx(W, rel=1e-14)
    # u_x = 0 meets both boundary conditions exactly: the loss is W alone, at any points
    for k in range(3):
        assert float(fam.loss(_affine(0.0), task, key=jax.random.key(k))) == pytest.approx(
            W, rel=1e-12)
    # a lateral bulge with the volume kept (J = 1) costs less energy but violates the bc
    bulge = fam.loss(_affine(1 / 0.88 - 1), task, key=jax.random.key(0))
    assert float(bulge) > W


def test_energy_continuation_below_j_min_is_c1_and_pushes_j_up():
    mu, kappa, jm = 0.3, 5.0, 0.05

    def w(j):
        return meta_neo_hookean_density(jnp.diag(jnp.asarray([1.0, j])), mu, kappa, jm)

    h = 1e-7
    left, right = jax.grad(w)(jm - h), jax.grad(w)(jm + h)
    assert float(w(jm - h)) == pytest.approx(float(w(jm + h)), rel=1e-5)
    assert float(left) == pytest.approx(float(right), rel=1e-4)
    assert float(jax.grad(w)(-0.5)) < 0 and np.isfinite(float(w(-0.5)))   # finite, downhill up


def test_hyper_collocation_points_lie_in_the_material_and_on_the_clamped_sides():
    fam = HyperelasticFamily(n_domain=500, n_boundary=40)
    v = fam.sample_tasks(200, key=jax.random.key(1))
    assert float(v.min()) >= 0.2 and float(v.max()) <= max_scale() + 1e-12
    task = HyperTask(1.1)
    xd, top, bottom = fam.points(jnp.asarray(task.vector()), key=jax.random.key(2))
    assert task.inside(np.asarray(xd)).all() and xd.shape == (500, 2)
    assert np.all(np.asarray(top[:, 1]) == 1.0) and np.all(np.asarray(bottom[:, 1]) == 0.0)
    assert HyperTask(max_scale()).ligament == pytest.approx(0.05)
