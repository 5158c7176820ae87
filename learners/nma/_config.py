"""`NMAConfig`: every setting of a neuromechanical-autoencoder run, a frozen dataclass that
round-trips to JSON/TOML, with presets per task (small CPU defaults and the paper's scale).

Lengths are in mm; the cell size is 5 mm as in Varmint (Oktay et al., ICLR 2023), and target
ranges and maximum displacements are given in units of the cell size so that they keep their
meaning on smaller lattices.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

from morphax._core import InputError

TASKS = ("translation", "rotation", "double-rotation", "shape", "digits")


@dataclasses.dataclass(frozen=True)
class NMAConfig:
    """Settings of an NMA run (see `preset` for the defaults of each task).

    task: translation | rotation | double-rotation | shape | digits.
    rows, cols: lattice size in cells; cell_size (mm); porosity of the initial circular pores.
    mesh_divisions: elements per cell side (mesh size = cell_size / mesh_divisions).
    hidden: widths of the controller MLP's hidden layers (ReLU); the last layer has no bias.
    max_disp: actuation bound in cell sizes (tanh(x) * max_disp * cell_size mm).
    batch, iterations, lr (Adam), geometry_lr: multiplier of lr for the pore radii.
    codesign: train the pore radii too (False: the frozen-geometry ablation).
    young, nu: material (kappa by the 3-D bulk formula, Varmint's convention).
    load_steps: initial load increments of each solve (retries use 4x more).
    r_min, r_max, min_ligament (mm): manufacturing bounds, kept after every step (Varmint
    clips radii to [0.1, 0.9]; the small presets stop at 0.8, where the coarse morphed mesh
    between pore and cell side is still well shaped).
    n_eval: held-out targets; eval_every: evaluation period (iterations).
    checkpoint_every: checkpoint period (iterations). seed: everything random derives from it.
    digits: the MNIST classes used by the digits task. thickness: extrusion of part.stl (mm).
    """

    task: str = "translation"
    rows: int = 3
    cols: int = 3
    cell_size: float = 5.0
    porosity: float = 0.2
    mesh_divisions: int = 4
    hidden: tuple[int, ...] = (30, 30, 30)
    max_disp: float = 0.4
    batch: int = 4
    iterations: int = 200
    lr: float = 2e-3
    geometry_lr: float = 1.0
    codesign: bool = True
    young: float = 1.0
    nu: float = 0.3
    load_steps: int = 2
    r_min: float = 0.1
    r_max: float = 0.8
    min_ligament: float = 0.5
    n_eval: int = 16
    eval_every: int = 25
    checkpoint_every: int = 25
    seed: int = 0
    digits: tuple[int, ...] = (0, 1, 7)
    thickness: float = 5.0

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "digits", tuple(int(d) for d in self.digits))
        if self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        for name in ("rows", "cols", "mesh_divisions", "batch", "n_eval", "eval_every",
                     "checkpoint_every", "load_steps"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.iterations < 0:
            raise InputError(f"iterations must be >= 0, got {self.iterations}")
        if not (self.max_disp > 0 and self.lr > 0 and self.cell_size > 0 and self.young > 0):
            raise InputError("max_disp, lr, cell_size and young must be positive")
        if not -1.0 < self.nu < 0.5:
            raise InputError(f"nu must lie in (-1, 0.5), got {self.nu}")
        if self.task in ("translation", "rotation", "double-rotation") and (
                self.rows < 3 or self.cols < 3 or self.rows % 2 == 0 or self.cols % 2 == 0):
            raise InputError(f"the {self.task} task needs an odd lattice of at least 3 x 3 cells "
                             f"(a solid centre cell), got {self.rows} x {self.cols}")
        if self.task == "digits" and (not self.digits or
                                      any(not 0 <= d <= 9 for d in self.digits)):
            raise InputError(f"digits must be MNIST classes 0..9, got {self.digits}")

    @property
    def mesh_size(self) -> float:
        return self.cell_size / self.mesh_divisions

    def replace(self, **changes) -> NMAConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"], d["digits"] = list(self.hidden), list(self.digits)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> NMAConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown NMA config keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def load(cls, path) -> NMAConfig:
        """From a .json or .toml file (a [design] table or top-level keys)."""
        path = pathlib.Path(path)
        if not path.exists():
            raise InputError(f"config file {str(path)!r} does not exist")
        if path.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(path.read_text())
            data = data.get("design", data)
        else:
            data = json.loads(path.read_text())
        return cls.from_dict(data)


# Task presets. "small": the CPU defaults (minutes on 2 cores); "paper": Varmint's scale
# (projects/nma_v1 configs), without its 16-rank effective batch: lr = config lr x 16.
_SMALL = {
    "translation": dict(rows=3, cols=3, hidden=(30, 30, 30), max_disp=0.4, lr=5e-3,
                        geometry_lr=10.0, iterations=300, batch=4),
    "rotation": dict(rows=3, cols=3, hidden=(30, 30, 30), max_disp=0.4, lr=5e-3,
                     geometry_lr=10.0, iterations=200, batch=4),
    "double-rotation": dict(rows=3, cols=3, hidden=(30, 30, 30), max_disp=0.3, lr=2e-3,
                            geometry_lr=3.0, iterations=200, batch=4),
    "shape": dict(rows=3, cols=3, hidden=(64, 64), max_disp=0.3, lr=2e-3, geometry_lr=3.0,
                  iterations=150, batch=4),
    "digits": dict(rows=4, cols=3, hidden=(64, 32), max_disp=0.3, lr=2e-3, geometry_lr=1.0,
                   iterations=150, batch=4, codesign=False, r_min=0.3, r_max=0.7),
}
_PAPER = {
    "translation": dict(rows=5, cols=5, hidden=(30, 30, 30), max_disp=0.8, lr=1.6e-3,
                        iterations=10000, batch=16, mesh_divisions=6, r_max=0.9),
    "rotation": dict(rows=7, cols=7, hidden=(30, 30, 30), max_disp=0.8, lr=1.6e-2,
                     geometry_lr=10.0, iterations=10000, batch=16, mesh_divisions=6,
                     r_max=0.9),
    "double-rotation": dict(rows=7, cols=7, hidden=(30, 30, 30), max_disp=0.6, lr=1.6e-2,
                            geometry_lr=3.0, iterations=10000, batch=16, mesh_divisions=6,
                            r_max=0.9),
    "shape": dict(rows=7, cols=7, hidden=(200, 200), max_disp=0.6, lr=1.6e-3, geometry_lr=5.0,
                  iterations=10000, batch=16, mesh_divisions=6, r_max=0.9),
    "digits": dict(rows=6, cols=4, hidden=(300, 100, 100), max_disp=0.5, lr=1.6e-3,
                   iterations=10000, batch=16, codesign=False, r_min=0.3, r_max=0.7,
                   digits=tuple(range(10)), mesh_divisions=6),
}


def preset(task: str = "translation", *, scale: str = "small", quick: bool = False,
           **changes) -> NMAConfig:
    """The configuration of a task. scale "small" (CPU minutes) or "paper" (Varmint's lattice,
    network and 10k iterations); quick=True shortens a small run further (tests, --quick)."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    if scale not in ("small", "paper"):
        raise InputError(f"scale must be 'small' or 'paper', got {scale!r}")
    base = dict((_SMALL if scale == "small" else _PAPER)[task])
    if quick:
        base.update(iterations=min(base["iterations"], 60), n_eval=8, eval_every=20,
                    checkpoint_every=20)
    base.update(changes)
    return NMAConfig(task=task, **base)
