"""`morphax design`: co-design a cellular solid and its neural controller (a neuromechanical
autoencoder, Oktay et al. ICLR 2023) and write the trained design, metrics, meshes, pictures
and a printable part.

    morphax design                              # translation on a 3 x 3 lattice (minutes)
    morphax design --task rotation --out rot    # or double-rotation, shape, digits
    morphax design --scale paper --task rotation    # Varmint's lattice, network, 10k iterations
    morphax design --config run.toml            # any NMAConfig field ([design] table or top level)
    morphax design --resume DIR                 # continue an interrupted run
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from morphax.learners.nma import TASKS

    parser.add_argument("--task", choices=TASKS, default=None,
                        help="the task (default translation)")
    parser.add_argument("--quick", action="store_true",
                        help="a short run (60 iterations): a smoke test of the whole job")
    parser.add_argument("--scale", choices=("small", "paper"), default="small",
                        help="small: CPU-minutes lattice and network (default); paper: "
                             "Varmint's lattice, network and 10k iterations (hours on a GPU "
                             "cluster in the paper)")
    parser.add_argument("--config", default=None, metavar="FILE.toml|.json",
                        help="NMAConfig fields that override the preset")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default design-out/<task>)")
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="continue the interrupted run in DIR from its latest checkpoint")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--frozen", action="store_true",
                        help="train only the controller on the initial geometry (ablation)")
    parser.add_argument("--no-part", action="store_true", help="do not export part.stl")


def _config(args):
    from morphax._core import InputError
    from morphax.learners.nma import NMAConfig, preset

    if args.resume:
        meta = pathlib.Path(args.resume) / "checkpoint" / "latest.json"
        if not meta.exists():
            raise InputError(f"no checkpoint at {str(meta)!r}; --resume needs the --out folder "
                             "of an interrupted `morphax design` run")
        cfg = NMAConfig.from_dict(json.loads(meta.read_text())["config"])
        if args.iterations is not None:
            cfg = cfg.replace(iterations=args.iterations)
        return cfg
    changes = {}
    if args.config:
        changes.update(NMAConfig.load(args.config).to_dict())
    task = args.task or changes.pop("task", None) or "translation"
    changes.pop("task", None)
    for name in ("iterations", "batch", "seed", "lr"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.frozen:
        changes["codesign"] = False
    if args.config:   # the file is complete: start from its values, not the preset's
        return NMAConfig(task=task, **{k: v for k, v in changes.items()})
    return preset(task, scale=args.scale, quick=args.quick, **changes)


def run(args) -> int:
    from morphax._core import atomic_write_text
    from morphax.learners.nma import Trainer, write_outputs

    cfg = _config(args)
    out = pathlib.Path(args.resume or args.out or pathlib.Path("design-out") / cfg.task)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    trainer = Trainer(cfg, out=out)
    if args.resume:
        trainer.load_checkpoint()
    else:
        atomic_write_text(out / "config.json", cfg.to_json() + "\n")
    if not args.quiet:
        sys_ = trainer.system
        print(f"morphax design: {cfg.task} on a {cfg.rows} x {cfg.cols} lattice "
              f"({sys_.problem.ndof} dofs), {'co-design' if cfg.codesign else 'frozen geometry'}"
              f", {cfg.iterations} iterations of batch {cfg.batch}"
              + (f", resuming at iteration {trainer.state.iteration}" if args.resume else ""))
    trainer.run(progress=not args.quiet)
    m = write_outputs(trainer, out, part=not args.no_part)
    if not args.quiet:
        ev = trainer.state.evaluations
        print(f"held-out {m['error_units']}: {ev[0]['error']:.4f} -> {m['heldout_error']:.4f}; "
              f"{m['failed_solves']} failed solves; {m['time_per_iteration_s']:.3f} s per "
              f"iteration; {time.perf_counter() - t0:.1f} s in all")
        print(f"wrote {out}/: design.json model.eqx config.json metrics.json reference.vtu "
              f"deformed_*.vtu actuated.png loss.png{'' if args.no_part else ' part.stl'}")
    return 0
