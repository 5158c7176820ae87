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
# # A learned asynchronous Poisson solver on finite-element meshes
#
# An energy GNN (Solodova et al., ICLR 2025) whose nodes are the nodes of a `morphax.physics`
# mesh. Its energy holds the P1 finite-element energy
# $\tfrac12 u^\top K u - \sum_i f(x_i) A_i u_i$ of $-\nabla\cdot\nabla u = f$ as a convex
# term (with the lumped load $f(x_i) A_i$, which each node knows locally, not the assembled
# consistent load), a Dirichlet penalty, and learned PICNN node and edge energies (started
# small) that can correct towards the consistent-load FEA solution. Because the energy is strongly convex
# and each node's gradient needs only its neighbours, the mesh nodes can solve the problem
# asynchronously, as a distributed solver would, with stale neighbour reads.
#
# We compare with `morphax.physics.solve` (assembled FEM, sparse direct solve) on held-out
# meshes of other sizes. `morphax tutorial run gnn_mesh_solver --quick` trains briefly;
# `QUICK = False` trains longer. Pictures go to `OUT`.

# %%
import pathlib

import jax

jax.config.update("jax_enable_x64", True)   # the FEA reference solves in float64
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from morphax.learners.gnn import (  # noqa: E402
    EnergyGNN,
    Schedule,
    async_outputs,
    poisson_cases,
    relative_error,
    train_mesh_solver,
)

# Set by `morphax tutorial run gnn_mesh_solver [--quick] [--out DIR]`; in a notebook, edit them.
QUICK = globals().get("QUICK", True)
OUT = pathlib.Path(globals().get("OUT", "tutorial-out/gnn_mesh_solver"))
OUT.mkdir(parents=True, exist_ok=True)
N_TRAIN, N_TEST, STEPS = (3, 2, 30) if QUICK else (6, 4, 150)

train_cases = poisson_cases(N_TRAIN, key=jax.random.key(0), sizes=(5, 7), with_load=False)
test_cases = poisson_cases(N_TEST, key=jax.random.key(1), sizes=(7, 9), with_load=False)
print("training meshes:", [c.graph.n_nodes for c in train_cases], "nodes; held out:",
      [c.graph.n_nodes for c in test_cases])

# %% [markdown]
# ## 1. Train through the minimiser
# The loss is the relative squared error of the minimiser against the FEA solutions; its
# gradient comes from the implicit function theorem (one conjugate-gradient adjoint solve).

# %%
model = EnergyGNN(8, 1, 3, hidden=2, mu=1e-3, fem=True, gain=1e-4, key=jax.random.key(2))
print("untrained relative error (FEM term with the lumped load):",
      np.mean([relative_error(model(c.graph)[:, 0], c.reference) for c in test_cases]))
model, losses = train_mesh_solver(model, train_cases, steps=STEPS, lr=1e-2)

# %% [markdown]
# ## 2. Solve held-out meshes asynchronously
# Random half of the nodes wake each tick and read neighbours up to 2 ticks stale.

# %%
results = []
for i, c in enumerate(test_cases):
    out, res = async_outputs(model, c.graph, Schedule(staleness=2, max_ticks=100000, tol=1e-9),
                             key=jax.random.key(10 + i))
    err = relative_error(out[:, 0], c.reference)
    results.append((c, np.asarray(out[:, 0]), err, int(res.updates) / c.graph.n_nodes))
    print(f"held-out mesh {i}: {c.graph.n_nodes} nodes, relative error {err:.4f}, "
          f"{results[-1][3]:.0f} updates per node")

c, u, err, upn = results[0]
p, cells = np.asarray(c.problem.mesh.points), np.asarray(c.problem.mesh.cells)
fig, axes = plt.subplots(1, 4, figsize=(18, 4))
for ax, field, title in ((axes[0], c.reference, "FEA: morphax.physics.solve"),
                         (axes[1], u, f"energy GNN, asynchronous ({upn:.0f} updates/node)"),
                         (axes[2], u - c.reference, f"difference (rel. L2 {err:.3f})")):
    im = ax.tripcolor(p[:, 0], p[:, 1], cells, field, shading="gouraud")
    ax.triplot(p[:, 0], p[:, 1], cells, color="k", lw=0.2)
    ax.set(title=title, aspect="equal")
    fig.colorbar(im, ax=ax)
axes[3].semilogy(losses)
axes[3].set(xlabel="Adam step", ylabel="mean relative squared error", title="training")
fig.tight_layout()
fig.savefig(OUT / "gnn_mesh_solver.png", dpi=80)
print("plots in", OUT)

# %% [markdown]
# The FEM term carries the physics; the learned terms start small and, trained this briefly on
# three small meshes, change the error little (compare the untrained error printed above). The
# asynchronous run needs many node updates (block-Jacobi preconditioned gradient steps on an
# ill-conditioned energy), far more work than one sparse factorisation, but every update is
# local: this is a solver for a network of agents without a coordinator, not a faster FEA.
