"""`NMASystem`: the decoder of an NMA, i.e. the cellular solid's static equilibrium under the
controller's prescribed displacements, built once per topology (mesh + Problem + compiled
solves) and shared by every run with the same structure (co-design and frozen runs, seeds).

Decoder: compressible neo-Hookean solid (Varmint's kappa = E / (3 (1 - 2 nu))), outer
corners pinned, actuator groups displaced by the controller's outputs, load stepping and
Newton on the host, gradients by the FEM core's implicit adjoint (`morphax.physics.solve`).
A solve that does not converge is retried with 4x more load steps and more step cuts; if
that fails too the caller drops the sample (see `NMASystem.sample_grad`).

Geometry steps: radii are projected onto the manufacturing bounds and offsets clipped to
+-offset_bound cell sizes; when the morphed mesh would degenerate (an angle below
REMESH_ANGLE) the trainer re-meshes from the current design (`NMASystem.remeshed`) and keeps
the full step; it shortens a step only when remeshing cannot help (counted in the metrics).
"""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError
from morphax.geometry import CellularSolid, Constraints, add_groups, morphable_mesh, project_params
from morphax.physics import Dirichlet, NeoHookean, Problem, solve

from ._config import SOLID_CENTRE_TASKS, NMAConfig
from ._model import NMA, Controller
from ._tasks import build_design, make_task

log = logging.getLogger("morphax.learners.nma")

CORNERS = ("corner_bl", "corner_br", "corner_tl", "corner_tr")
#: solver settings of the first try and of the retry of a failed solve
LEVELS = ({"max_cuts": 6}, {"max_cuts": 14, "max_iterations": 50})
RETRY_LOAD_FACTOR = 4   # each retry level multiplies the load increments by 4
MIN_STEP_ANGLE = 2.0    # degrees: the smallest triangle angle a geometry step may leave
REMESH_ANGLE = 5.0      # degrees: below this smallest angle the trainer re-meshes
ROTATION_TASKS = ("rotation", "double-rotation")

_STRUCTURE = ("task", "rows", "cols", "cell_size", "porosity", "mesh_divisions", "young", "nu",
              "load_steps", "r_min", "r_max", "min_ligament", "digits", "centre_pore",
              "side_actuators", "strip_width")


def structure_key(config: NMAConfig) -> tuple:
    """The config fields that decide the mesh, the Problem and the task data."""
    return tuple(getattr(config, k) for k in _STRUCTURE)


class NMASystem:
    """Mesh, Problem, task and compiled per-sample functions for one structure.

    mm: the MorphableMesh; problem: the Problem on its reference mesh; task: the Task.
    design: the design to mesh (default `build_design(config)`: a user's lattice for
    `morphax design --init`, or the current design when re-meshing); its bounds are replaced
    by the config's (r_min, r_max, min_ligament).
    """

    def __init__(self, config: NMAConfig, *, design: CellularSolid | None = None):
        self.config = config
        self.key = structure_key(config)
        design = build_design(config) if design is None else _adopt(design, config)
        self.mm = morphable_mesh(design, size=config.mesh_size)
        self.task = make_task(config, self.mm)
        self.design = design
        groups = {a.name: list(a.groups) for a in self.task.actuators}
        mesh = add_groups(self.mm.mesh, groups)
        corners = [c for c in CORNERS if c in mesh.node_sets]
        bcs = [Dirichlet(c, 0.0) for c in corners]
        bcs += [Dirichlet(a.name, 0.0) for a in self.task.actuators]
        self.n_pinned = len(corners)
        self.material = NeoHookean.from_young(config.young, config.nu, convention="varmint")
        self.problem = Problem(mesh, self.material, dirichlet=bcs)
        self.mesh = mesh
        self._base = self.problem.params()
        self._fwd, self._eval = {}, {}
        self._bwd = jax.jit(lambda fn, ct: fn(ct))

    # ----- model ---------------------------------------------------------------------------
    def init_model(self, config: NMAConfig | None = None, *, key, noise: bool = True) -> NMA:
        """A fresh NMA: controller initialised from `key`, geometry = the design plus the
        symmetry-breaking perturbation of config.init_noise (drawn from `key` too; free
        offset components only; noise=False: the design as it is)."""
        config = config or self.config
        k_net, k_geo = jax.random.split(key)
        ctrl = Controller(self.task.n_inputs, self.task.n_act, config.hidden,
                          config.max_disp * config.cell_size, key=k_net)
        n_colour = self.mesh.n_nodes if self.task.uses_colour else 0
        geometry = self.design.params()
        if noise and config.init_noise > 0 and config.task != "digits":
            kr, ko = jax.random.split(k_geo)
            geometry["radii"] = geometry["radii"] + config.init_noise * jax.random.normal(
                kr, geometry["radii"].shape, dtype=geometry["radii"].dtype)
            if config.offsets:
                geometry["offsets"] = geometry["offsets"] + (
                    config.init_noise * config.cell_size * self.offset_mask()
                    * jax.random.normal(ko, geometry["offsets"].shape,
                                        dtype=geometry["offsets"].dtype))
            geometry = self.project(geometry)
        return NMA(ctrl, geometry, jnp.zeros(n_colour))

    def offset_mask(self) -> np.ndarray:
        """(rows + 1, cols + 1, 2) 1.0 where a lattice-node offset component may move: nodes
        whose four cells hold material move freely, nodes on an outer side slide along it,
        outer corners, nodes next to empty cells or inside large-pore blocks and (rotation
        tasks) the corners of the solid centre cell are fixed."""
        d = self.design
        rows, cols = d.rows, d.cols
        mask = np.zeros((rows + 1, cols + 1, 2))
        inner = {k: d.kind(*k) for k in ((i, j) for i in range(rows) for j in range(cols))}
        for a in range(rows + 1):
            for b in range(cols + 1):
                around = [(a - 1, b - 1), (a - 1, b), (a, b - 1), (a, b)]
                kinds = [inner.get(c, "outside") for c in around]
                if any(k in ("empty", "large") for k in kinds):
                    continue
                outside = [k == "outside" for k in kinds]
                if not any(outside):
                    mask[a, b] = 1.0
                elif sum(outside) == 2 and (a in (0, rows)) != (b in (0, cols)):
                    mask[a, b, 0 if a in (0, rows) else 1] = 1.0
        if self.config.task in ROTATION_TASKS:
            ci, cj = rows // 2, cols // 2
            mask[ci:ci + 2, cj:cj + 2] = 0.0
        return mask

    # ----- decoder -------------------------------------------------------------------------
    def load_steps(self, level: int = 0) -> int:
        """Initial load increments of a solve at retry level `level` (0: the first try)."""
        return self.config.load_steps * RETRY_LOAD_FACTOR ** level

    def physics_params(self, geometry, a) -> dict:
        """Problem parameters for geometry params and actuations a (n_act,) in mm."""
        dirichlet = list(self._base["dirichlet"])
        for k, act in enumerate(self.task.actuators):
            i = self.n_pinned + k
            m = jnp.asarray(np.asarray(act.matrix, dtype=float), dtype=a.dtype)
            dirichlet[i] = jnp.broadcast_to((m @ a)[None, :], dirichlet[i].shape)
        return {**self._base, "points": self.mm.points(geometry), "dirichlet": tuple(dirichlet)}

    def equilibrium(self, geometry, a, *, level: int = 0, rtol: float | None = None):
        """(x (n, 2) deformed node coordinates, u (n, 2), converged) for actuations a.
        rtol: Newton's relative residual tolerance (default the solver's, 1e-10)."""
        p = self.physics_params(geometry, a)
        extra = {} if rtol is None else {"rtol": rtol}
        sol = solve(self.problem, p, load_steps=self.load_steps(level),
                    **LEVELS[level], **extra)
        return p["points"] + sol.u, sol.u, sol.converged

    def sample_loss(self, model: NMA, target, *, level: int = 0, rtol: float | None = None):
        """(loss, (converged, error)) for one target {"input", "goal"}."""
        a = model.controller(target["input"])
        x, _, ok = self.equilibrium(model.geometry, a, level=level, rtol=rtol)
        loss = self.task.loss(x, model.colour, target)
        return loss, (ok, self.task.error(x, model.colour, target))

    def _fwd_fn(self, level):
        if level not in self._fwd:
            def fwd(model, target):
                return jax.vjp(lambda m: self.sample_loss(m, target, level=level), model,
                               has_aux=True)
            self._fwd[level] = jax.jit(fwd)
        return self._fwd[level]

    def sample_grad(self, model: NMA, target):
        """(loss, error, grads, level) for one target, or None when the solve fails even
        on the retry (then the caller drops the sample and counts it)."""
        for level in range(len(LEVELS)):
            loss, vjp, (ok, err) = self._fwd_fn(level)(model, target)
            if bool(ok) and np.isfinite(float(loss)):
                (g,) = self._bwd(vjp, jnp.ones_like(loss))
                return float(loss), float(err), g, level
            if level + 1 < len(LEVELS):
                log.info("solve failed for a target; retrying with %d load steps",
                         self.load_steps(level + 1))
        return None

    def evaluate_target(self, model: NMA, target):
        """(loss, error) for one target without gradients, or None if the solve fails."""
        for level in range(len(LEVELS)):
            if level not in self._eval:
                self._eval[level] = jax.jit(
                    lambda m, t, lv=level: self.sample_loss(m, t, level=lv))
            loss, (ok, err) = self._eval[level](model, target)
            if bool(ok) and np.isfinite(float(loss)):
                return float(loss), float(err)
        return None

    def deformed(self, model: NMA, target, *, level: int = 0):
        """(actuation a (n_act,), u (n, 2), converged) for one target (eager)."""
        a = model.controller(target["input"])
        _, u, ok = self.equilibrium(model.geometry, a, level=level)
        return np.asarray(a), np.asarray(u), bool(ok)

    # ----- geometry constraints ------------------------------------------------------------
    def project(self, geometry):
        """Pore radii mapped into the manufacturing bounds (`project_params`), offsets
        clipped to +-offset_bound cell sizes (fixed components kept at the design's value)."""
        out = project_params(geometry, self.design)
        if "offsets" in geometry:
            bound = self.config.offset_bound * self.config.cell_size
            mask = self.offset_mask()
            out["offsets"] = jnp.where(mask > 0, jnp.clip(geometry["offsets"], -bound, bound),
                                       jnp.asarray(self.design.offsets))
        return out

    def needs_remesh(self, geometry) -> bool:
        """Whether the mesh morphed to `geometry` has an angle below REMESH_ANGLE or an
        inverted element."""
        return not self.mm.check(jax.tree_util.tree_map(np.asarray, geometry),
                                 min_angle=REMESH_ANGLE).valid

    def remeshed(self, geometry) -> NMASystem | None:
        """A new system meshed by gmsh at `geometry` (same config; the controller, geometry
        and optimizer state carry over unchanged), or None when the new mesh is no better
        (the warp itself is too distorted) or gmsh fails."""
        design = self.design.with_params(jax.tree_util.tree_map(np.asarray, geometry),
                                         check=False)
        try:
            new = NMASystem(self.config, design=design)
        except Exception as err:   # gmsh or the mesh checks refuse this design
            log.warning("re-meshing failed (%s); shortening the geometry step instead", err)
            return None
        if new.needs_remesh(geometry):
            return None
        return new

    def constrain_step(self, old, new):
        """`new` projected onto the bounds, then shortened (if needed) so the morphed mesh stays
        valid. Returns (geometry, fraction of the step taken)."""
        new = self.project(new)
        frac = self.mm.valid_step(old, new, min_angle=MIN_STEP_ANGLE)
        if frac >= 1.0:
            return new, 1.0
        frac = 0.5 * frac
        log.info("geometry step shortened to %.3g of its length to keep the morphed mesh "
                    "valid", frac)
        return jax.tree_util.tree_map(lambda a, b: a + frac * (b - a), old, new), frac


def _adopt(design: CellularSolid, config: NMAConfig) -> CellularSolid:
    """`design` with the config's bounds, checked against the config's task (InputError)."""
    if (design.rows, design.cols) != (config.rows, config.cols):
        raise InputError(f"the design has {design.rows} x {design.cols} cells but the config "
                         f"asks for {config.rows} x {config.cols}; set rows and cols to match")
    if abs(design.cell_size - config.cell_size) > 1e-9 * config.cell_size:
        raise InputError(f"the design's cell size is {design.cell_size} mm, the config's "
                         f"{config.cell_size} mm; set cell_size to match")
    ci, cj = design.rows // 2, design.cols // 2
    if config.task in SOLID_CENTRE_TASKS and design.kind(ci, cj) != "solid":
        raise InputError(f"the {config.task} task needs a solid centre cell ({ci}, {cj}); the "
                         f"design's is {design.kind(ci, cj)}")
    cons = Constraints(min_ligament=config.min_ligament, r_min=config.r_min, r_max=config.r_max)
    return design if design.constraints == cons else design.with_constraints(cons)
