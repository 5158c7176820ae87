"""`morphax bench gnn`: GNNs under asynchronous ("hogwild") inference (Solodova, Richardson,
Oktay, Adams, ICLR 2025) and a learned asynchronous Poisson solver on morphax meshes.

What it runs (sizes: full / --quick):

* Tasks: chains (IGNN generator; 20 / 10 chains of 8 / 6 nodes), relative-to-absolute
  coordinates on random geometric graphs with 3 anchors (10 / 6 graphs of 20 / 15 nodes),
  and (full only) counting and sums on random trees and counting on the networkx atlas.
* Models, trained synchronously with Adam (lr 1e-2; 400 / 150 steps, energy GNN 400 / 100):
  explicit GCN (L = chain length, 4 on coordinates) and the implicit IGNN
  (||W||_inf <= 0.95) and energy GNN; full adds GAT and GSD-GNN.
* Asynchronous inference on the test graphs: 10 schedules (random subsets, p = 0.5,
  staleness B = 2) per model and task, run as one compiled, vmapped program with at most
  20000 ticks each (runs that do not reach tol are counted in `async_unconverged_runs`):
  mean and std of the metric and the largest deviation of async from sync outputs; for IGNN
  and the energy GNN on coordinates also B = 0, 5 (and in the full run the "single" and
  "clocks" modes). Energy models take block-Jacobi preconditioned steps (see
  `morphax.learners.gnn.Schedule`).
* Mesh solver: an energy GNN whose energy contains the P1 FEM energy of -div grad u = f
  (stiffness, Dirichlet penalty and the lumped load f(x_i) A_i) as a convex term, plus learned
  PICNN terms (gain 1e-4 at start) that can correct towards the consistent load (6 / 3
  training meshes, 150 / 30 Adam steps); run asynchronously (B = 2) on 4 / 3 held-out jittered
  meshes of other sizes, padded to one size (one compile); relative L2 error against
  `morphax.physics.solve`, node updates, and the untrained model's error for comparison.
"""

from __future__ import annotations

import pathlib
import sys
import time

_T0 = [time.perf_counter()]


def _log(progress, msg):
    if progress:
        print(f"[bench gnn {time.perf_counter() - _T0[0]:7.1f} s, cpu {time.process_time():7.1f} s] {msg}",
              file=sys.stderr, flush=True)


def _tasks(quick):
    import jax

    from morphax._core import InputError
    from morphax.learners import gnn

    k = jax.random.split(jax.random.key(0), 5)
    if quick:
        return [gnn.chains(10, 6, key=k[0]), gnn.coordinates(6, 15, radius=0.45, key=k[1])]
    tasks = [gnn.chains(20, 8, key=k[0]), gnn.coordinates(10, 20, key=k[1]),
             gnn.counting(20, key=k[2]), gnn.sums(20, key=k[3])]
    try:
        tasks.append(gnn.atlas_counting(key=k[4]))
    except InputError:
        pass
    return tasks


def _models(task, quick):
    import jax

    from morphax.learners import gnn

    k = jax.random.split(jax.random.key(1), 5)
    a, o = task.in_dim, task.out_dim
    layers = int(task.train.n_nodes / len(set(task.train.graph_id.tolist()))) if task.name == "chains" else 4
    models = {"gcn": gnn.GCN(a, o, num_layers=layers, key=k[0]),
              "ignn": gnn.IGNN(a, o, key=k[1]),
              "energy": gnn.EnergyGNN(a, o, task.edge_dim, key=k[2])}
    if not quick:
        models["gat"] = gnn.GAT(a, o, num_layers=layers, key=k[3])
        models["gsd"] = gnn.GSDGNN(a, o, key=k[4])
    return models


def _task_records(quick, progress):
    import jax

    from morphax.learners import gnn

    records = []
    steps = 150 if quick else 400
    energy_steps = 100 if quick else 400
    for task in _tasks(quick):
        for name, model in _models(task, quick).items():
            t0 = time.perf_counter()
            n_steps = energy_steps if name == "energy" else steps
            res = gnn.train(model, task, steps=n_steps, lr=1e-2)
            t_train = time.perf_counter() - t0
            stalenesses = (0, 2, 5) if task.name == "coordinates" and name in ("ignn", "energy") \
                else (2,)
            modes = ("subset", "single", "clocks") if not quick and task.name == "coordinates" \
                and name == "energy" else ("subset",)
            for mode in modes:
                for b in stalenesses if mode == "subset" else (2,):
                    sched = gnn.Schedule(mode=mode, staleness=b, max_ticks=20000)
                    ev = gnn.evaluate_async(res.model, task, sched, runs=10, key=jax.random.key(7))
                    records.append({"kind": "task", "task": task.name, "model": name,
                                    "metric": "accuracy" if task.kind == "classification" else "rmse",
                                    "mode": mode, "staleness": b, "train_steps": n_steps,
                                    "train_s": t_train, "final_loss": res.losses[-1],
                                    "losses": res.losses[:: max(1, n_steps // 50)], **ev})
            _log(progress, f"{task.name} / {name}: sync {ev['sync']:.3f}, async "
                 f"{ev['async_mean']:.3f} +- {ev['async_std']:.3f}, max dev {ev['max_dev']:.2e}")
    return records


def _mesh_records(quick, progress):
    import jax
    import numpy as np

    from morphax.learners import gnn

    n_train, n_test, steps = (3, 3, 30) if quick else (6, 4, 150)
    t0 = time.perf_counter()
    train = gnn.poisson_cases(n_train, key=jax.random.key(10), sizes=(5, 6), with_load=False)
    test = gnn.poisson_cases(n_test, key=jax.random.key(11), sizes=(7, 8), with_load=False)
    t_fea = time.perf_counter() - t0
    _log(progress, f"mesh cases + FEA references: {t_fea:.1f} s")
    model = gnn.EnergyGNN(8, 1, 3, hidden=2, mu=1e-3, fem=True, gain=1e-4, key=jax.random.key(12))
    # pad the held-out meshes to one size: one compiled solver and simulator for all of them
    n_pad, e_pad = max(c.graph.n_nodes for c in test) + 1, max(c.graph.n_edges for c in test)
    padded = [gnn.pad_graph(c.graph, n_pad, e_pad) for c in test]
    untrained = [gnn.relative_error(model(g)[:c.graph.n_nodes, 0], c.reference)
                 for c, g in zip(test, padded, strict=True)]
    t0 = time.perf_counter()
    model, losses = gnn.train_mesh_solver(model, train, steps=steps, lr=1e-2)
    t_train = time.perf_counter() - t0
    records = []
    for i, (c, graph) in enumerate(zip(test, padded, strict=True)):
        n = c.graph.n_nodes
        sync = gnn.relative_error(model(graph)[:n, 0], c.reference)
        sched = gnn.Schedule(staleness=2, max_ticks=100000, tol=1e-9)
        out, res = gnn.async_outputs(model, graph, sched, key=jax.random.key(20 + i))
        out = out[:n]
        records.append({"kind": "mesh", "case": i, "nodes": n,
                        "rel_err_async": gnn.relative_error(out[:, 0], c.reference),
                        "rel_err_sync": sync, "rel_err_untrained": untrained[i],
                        "updates": int(res.updates), "updates_per_node": int(res.updates) / n,
                        "ticks": int(res.ticks), "train_steps": steps, "train_s": t_train,
                        "losses": losses, "points": np.asarray(c.problem.mesh.points).tolist(),
                        "cells": np.asarray(c.problem.mesh.cells).tolist(),
                        "u_fea": c.reference.tolist(), "u_async": np.asarray(out[:, 0]).tolist()})
        _log(progress, f"mesh case {i}: async rel err {records[-1]['rel_err_async']:.4f} "
             f"({records[-1]['updates_per_node']:.0f} updates per node)")
    return records


def run(quick: bool, out: pathlib.Path, progress: bool) -> dict:
    import numpy as np

    t0 = _T0[0] = time.perf_counter()
    c0 = time.process_time()
    records = _task_records(quick, progress) + _mesh_records(quick, progress)
    tasks = [r for r in records if r["kind"] == "task"]
    mesh = [r for r in records if r["kind"] == "mesh"]

    def pick(task, model, b=2, mode="subset"):
        return next(r for r in tasks if r["task"] == task and r["model"] == model
                    and r["staleness"] == b and r["mode"] == mode)

    def degradation(r):
        if r["metric"] == "accuracy":
            return (r["sync"] - r["async_mean"]) / r["sync"]
        return (r["async_mean"] - r["sync"]) / r["sync"]

    summary = {
        "energy_async_sync_max_dev": max(r["max_dev"] for r in tasks if r["model"] == "energy"),
        "ignn_async_sync_max_dev": max(r["max_dev"] for r in tasks if r["model"] == "ignn"),
        "gcn_async_degradation": degradation(pick("chains", "gcn")),
        "gcn_async_degradation_coordinates": degradation(pick("coordinates", "gcn")),
        "energy_vs_ignn_coordinates": pick("coordinates", "energy")["sync"]
        / pick("coordinates", "ignn")["sync"],
        "mesh_solver_rel_err": float(np.mean([r["rel_err_async"] for r in mesh])),
        "mesh_solver_rel_err_max": float(np.max([r["rel_err_async"] for r in mesh])),
        "mesh_solver_rel_err_sync": float(np.mean([r["rel_err_sync"] for r in mesh])),
        "mesh_solver_rel_err_untrained": float(np.mean([r["rel_err_untrained"] for r in mesh])),
        "mesh_updates_per_node": float(np.mean([r["updates_per_node"] for r in mesh])),
    }
    for r in tasks:
        if r["staleness"] == 2 and r["mode"] == "subset":
            summary[f"{r['task']}_{r['model']}_sync"] = r["sync"]
            summary[f"{r['task']}_{r['model']}_async"] = r["async_mean"]
    summary["async_unconverged_runs"] = sum(r["runs"] - r["converged"] for r in tasks
                                            if r["model"] in ("ignn", "energy", "gsd"))
    summary["bench_seconds"] = time.perf_counter() - t0
    summary["bench_cpu_seconds"] = time.process_time() - c0
    return {"records": records, "summary": summary}


def table(records) -> str:
    rows = ["| task | model | metric | B | sync | async (mean +- std, 10 runs) | max async-sync dev |",
            "|---|---|---|---|---|---|---|"]
    for r in records:
        if r["kind"] == "task":
            rows.append(f"| {r['task']} | {r['model']} | {r['metric']} | {r['staleness']} ({r['mode']}) "
                        f"| {r['sync']:.4f} | {r['async_mean']:.4f} +- {r['async_std']:.4f} "
                        f"| {r['max_dev']:.2e} |")
    for r in records:
        if r["kind"] == "mesh":
            rows.append(f"| mesh case {r['case']} ({r['nodes']} nodes) | energy+FEM | rel. L2 vs FEA | 2 "
                        f"| {r['rel_err_sync']:.4f} | {r['rel_err_async']:.4f} "
                        f"({r['updates_per_node']:.0f} updates/node) | - |")
    return "\n".join(rows)


def plot(records, out: pathlib.Path) -> pathlib.Path:
    import numpy as np

    from morphax._core import new_figure, save_figure

    fig = new_figure(15, 9)
    axes = fig.subplots(2, 3)
    main = [r for r in records if r["kind"] == "task" and r["staleness"] == 2 and r["mode"] == "subset"]
    for ax, task in zip(axes[0, :2], ("chains", "coordinates"), strict=True):
        rows = [r for r in main if r["task"] == task]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [r["sync"] for r in rows], 0.4, label="synchronous")
        ax.bar(x + 0.2, [r["async_mean"] for r in rows], 0.4, yerr=[r["async_std"] for r in rows],
               label="asynchronous (B = 2, 10 runs)")
        ax.set_xticks(x, [r["model"] for r in rows])
        ax.set(title=f"{task} (test)", ylabel=rows[0]["metric"] if rows else "")
        ax.legend(fontsize=8)
    ax = axes[0, 2]
    for model in ("ignn", "energy"):
        rows = sorted((r for r in records if r["kind"] == "task" and r["task"] == "coordinates"
                       and r["model"] == model and r["mode"] == "subset"), key=lambda r: r["staleness"])
        ax.semilogy([r["staleness"] for r in rows], [max(r["max_dev"], 1e-16) for r in rows], "o-",
                    label=model)
    ax.axhline(1e-5, color="k", ls="--", lw=0.8, label="1e-5")
    ax.set(title="coordinates: max |async - sync| output", xlabel="staleness bound B")
    ax.legend(fontsize=8)
    mesh = [r for r in records if r["kind"] == "mesh"]
    if mesh:
        r = mesh[0]
        p, c = np.asarray(r["points"]), np.asarray(r["cells"])
        for ax, key, title in ((axes[1, 0], "u_fea", "FEA (morphax.physics.solve)"),
                               (axes[1, 1], "u_async", "energy GNN, asynchronous")):
            im = ax.tripcolor(p[:, 0], p[:, 1], c, np.asarray(r[key]), shading="gouraud")
            ax.set(title=f"held-out mesh: {title}", aspect="equal")
            fig.colorbar(im, ax=ax)
        axes[1, 1].set_xlabel(f"rel. L2 error {r['rel_err_async']:.3f}, "
                              f"{r['updates_per_node']:.0f} updates/node")
        ax = axes[1, 2]
        ax.semilogy(r["losses"])
        ax.set(title="mesh solver training loss", xlabel="Adam step", ylabel="mean rel. sq. error")
    return save_figure(fig, pathlib.Path(out) / "gnn.png")
