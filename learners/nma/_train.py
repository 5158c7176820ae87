"""Training an NMA: the controller (and, in co-design, the geometry) by Adam through the
equilibrium solve; batches of targets, held-out evaluation, atomic checkpoints and exact
resume (every random draw derives from the seed and the iteration number).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import math
import pathlib
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from morphax._core import DataError, InputError, SolverError, atomic_write_bytes, atomic_write_text
from morphax.geometry import (
    CellularSolid,
    PrintPenalty,
    PrintRules,
    smooth_pores,
    thicken_walls,
)

from ._config import NMAConfig, read_table
from ._model import NMA
from ._system import LEVELS, NMASystem, structure_key

log = logging.getLogger("morphax.learners.nma")

EVAL_SEED = 20230201   # held-out targets depend on the task only, not on the seed
COLOUR_LR_FACTOR = 10.0   # the colour field (digits) learns at 10 x lr


def make_optimizer(config: NMAConfig) -> optax.GradientTransformation:
    """Adam on the controller (lr), on the pore radii (lr x geometry_lr) and the lattice-node
    offsets (lr x offset_lr; frozen geometry or offsets=False: no update) and on the colour
    field (lr x COLOUR_LR_FACTOR); each decays along a cosine to lr_final x its value over
    config.iterations. The geometry's rates are 0 for the first geometry_warmup iterations
    (the controller learns first) and then decay over the remaining iterations."""
    def adam(lr, start=0):
        if config.lr_final >= 1.0 and start == 0:
            return optax.adam(lr)
        decay = optax.cosine_decay_schedule(lr, max(config.iterations - start, 1),
                                            alpha=min(config.lr_final, 1.0))
        if start == 0:
            return optax.adam(decay)
        return optax.adam(optax.join_schedules([optax.constant_schedule(0.0), decay], [start]))

    warm = min(config.geometry_warmup, config.iterations)
    geo = adam(config.lr * config.geometry_lr, warm) if config.codesign else optax.set_to_zero()
    off = adam(config.lr * config.offset_lr, warm) if config.codesign and config.offsets \
        else optax.set_to_zero()
    return optax.multi_transform({"net": adam(config.lr), "geometry": geo, "offsets": off,
                                  "colour": adam(COLOUR_LR_FACTOR * config.lr)},
                                 lambda m: m.labels())


def heldout_targets(system: NMASystem, n: int):
    """The fixed held-out targets of the system's task (not seen in training)."""
    task = system.task
    if task.heldout is not None:
        return task.heldout(n)
    return task.sample(n, key=jax.random.key(EVAL_SEED))


def _finite(tree) -> bool:
    """Whether every floating-point leaf of `tree` is finite."""
    return all(bool(np.isfinite(np.asarray(x)).all()) for x in jax.tree_util.tree_leaves(tree)
               if np.issubdtype(np.asarray(x).dtype, np.floating))


def _take(batch, i):
    return jax.tree_util.tree_map(lambda v: v[i], batch)


@dataclasses.dataclass
class TrainState:
    """Everything a run needs to continue: model, optimizer state, iteration, history."""

    model: NMA
    opt_state: object
    iteration: int = 0
    history: list = dataclasses.field(default_factory=list)      # per iteration
    evaluations: list = dataclasses.field(default_factory=list)  # held-out, periodic
    failed_solves: int = 0
    retried_solves: int = 0
    shortened_steps: int = 0
    train_time: float = 0.0
    remeshes: int = 0
    smoothed_pores: int = 0   # pore shapes projected onto the print rules (sum over steps)

    def counters(self) -> dict:
        return {"iteration": self.iteration, "history": self.history,
                "evaluations": self.evaluations, "failed_solves": self.failed_solves,
                "retried_solves": self.retried_solves, "shortened_steps": self.shortened_steps,
                "train_time": self.train_time, "remeshes": self.remeshes,
                "smoothed_pores": self.smoothed_pores}


def evaluate(system: NMASystem, model: NMA, targets=None, *, n: int | None = None) -> dict:
    """Held-out loss and error (mean over targets whose solve converged) and the number of
    failed solves. Errors are in cell sizes (translation, rotation), shape distance (shape) or
    segment error rate (digits)."""
    if targets is None:
        targets = heldout_targets(system, n or system.config.n_eval)
    k = int(jax.tree_util.tree_leaves(targets)[0].shape[0])
    losses, errors, failed = [], [], 0
    for i in range(k):
        out = system.evaluate_target(model, _take(targets, i))
        if out is None:
            failed += 1
            continue
        losses.append(out[0])
        errors.append(out[1])
    return {"loss": float(np.mean(losses)) if losses else math.nan,
            "error": float(np.mean(errors)) if errors else math.nan,
            "errors": errors, "failed": failed}


class Trainer:
    """Runs (and resumes) one NMA training job. `out`: folder for checkpoints (None: none).
    design: the initial design (default: the task's lattice; see `NMASystem`).

    Co-design adds config.print_weight x `PrintPenalty` (the per-pore print rules) to the loss,
    projects pore shapes onto the neck, bend and wall rules after each step (`smooth_pores`,
    `thicken_walls`) and re-meshes when a geometry step would degrade the mesh
    (`state.remeshes`)."""

    def __init__(self, config: NMAConfig, *, system: NMASystem | None = None, out=None,
                 design: CellularSolid | None = None):
        self.config = config
        if system is not None and system.key != structure_key(config):
            raise InputError("the NMASystem was built for a different structure than this "
                             "config (task, lattice, mesh, material); build a new one")
        self.system = system or NMASystem(config, design=design)
        self.initial_system = self.system   # kept when re-meshing (a baseline can share it)
        self.out = None if out is None else pathlib.Path(out)
        self.optimizer = make_optimizer(config)
        self.key = jax.random.key(config.seed)
        k_init, self.data_key = jax.random.split(self.key)
        model = self.system.init_model(config, key=k_init)
        self.state = TrainState(model, self.optimizer.init(model))
        self.initial_geometry = model.geometry
        self._step = jax.jit(self._update)
        self._mask = self.system.offset_mask() if config.offsets else \
            np.zeros_like(self.system.design.offsets)
        self.penalty = PrintPenalty(self.system.design, PrintRules(config.nozzle, config.layer))
        self._penalty = jax.jit(jax.value_and_grad(self.penalty))
        self._last_penalty = math.nan

    # ----- one iteration --------------------------------------------------------------------
    def _update(self, model, opt_state, grads):
        with jax.numpy_dtype_promotion("standard"):   # optax mixes int counters and floats
            updates, opt_state = self.optimizer.update(grads, opt_state, model)
        return eqx.apply_updates(model, updates), opt_state

    def batch(self, iteration: int):
        """The training targets of `iteration` (a pure function of the seed and iteration)."""
        return self.system.task.sample(self.config.batch,
                                       key=jax.random.fold_in(self.data_key, iteration))

    def step(self) -> dict:
        st, sys_ = self.state, self.system
        t0 = time.perf_counter()
        batch = self.batch(st.iteration)
        grads, losses, errors, failed, retried = [], [], [], 0, 0
        for i in range(self.config.batch):
            out = sys_.sample_grad(st.model, _take(batch, i))
            if out is None:
                failed += 1
                log.warning("iteration %d: the equilibrium solve failed for target %d of the "
                            "batch even with %d load steps; dropped from this batch",
                            st.iteration, i, sys_.load_steps(len(LEVELS) - 1))
                continue
            loss, err, g, level = out
            retried += level > 0
            grads.append(g)
            losses.append(loss)
            errors.append(err)
        penalty = math.nan
        if grads:
            mean = jax.tree_util.tree_map(lambda *gs: sum(gs) / len(gs), *grads)
            old_geom = st.model.geometry
            if self.config.codesign:
                mean = eqx.tree_at(lambda m: m.geometry, mean,
                                   self._geometry_grad(old_geom, mean.geometry))
                penalty = self._last_penalty
            model, opt_state = self._step(st.model, st.opt_state, mean)
            if not _finite(model):
                raise SolverError(f"training diverged at iteration {st.iteration}: the update "
                                  f"made the parameters non-finite (lr = {self.config.lr:g}); "
                                  "lower lr, and resume from the last checkpoint or start again")
            if self.config.codesign:
                model = eqx.tree_at(lambda m: m.geometry, model,
                                    self._geometry_step(old_geom, model.geometry))
            st.model, st.opt_state = model, opt_state
        dt = time.perf_counter() - t0
        rec = {"iteration": st.iteration, "loss": float(np.mean(losses)) if losses else math.nan,
               "error": float(np.mean(errors)) if errors else math.nan, "failed": failed,
               "retried": retried, "time": dt, "penalty": penalty}
        st.history.append(rec)
        st.failed_solves += failed
        st.retried_solves += retried
        st.train_time += dt
        st.iteration += 1
        return rec

    def _geometry_grad(self, geometry, grad):
        """The task gradient plus print_weight x the print-rule penalty's, fixed offset
        components masked out."""
        pen, g_pen = self._penalty(geometry)
        self._last_penalty = float(pen)
        w = self.config.print_weight
        out = jax.tree_util.tree_map(lambda a, b: a + w * b, grad, g_pen)
        out["offsets"] = out["offsets"] * jnp.asarray(self._mask, dtype=out["offsets"].dtype)
        return out

    def _geometry_step(self, old, new):
        """The updated geometry projected onto the bounds; re-mesh (full step) when the morphed
        mesh would degrade, shorten the step only when re-meshing cannot help."""
        st, sys_ = self.state, self.system
        new = sys_.project(new)
        smooth, changed = smooth_pores(sys_.design, jax.tree_util.tree_map(np.asarray, new),
                                       self.penalty.rules)
        smooth, thickened = thicken_walls(sys_.design, smooth, self.penalty.rules)
        if changed or thickened:   # projected onto the neck, bend and wall rules
            st.smoothed_pores += len(changed) + len(thickened)
            new = {**new, "radii": jnp.asarray(smooth["radii"]),
                   "large": tuple(jnp.asarray(r) for r in smooth["large"])}
        if not sys_.needs_remesh(new):
            return new
        fresh = None if sys_.task.uses_colour else sys_.remeshed(new)
        if fresh is not None:
            self.system = fresh
            st.remeshes += 1
            log.info("iteration %d: re-meshed at the current design (%d nodes)", st.iteration,
                     fresh.mesh.n_nodes)
            return new
        geom, frac = sys_.constrain_step(old, new)
        st.shortened_steps += frac < 1.0
        return geom

    # ----- the loop -------------------------------------------------------------------------
    def run(self, *, progress: bool = False, iterations: int | None = None) -> TrainState:
        """Train up to `iterations` (default config.iterations), evaluating every eval_every
        iterations and checkpointing every checkpoint_every iterations (and at the end)."""
        total = self.config.iterations if iterations is None else iterations
        st = self.state
        bar = None
        if progress:
            import sys

            from tqdm import tqdm
            bar = tqdm(total=total, initial=min(st.iteration, total), desc=f"nma {self.config.task}",
                       file=sys.stderr, dynamic_ncols=True)
        if st.iteration == 0 and not st.evaluations:
            self._evaluate()
        while st.iteration < total:
            rec = self.step()
            if rec["failed"] == self.config.batch:
                raise SolverError(f"every equilibrium solve of iteration {rec['iteration']} "
                                  f"failed (batch {self.config.batch}); lower max_disp or raise "
                                  "load_steps, and resume from the last checkpoint or start again")
            if st.iteration % self.config.eval_every == 0 or st.iteration == total:
                self._evaluate()
            if self.out is not None and (st.iteration % self.config.checkpoint_every == 0
                                         or st.iteration == total):
                self.save_checkpoint()
            if bar is not None:
                ev = st.evaluations[-1]
                bar.set_postfix(loss=f"{rec['loss']:.4f}", heldout=f"{ev['error']:.4f}",
                                failed=st.failed_solves)
                bar.update(1)
        if bar is not None:
            bar.close()
        return st

    def _evaluate(self):
        st = self.state
        if st.evaluations and st.evaluations[-1]["iteration"] == st.iteration:
            return
        ev = evaluate(self.system, st.model)
        st.evaluations.append({"iteration": st.iteration, "loss": ev["loss"],
                               "error": ev["error"], "failed": ev["failed"]})

    # ----- checkpoints ----------------------------------------------------------------------
    def save_checkpoint(self, out=None) -> pathlib.Path:
        """Write checkpoint/state-<iteration>.eqx (model + optimizer state), its counters
        state-<iteration>.json (with the state file's SHA-256) and latest.json (the same
        counters), each atomically; the previous checkpoint is kept as a fallback."""
        folder = pathlib.Path(out or self.out) / "checkpoint"
        st = self.state
        name = f"state-{st.iteration:07d}"
        buf = io.BytesIO()
        eqx.tree_serialise_leaves(buf, (st.model, st.opt_state))
        atomic_write_bytes(folder / f"{name}.eqx", buf.getvalue())
        meta = {"file": f"{name}.eqx", "sha256": hashlib.sha256(buf.getvalue()).hexdigest(),
                "config": self.config.to_dict(), **st.counters(),
                "mesh_design": self.system.design.to_dict()}
        text = json.dumps(meta, default=float) + "\n"
        atomic_write_text(folder / f"{name}.json", text)
        atomic_write_text(folder / "latest.json", text)
        kept = _checkpoint_names(folder)[:2]
        for old in folder.glob("state-*.*"):
            if old.stem[6:].isdigit() and old.stem < kept[-1]:
                old.unlink(missing_ok=True)
        return folder / f"{name}.eqx"

    def load_checkpoint(self, out=None) -> bool:
        """Restore the newest good checkpoint under `out` (default self.out); False if there is
        none. A damaged one is named in a warning and the one before it is used."""
        folder = pathlib.Path(out or self.out) / "checkpoint"
        meta = latest_checkpoint(folder)
        if meta is None:
            return False
        saved = NMAConfig.from_dict({**meta["config"], "iterations": self.config.iterations})
        if structure_key(saved) != structure_key(self.config) or saved.hidden != self.config.hidden:
            raise InputError(f"the checkpoint in {str(folder)!r} belongs to a different run "
                             "(task, lattice or network differ); use another --out folder")
        if isinstance(meta.get("mesh_design"), dict):   # the run had re-meshed: the same mesh
            design = CellularSolid.from_dict(meta["mesh_design"], check=False,
                                             source=f"the checkpoint in {str(folder)!r}")
            if design != self.system.design:
                self.system = NMASystem(self.config, design=design)
        skeleton = (self.state.model, self.state.opt_state)
        try:
            model, opt_state = eqx.tree_deserialise_leaves(io.BytesIO(meta["state"]), skeleton)
        except Exception as err:   # equinox/numpy raise several kinds for a damaged file
            raise DataError(f"checkpoint state {meta['file']!r} in {str(folder)!r} is damaged "
                            f"({type(err).__name__}); delete it to resume from the one before"
                            ) from None
        self.state = TrainState(model, opt_state, *(meta[k] for k in _COUNTERS),
                                remeshes=int(meta.get("remeshes", 0)),
                                smoothed_pores=int(meta.get("smoothed_pores", 0)))
        return True


_COUNTERS = ("iteration", "history", "evaluations", "failed_solves", "retried_solves",
             "shortened_steps", "train_time")


def _checkpoint_names(folder: pathlib.Path) -> list[str]:
    """state-<iteration> names of the complete checkpoints (counters written) in `folder`,
    newest first."""
    return sorted((p.stem for p in folder.glob("state-*.json") if p.stem[6:].isdigit()),
                  reverse=True)


def latest_checkpoint(folder) -> dict | None:
    """The counters of the newest readable checkpoint in `folder` (a run's checkpoint/ folder),
    with its state file's bytes under "state"; None if the folder holds no checkpoint.
    Damaged files are named in a warning and skipped; DataError if every checkpoint is
    damaged."""
    folder = pathlib.Path(folder)
    candidates = [folder / f"{n}.json" for n in _checkpoint_names(folder)]
    if (folder / "latest.json").exists():   # earlier runs wrote only latest.json
        candidates.append(folder / "latest.json")
    damaged = []
    for path in candidates:
        try:
            return _read_checkpoint(path)
        except InputError as err:   # DataError, or a checkpoint file that is not a file
            log.warning("%s; trying the previous checkpoint", err)
            damaged.append(str(err))
    if damaged:
        raise DataError(f"every checkpoint in {str(folder)!r} is damaged ({'; '.join(damaged)});"
                        " start a new run with another --out folder")
    return None


def _read_checkpoint(path: pathlib.Path) -> dict:
    """The counters in checkpoint file `path` plus the verified bytes of its state file."""
    meta = read_table(path)
    kinds = {"file": str, "config": dict, "iteration": int, "history": list, "evaluations": list,
             "failed_solves": int, "retried_solves": int, "shortened_steps": int,
             "train_time": int | float}
    bad = [k for k, kind in kinds.items() if not isinstance(meta.get(k), kind)
           or isinstance(meta.get(k), bool)]
    if not bad:
        try:
            NMAConfig.from_dict(meta["config"])
        except InputError:
            bad = ["config"]
    if bad:
        raise DataError(f"checkpoint file {str(path)!r} is damaged (missing or malformed {bad})")
    state = path.parent / pathlib.Path(meta["file"]).name
    try:
        data = state.read_bytes()
    except OSError:
        raise DataError(f"checkpoint state {str(state)!r} named by {str(path)!r} cannot be "
                        "read") from None
    if "sha256" in meta and hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise DataError(f"checkpoint state {str(state)!r} is damaged (its checksum does not "
                        f"match {str(path)!r})")
    return {**meta, "state": data}


def train(config: NMAConfig, *, out=None, resume: bool = False, progress: bool = False,
          system: NMASystem | None = None) -> Trainer:
    """Train an NMA (co-design, or frozen geometry with config.codesign=False). With `out`,
    checkpoints go to out/checkpoint; resume=True continues from the latest one there.
    Returns the Trainer (trainer.state.model is the trained NMA)."""
    trainer = Trainer(config, system=system, out=out)
    if resume:
        if out is None:
            raise InputError("resume needs the output folder of the interrupted run")
        if not trainer.load_checkpoint():
            raise InputError(f"no checkpoint in {str(pathlib.Path(out) / 'checkpoint')!r} to "
                             "resume from; start a new run without --resume")
    trainer.run(progress=progress)
    return trainer
