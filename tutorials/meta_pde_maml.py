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
# # Meta-learn a solver: MAML on the nonlinear Poisson family
#
# Meta-PDE (Qin et al. 2022) represents the solution of one task by a SIREN network $u_\theta(x)$
# trained on a mesh-free loss: the PDE residual at random collocation points plus the boundary
# misfit, no ground truth. MAML learns an initialization $\theta_0$ and per-parameter,
# per-step learning rates such that $K = 5$ gradient steps on a *new* task already give a good
# solution.
#
# The quick run uses the initialization shipped with morphax
# (`python benchmarks/meta_pde_pretrain.py` regenerates it); the full run
# (`QUICK = False`) also meta-trains a fresh one for a few minutes to show the loop,
# with a checkpoint that lets it resume.

# %%
import pathlib
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from morphax.learners.meta_pde import (  # noqa: E402  # noqa: E402
    Adapter,
    MetaTrainConfig,
    PoissonFamily,
    PoissonFEA,
    meta_train,
    new_init,
    pretrained,
    relative_mse,
)
from morphax.physics import interpolate  # noqa: E402

# Set by `morphax tutorial run meta_pde_maml [--quick] [--out DIR]`; in a notebook, edit them.
QUICK = globals().get("QUICK", True)
OUT = pathlib.Path(globals().get("OUT", "tutorial-out/meta_pde_maml"))
OUT.mkdir(parents=True, exist_ok=True)
family = PoissonFamily()

# %% [markdown]
# ## The meta-learned initialization
# (Full run: meta-train a few outer steps first, to see the loop and its checkpoint.)

# %%
if not QUICK:
    fresh = new_init(family, "maml", key=jax.random.key(0), rates="exp")
    cfg = MetaTrainConfig(steps=60, task_batch=4, outer_lr=3e-4, lr_lr=0.02, first_order=True,
                          checkpoint_every=20)
    _, history = meta_train(family, fresh, cfg, key=jax.random.key(1),
                            checkpoint=OUT / "maml.ckpt.npz", progress=True)
    print(f"outer loss: first {history[0][1]:.3g}, last {history[-1][1]:.3g}")
init = pretrained("poisson_maml")
print(init.config)

# %% [markdown]
# ## Deploy on an unseen domain
# A held-out task (seed never used for training), its FEA reference on a fine P2 mesh, and
# the network after k adaptation steps.

# %%
task = family.held_out(1, seed=424242)[0]
x = family.eval_points(task, 1024)
ref = PoissonFEA(0.03, 2)
m, u, _ = ref.solve(task)
truth = interpolate(m, u, x)[:, 0]

ks = [0, 1, 2, 5, 10, 20, 50] + ([100, 200] if not QUICK else [])
adapter = Adapter(family)
adapter.run(init, task.vector(), max(ks), key=jax.random.key(0), record=ks)   # compile
models = adapter.run(init, task.vector(), max(ks), key=jax.random.key(1), record=ks)
meta_t = dict(adapter.last_times)
meta_e = {k: relative_mse(family.predict(mod, jnp.asarray(x)), truth) for k, mod in models.items()}
for k in ks:
    print(f"MAML k = {k:3d}: relative MSE {meta_e[k]:.2e} after {meta_t[k] * 1e3:7.1f} ms")

# %% [markdown]
# ## Against FEA at a sweep of resolutions (times after warm-up)

# %%
fea_t, fea_e = [], []
for h in (0.5, 0.35, 0.25, 0.15, 0.1):
    f = PoissonFEA(h, 1)
    f.warmup(task)
    t0 = time.perf_counter()
    mh, uh, s = f.solve(task)
    fea_t.append(s)
    fea_e.append(relative_mse(interpolate(mh, uh, x)[:, 0], truth))
    print(f"FEA h = {h:4.2f}: relative MSE {fea_e[-1]:.2e} in {s * 1e3:6.1f} ms")

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 4))
ax[0].loglog([max(meta_t[k], 1e-5) for k in ks], [meta_e[k] for k in ks], "s--",
             label="Meta-PDE (MAML)")
ax[0].loglog(fea_t, fea_e, "o-", label="FEA (P1)")
ax[0].set_xlabel("time per task (s)")
ax[0].set_ylabel("relative MSE")
ax[0].legend()
pred = np.asarray(family.predict(models[ks[-1]], jnp.asarray(x)))
sc = ax[1].scatter(x[:, 0], x[:, 1], c=pred - truth, s=6, cmap="coolwarm")
fig.colorbar(sc, ax=ax[1], label=f"error after k = {ks[-1]}")
ax[1].set_aspect("equal")
fig.tight_layout()
fig.savefig(OUT / "maml_vs_fea.png", dpi=90)
print("plots in", OUT)
