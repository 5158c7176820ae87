"""The reaction-diffusion control problem of the RAD paper (Sec. 5): discretization checked
against its exact discrete eigenmode and the continuum decay rate, adjoint step and gradient
checks, and the paper's setup numbers."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.physics import (
    InputError,
    ReactionDiffusion,
)

F64 = jnp.float64


def test_paper_setup_numbers():
    p = ReactionDiffusion()
    assert p.n == 33 and p.state_size == 1089
    assert p.num_steps == 40960
    assert p.courant == pytest.approx(0.0625)


def test_unstable_or_bad_setups_raise():
    with pytest.raises(InputError, match="unstable"):
        ReactionDiffusion(dt=1e-2)
    with pytest.raises(InputError):
        ReactionDiffusion(n=2)
    with pytest.raises(InputError, match="theta"):
        ReactionDiffusion().source(jnp.zeros(3), 0.0)


def _mode_factor(p, c0):
    """Growth per step of sin(pi x) sin(pi y) under the 5-point Laplacian: an exact
    eigenvector with eigenvalue -(8/h^2) sin^2(pi h / 2)."""
    lam = -8.0 / p.h ** 2 * math.sin(math.pi * p.h / 2) ** 2
    return 1.0 + p.dt * (p.diffusivity * lam + c0)


def test_constant_control_matches_the_exact_discrete_eigenmode():
    p = ReactionDiffusion(horizon=0.25)
    theta = jnp.zeros(ReactionDiffusion.num_params, F64).at[0].set(1.3)
    traj = p.trajectory(theta, every=p.num_steps)
    expected = _mode_factor(p, 1.3) ** p.num_steps * p.initial(F64)
    np.testing.assert_allclose(traj[-1], expected, rtol=0, atol=1e-13)


def test_decay_rate_converges_to_the_continuum_at_second_order():
    # Continuum: phi = exp((c0 - 2 D pi^2) t) phi_0. The semi-discrete rate error is O(h^2).
    errors, hs = [], []
    for n in (9, 17, 33, 65):
        p = ReactionDiffusion(n=n, dt=1e-6, horizon=1e-6)
        lam = -8.0 / p.h ** 2 * math.sin(math.pi * p.h / 2) ** 2
        errors.append(abs(p.diffusivity * lam + 2 * p.diffusivity * math.pi ** 2))
        hs.append(p.h)
        # and the stepper realizes that discrete rate exactly
        one = p.step(p.initial(F64), jnp.zeros((n, n), F64))
        np.testing.assert_allclose(one, _mode_factor(p, 0.0) * p.initial(F64), atol=1e-14)
    slope = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.05)


def test_steady_state_control_keeps_the_mode_nearly_fixed():
    # th0 = 2 D pi^2 ~ 4.935 is the continuum steady state; the paper initializes at 4.932.
    p = ReactionDiffusion(horizon=1.0)
    theta = jnp.zeros(ReactionDiffusion.num_params, F64).at[0].set(2 * 0.25 * math.pi ** 2)
    traj = p.trajectory(theta, every=p.num_steps)
    drift = float(jnp.max(jnp.abs(traj[-1] - traj[0])))
    # Only the discrete-rate error remains: D (2 pi^2 - (8/h^2) sin^2(pi h/2)) ~ D pi^4 h^2 / 6
    # per unit time, i.e. ~4.0e-3 at h = 1/32 over T = 1.
    predicted = 0.25 * math.pi ** 4 * p.h ** 2 / 6 * p.horizon
    assert drift == pytest.approx(predicted, rel=0.02)


def test_boundary_stays_zero_and_source_is_the_fourier_series():
    p = ReactionDiffusion(horizon=0.01)
    theta = jnp.arange(1.0, 8.0, dtype=F64) / 10
    traj = p.trajectory(theta, every=8)
    for side in (traj[:, 0, :], traj[:, -1, :], traj[:, :, 0], traj[:, :, -1]):
        assert float(jnp.max(jnp.abs(side))) == 0.0
    x, _ = p.grid(F64)
    t = 0.3
    st, ct = math.sin(math.pi * t), math.cos(math.pi * t)
    s2, c2 = jnp.sin(2 * math.pi * x), jnp.cos(2 * math.pi * x)
    th = [float(v) for v in theta]
    expected = (th[0] + th[1] * st + th[2] * ct + th[3] * s2 * st + th[4] * s2 * ct
                + th[5] * c2 * st + th[6] * c2 * ct)
    np.testing.assert_allclose(p.source(theta, t), expected, atol=1e-14)
    target = p.target(0.5, F64)
    y = p.grid(F64)[1]
    bump = 0.25 * np.sin(2 * math.pi * np.asarray(x)) * np.sin(math.pi * np.asarray(y))
    bump[[0, -1], :] = 0.0
    bump[:, [0, -1]] = 0.0
    np.testing.assert_allclose(target - p.initial(F64), bump, atol=1e-14)


def test_step_transpose_is_the_adjoint_of_the_step():
    p = ReactionDiffusion()
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(k1, (33, 33), F64)
    a = jax.random.normal(k2, (33, 33), F64)
    c = jax.random.normal(k3, (33, 33), F64)
    lhs = jnp.vdot(p.step(x, c), a)
    rhs = jnp.vdot(x, p.step_transpose(a, c))
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-13)


def test_loss_gradient_matches_central_differences():
    p = ReactionDiffusion(horizon=0.05)
    theta = ReactionDiffusion.initial_theta(key=jax.random.key(1), dtype=F64)
    grad = jax.grad(lambda t: p.loss(t))(theta)
    f = jax.jit(lambda t: p.loss(t))
    eps = 1e-5
    for i in range(ReactionDiffusion.num_params):
        e = jnp.zeros(ReactionDiffusion.num_params, F64).at[i].set(eps)
        fd = (f(theta + e) - f(theta - e)) / (2 * eps)
        assert float(grad[i]) == pytest.approx(float(fd), rel=1e-6, abs=1e-12)
