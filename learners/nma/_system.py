"""`NMASystem`: the decoder of an NMA, i.e. the cellular solid's static equilibrium under the
controller's prescribed displacements, built once per topology (mesh + Problem + compiled
solves) and shared by every run with the same structure (co-design and frozen runs, seeds).

Decoder: compressible neo-Hookean solid (Varmint's kappa = E / (3 (1 - 2 nu))), outer
corners pinned, actuator groups displaced by the controller's outputs, load stepping and
Newton on the host, gradients by the FEM core's implicit adjoint (`morphax.physics.solve`).
A solve that does not converge is retried with 4x more load steps and more step cuts; if
that fails too the caller drops the sample (see `NMASystem.sample_grad`).
"""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np

from morphax.geometry import add_groups, morphable_mesh, project_params
from morphax.physics import Dirichlet, NeoHookean, Problem, solve

from ._config import NMAConfig
from ._model import NMA, Controller
from ._tasks import build_design, make_task

log = logging.getLogger("morphax.learners.nma")

CORNERS = ("corner_bl", "corner_br", "corner_tl", "corner_tr")
#: solver settings of the first try and of the retry of a failed solve
LEVELS = ({"max_cuts": 6}, {"max_cuts": 14, "max_iterations": 50})
RETRY_LOAD_FACTOR = 4   # each retry level multiplies the load increments by 4
MIN_STEP_ANGLE = 2.0    # degrees: the smallest triangle angle a geometry step may leave

_STRUCTURE = ("task", "rows", "cols", "cell_size", "porosity", "mesh_divisions", "young", "nu",
              "load_steps", "r_min", "r_max", "min_ligament", "digits")


def structure_key(config: NMAConfig) -> tuple:
    """The config fields that decide the mesh, the Problem and the task data."""
    return tuple(getattr(config, k) for k in _STRUCTURE)


class NMASystem:
    """Mesh, Problem, task and compiled per-sample functions for one structure.

    mm: the MorphableMesh; problem: the Problem on its reference mesh; task: the Task.
    """

    def __init__(self, config: NMAConfig):
        self.config = config
        self.key = structure_key(config)
        design = build_design(config)
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
    def init_model(self, config: NMAConfig | None = None, *, key) -> NMA:
        """A fresh NMA: controller initialised from `key`, geometry = the initial design."""
        config = config or self.config
        ctrl = Controller(self.task.n_inputs, self.task.n_act, config.hidden,
                          config.max_disp * config.cell_size, key=key)
        n_colour = self.mesh.n_nodes if self.task.uses_colour else 0
        return NMA(ctrl, self.design.params(), jnp.zeros(n_colour))

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
        """Pore radii mapped into the manufacturing bounds (`project_params`)."""
        return project_params(geometry, self.design)

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
