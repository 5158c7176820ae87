"""`morphax design`: co-design a cellular solid and its neural controller (a neuromechanical
autoencoder, Oktay et al. ICLR 2023) and write the trained design, metrics, meshes, pictures
and a printable part.

    morphax design                              # translation on a 3 x 3 lattice (minutes)
    morphax design --task rotation --out rot    # or double-rotation, shape, digits
    morphax design --scale paper --task rotation    # Varmint's lattice, network, 10k iterations
    morphax design --config run.toml            # any NMAConfig field ([design] table or top level)
    morphax design --resume DIR                 # continue an interrupted run
    morphax design --init lattice.json          # start from a `morphax lattice` design
    morphax design --baseline                   # also train the frozen geometry (same seed)
    morphax design --evaluate DIR               # re-score a finished run on new targets
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

#: every file a finished run writes into its folder (deformed_<k>.vtu aside)
OUTPUTS = ("design.json", "mesh_design.json", "model.eqx", "config.json", "metrics.json",
           "reference.vtu", "actuated.png", "loss.png", "design.png", "sweep.gif", "report.md",
           "part.stl", "checkpoint/latest.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from morphax.cli import number
    from morphax.learners.nma import TASKS

    parser.add_argument("--task", choices=TASKS, default=None,
                        help="the task (default translation)")
    parser.add_argument("--quick", action="store_true",
                        help="a short run (60 iterations): a smoke test of the whole job")
    parser.add_argument("--scale", choices=("small", "paper"), default=None,
                        help="small: CPU-minutes lattice and network (default); paper: "
                             "Varmint's lattice, network and 10k iterations (hours on a GPU "
                             "cluster in the paper)")
    parser.add_argument("--config", default=None, metavar="FILE.toml|.json",
                        help="NMAConfig fields that override the preset")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default design-out/<task>)")
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="continue the interrupted run in DIR from its latest checkpoint "
                             "(with its own config; only --iterations may change it)")
    parser.add_argument("--iterations", type=number(0, integer=True), default=None)
    parser.add_argument("--batch", type=number(1, integer=True), default=None)
    parser.add_argument("--seed", type=number(0, integer=True), default=None)
    parser.add_argument("--lr", type=number(0, strict=True), default=None)
    parser.add_argument("--frozen", action="store_true", default=None,
                        help="train only the controller on the initial geometry (ablation)")
    parser.add_argument("--no-part", action="store_true", help="do not export part.stl")
    parser.add_argument("--init", default=None, metavar="DESIGN.json",
                        help="start from this design (from `morphax lattice`) instead of the "
                             "task's default lattice; rows, cols and cell size follow it")
    parser.add_argument("--baseline", action="store_true",
                        help="also train the frozen-geometry baseline (same seed, iterations "
                             "and network): both curves in loss.png, the ratio in metrics.json")
    parser.add_argument("--evaluate", default=None, metavar="RUN_DIR",
                        help="re-score the finished run in RUN_DIR on new held-out targets "
                             "(writes RUN_DIR/evaluation.json) instead of training")
    parser.add_argument("--devices", type=number(1, integer=True), default=None,
                        help="shard each batch over this many local devices (data-parallel; "
                             "batch must be a multiple)")
    parser.add_argument("--targets", type=number(1, integer=True), default=64,
                        help="held-out targets for --evaluate (default 64)")
    parser.add_argument("--eval-seed", type=number(0, integer=True), default=1,
                        help="seed of the new held-out targets for --evaluate (default 1)")


def _config(args):
    from morphax._core import InputError
    from morphax.learners.nma import NMAConfig, preset

    if args.resume:
        return _resumed_config(args)
    changes = {}
    if args.config:
        changes.update(NMAConfig.load(args.config).to_dict())
    if args.init:
        d = _init_design(args)
        changes.update(rows=d.rows, cols=d.cols, cell_size=d.cell_size)
    task = args.task or changes.pop("task", None) or "translation"
    changes.pop("task", None)
    changes.update(_flag_values(args))
    if args.frozen:
        changes["codesign"] = False
    try:
        if args.config:   # the file is complete: start from its values, not the preset's
            return NMAConfig(task=task, **changes)
        return preset(task, scale=args.scale or "small", quick=args.quick, **changes)
    except InputError as err:
        where = f" (from {args.config!r} and the flags)" if args.config else ""
        raise InputError(f"{err}{where}") from None


def _init_design(args):
    """The design of --init (DataError / InputError name the file)."""
    from morphax.geometry import CellularSolid

    if not hasattr(args, "_init_design"):
        args._init_design = CellularSolid.load(args.init, check=False)
    return args._init_design


def _flag_values(args) -> dict:
    """The config fields given by --iterations, --batch, --seed and --lr, each checked against
    its range (InputError named by the flag)."""
    from morphax._core import InputError
    from morphax.learners.nma import NMAConfig

    values = {}
    for name in ("iterations", "batch", "seed", "lr"):
        if getattr(args, name) is not None:
            try:
                NMAConfig().replace(**{name: getattr(args, name)})
            except InputError as err:
                raise InputError(f"--{name}: {err}") from None
            values[name] = getattr(args, name)
    return values


def _resumed_config(args):
    """The config of the run in --resume DIR (with --iterations if given); InputError when a
    flag asks for a different config than the run's own."""
    from morphax._core import InputError
    from morphax.learners.nma import NMAConfig, latest_checkpoint

    folder = pathlib.Path(args.resume)
    meta = latest_checkpoint(folder / "checkpoint") if folder.is_dir() else None
    if meta is None:
        raise InputError(f"no checkpoint in {str(folder / 'checkpoint')!r}; --resume needs the "
                         "--out folder of an interrupted `morphax design` run")
    cfg = NMAConfig.from_dict(meta["config"])
    if args.out is not None and pathlib.Path(args.out).resolve() != folder.resolve():
        raise InputError(f"--out {args.out!r} differs from --resume {args.resume!r}; a resumed run"
                         " writes into its own folder: drop --out")
    asked = {"task": args.task, "lr": args.lr, "batch": args.batch, "seed": args.seed,
             "codesign": None if args.frozen is None else False}
    for name, value in asked.items():
        if value is not None and value != getattr(cfg, name):
            flag = "--frozen" if name == "codesign" else f"--{name} {value}"
            raise InputError(f"{flag} differs from the run's {name} = {getattr(cfg, name)!r} "
                             f"in {args.resume!r}; a resumed run keeps its config: drop {flag.split()[0]}"
                             ", or start a new run with --out")
    for name in ("config", "scale", "quick", "init"):
        if getattr(args, name):
            raise InputError(f"--{name} sets up a new run and cannot be used with --resume "
                             f"(the run in {args.resume!r} keeps its config); drop --{name}")
    return cfg.replace(**{k: v for k, v in _flag_values(args).items() if k == "iterations"})


def _export_part(out: pathlib.Path, cfg, metrics: dict) -> dict:
    """Extrude the written design.json to part.stl (cfg.thickness mm) with its print report
    (part.report.json / .png, nozzle cfg.nozzle), record the part in metrics.json and return
    the print report."""
    from morphax._core import atomic_write_text
    from morphax.fabrication import export_part
    from morphax.geometry import CellularSolid, PrintRules

    design = CellularSolid.load(out / "design.json", check=False)   # checked when it was written
    rep = export_part(out / "part.stl", design=design, thickness=cfg.thickness,
                      nozzle_width=cfg.nozzle, report=True)
    walls = [metrics.get("min_pore_neck_mm"), rep.min_ligament]
    neck = min((w for w in walls if w is not None), default=None)
    metrics["part"] = {"file": "part.stl", "thickness_mm": cfg.thickness,
                       "volume_mm3": float(rep.volume), "section_area_mm2": float(rep.area),
                       "material_area_mm2": design.material_area(),
                       "min_neck_mm": neck, "nozzle_mm": cfg.nozzle,
                       "prints": neck is None or neck >= cfg.nozzle,
                       "violating_cells": [v["cell"] for v in metrics.get("print_violations", [])],
                       "warnings": rep.warnings
                       + [n for n in [PrintRules(cfg.nozzle, cfg.layer).thickness_note(
                           cfg.thickness)] if n]}
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=1, default=float) + "\n")
    return rep.to_dict()


def _evaluate(args) -> int:
    """`morphax design --evaluate RUN_DIR`: re-score a finished run on new targets."""
    from morphax._core import InputError, atomic_write_text
    from morphax.learners.nma import evaluate_run

    for name in ("resume", "init", "config", "baseline", "task", "scale"):
        if getattr(args, name):
            raise InputError(f"--evaluate re-scores a finished run and cannot be combined with "
                             f"--{name}; drop --{name}")
    folder = pathlib.Path(args.evaluate)
    res = evaluate_run(folder, n=args.targets, seed=args.eval_seed)
    atomic_write_text(folder / "evaluation.json", json.dumps(res, indent=1, default=float) + "\n")
    if not args.quiet:
        trained = res["trained_heldout_error"]
        print(f"{res['task']}: held-out error on {res['n_targets']} new targets (seed "
              f"{res['seed']}): {res['heldout_error']:.4f}"
              + (f" (at training: {trained:.4f})" if trained is not None else "")
              + f"; {res['failed']} failed solves; wrote {folder}/evaluation.json")
    return 0


def _remove_new_files(out: pathlib.Path, created: bool) -> None:
    """Undo a new run that failed before its first checkpoint: its config.json, and the
    folder if this run made it and it is empty."""
    if not (out / "checkpoint").exists():
        (out / "config.json").unlink(missing_ok=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()


def run(args) -> int:
    from morphax._core import MorphaxError, atomic_write_text, check_writable
    from morphax.learners.nma import Trainer, write_outputs, write_report

    if args.evaluate:
        return _evaluate(args)
    cfg = _config(args)
    out = pathlib.Path(args.resume or args.out or pathlib.Path("design-out") / cfg.task)
    check_writable(*(out / name for name in OUTPUTS))
    t0 = time.perf_counter()
    design = _init_design(args) if args.init else None
    if args.devices:   # set-up: mesh, task, compiled solves
        from morphax.learners.nma import ParallelTrainer
        trainer = ParallelTrainer(cfg, devices=args.devices, out=out,
                                  **({"design": design} if design is not None else {}))
    else:
        trainer = Trainer(cfg, out=out, **({"design": design} if design is not None else {}))
    if args.resume:
        trainer.load_checkpoint()
    created = not out.exists()
    if not args.resume:
        atomic_write_text(out / "config.json", cfg.to_json() + "\n")
    if not args.quiet:
        sys_ = trainer.system
        print(f"morphax design: {cfg.task} on a {cfg.rows} x {cfg.cols} lattice "
              f"({sys_.problem.ndof} dofs), {'co-design' if cfg.codesign else 'frozen geometry'}"
              f", {cfg.iterations} iterations of batch {cfg.batch}"
              + (f", resuming at iteration {trainer.state.iteration}" if args.resume else ""))
    try:
        trainer.run(progress=not args.quiet)
    except MorphaxError:
        if not args.resume:
            _remove_new_files(out, created)
        raise
    baseline = None
    if args.baseline and cfg.codesign:
        baseline = Trainer(cfg.replace(codesign=False), system=trainer.initial_system)
        baseline.run(progress=not args.quiet)
    m = write_outputs(trainer, out, baseline=baseline, frames=6 if args.quick else 24)
    part = None if args.no_part else _export_part(out, cfg, m)
    write_report(out, m, part_report=part)
    if not args.quiet:
        ev = trainer.state.evaluations
        print(f"held-out {m['error_units']}: {ev[0]['error']:.4f} -> {m['heldout_error']:.4f}; "
              f"{m['failed_solves']} failed solves; {m['time_per_iteration_s']:.3f} s per "
              f"iteration; {time.perf_counter() - t0:.1f} s in all")
        if baseline is not None:
            print(f"frozen geometry: held-out {m['frozen_heldout_error']:.4f}; co-design / "
                  f"frozen = {m['codesign_over_frozen']:.3f}")
        if cfg.codesign:
            print(f"{m['remeshes']} re-meshes, {m['shortened_geometry_steps']} shortened "
                  "geometry steps")
        if not args.no_part:
            p = m["part"]
            print(f"part.stl: thinnest wall or neck {p['min_neck_mm']:.3f} mm (nozzle "
                  f"{p['nozzle_mm']} mm); " + ("prints" if p["prints"] else "DOES NOT PRINT")
                  + (f"; pores breaking a print rule in cells {p['violating_cells']}"
                     if p["violating_cells"] else ""))
        print(f"wrote {out}/: design.json model.eqx config.json metrics.json report.md "
              f"reference.vtu deformed_*.vtu actuated.png sweep.gif design.png loss.png"
              f"{'' if args.no_part else ' part.stl'}")
    return 0
