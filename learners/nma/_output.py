"""What a finished NMA run leaves in its folder, and loading it back.

design.json (the trained geometry, a CellularSolid), model.eqx (controller + geometry +
colour field), config.json, metrics.json, reference.vtu, deformed_<k>.vtu, actuated.png and
loss.png. The printable part.stl is not made here (learners do not depend on fabrication):
`morphax design` exports it from design.json with `morphax.fabrication.export_part`.
"""

from __future__ import annotations

import io
import json
import logging
import pathlib
import warnings

import equinox as eqx
import jax
import numpy as np

from morphax._core import DataError, InputError, atomic_path, atomic_write_text, new_figure, save_figure
from morphax.geometry import CellularSolid, DesignError
from morphax.physics import write_vtu

from ._config import NMAConfig
from ._system import NMASystem
from ._train import Trainer, heldout_targets

log = logging.getLogger("morphax.learners.nma")


def trained_design(system: NMASystem, model) -> CellularSolid:
    """The trained geometry as a CellularSolid (checked against its manufacturing bounds)."""
    params = jax.tree_util.tree_map(np.asarray, model.geometry)
    try:
        return system.design.with_params(params)
    except DesignError as err:
        log.warning("the trained design violates a bound (%s); saved unchecked", err)
        return system.design.with_params(params, check=False)


def save_model(path, model) -> None:
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, model)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def load_run(folder, *, system: NMASystem | None = None):
    """(config, system, model) of a finished run folder (config.json + model.eqx)."""
    folder = pathlib.Path(folder)
    if not (folder / "config.json").exists() or not (folder / "model.eqx").exists():
        raise InputError(f"{str(folder)!r} is not a finished morphax design run (no "
                         "config.json / model.eqx)")
    config = NMAConfig.load(folder / "config.json")
    system = system or NMASystem(config)
    skeleton = system.init_model(config, key=jax.random.key(0))   # values are overwritten
    try:
        model = eqx.tree_deserialise_leaves(io.BytesIO((folder / "model.eqx").read_bytes()),
                                            skeleton)
    except Exception as err:   # equinox/numpy raise several kinds for a damaged file
        raise DataError(f"{str(folder / 'model.eqx')!r} is damaged ({type(err).__name__}) or was "
                        "written for another config.json; run `morphax design` again") from None
    return config, system, model


def metrics(trainer: Trainer) -> dict:
    st, cfg = trainer.state, trainer.config
    times = [h["time"] for h in st.history]
    last = st.evaluations[-1] if st.evaluations else {}
    return {"task": cfg.task, "codesign": cfg.codesign, "iterations": st.iteration,
            "heldout_error": last.get("error"), "heldout_loss": last.get("loss"),
            "heldout_failed": last.get("failed"),
            "error_units": {"translation": "cell sizes", "rotation": "cell sizes",
                            "double-rotation": "cell sizes", "shape": "normalised shape distance",
                            "digits": "segment error rate"}[cfg.task],
            "failed_solves": st.failed_solves, "retried_solves": st.retried_solves,
            "shortened_geometry_steps": st.shortened_steps,
            "time_per_iteration_s": float(np.median(times)) if times else None,
            "train_time_s": st.train_time,
            "curve": [{"iteration": h["iteration"], "loss": h["loss"], "error": h["error"],
                       "failed": h["failed"]} for h in st.history],
            "evaluations": st.evaluations, "dofs": trainer.system.problem.ndof,
            "nodes": trainer.system.mesh.n_nodes}


def write_outputs(trainer: Trainer, out, *, n_pictures: int = 4, part: bool | None = None) -> dict:
    """Write the run's results into `out` (see the module docstring); returns the metrics.
    n_pictures: held-out targets drawn in actuated.png (and written as deformed_<k>.vtu).
    part: deprecated and ignored (part.stl is exported by `morphax design`, or by
    `morphax.fabrication.export_part` from design.json)."""
    if part is not None:
        warnings.warn("write_outputs(part=...) is deprecated and ignored: write_outputs no "
                      "longer exports part.stl; call morphax.fabrication.export_part(out / "
                      "'part.stl', design=CellularSolid.load(out / 'design.json'), thickness=...)"
                      " as `morphax design` does. The argument will be removed in the next "
                      "release", DeprecationWarning, stacklevel=2)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    system, model, cfg = trainer.system, trainer.state.model, trainer.config
    atomic_write_text(out / "config.json", cfg.to_json() + "\n")
    save_model(out / "model.eqx", model)
    design = trained_design(system, model)
    design.save(out / "design.json")
    mesh = system.mesh.with_points(np.asarray(system.mm.points(model.geometry)))
    write_vtu(out / "reference.vtu", mesh)
    targets = heldout_targets(system, max(n_pictures, 1))
    shown = []
    for k in range(n_pictures):
        t = jax.tree_util.tree_map(lambda v, k=k: v[k], targets)
        for level in (0, 1):
            a, u, ok = system.deformed(model, t, level=level)
            if ok:
                break
        if not ok:
            continue
        point_data = {"u": u}
        if system.task.uses_colour:
            point_data["colour"] = np.asarray(jax.nn.sigmoid(model.colour))
        write_vtu(out / f"deformed_{k}.vtu", mesh, point_data=point_data)
        shown.append((t, a, u))
    _plot_actuated(out / "actuated.png", system, model, mesh, shown)
    _plot_loss(out / "loss.png", trainer)
    m = metrics(trainer)
    atomic_write_text(out / "metrics.json", json.dumps(m, indent=1, default=float) + "\n")
    return m


def _plot_actuated(path, system, model, mesh, shown):
    n = max(len(shown), 1)
    fig = new_figure(3.6 * n, 4.3)
    axes = fig.subplots(1, n, squeeze=False)
    pts = np.asarray(mesh.points)
    tri = np.asarray(mesh.cells)[:, :3]
    task = system.task
    s = system.config.cell_size
    for ax, (t, a, u) in zip(axes[0], shown, strict=False):
        x = pts + u
        ax.triplot(pts[:, 0], pts[:, 1], tri, color="0.85", lw=0.4)
        if task.uses_colour:
            ax.tripcolor(x[:, 0], x[:, 1], tri, np.asarray(jax.nn.sigmoid(model.colour)),
                         cmap="Greys", shading="gouraud", vmin=0, vmax=1)
            seg = task.readout["segments"]
            goal = np.asarray(t["goal"])
            for k in range(7):
                ax.plot(seg[k, :, 0], seg[k, :, 1], "-", lw=3,
                        color="tab:green" if goal[k] > 0.5 else "tab:red", alpha=0.7)
            title = "digit " + "".join("abcdefg"[k] for k in range(7) if goal[k] > 0.5)
        else:
            ax.triplot(x[:, 0], x[:, 1], tri, color="tab:blue", lw=0.5)
            title = system.config.task
        if "point" in task.readout:
            g = np.asarray(t["goal"])
            ax.plot(*x[task.readout["point"][0]], "o", color="tab:orange", ms=5)
            ax.plot(*g, "x", color="tab:red", ms=8, mew=2)
            title = f"target ({g[0]:.2f}, {g[1]:.2f})"
        elif "points" in task.readout:
            th = float(np.asarray(t["goal"])[0])
            nodes = task.readout["points"]
            c0 = np.asarray(system.design.cell_center(system.design.rows // 2,
                                                      system.design.cols // 2))
            rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
            ref = np.asarray(system.mm.mesh.points)[nodes]
            goal = c0 + (ref - c0) @ rot.T
            ax.plot(x[nodes, 0], x[nodes, 1], "o-", color="tab:orange")
            ax.plot(goal[:, 0], goal[:, 1], "x--", color="tab:red", mew=2)
            title = f"target {np.degrees(th):.1f} deg"
        elif "curve" in task.readout:
            nodes = task.readout["curve"]
            cur = x[nodes]
            g = np.asarray(t["goal"])
            c = cur.mean(axis=0)
            r = np.mean(np.linalg.norm(cur - c, axis=1))
            gg = c + r * np.vstack([g, g[:1]])
            ax.plot(gg[:, 0], gg[:, 1], "--", color="tab:red", lw=1.5)
            ax.plot(np.append(cur[:, 0], cur[0, 0]), np.append(cur[:, 1], cur[0, 1]), "-",
                    color="tab:orange", lw=1.5)
            title = "target pore shape (dashed)"
        ax.set_title(f"{title}\na = {np.round(np.asarray(a), 2).tolist()} mm", fontsize=8)
        ax.set_aspect("equal")
        ax.set_xlim(-0.5 * s, pts[:, 0].max() + 0.5 * s)
        ax.set_ylim(-0.5 * s, pts[:, 1].max() + 0.5 * s)
        ax.set_xticks([])
        ax.set_yticks([])
    save_figure(fig, path)


def _plot_loss(path, trainer):
    st = trainer.state
    fig = new_figure(5.5, 3.6)
    ax = fig.subplots()
    it = [h["iteration"] for h in st.history]
    loss = [h["loss"] for h in st.history]
    ax.plot(it, loss, color="0.6", lw=0.8, label="training loss (batch)")
    if len(loss) >= 10:
        w = max(len(loss) // 20, 2)
        ax.plot(it[w - 1:], np.convolve(loss, np.ones(w) / w, mode="valid"), color="k",
                label=f"training loss ({w}-iteration mean)")
    ev = st.evaluations
    ax.plot([e["iteration"] for e in ev], [e["loss"] for e in ev], "o-", color="tab:red",
            label="held-out loss")
    ax.set(xlabel="iteration", ylabel="loss",
           title=f"{trainer.config.task} ({'co-design' if trainer.config.codesign else 'frozen geometry'})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
