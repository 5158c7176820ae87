"""`morphax bench nma`: co-design against frozen geometry (the NMA paper's ablation) on
translation and single rotation, same seeds, iterations and network; held-out target errors
(cell sizes), time per iteration, and adjoint-vs-finite-difference gradient checks."""

from __future__ import annotations

import logging
import time

import jax
import numpy as np

log = logging.getLogger("morphax.bench")

SEEDS = (0, 1, 2)


def _sizes(quick):
    if quick:
        return dict(iterations=60, batch=3, n_eval=8, eval_every=1000, checkpoint_every=1000)
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
    jobs = [(task, seed, cd) for task in ("translation", "rotation") for seed in SEEDS
            for cd in (True, False)]
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
            model = sysm.init_model(cfg, key=jax.random.key(seed))
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
        records.append({"task": task, "kind": "train", "mode": "codesign" if codesign else "frozen",
                        "seed": seed, "iterations": st.iteration,
                        "initial_error": st.evaluations[0]["error"],
                        "heldout_error": st.evaluations[-1]["error"],
                        "heldout_loss": st.evaluations[-1]["loss"],
                        "time_per_iteration_s": float(np.median(times[1:] or times)),
                        "first_iteration_s": times[0], "wall_s": time.perf_counter() - t0,
                        "failed_solves": st.failed_solves, "retried_solves": st.retried_solves,
                        "curve": [h["loss"] for h in st.history]})
        bar.update(1)
        bar.set_postfix_str(f"{task} seed {seed} {'co-design' if codesign else 'frozen'}: "
                            f"{records[-1]['heldout_error']:.4f}")
    bar.close()
    records.extend(checks)
    return {"records": records, "summary": _summary(records)}


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
    return s


def plot(records, out):
    from morphax._core import new_figure, save_figure

    fig = new_figure(10, 3.8)
    axes = fig.subplots(1, 2)
    for ax, task in zip(axes, ("translation", "rotation"), strict=True):
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
