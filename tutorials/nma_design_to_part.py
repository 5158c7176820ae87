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
# # From design to part: co-design a metamaterial and export it for printing
#
# A neuromechanical autoencoder (Oktay et al., ICLR 2023) couples a small neural network to an
# elastic solid. The *encoder* (an MLP) reads a task input, here a target position for the
# solid centre cell of a 3 x 3 lattice of circular pores, and outputs bounded displacements of
# the lattice's sides. The *decoder* is physics: the solid's static neo-Hookean equilibrium,
# solved by morphax's Newton solver with an implicit adjoint. The loss compares where the centre
# cell ended up with where it should be. Because the mesh is plain arrays, gradients flow into
# the pore radii too, so the network weights and the geometry are trained together
# (co-design).
#
# At the end the trained geometry is extruded into a printable `part.stl`, checked to be a
# watertight solid with the right volume.
#
# Run: `morphax tutorial run nma_design_to_part --quick` (about a minute; without `--quick`
# the CPU-sized preset, a few minutes). Pictures and files go to `OUT`
# (default `tutorial-out/nma_design_to_part`). `morphax design` is the same workflow on the
# command line.

# %%
import pathlib

import jax

jax.config.update("jax_enable_x64", True)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from morphax.fabrication import export_part, read_stl  # noqa: E402
from morphax.geometry import CellularSolid  # noqa: E402
from morphax.learners import nma  # noqa: E402

# Set by `morphax tutorial run nma_design_to_part [--quick] [--out DIR]`; in a notebook, edit them.
QUICK = globals().get("QUICK", True)
OUT = pathlib.Path(globals().get("OUT", "tutorial-out/nma_design_to_part"))
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The task and its settings
# `nma.preset(task)` gives a CPU-sized configuration; `quick=True` shortens the training.
# Lengths are in mm (5 mm cells). Every setting lives in one frozen dataclass that round-trips
# to JSON/TOML, so a run is reproducible from its `config.json`.

# %%
config = nma.preset("translation", quick=QUICK)
print(config.to_json())

# %% [markdown]
# ## The untrained system
# `NMASystem` builds the initial design (pores of porosity 0.2, a solid centre cell), meshes
# it once and compiles the equilibrium solve. Here is the held-out error of a fresh controller,
# in cell sizes (how far the centre cell lands from its target, on targets never trained on).

# %%
system = nma.NMASystem(config)
initial = system.init_model(config, key=jax.random.key(config.seed))
before = nma.evaluate(system, initial)
print(f"{system.mesh.n_nodes} nodes, {system.problem.ndof} dofs")
print(f"held-out error before training: {before['error']:.4f} cell sizes")

# %% [markdown]
# ## Training
# Adam on the controller weights and the pore radii; after each step the radii are projected
# back into the manufacturing bounds (minimum radius, maximum radius, minimum ligament), so the
# design stays printable. Checkpoints go to `run/checkpoint` (a killed run resumes with
# `nma.train(config, out=..., resume=True)`).

# %%
trainer = nma.train(config, out=OUT / "run", system=system)
state = trainer.state
after = nma.evaluate(system, state.model)
print(f"{state.iteration} iterations in {state.train_time:.1f} s "
      f"({state.failed_solves} failed solves)")
print(f"held-out error after training: {after['error']:.4f} cell sizes "
      f"(before {before['error']:.4f})")

# %%
it = np.array([h["iteration"] for h in state.history])
loss = np.array([h["loss"] for h in state.history])
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(it, loss, lw=0.8, alpha=0.5, label="training batch")
window = min(10, len(loss))
ax.plot(it[window - 1:], np.convolve(loss, np.ones(window) / window, "valid"), label="moving mean")
ev = state.evaluations
if ev:
    ax.plot([e["iteration"] for e in ev], [e["loss"] for e in ev], "o-", label="held out")
ax.set_xlabel("iteration")
ax.set_ylabel("loss")
ax.legend()
ax.set_title("co-design training")
fig.tight_layout()
fig.savefig(OUT / "loss.png", dpi=90)

# %% [markdown]
# ## What the geometry learned
# The pore outlines before (dashed) and after training (solid). The design is a
# `CellularSolid`: its radii are Fourier-interpolated per pore, so co-design can make pores
# non-circular.

# %%
design0 = system.design
design1 = system.design.with_params(jax.tree_util.tree_map(np.asarray, state.model.geometry),
                                    check=False)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
w, h = design0.size
ax.plot([0, w, w, 0, 0], [0, 0, h, h, 0], "k", lw=1)
for name, *_ in design0.pores():
    p0, p1 = design0.pore_polygon(name), design1.pore_polygon(name)
    ax.plot(*np.vstack([p0, p0[:1]]).T, "--", color="0.5", lw=1)
    ax.plot(*np.vstack([p1, p1[:1]]).T, color="C3", lw=1.5)
ax.set_aspect("equal")
ax.set_title("pores: initial (dashed) and trained")
fig.savefig(OUT / "design.png", dpi=90)
print(f"porosity {design0.porosity():.3f} -> {design1.porosity():.3f}")

# %% [markdown]
# ## The run folder
# `write_outputs` saves everything a run leaves behind: `config.json`, `model.eqx`,
# `design.json`, VTU files of the reference and deformed solids (open them in ParaView),
# `actuated.png` and `metrics.json`. The printable part comes from fabrication, below (the
# `morphax design` command does the same after `write_outputs`).

# %%
metrics = nma.write_outputs(trainer, OUT / "run", n_pictures=3)
print(sorted(p.name for p in (OUT / "run").iterdir()))
print(f"held-out error in metrics.json: {metrics['heldout_error']:.4f} {metrics['error_units']}")

# %% [markdown]
# ## From design to part
# `export_part` extrudes the trained design (exact pore curves, 128 segments each) to the given
# thickness, checks that the triangle surface is a closed, consistently wound solid whose volume
# equals section area x thickness, and only then writes the file. The `PrintReport` says what a
# printer operator needs: size, volume, mass for the chosen material and the thinnest wall
# compared with the nozzle width. It is also written as `part.stl.report.json` and a drawing
# `part.stl.report.png`. A `.3mf` or `.step` suffix writes those formats instead.

# %%
design = CellularSolid.load(OUT / "run" / "design.json")
report = export_part(OUT / "part.stl", design=design, thickness=config.thickness)
print(report.summary())
check = report.solid
print(f"watertight: {check['watertight']}, consistent winding: {check['consistent_winding']}, "
      f"volume {check['volume_mm3']:.3f} mm^3 (expected {check['expected_volume_mm3']:.3f}, "
      f"relative error {check['volume_rel_error']:.1e})")
assert check["watertight"] and check["volume_rel_error"] < 1e-5

# %% [markdown]
# Read the warnings. The optimiser keeps the pore radii (sampled at 16 angles) and the
# ligaments between neighbouring pores and between a pore and the outline inside their bounds,
# but nothing stops one pore's outline from growing a thin lobe: the thinnest walls are often
# necks of a single pore (`between` names one hole), which the report measures on the
# exact curves. Such a part is valid geometry but will not print with this nozzle. Remedies: a
# smaller `geometry_lr` (smoother pores), a finer nozzle (`nozzle_width=`), or re-training with
# a larger `min_ligament`.

# %%
for wall in report.thin_features[:4]:
    print(f"{wall['width_mm']:.3f} mm  {wall['between']}")

# %% [markdown]
# Reading the STL back (vertices merged by coordinate) and recomputing its volume with the
# divergence theorem is an independent check of what landed on disk.

# %%
solid = read_stl(OUT / "part.stl")
v = np.asarray(solid.vertices)[np.asarray(solid.faces)]
volume = float(np.sum(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2]))) / 6.0)
print(f"{len(solid.faces)} triangles; volume read back {volume:.3f} mm^3 "
      f"(design area {design.material_area():.3f} mm^2 x {config.thickness} mm = "
      f"{design.material_area() * config.thickness:.3f})")

# %%
fig, ax = plt.subplots(figsize=(4.5, 4.5))
top = v[np.all(np.isclose(v[:, :, 2], config.thickness), axis=1)]
ax.add_collection(PolyCollection(top[:, :, :2], facecolor="C0",
                                                        edgecolor="k", lw=0.1))
ax.autoscale()
ax.set_aspect("equal")
ax.set_title("part.stl: top face triangles")
fig.savefig(OUT / "part_top.png", dpi=90)
