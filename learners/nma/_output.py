"""What a finished NMA run leaves in its folder, and loading it back.

design.json (the trained geometry, a CellularSolid), mesh_design.json (the design the
current mesh was made from, after re-meshing), model.eqx (controller + geometry + colour
field), config.json, metrics.json (with the per-pore print check), reference.vtu,
deformed_<k>.vtu, actuated.png, design.png (initial and trained pores), sweep.gif (the part
sweeping through its actuation range with the target markers) and loss.png (with the frozen
baseline's curve when one was trained). The printable part.stl is not made here (learners do
not depend on fabrication): `morphax design` exports it from design.json with
`morphax.fabrication.export_part` and then writes report.md (`write_report`).
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
from morphax.geometry import CellularSolid, DesignError, PrintRules, print_check
from morphax.physics import write_vtu

from ._config import NMAConfig
from ._system import NMASystem
from ._train import EVAL_SEED, Trainer, evaluate, heldout_targets

log = logging.getLogger("morphax.learners.nma")

MAX_ACTUATIONS_SHOWN = 6
"""Picture titles list the actuations (mm) up to this many, else their count and range."""


def actuation_label(a) -> str:
    """A picture title's line for the actuations a (n_act,) in mm."""
    a = np.asarray(a, dtype=float)
    if a.size <= MAX_ACTUATIONS_SHOWN:
        return f"a = {np.round(a, 2).tolist()} mm"
    return f"{a.size} actuations in [{a.min():.2f}, {a.max():.2f}] mm"


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
    if system is None:
        mesh_file = folder / "mesh_design.json"
        design = CellularSolid.load(mesh_file, check=False) if mesh_file.exists() else None
        system = NMASystem(config, design=design)
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
            "shortened_geometry_steps": st.shortened_steps, "remeshes": st.remeshes,
            "smoothed_pores": st.smoothed_pores,
            "time_per_iteration_s": float(np.median(times)) if times else None,
            "train_time_s": st.train_time,
            "curve": [{"iteration": h["iteration"], "loss": h["loss"], "error": h["error"],
                       "failed": h["failed"]} for h in st.history],
            "evaluations": st.evaluations, "dofs": trainer.system.problem.ndof,
            "nodes": trainer.system.mesh.n_nodes}


def write_outputs(trainer: Trainer, out, *, n_pictures: int = 4, part: bool | None = None,
                  baseline: Trainer | None = None, frames: int = 24) -> dict:
    """Write the run's results into `out` (see the module docstring); returns the metrics.
    n_pictures: held-out targets drawn in actuated.png (and written as deformed_<k>.vtu).
    baseline: a frozen-geometry Trainer of the same config and seed (its curve goes into
    loss.png, its held-out error into the metrics). frames: of sweep.gif (0: none).
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
    system.design.save(out / "mesh_design.json")
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
    _plot_loss(out / "loss.png", trainer, baseline)
    _plot_design(out / "design.png", trainer, design)
    if frames:
        write_sweep(out / "sweep.gif", system, model, frames)
    m = metrics(trainer)
    checks = print_check(design, PrintRules(cfg.nozzle, cfg.layer))
    m["print_check"] = [c.to_dict() for c in checks]
    m["print_violations"] = [{"cell": list(c.cell), "pore": c.pore, "what": list(c.violations)}
                             for c in checks if c.violations]
    m["min_pore_neck_mm"] = min((c.neck for c in checks), default=None)
    m["min_pore_bend_mm"] = min((c.min_bend for c in checks), default=None)
    m["min_pore_wall_mm"] = min((c.wall for c in checks), default=None)
    if baseline is not None:
        bev = baseline.state.evaluations[-1]
        m["frozen_heldout_error"] = bev["error"]
        m["codesign_over_frozen"] = m["heldout_error"] / bev["error"]
    atomic_write_text(out / "metrics.json", json.dumps(m, indent=1, default=float) + "\n")
    return m


def sweep_targets(system: NMASystem, n: int):
    """n targets that sweep the task's range: a loop around the translation square, the angle
    range out and back (rotation tasks), held-out targets otherwise."""
    task, cfg = system.task.name, system.config
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    if task == "translation":
        from ._tasks import TRANSLATION_RANGE
        ang = 2 * np.pi * t
        off = 0.8 * TRANSLATION_RANGE * np.stack([np.cos(ang), np.sin(ang)], 1)
        c = system.design.cell_center(cfg.rows // 2, cfg.cols // 2)
        return {"input": jax.numpy.asarray(off), "goal": jax.numpy.asarray(c + cfg.cell_size * off)}
    if task in ("rotation", "double-rotation"):
        from ._tasks import DOUBLE_ROTATION_RANGE, ROTATION_RANGE
        lo, hi = ROTATION_RANGE if task == "rotation" else DOUBLE_ROTATION_RANGE
        th = lo + (hi - lo) * (1.0 - np.abs(2.0 * t - 1.0))
        return {"input": jax.numpy.asarray(th[:, None]), "goal": jax.numpy.asarray(th[:, None])}
    return heldout_targets(system, n)


def write_sweep(path, system: NMASystem, model, frames: int = 24, fps: int = 6) -> int:
    """An animated GIF of the deformed part for `frames` targets sweeping the task's range
    (`sweep_targets`), each frame with its target markers (headless: Agg + Pillow). Returns
    the number of frames drawn (solves that failed are skipped)."""
    from PIL import Image

    targets = sweep_targets(system, frames)
    mesh = system.mesh.with_points(np.asarray(system.mm.points(model.geometry)))
    images = []
    for k in range(frames):
        t = jax.tree_util.tree_map(lambda v, k=k: v[k], targets)
        a, u, ok = system.deformed(model, t)
        if not ok:
            continue
        fig = new_figure(4.0, 4.2)
        ax = fig.subplots()
        _draw_target(ax, system, model, mesh, t, a, u, legend=True)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        buf.seek(0)
        images.append(Image.open(buf).convert("RGB").convert("P", palette=Image.ADAPTIVE))
    if images:
        with atomic_path(path) as tmp:
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                           duration=int(1000 / fps), loop=0)
    return len(images)


def _plot_design(path, trainer: Trainer, design: CellularSolid) -> None:
    """The initial lattice (dashed) and the trained design (filled pores, warped cell grid)."""
    from matplotlib.patches import Polygon

    system = trainer.system
    initial = system.design.with_params(jax.tree_util.tree_map(
        np.asarray, trainer.initial_geometry), check=False)
    fig = new_figure(4.6, 4.6)
    ax = fig.subplots()
    s = design.cell_size
    for i in range(design.rows + 1):   # the warped lattice lines
        for line in (np.stack([np.linspace(0, design.cols * s, 40), np.full(40, i * s)], 1),):
            w = design.warp(line)
            ax.plot(w[:, 0], w[:, 1], color="0.75", lw=0.6)
    for j in range(design.cols + 1):
        w = design.warp(np.stack([np.full(40, j * s), np.linspace(0, design.rows * s, 40)], 1))
        ax.plot(w[:, 0], w[:, 1], color="0.75", lw=0.6)
    for i, j in design.solid_cells:
        quad = design.warp(np.array([[j, i], [j + 1, i], [j + 1, i + 1], [j, i + 1]]) * s)
        ax.add_patch(Polygon(quad, closed=True, color="0.55", alpha=0.6, lw=0))
    for k, (name, *_) in enumerate(design.pores()):
        ax.add_patch(Polygon(design.pore_polygon(name, 256), closed=True, color="tab:blue",
                             alpha=0.35, lw=1, label="trained pores" if k == 0 else None))
        p0 = initial.pore_polygon(name, 256)
        ax.plot(np.append(p0[:, 0], p0[0, 0]), np.append(p0[:, 1], p0[0, 1]), "--",
                color="k", lw=0.8, label="initial lattice" if k == 0 else None)
    ax.set_aspect("equal")
    ax.set_xlim(-0.2 * s, (design.cols + 0.2) * s)
    ax.set_ylim(-0.2 * s, (design.rows + 0.2) * s)
    ax.set_title(f"{trainer.config.task}: design ({'co-design' if trainer.config.codesign else 'frozen'})",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    save_figure(fig, path)


def _plot_actuated(path, system, model, mesh, shown):
    n = max(len(shown), 1)
    fig = new_figure(3.6 * n, 4.5)
    axes = fig.subplots(1, n, squeeze=False)
    for k, (ax, (t, a, u)) in enumerate(zip(axes[0], shown, strict=False)):
        _draw_target(ax, system, model, mesh, t, a, u, legend=k == 0)
    save_figure(fig, path)


def _draw_target(ax, system, model, mesh, t, a, u, *, legend: bool) -> None:
    """The reference mesh (grey), the deformed one (blue), the target (red crosses / dashes)
    and the point(s) reached (orange) for one target."""
    pts = np.asarray(mesh.points)
    tri = np.asarray(mesh.cells)[:, :3]
    task = system.task
    s = system.config.cell_size
    x = pts + u
    ax.triplot(pts[:, 0], pts[:, 1], tri, color="0.85", lw=0.4)
    if task.uses_colour:
        ax.tripcolor(x[:, 0], x[:, 1], tri, np.asarray(jax.nn.sigmoid(model.colour)),
                     cmap="Greys", shading="gouraud", vmin=0, vmax=1)
        seg = task.readout["segments"]
        goal = np.asarray(t["goal"])
        labelled = set()
        for k in range(7):
            name = "segment on" if goal[k] > 0.5 else "segment off"
            ax.plot(seg[k, :, 0], seg[k, :, 1], "-", lw=3,
                    color="tab:green" if goal[k] > 0.5 else "tab:red", alpha=0.7,
                    label=None if name in labelled else name)
            labelled.add(name)
        title = "digit " + "".join("abcdefg"[k] for k in range(7) if goal[k] > 0.5)
    else:
        ax.triplot(x[:, 0], x[:, 1], tri, color="tab:blue", lw=0.5)
        title = system.config.task
    if "point" in task.readout:
        g = np.asarray(t["goal"])
        ax.plot(*x[task.readout["point"][0]], "o", color="tab:orange", ms=5, label="reached")
        ax.plot(*g, "x", color="tab:red", ms=8, mew=2, label="target")
        title = f"target ({g[0]:.2f}, {g[1]:.2f})"
    elif "points" in task.readout:
        th = float(np.asarray(t["goal"])[0])
        nodes = task.readout["points"]
        c0 = np.asarray(system.design.cell_center(system.design.rows // 2,
                                                  system.design.cols // 2))
        rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        ref = np.asarray(system.mm.mesh.points)[nodes]
        goal = c0 + (ref - c0) @ rot.T
        ax.plot(x[nodes, 0], x[nodes, 1], "o-", color="tab:orange", label="reached")
        ax.plot(goal[:, 0], goal[:, 1], "x--", color="tab:red", mew=2, label="target")
        title = f"target {np.degrees(th):.1f} deg"
    elif "curve" in task.readout:
        nodes = task.readout["curve"]
        cur = x[nodes]
        g = np.asarray(t["goal"])
        c = cur.mean(axis=0)
        r = np.mean(np.linalg.norm(cur - c, axis=1))
        gg = c + r * np.vstack([g, g[:1]])
        ax.plot(gg[:, 0], gg[:, 1], "--", color="tab:red", lw=1.5, label="target")
        ax.plot(np.append(cur[:, 0], cur[0, 0]), np.append(cur[:, 1], cur[0, 1]), "-",
                color="tab:orange", lw=1.5, label="reached")
        title = "target pore shape"
    ax.set_title(f"{title}\n{actuation_label(a)}", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlim(-0.5 * s, pts[:, 0].max() + 0.5 * s)
    ax.set_ylim(-0.5 * s, pts[:, 1].max() + 0.5 * s)
    ax.set_xticks([])
    ax.set_yticks([])
    if legend:
        ax.legend(fontsize=7, loc="lower right")


def _plot_loss(path, trainer, baseline=None):
    fig = new_figure(5.5, 3.6)
    ax = fig.subplots()
    runs = [(trainer, "k", "tab:red")]
    if baseline is not None:
        runs.append((baseline, "tab:orange", "tab:purple"))
    for tr, colour, ev_colour in runs:
        st = tr.state
        name = "co-design" if tr.config.codesign else "frozen"
        it = [h["iteration"] for h in st.history]
        loss = [h["loss"] for h in st.history]
        if len(runs) == 1:
            ax.plot(it, loss, color="0.6", lw=0.8, label="training loss (batch)")
        if len(loss) >= 10:
            w = max(len(loss) // 20, 2)
            ax.plot(it[w - 1:], np.convolve(loss, np.ones(w) / w, mode="valid"), color=colour,
                    label=f"{name}: training loss ({w}-iteration mean)")
        ev = st.evaluations
        ax.plot([e["iteration"] for e in ev], [e["loss"] for e in ev], "o-", color=ev_colour,
                ms=3, label=f"{name}: held-out loss")
    cfg = trainer.config
    ax.set(xlabel="iteration", ylabel="loss",
           title=f"{cfg.task} ({'co-design' if cfg.codesign else 'frozen geometry'}"
                 f"{' vs frozen' if baseline is not None else ''})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def evaluate_run(folder, *, n: int = 64, seed: int = 1) -> dict:
    """Re-score a finished run (its config.json, mesh_design.json and model.eqx) on n new
    held-out targets drawn with `seed` (never the training or the default held-out draw; the
    digits task uses its fixed test split). Returns {"heldout_error", "heldout_loss",
    "failed", "n_targets", "seed", "trained_heldout_error"}."""
    folder = pathlib.Path(folder)
    config, system, model = load_run(folder)
    if system.task.heldout is not None:
        targets = system.task.heldout(n)
    else:
        targets = system.task.sample(n, key=jax.random.fold_in(jax.random.key(EVAL_SEED),
                                                                  1000 + seed))
    ev = evaluate(system, model, targets)
    trained = None
    if (folder / "metrics.json").exists():
        try:
            trained = json.loads((folder / "metrics.json").read_text()).get("heldout_error")
        except (json.JSONDecodeError, UnicodeDecodeError):
            trained = None
    return {"task": config.task, "heldout_error": ev["error"], "heldout_loss": ev["loss"],
            "failed": ev["failed"], "n_targets": n, "seed": seed,
            "trained_heldout_error": trained}


def write_report(out, m: dict, *, part_report: dict | None = None) -> None:
    """A one-page report.md in `out`: the design, the metrics, the print report (per pore and
    of the exported part) and the pictures of the run."""
    out = pathlib.Path(out)
    units = m.get("error_units", "")
    ev = m.get("evaluations") or [{}]
    rows = [("task", m["task"]), ("mode", "co-design" if m["codesign"] else "frozen geometry"),
            ("iterations", m["iterations"]),
            (f"held-out error ({units})", f"{ev[0].get('error', float('nan')):.4f} -> "
                                          f"{m['heldout_error']:.4f}"),
            ("re-meshes", m.get("remeshes", 0)),
            ("shortened geometry steps", m.get("shortened_geometry_steps", 0)),
            ("failed solves", m.get("failed_solves", 0)),
            ("time per iteration (s)", f"{m.get('time_per_iteration_s') or 0:.3f}")]
    if "frozen_heldout_error" in m:
        rows.append(("frozen-geometry held-out error", f"{m['frozen_heldout_error']:.4f}"))
        rows.append(("co-design / frozen", f"{m['codesign_over_frozen']:.3f}"))
    lines = [f"# morphax design: {m['task']}", "",
             "| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], "",
             "## Design", "", "![design](design.png)", "",
             "Initial lattice dashed, trained pores filled, warped cell grid in grey.", "",
             "## The part in action", "", "![sweep](sweep.gif)", "", "![actuated](actuated.png)",
             "", "## Training", "", "![loss](loss.png)", "", "## Print report", ""]
    if part_report is not None:
        lines += [f"- part: `{part_report.get('part')}`, thinnest wall or neck "
                  f"{part_report.get('min_ligament_mm') or float('nan'):.3f} mm, nozzle "
                  f"{part_report.get('nozzle_width_mm')} mm, mass "
                  f"{part_report.get('mass_g', float('nan')):.2f} g"]
        lines += [f"- warning: {w}" for w in part_report.get("warnings", [])]
        lines.append("")
    lines += ["| pore | cell | neck (mm) | min bend radius (mm) | wall (mm) | violations |",
              "|---|---|---|---|---|---|"]
    for c in m.get("print_check", []):
        neck = "-" if c["neck_mm"] is None else f"{c['neck_mm']:.3f}"
        lines.append(f"| {c['pore']} | {tuple(c['cell'])} | {neck} | "
                     f"{c['min_bend_radius_mm']:.3f} | {c['wall_mm']:.3f} | "
                     f"{'; '.join(c['violations']) or 'ok'} |")
    bad = m.get("print_violations", [])
    lines += ["", f"{len(bad)} pores break a print rule" + (
        ": cells " + ", ".join(str(tuple(b["cell"])) for b in bad) if bad else "."), ""]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
