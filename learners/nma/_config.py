"""`NMAConfig`: every setting of a neuromechanical-autoencoder run, a frozen dataclass that
round-trips to JSON/TOML, with presets per task (small CPU defaults and the paper's scale).

Lengths are in mm; the cell size is 5 mm as in Varmint (Oktay et al., ICLR 2023), and target
ranges and maximum displacements are given in units of the cell size so that they keep their
meaning on smaller lattices.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import pathlib
import tomllib

from morphax._core import DataError, InputError

TASKS = ("translation", "rotation", "double-rotation", "shape", "digits")
"""The NMA tasks (`NMAConfig.task`) that `preset` knows."""
#: tasks whose lattice has a solid centre cell (so it must be odd, at least 3 x 3)
SOLID_CENTRE_TASKS = ("translation", "rotation", "double-rotation")


@dataclasses.dataclass(frozen=True)
class NMAConfig:
    """Settings of an NMA run (see `preset` for the defaults of each task).

    task: translation | rotation | double-rotation | shape | digits.
    rows, cols: lattice size in cells; cell_size (mm); porosity of the initial circular pores.
    mesh_divisions: elements per cell side (mesh size = cell_size / mesh_divisions).
    hidden: widths of the controller MLP's hidden layers (ReLU); the last layer has no bias.
    max_disp: actuation bound in cell sizes (tanh(x) * max_disp * cell_size mm).
    batch, iterations, lr (Adam), geometry_lr: multiplier of lr for the pore radii.
    lr_final: every learning rate follows a cosine from its value down to lr_final x it over
    the run (1.0: constant, Varmint's choice and the paper presets'; the small presets use
    0.1, translation 0.5; see the closing notes of issue 13).
    geometry_warmup: iterations during which only the controller learns (the geometry's
    learning rates are 0, then follow their cosine over the remaining iterations).
    codesign: train the geometry too (False: the frozen-geometry ablation).
    offsets: co-design the lattice-node offsets as well (Varmint's mesh perturbation: interior
    nodes move freely, outer-side nodes slide along their side, outer corners and, for the
    rotation tasks, the corners of the solid centre cell stay fixed); offset_lr: their
    learning-rate multiplier (of lr; offsets are in mm); offset_bound: |offset| per component
    in cell sizes (Varmint: 0.45).
    init_noise: symmetry breaking at initialisation, the same for co-design and frozen runs of
    one seed: radii += init_noise * N(0, 1) and free offsets += init_noise * s * N(0, 1),
    drawn from the seed (0: the exact lattice).
    nozzle, layer (mm): printer settings of the per-pore rules (`morphax.geometry.PrintRules`:
    necks >= nozzle, bend radii >= nozzle / 2, walls >= max(min_ligament, nozzle));
    print_weight (1/mm^2): weight of their penalty in the co-design loss.
    young, nu: material (kappa by the 3-D bulk formula, Varmint's convention).
    load_steps: initial load increments of each solve (retries use 4x more).
    r_min, r_max, min_ligament (mm): manufacturing bounds, kept after every step (Varmint
    clips radii to [0.1, 0.9]; the small presets stop at 0.8, where the coarse morphed mesh
    between pore and cell side is still well shaped).
    n_eval: held-out targets; eval_every: evaluation period (iterations).
    checkpoint_every: checkpoint period (iterations). seed: everything random derives from it.
    digits: the MNIST classes used by the digits task. thickness: extrusion of part.stl (mm).
    centre_pore: shape task: the centre pore spans a centre_pore x centre_pore block of cells
    (Varmint: 3, with 48 radii starting at LARGE_PORE_RADIUS); side_actuators: shape task:
    actuators per outer side, each pushing a contiguous run of its interior cell sides
    (Varmint: 3, so 12 in all).
    strip_width (mm): digits task: 0 gives a plain lattice; > 0 gives Varmint's seven-segment
    frame on a 9 x 6 grid: solid strips strip_width wide (grid rows 1, 4, 7 and columns 1, 4)
    between porous cells of side (3 cell_size - strip_width) / 2, the digit's segments drawn
    on the strips' centre lines (Varmint: 3 mm strips, 6 mm cells).
    Every field is checked on construction (type, finiteness, the range in `_SCHEMA`);
    InputError names the field.
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
    lr_final: float = 1.0
    geometry_warmup: int = 0
    codesign: bool = True
    offsets: bool = True
    offset_lr: float = 1.0
    offset_bound: float = 0.3
    init_noise: float = 0.02
    nozzle: float = 0.4
    layer: float = 0.2
    print_weight: float = 10.0
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
    centre_pore: int = 1
    side_actuators: int = 1
    strip_width: float = 0.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check_field(f.name, getattr(self, f.name)))
        if self.task in SOLID_CENTRE_TASKS and (
                self.rows < 3 or self.cols < 3 or self.rows % 2 == 0 or self.cols % 2 == 0):
            raise InputError(f"the {self.task} task needs an odd lattice of at least 3 x 3 cells "
                             f"(a solid centre cell), got rows x cols = {self.rows} x {self.cols}")
        if self.task == "shape" and self.centre_pore > 1 and (
                self.centre_pore > min(self.rows, self.cols) - 2
                or (self.rows - self.centre_pore) % 2 or (self.cols - self.centre_pore) % 2):
            raise InputError(f"the shape task's centre pore ({self.centre_pore} x "
                             f"{self.centre_pore} cells) must sit in the middle of the "
                             f"{self.rows} x {self.cols} lattice with a ring of cells around it")
        sides = max(min(self.rows, self.cols) - 2, 1)
        if self.task == "shape" and self.side_actuators > sides:
            raise InputError(f"side_actuators ({self.side_actuators}) cannot exceed the {sides} "
                             "interior cell sides of the shortest side")
        if self.strip_width > 0 and (self.task != "digits" or (self.rows, self.cols) != (9, 6)
                                     or self.strip_width >= 3 * self.cell_size):
            raise InputError(f"strip_width > 0 builds the digits task's seven-segment frame: it "
                             f"needs task digits, rows x cols = 9 x 6 and strip_width < 3 x "
                             f"cell_size = {3 * self.cell_size:g} mm, got {self.task}, "
                             f"{self.rows} x {self.cols}, strip_width {self.strip_width:g} mm")
        if self.r_min >= self.r_max:
            raise InputError(f"r_min ({self.r_min}) must be smaller than r_max ({self.r_max})")

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
        if not isinstance(data, dict):
            raise InputError(f"an NMA config is a table of fields, got a {type(data).__name__}")
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
        try:
            return cls.from_dict(read_table(path))
        except InputError as err:
            if isinstance(err, DataError) or str(path) in str(err):
                raise
            raise InputError(f"config file {str(path)!r}: {err}") from None


#: (kind, low, high) of every field: kind int, float, bool, str, "ints" (a list of ints);
#: int and "ints" bounds are inclusive, float bounds exclusive unless the field is in _CLOSED
_SCHEMA = {
    "task": ("str", None, None), "rows": ("int", 1, 100), "cols": ("int", 1, 100),
    "cell_size": ("float", 0, 1e4), "porosity": ("float", 0, 1), "mesh_divisions": ("int", 1, 64),
    "hidden": ("ints", 1, 4096), "max_disp": ("float", 0, 10), "batch": ("int", 1, 4096),
    "iterations": ("int", 0, 10**9), "lr": ("float", 0, 10), "geometry_lr": ("float", 0, 1e3),
    "codesign": ("bool", None, None), "offsets": ("bool", None, None),
    "offset_lr": ("float", 0, 1e3), "offset_bound": ("float", 0, 0.5),
    "init_noise": ("float", 0, 0.2), "nozzle": ("float", 0, 100), "layer": ("float", 0, 100),
    "lr_final": ("float", 0, 1), "geometry_warmup": ("int", 0, 10**9),
    "print_weight": ("float", 0, 1e6), "young": ("float", 0, 1e12), "nu": ("float", -1, 0.5),
    "load_steps": ("int", 1, 1000), "r_min": ("float", 0, 1), "r_max": ("float", 0, 1),
    "min_ligament": ("float", 0, 1e4), "n_eval": ("int", 1, 4096),
    "eval_every": ("int", 1, 10**9), "checkpoint_every": ("int", 1, 10**9),
    "seed": ("int", 0, 2**32 - 1), "digits": ("ints", 0, 9), "thickness": ("float", 0, 1e4),
    "centre_pore": ("int", 1, 99), "side_actuators": ("int", 1, 99),
    "strip_width": ("float", 0, 1e4)}
# these may equal their bounds
_CLOSED = {"r_min", "r_max", "min_ligament", "init_noise", "print_weight", "offset_lr",
           "lr_final", "strip_width"}
_MAX_HIDDEN_LAYERS = 16


def _check_field(name: str, value):
    """`value` converted to the field's type; InputError naming the field and its range."""
    kind, low, high = _SCHEMA[name]
    if kind == "str":
        if value not in TASKS:
            raise InputError(f"unknown task {value!r}; use one of {', '.join(TASKS)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{name} must be true or false, got {value!r}")
        return value
    if kind == "ints":
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise InputError(f"{name} must be a list of integers in [{low}, {high}], got {value!r}")
        items = tuple(_integer(name, v, low, high) for v in value)
        if not 1 <= len(items) <= (_MAX_HIDDEN_LAYERS if name == "hidden" else 10):
            raise InputError(f"{name} needs 1 to {_MAX_HIDDEN_LAYERS if name == 'hidden' else 10}"
                             f" entries, got {len(items)}")
        return items
    if kind == "int":
        return _integer(name, value, low, high)
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = number and math.isfinite(value) and (
        low <= value <= high if name in _CLOSED else low < value < high)
    if not ok:
        brackets = "[]" if name in _CLOSED else "()"
        raise InputError(f"{name} must be a finite number in {brackets[0]}{low:g}, {high:g}"
                         f"{brackets[1]}, got {value!r}")
    return float(value)


def _integer(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
            not low <= value <= high:
        raise InputError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def read_table(path) -> dict:
    """The table of a .toml file (its [design] table if it has one) or the object of a .json
    file; DataError when the file cannot be parsed."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"config file {str(path)!r} "
                         f"{'is a folder' if path.is_dir() else 'does not exist'}")
    try:
        text = path.read_bytes().decode("utf-8")
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
            data = data.get("design", data)
        else:
            data = json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError,
            RecursionError) as err:
        reason = "it is not UTF-8 text" if isinstance(err, UnicodeDecodeError) else \
            "it is nested too deeply" if isinstance(err, RecursionError) else str(err)
        raise DataError(f"cannot read {str(path)!r}: {reason}; fix the file or write it "
                        "again") from None
    if not isinstance(data, dict):
        raise DataError(f"{str(path)!r} holds a {type(data).__name__}, not a table of config "
                        "fields")
    return data


# Task presets. "small": the CPU defaults (minutes on 2 cores); "paper": Varmint's scale
# (projects/nma_v1 configs), without its 16-rank effective batch: lr = config lr x 16.
_SMALL = {
    # translation also co-designs the lattice-node offsets (the paper, on 5 x 5 cells, moves
    # the radii only): on 3 x 3 cells a sheared lattice is what turns the two horizontal
    # pushes into vertical motion of the centre. Its controller keeps learning late
    # (lr_final 0.5): with 0.1 it had not yet used that shear after 100 iterations.
    "translation": dict(rows=3, cols=3, hidden=(30, 30, 30), max_disp=0.4, lr=5e-3,
                        geometry_lr=20.0, offset_lr=40.0, offset_bound=0.45, iterations=300,
                        batch=4, lr_final=0.5),
    # the rotation tasks run on 5 x 5 cells (the paper: 7 x 7): on 3 x 3 every interior lattice
    # node is a corner of the fixed centre cell, so no offset could move, and the co-designed
    # lattice turned the centre cell by about 4.5 degrees at most (targets reach 45).
    "rotation": dict(rows=5, cols=5, hidden=(30, 30, 30), max_disp=0.4, lr=5e-3,
                     geometry_lr=20.0, offset_lr=40.0, offset_bound=0.45, iterations=200,
                     batch=4, lr_final=0.1),
    "double-rotation": dict(rows=5, cols=5, hidden=(30, 30, 30), max_disp=0.3, lr=2e-3,
                            geometry_lr=3.0, offset_lr=3.0, iterations=200, batch=4,
                            lr_final=0.1),
    "shape": dict(rows=3, cols=3, hidden=(64, 64), max_disp=0.3, lr=2e-3, geometry_lr=3.0,
                  offset_lr=5.0, iterations=150, batch=4, lr_final=0.1),
    "digits": dict(rows=4, cols=3, hidden=(64, 32), max_disp=0.3, lr=2e-3, geometry_lr=1.0,
                   iterations=150, batch=4, lr_final=0.1, codesign=False, offsets=False,
                   r_min=0.3, r_max=0.7),
}
_PAPER = {
    "translation": dict(rows=5, cols=5, hidden=(30, 30, 30), max_disp=0.8, lr=1.6e-3,
                        iterations=10000, batch=16, mesh_divisions=6, r_max=0.9,
                        offsets=False, offset_bound=0.45, eval_every=250,
                        checkpoint_every=100),
    "rotation": dict(rows=7, cols=7, hidden=(30, 30, 30), max_disp=0.8, lr=1.6e-2,
                     geometry_lr=10.0, offset_lr=10.0, iterations=10000, batch=16,
                     mesh_divisions=6, r_max=0.9, offset_bound=0.45, eval_every=250,
                     checkpoint_every=100),
    "double-rotation": dict(rows=7, cols=7, hidden=(30, 30, 30), max_disp=0.6, lr=1.6e-2,
                            geometry_lr=3.0, offset_lr=3.0, iterations=10000, batch=16,
                            mesh_divisions=6, r_max=0.9, offset_bound=0.45, eval_every=250,
                            checkpoint_every=100),
    "shape": dict(rows=7, cols=7, hidden=(200, 200), max_disp=0.6, lr=1.6e-3, geometry_lr=5.0,
                  offset_lr=5.0, iterations=10000, batch=16, mesh_divisions=6, r_max=0.9,
                  offset_bound=0.45, eval_every=250, checkpoint_every=100, centre_pore=3,
                  side_actuators=3),
    # digits: Varmint's frame, 6 mm porous cells and 3 mm strips (30 x 45 mm), 3 mm actuation
    "digits": dict(rows=9, cols=6, strip_width=3.0, hidden=(300, 100, 100), max_disp=0.6,
                   lr=1.6e-3, iterations=10000, batch=16, codesign=False, r_min=0.3,
                   r_max=0.7, digits=tuple(range(10)), mesh_divisions=6, offsets=False,
                   eval_every=250, checkpoint_every=100),
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
