# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Randomized automatic differentiation on a reaction-diffusion control problem
#
# This tutorial follows Sec. 5 of Oktay et al., *Randomized Automatic Differentiation*
# (ICLR 2021). A fission-reactor-like field obeys
#
# $$\partial_t \phi = D \nabla^2 \phi + C(x, t; \theta)\,\phi \quad\text{on } [0,1]^2,
# \qquad \phi = 0 \text{ on the boundary},$$
#
# with $D = 0.25$, a 33 x 33 grid, explicit steps of $\Delta t = 1/4096$, and a control $C$
# given by a 7-term Fourier series in $x$ and $t$. We fit $\theta$ so that $\phi$ follows the
# target $\phi_0 + \tfrac14 \sin(\pi t)\sin(2\pi x)\sin(\pi y)$.
#
# Backpropagating through $n_t$ explicit steps normally keeps every state: $n_t \cdot 1089$
# floats. RAD's Eq. 7 keeps only $k$ randomly chosen values of each state (rescaled by
# $1089/k$, so the gradient stays unbiased) and stores $n_t \cdot k$ floats.
#
# `morphax tutorial run rad_pde --quick` (or `python tutorials/rad_pde.py`) uses a small size
# (horizon $T = 0.25$, 60 Adam iterations); without `--quick` (or with `QUICK = False`) it runs
# the paper's horizon-2 problem with 800 iterations (several minutes). Plots go to `OUT`.

# %%
import pathlib
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt  # noqa: E402

from morphax.learners.rad import (  # noqa: E402
    rd_loss_rad,
    rd_stored_values_per_step,
    saved_residuals,
    train_rd_control,
)
from morphax.physics import (  # noqa: E402
    ReactionDiffusion,
)

# Set by `morphax tutorial run rad_pde [--quick] [--out DIR]`; in a notebook, edit them.
QUICK = globals().get("QUICK", True)
OUT = pathlib.Path(globals().get("OUT", "tutorial-out/rad_pde"))
OUT.mkdir(parents=True, exist_ok=True)
HORIZON, ITERATIONS = (2.0, 800) if not QUICK else (0.25, 60)
KEEPS = (1.0, 0.1, 0.01, 0.001)

problem = ReactionDiffusion(horizon=HORIZON)
print(f"grid {problem.n} x {problem.n}, D dt / h^2 = {problem.courant:.4f} (stable <= 0.25), "
      f"{problem.num_steps} explicit steps")

# %% [markdown]
# ## 1. The forward problem
# The physics lives in `morphax.physics.ReactionDiffusion`: its `step` is one explicit step,
# its `loss` runs all steps in a `lax.scan` and accumulates $\sum_i \Delta t\,\mathrm{mean}((\phi_i -
# \phi^*_i)^2)$. The paper initializes $\theta_0 = 4.932 \approx 2 D \pi^2$, which holds the
# $\sin\pi x \sin\pi y$ mode steady, and the other six coefficients uniformly in
# $[-0.1, 0.1]$.

# %%
theta0 = ReactionDiffusion.initial_theta(key=jax.random.key(5), dtype=jnp.float32)
traj = problem.trajectory(theta0, every=max(problem.num_steps // 4, 1))
fig, axes = plt.subplots(2, traj.shape[0], figsize=(3 * traj.shape[0], 6))
for j in range(traj.shape[0]):
    t = j * max(problem.num_steps // 4, 1) * problem.dt
    axes[0, j].imshow(traj[j].T, origin="lower", vmin=-0.3, vmax=1.3)
    axes[0, j].set_title(f"phi, t = {t:.3f}")
    axes[1, j].imshow(problem.target(t).T, origin="lower", vmin=-0.3, vmax=1.3)
    axes[1, j].set_title("target")
for ax in axes.flat:
    ax.set_axis_off()
fig.tight_layout()
fig.savefig(OUT / "fields.png", dpi=80)
print("initial loss", float(problem.loss(theta0)))

# %% [markdown]
# ## 2. What the backward pass stores
# `rd_loss_rad` computes the same loss; only its backward pass differs. We measure what JAX
# actually keeps for the backward pass (the residuals of `jax.vjp`) and compare it with
# $n_t \cdot k \cdot 4$ bytes.

# %%
memory = {}
for keep in KEEPS:
    report = saved_residuals(
        lambda t, keep=keep: rd_loss_rad(problem, t, keep=keep, key=jax.random.key(0)), theta0)
    k = rd_stored_values_per_step(problem, keep)
    memory[keep] = report.created_bytes
    print(f"keep {keep:6}: k = {k:5d} values/step, stored {report.created_bytes / 1e6:8.3f} MB"
          f" (n_t k 4 B = {problem.num_steps * k * 4 / 1e6:8.3f} MB)")
print(f"memory saved at keep 0.01: {100 * (1 - memory[0.01] / memory[1.0]):.1f}%")

# %% [markdown]
# ## 3. The estimate is unbiased
# Averaging many RAD gradients approaches the exact gradient, with an error that shrinks like
# $1/\sqrt{N}$.

# %%
exact = jax.grad(lambda t: problem.loss(t))(theta0)
many = jax.jit(jax.vmap(jax.grad(lambda t, k: rd_loss_rad(problem, t, keep=0.01, key=k)),
                        (None, 0)))(theta0, jax.random.split(jax.random.key(1), 256))
for n in (4, 16, 64, 256):
    err = jnp.linalg.norm(many[:n].mean(0) - exact) / jnp.linalg.norm(exact)
    print(f"N = {n:4d}: relative error of the mean {float(err):.4f}")

# %% [markdown]
# ## 4. Training with Adam for several keep fractions
# Same seed, same initial $\theta$, Adam with learning rate $10^{-2}$ (the paper's setup).

# %%
runs = {}
for keep in KEEPS:
    start = time.perf_counter()
    runs[keep] = train_rd_control(problem, keep=keep, iterations=ITERATIONS,
                                  key=jax.random.key(5))
    print(f"keep {keep:6}: final loss {runs[keep]['loss'][-1]:.4e}, "
          f"{1e3 * runs[keep]['seconds_per_iteration']:.1f} ms/iteration "
          f"({time.perf_counter() - start:.1f} s)")
for keep in KEEPS[1:]:
    print(f"final loss ratio keep {keep} / exact: "
          f"{runs[keep]['loss'][-1] / runs[1.0]['loss'][-1]:.4f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for keep, run in runs.items():
    ax1.plot(run["loss"], label=f"keep {keep}")
ax1.set(xlabel="Adam iteration", ylabel="loss", yscale="log", title="training loss")
ax1.legend()
ax2.loglog(list(memory), [memory[k] / 1e6 for k in memory], "o-")
ax2.set(xlabel="keep fraction", ylabel="MB stored for the backward pass",
        title=f"memory, {problem.num_steps} steps")
fig.tight_layout()
fig.savefig(OUT / "rad_pde.png", dpi=80)
print("plots in", OUT)

# %% [markdown]
# The curves nearly coincide: storing 1% of each state (99% less memory) barely changes the
# optimization, as in the paper's Fig. 6. Note that the authors' released code samples
# without rescaling (`estimator="released"`), which biases and shrinks the gradient; Adam's
# scale invariance hides the shrinkage, but not the bias.
