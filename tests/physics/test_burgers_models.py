"""Physics tools the Meta-PDE families use: the Burgers stepper against Cole-Hopf, point
evaluation on P1/P2 meshes, and the isochoric neo-Hookean energy."""

import jax.numpy as jnp
import numpy as np
import pytest

from morphax.physics import (
    InputError,
    IsochoricNeoHookean,
    burgers_cole_hopf,
    burgers_fd,
    disk_mesh,
    interpolate,
)


def test_interpolate_reproduces_linear_and_quadratic_fields():
    for order, f in ((1, lambda p: 1 + 2 * p[:, 0] - p[:, 1]),
                     (2, lambda p: p[:, 0] ** 2 - p[:, 0] * p[:, 1] + 3 * p[:, 1])):
        mesh = disk_mesh(0.3, order)
        p = np.asarray(mesh.points)
        x = np.random.default_rng(0).uniform(-0.45, 0.45, (50, 2))   # away from curved cells
        assert np.allclose(interpolate(mesh, f(p)[:, None], x)[:, 0], f(x), atol=1e-10)


def test_burgers_stepper_matches_cole_hopf():
    nu = 0.01
    errs = []
    for n in (128, 256, 512):
        s = burgers_fd(lambda x: np.sin(np.pi * x), nu, n, n)
        # the series loses digits near x = 1, where theta is tiny: compare on x <= 0.7
        x, t = s.x[s.x <= 0.7], s.t[s.t >= 0.25]
        exact = burgers_cole_hopf(x[None, :], t[:, None], nu)
        errs.append(np.abs(s.u[np.ix_(s.t >= 0.25, s.x <= 0.7)] - exact).max())
    assert errs[-1] < 3e-5, errs
    assert errs[0] / errs[1] > 3.5 and errs[1] / errs[2] > 3.5, errs   # second order
    # the Cole-Hopf series reproduces the initial condition away from x = 1
    xx = np.linspace(0, 0.5, 6)
    assert np.allclose(burgers_cole_hopf(xx, 0.0, nu), np.sin(np.pi * xx), atol=1e-8)


def test_burgers_fd_names_its_bad_inputs():
    with pytest.raises(InputError, match="callable"):
        burgers_fd(np.zeros(3), 0.01)
    with pytest.raises(InputError, match="viscosity"):
        burgers_fd(np.sin, 0.0)


def test_isochoric_neo_hookean_energy():
    model = IsochoricNeoHookean.from_young(1.0, 0.49)
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


def test_isochoric_neo_hookean_is_volume_free_in_its_first_term():
    """In 3-D a pure dilation F = s I leaves J^{-2/3} I_C - 3 at zero: only kappa/2 (J - 1)^2
    remains."""
    model = IsochoricNeoHookean(mu=2.0, kappa=5.0)
    p = {k: jnp.asarray(v) for k, v in model.params().items()}
    zero = jnp.zeros((1,))
    s = 1.1
    w = float(model.density(zero, (s - 1.0) * jnp.eye(3), zero, p))
    assert w == pytest.approx(0.5 * 5.0 * (s ** 3 - 1.0) ** 2, rel=1e-12)
