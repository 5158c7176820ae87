"""Shipped Meta-PDE initializations (package data in learners/meta_pde/shipped/) and the
function that regenerates them (`python benchmarks/meta_pde_pretrain.py`)."""

from __future__ import annotations

import dataclasses
import importlib.resources
import pathlib
import time

import jax
import numpy as np

from morphax._core import InputError

from ._meta import MetaInit, new_init
from ._pdes import FAMILIES
from ._train import MetaTrainConfig, load_init, meta_train, save_init

SETTINGS = {
    ("poisson", "maml"): dict(width=64, depth=3, inner_steps=5, inner_lr=1e-4, rates="exp",
                              cfg=MetaTrainConfig(steps=3000, task_batch=4, outer_lr=3e-4,
                                                  lr_lr=0.02, first_order=True)),
    ("poisson", "leap"): dict(width=64, depth=3, inner_steps=20, inner_lr=1e-3,
                              cfg=MetaTrainConfig(steps=500, task_batch=4, outer_lr=1e-3)),
    ("burgers", "maml"): dict(width=64, depth=3, inner_steps=5, inner_lr=1e-4, rates="exp",
                              cfg=MetaTrainConfig(steps=1000, task_batch=4, outer_lr=3e-4,
                                                  lr_lr=0.02, first_order=True)),
    ("hyperelastic", "maml"): dict(width=64, depth=3, inner_steps=5, inner_lr=1e-5,
                                   rates="exp",
                                   cfg=MetaTrainConfig(steps=600, task_batch=4, outer_lr=3e-4,
                                                       lr_lr=0.02, first_order=True)),
    ("hyperelastic", "leap"): dict(width=64, depth=3, inner_steps=20, inner_lr=1e-3,
                                   cfg=MetaTrainConfig(steps=300, task_batch=4, outer_lr=1e-3)),
}
"""CPU-scale settings per (family, method): network, inner loop and outer loop. The paper's
(Qin et al. 2022, Table 2) run 7k-180k outer steps on a GPU; these run minutes on 2 cores,
in float32, with first-order MAML and exponential learned rates (see `MetaInit`)."""


def pretrained_dir() -> pathlib.Path:
    """The folder of the shipped initializations (package data, not a module)."""
    return pathlib.Path(str(importlib.resources.files("morphax.learners.meta_pde") / "shipped"))


def available_pretrained() -> list[str]:
    """Names ("poisson_maml", ...) of the shipped initializations."""
    return sorted(p.stem for p in pretrained_dir().glob("*.npz"))


def pretrained(name: str, *, dtype=None) -> MetaInit:
    """Load a shipped initialization, e.g. pretrained("poisson_maml"), with parameters in
    `dtype` (default: JAX's default float)."""
    path = pretrained_dir() / f"{name}.npz"
    if not path.exists():
        raise InputError(f"no shipped initialization {name!r}; available: "
                                f"{available_pretrained()}; make one with "
                                "`python benchmarks/meta_pde_pretrain.py`")
    return load_init(path, dtype=dtype)


def pretrain(family: str, method: str, *, out: pathlib.Path,
             steps: int | None = None, rates: str | None = None, seed: int = 0,
             progress: bool = False, devices=None) -> pathlib.Path:
    """Meta-train `family` with `method` at the shipped settings (steps and, for MAML, the
    learned-rate parametrization `rates` overridable) and write out/<family>_<method>.npz (a
    checkpoint beside it makes the run resumable). The file's extra data holds the mean outer
    loss over the first and the last 100 steps. devices: shard each task batch over that many
    devices (`meta_train`); under `jax.distributed` process 0 writes the files."""
    if (family, method) not in SETTINGS:
        raise InputError(f"no pretraining settings for {(family, method)}; have "
                         f"{sorted(SETTINGS)}")
    s = dict(SETTINGS[(family, method)])
    cfg = s.pop("cfg")
    command = f"python benchmarks/meta_pde_pretrain.py --family {family} --method {method}"
    if steps is not None:
        cfg = dataclasses.replace(cfg, steps=steps)
        command += f" --steps {steps}"
    if rates is not None:
        if method != "maml":
            raise InputError(f"rates apply to MAML's learned rates, not to {method!r}")
        s["rates"] = rates
        command += f" --rates {rates}"
    fam = FAMILIES[family]()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    init = new_init(fam, method, key=jax.random.key(seed), **s)
    t = time.perf_counter()
    trained, history = meta_train(fam, init, cfg, key=jax.random.key(seed + 1),
                                  checkpoint=out / f".{family}_{method}.ckpt.npz",
                                  progress=progress and jax.process_index() == 0,
                                  devices=devices)
    losses = [v for _, v in history]
    extra = {"steps": cfg.steps, "task_batch": cfg.task_batch, "outer_lr": cfg.outer_lr,
             "first_order": cfg.first_order, "seconds_this_run": time.perf_counter() - t,
             "loss_first_100": float(np.mean(losses[:100])),
             "loss_last_100": float(np.mean(losses[-100:])),
             "family_config": fam.config(), "command": command}
    if jax.process_index() > 0:
        return out / f"{family}_{method}.npz"
    return save_init(out / f"{family}_{method}.npz", trained, extra=extra)
