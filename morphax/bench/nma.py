"""`morphax bench nma`: co-design against frozen geometry (the NMA paper's ablation) on
translation and single rotation (--quick), plus double rotation and shape matching (full run);
same seeds, iterations, network and initial geometry for both; the full run also trains digital
MNIST, on the fixed geometry the paper uses for it; held-out target errors, time
per iteration, re-meshes and shortened geometry steps, adjoint-vs-finite-difference gradient
checks, and the printability of the exported translation part (seed 0, co-design).

Summary: codesign_over_frozen = mean over translation and rotation of (mean co-design held-out
error / mean frozen held-out error); codesign_wins_all_seeds: co-design lower on every seed
and task; min_neck_mm: the thinnest wall or pore neck of that exported part (print report).
Full run: all_tasks_reduce_error (every task's mean held-out error below its mean initial
one) and codesign_beats_frozen_each_task (on every task trained both ways).
"""

from __future__ import annotations

import logging
import time

import equinox as eqx
import jax
import numpy as np

log = logging.getLogger("morphax.bench")

SEEDS = (0, 1, 2)
QUICK_TASKS = ("translation", "rotation")
FULL_TASKS = ("translation", "rotation", "double-rotation", "shape", "digits")


def _sizes(quick):
    if quick:   # 16 held-out targets: with 8 the seed-to-seed noise hid the difference
        return dict(iterations=100, batch=3, n_eval=16, eval_every=1000, checkpoint_every=1000)
    return dict(iterations=300, batch=4, n_eval=16, eval_every=1000, checkpoint_every=1000)


def run(quick: bool, out, progress: bool) -> dict:
    from tqdm import tqdm

    from morphax.learners.nma import (
        NMASystem,
        Trainer,
        equilibrium_residual,
        gradient_check,
        heldout_targets,
        preset,
    )

    records, checks = [], []
    tasks = QUICK_TASKS if quick else FULL_TASKS
    modes = {task: (True, False) if preset(task).codesign else (False,) for task in tasks}
    jobs = [(task, seed, cd) for task in tasks for seed in SEEDS for cd in modes[task]]
    bar = tqdm(total=len(jobs), desc="bench nma", disable=not progress,
               file=__import__("sys").stderr)
    systems = {}
    for task, seed, codesign in jobs:
        cfg = preset(task, seed=seed, codesign=codesign, **_sizes(quick))
        if task not in systems:
            t0 = time.perf_counter()
            systems[task] = NMASystem(cfg)
            setup = time.perf_counter() - t0
            sysm = systems[task]
            model = _check_model(sysm, cfg, seed)
            target = jax.tree_util.tree_map(lambda v: v[0], heldout_targets(sysm, 1))
            g = gradient_check(sysm, model, target, key=jax.random.key(1))
            checks.append({"task": task, "kind": "check", "grad_rel_err_net": g["net"],
                           "grad_rel_err_radii": g["radii"],
                           "equilibrium_residual": equilibrium_residual(sysm, model, target),
                           "setup_s": setup, "dofs": sysm.problem.ndof})
        t0 = time.perf_counter()
        trainer = Trainer(cfg, system=systems[task])
        trainer.run()
        st = trainer.state
        times = [h["time"] for h in st.history]
        rec = {"task": task, "kind": "train", "mode": "codesign" if codesign else "frozen",
                        "seed": seed, "iterations": st.iteration,
                        "initial_error": st.evaluations[0]["error"],
                        "heldout_error": st.evaluations[-1]["error"],
                        "heldout_loss": st.evaluations[-1]["loss"],
                        "time_per_iteration_s": float(np.median(times[1:] or times)),
                        "first_iteration_s": times[0], "wall_s": time.perf_counter() - t0,
                        "failed_solves": st.failed_solves, "retried_solves": st.retried_solves,
                        "remeshes": st.remeshes, "shortened_steps": st.shortened_steps,
                        "curve": [h["loss"] for h in st.history]}
        records.append(rec)
        if task == "translation" and seed == SEEDS[0] and codesign:
            records.append(_part_record(trainer, out))
        bar.update(1)
        bar.set_postfix_str(f"{task} seed {seed} {'co-design' if codesign else 'frozen'}: "
                            f"{rec['heldout_error']:.4f} (remeshes {rec['remeshes']})")
    bar.close()
    records.extend(checks)
    return {"records": records, "summary": _summary(records)}


def _check_model(system, cfg, seed):
    """The initial model of a seed, for the gradient check; digits: with random colour logits
    (the initial colour is uniform, and the loss is then flat in the net and the geometry)."""
    model = system.init_model(cfg, key=jax.random.key(seed))
    if model.colour.size:
        model = eqx.tree_at(lambda m: m.colour, model,
                            jax.random.normal(jax.random.key(seed), model.colour.shape))
    return model


def _part_record(trainer, out) -> dict:
    """Export the trained design as an STL (temporary folder) and read its print report and
    the per-pore print check."""
    import tempfile

    from morphax.fabrication import export_part
    from morphax.geometry import PrintRules, print_check

    cfg = trainer.config
    design = trainer.system.design.with_params(
        jax.tree_util.tree_map(np.asarray, trainer.state.model.geometry), check=False)
    with tempfile.TemporaryDirectory() as tmp:
        rep = export_part(f"{tmp}/part.stl", design=design, thickness=cfg.thickness,
                          nozzle_width=cfg.nozzle, report=False)
    pores = print_check(design, PrintRules(cfg.nozzle, cfg.layer))
    return {"task": cfg.task, "kind": "part", "seed": cfg.seed, "nozzle_mm": cfg.nozzle,
            "min_wall_mm": rep.min_ligament, "warnings": rep.warnings,
            "pore_neck_mm": min((p.neck for p in pores), default=float("inf")),
            "pore_bend_mm": min((p.min_bend for p in pores), default=float("inf")),
            "violating_cells": [list(p.cell) for p in pores if p.violations]}


def _mean(records, task, mode, key="heldout_error"):
    vals = [r[key] for r in records if r.get("task") == task and r.get("mode") == mode]
    return float(np.mean(vals)) if vals else float("nan")


def _summary(records):
    checks = [r for r in records if r.get("kind") == "check"]
    s = {"codesign_error": _mean(records, "translation", "codesign"),
         "frozen_error": _mean(records, "translation", "frozen"),
         "rotation_codesign_error": _mean(records, "rotation", "codesign"),
         "rotation_frozen_error": _mean(records, "rotation", "frozen"),
         "initial_error": _mean(records, "translation", "codesign", "initial_error"),
         "rotation_initial_error": _mean(records, "rotation", "codesign", "initial_error"),
         "error_units": "cell sizes (mean distance of the readout points to their targets)",
         "seeds": len(SEEDS),
         "grad_rel_err": max(max(c["grad_rel_err_net"], c["grad_rel_err_radii"]) for c in checks),
         "equilibrium_residual": max(c["equilibrium_residual"] for c in checks),
         "time_per_iteration_s": float(np.median([r["time_per_iteration_s"] for r in records
                                                  if r.get("kind") == "train"])),
         "failed_solves": int(sum(r.get("failed_solves", 0) for r in records))}
    s["codesign_better"] = bool(s["codesign_error"] < s["frozen_error"]
                                and s["rotation_codesign_error"] < s["rotation_frozen_error"])
    s["codesign_over_frozen"] = float(np.mean([
        s["codesign_error"] / s["frozen_error"],
        s["rotation_codesign_error"] / s["rotation_frozen_error"]]))
    train = [r for r in records if r.get("kind") == "train"]
    wins = []
    for r in train:
        if r["mode"] == "codesign":
            twin = [q for q in train if q["mode"] == "frozen" and q["task"] == r["task"]
                    and q["seed"] == r["seed"]]
            wins += [r["heldout_error"] < q["heldout_error"] for q in twin]
    s["codesign_wins_all_seeds"] = bool(wins) and all(wins)
    s["remeshes"] = int(sum(r.get("remeshes", 0) for r in train))
    s["shortened_steps"] = int(sum(r.get("shortened_steps", 0) for r in train))
    parts = [r for r in records if r.get("kind") == "part"]
    if parts:
        s["min_neck_mm"] = float(min(parts[0]["min_wall_mm"] or float("inf"),
                                     parts[0]["pore_neck_mm"]))
        s["nozzle_mm"] = parts[0]["nozzle_mm"]
        s["violating_cells"] = parts[0]["violating_cells"]
    for task in FULL_TASKS[2:]:
        if any(r["task"] == task and r["mode"] == "codesign" for r in train):
            s[f"{task}_codesign_error"] = _mean(records, task, "codesign")
            s[f"{task}_frozen_error"] = _mean(records, task, "frozen")
            s[f"{task}_initial_error"] = _mean(records, task, "codesign", "initial_error")
    if any(r["task"] == "digits" for r in train):
        s["digits_error"] = _mean(records, "digits", "frozen")
        s["digits_initial_error"] = _mean(records, "digits", "frozen", "initial_error")
    if len({r["task"] for r in train}) > len(QUICK_TASKS):
        s["all_tasks_reduce_error"] = all(
            np.mean([r["heldout_error"] for r in train if r["task"] == t])
            < np.mean([r["initial_error"] for r in train if r["task"] == t])
            for t in {r["task"] for r in train})
        both = {r["task"] for r in train if r["mode"] == "codesign"}
        s["codesign_beats_frozen_each_task"] = all(
            _mean(records, t, "codesign") < _mean(records, t, "frozen") for t in both)
    return s


def plot(records, out):
    from morphax._core import new_figure, save_figure

    tasks = [t for t in FULL_TASKS if any(r.get("task") == t and "mode" in r for r in records)]
    fig = new_figure(5 * len(tasks), 3.8)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        for mode, color in (("codesign", "tab:blue"), ("frozen", "tab:orange")):
            rows = [r for r in records if r.get("task") == task and r.get("mode") == mode]
            for k, r in enumerate(rows):
                c = np.asarray(r["curve"])
                w = max(len(c) // 15, 1)
                sm = np.convolve(c, np.ones(w) / w, mode="valid")
                ax.plot(np.arange(sm.size) + w - 1, sm, color=color, alpha=0.8,
                        label=f"{mode} (held-out {np.mean([q['heldout_error'] for q in rows]):.3f})"
                        if k == 0 else None)
        ax.set(title=f"NMA {task}: training loss", xlabel="iteration", ylabel="loss (smoothed)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, out / "nma.png", dpi=120)
