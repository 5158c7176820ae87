"""Cellular-solid designs: a grid of square cells (porous, solid, empty), pore shapes given by
radii at evenly spaced angles, optional large pores spanning square blocks of cells, and the
manufacturing bounds they must satisfy. Designs round-trip to a versioned JSON file.

Coordinates (mm): cell (row i, column j) covers [j s, (j + 1) s] x [i s, (i + 1) s] with s the
cell size; row 0 is the *bottom* row and column 0 the left one. In the text grid (and in the
JSON file) the first line is the *top* row, so the grid reads like a picture:

    P  porous cell (a pore at the cell centre)      S  solid cell
    .  empty cell (no material)                     L  cell covered by a large pore block

Pore radii are fractions of the half cell size (of the half block side for large pores), as
in Varmint (Oktay et al., ICLR 2023): a pore with all radii 0.5 is a circle of diameter s / 2.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from morphax._core import DataError, InputError, atomic_write_text

from ._constraints import Constraints, DesignError
from ._fourier import bertoldi_radii, interpolation_matrix, mean_square, sample_angles
from ._manufacture import validate_design
from ._warp import warp_points

FORMAT = "morphax.cellular-solid"
VERSION = 1
KINDS = {"P": "porous", "S": "solid", ".": "empty", "L": "large"}
N_ANGLES = 16        # radii per pore by default (Varmint's cell pores)
_PEAK_SAMPLES = 720  # angles at which `lattice` looks for the largest radius of a pore shape


@dataclasses.dataclass(frozen=True)
class LargePore:
    """A pore at the centre of a size x size block of cells whose bottom-left cell is
    (row, col); radii (N,) are fractions of the half block side (Varmint's central pore for
    shape matching: a 3 x 3 block with 48 radii)."""

    row: int
    col: int
    size: int
    radii: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "radii", tuple(float(r) for r in self.radii))
        if self.size < 1 or len(self.radii) < 3:
            raise DesignError(f"large pore at cell ({self.row}, {self.col}) needs size >= 1 and "
                              f"at least 3 radii, got size {self.size}, {len(self.radii)} radii",
                              (self.row, self.col), "grid")

    def cells(self):
        return [(self.row + a, self.col + b) for a in range(self.size) for b in range(self.size)]


@dataclasses.dataclass(frozen=True, eq=False)
class CellularSolid:
    """A cellular-solid design (see the module docstring for conventions).

    grid: lines of the text grid, top row first. cell_size: s in mm.
    radii: (n_porous, N) pore radii of the porous cells in `porous_cells` order (row-major
    from the bottom row), fractions of s / 2 at the angles 2 pi k / N.
    large_pores: LargePore blocks; their cells are "L" in the grid.
    constraints: manufacturing bounds, checked at construction (DesignError names the cell).
    forms: per porous cell None or ("bertoldi", r0, c1, c2), kept for the JSON file.
    offsets: (rows + 1, cols + 1, 2) lattice-node offsets in mm (default zeros): the grid is
    warped piecewise-bilinearly (`morphax.geometry.warp_points`), pores and cell sides with it.
    """

    grid: tuple[str, ...]
    cell_size: float
    radii: np.ndarray
    large_pores: tuple[LargePore, ...] = ()
    constraints: Constraints = Constraints()
    forms: tuple = ()
    name: str = ""
    offsets: np.ndarray | None = None
    check: dataclasses.InitVar[bool] = True

    def __post_init__(self, check):
        grid = tuple(str(g) for g in self.grid)
        object.__setattr__(self, "grid", grid)
        if not grid or len({len(g) for g in grid}) != 1 or not grid[0]:
            raise DesignError(f"the grid must be non-empty lines of equal length, got {grid!r}",
                              None, "grid")
        bad = sorted({c for g in grid for c in g} - set(KINDS))
        if bad:
            raise DesignError(f"unknown cell letters {bad} in the grid; use P (porous), S (solid),"
                              " . (empty) or L (large-pore block)", None, "grid")
        if not (math.isfinite(self.cell_size) and self.cell_size > 0):
            raise DesignError(f"cell_size must be a positive length in mm, got {self.cell_size}",
                              None, "grid")
        object.__setattr__(self, "cell_size", float(self.cell_size))
        kinds = np.array([list(g) for g in grid[::-1]])
        kinds.setflags(write=False)
        object.__setattr__(self, "_kinds", kinds)
        radii = np.array(self.radii, dtype=float)
        n_p = len(self.porous_cells)
        if radii.ndim == 1 and n_p == 0 and radii.size == 0:
            radii = radii.reshape(0, N_ANGLES)
        if radii.ndim != 2 or radii.shape[0] != n_p or (n_p and radii.shape[1] < 3):
            raise DesignError(f"radii must have shape (n_porous, N) = ({n_p}, N >= 3) for the "
                              f"{n_p} porous cells, got {radii.shape}", None, "grid")
        radii.setflags(write=False)
        object.__setattr__(self, "radii", radii)
        forms = tuple(self.forms) or (None,) * n_p
        if len(forms) != n_p:
            raise DesignError(f"forms must have one entry per porous cell ({n_p})", None, "grid")
        object.__setattr__(self, "forms", tuple(None if f is None else tuple(f) for f in forms))
        object.__setattr__(self, "large_pores", tuple(self.large_pores))
        shape = (len(grid) + 1, len(grid[0]) + 1, 2)
        offsets = np.zeros(shape) if self.offsets is None else np.array(self.offsets, dtype=float)
        if offsets.shape != shape or not np.all(np.isfinite(offsets)):
            raise DesignError(f"offsets must be finite lattice-node offsets (mm) of shape "
                              f"(rows + 1, cols + 1, 2) = {shape}, got shape {offsets.shape}",
                              None, "grid")
        offsets.setflags(write=False)
        object.__setattr__(self, "offsets", offsets)
        self._check_blocks()
        if check:
            validate_design(self)

    # ----- structure -----------------------------------------------------------------------
    @property
    def rows(self) -> int:
        return len(self.grid)

    @property
    def cols(self) -> int:
        return len(self.grid[0])

    @property
    def n_angles(self) -> int:
        return int(self.radii.shape[1])

    @property
    def size(self) -> tuple[float, float]:
        """Grid width and height (mm)."""
        return self.cols * self.cell_size, self.rows * self.cell_size

    def kind(self, row: int, col: int) -> str:
        """"porous", "solid", "empty" or "large" ("empty" outside the grid)."""
        if 0 <= row < self.rows and 0 <= col < self.cols:
            return KINDS[self._kinds[row, col]]
        return "empty"

    def cells_of(self, kind: str) -> list[tuple[int, int]]:
        letter = {v: k for k, v in KINDS.items()}[kind]
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(self._kinds == letter), strict=True)]

    @property
    def porous_cells(self) -> list[tuple[int, int]]:
        """(row, col) of the porous cells, in the order of `radii` (row-major from the bottom)."""
        return self.cells_of("porous")

    @property
    def solid_cells(self) -> list[tuple[int, int]]:
        return self.cells_of("solid")

    def porous_index(self, row: int, col: int) -> int:
        """The index of cell (row, col) in `radii`."""
        try:
            return self.porous_cells.index((row, col))
        except ValueError:
            raise InputError(f"cell ({row}, {col}) is {self.kind(row, col)}, not porous") from None

    def cell_center(self, row: int, col: int) -> np.ndarray:
        return np.array([(col + 0.5) * self.cell_size, (row + 0.5) * self.cell_size])

    @property
    def warped(self) -> bool:
        """Whether any lattice node is offset."""
        return bool(np.any(self.offsets != 0.0))

    def warp(self, points) -> np.ndarray:
        """Reference-grid points (n, 2) mm mapped by the lattice-node offsets (NumPy)."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        return warp_points(pts, self.offsets, self.cell_size, np) if self.warped else pts

    def material(self, row: int, col: int) -> bool:
        return self.kind(row, col) != "empty"

    def _check_blocks(self):
        owner = {}
        for k, lp in enumerate(self.large_pores):
            for cell in lp.cells():
                if not (0 <= cell[0] < self.rows and 0 <= cell[1] < self.cols):
                    raise DesignError(f"large pore {k} (block at {lp.row, lp.col}, size {lp.size})"
                                      f" reaches cell {cell}, outside the {self.rows} x "
                                      f"{self.cols} grid", cell, "grid")
                if cell in owner:
                    raise DesignError(f"large pores {owner[cell]} and {k} overlap at cell {cell};"
                                      " move or shrink one block", cell, "overlap")
                kind = self.kind(*cell)
                if kind == "porous":
                    raise DesignError(f"large pore {k} overlaps the porous cell {cell}: its block "
                                      "must cover only cells marked L", cell, "overlap")
                if kind != "large":
                    raise DesignError(f"large pore {k} covers cell {cell}, which is {kind}; mark "
                                      "the block's cells L in the grid", cell, "grid")
                owner[cell] = k
        for cell in self.cells_of("large"):
            if cell not in owner:
                raise DesignError(f"cell {cell} is marked L but no large pore covers it; add a "
                                  "LargePore block there or mark it P, S or .", cell, "grid")

    # ----- pore shapes ---------------------------------------------------------------------
    def pores(self):
        """Every pore as (name, centre (2,), half size h (mm), radii (N,)): cell pores
        "pore_<row>_<col>" first, then "large_pore_<k>"."""
        out = [(f"pore_{i}_{j}", self.cell_center(i, j), 0.5 * self.cell_size, self.radii[k])
               for k, (i, j) in enumerate(self.porous_cells)]
        for k, lp in enumerate(self.large_pores):
            c = np.array([(lp.col + 0.5 * lp.size), (lp.row + 0.5 * lp.size)]) * self.cell_size
            out.append((f"large_pore_{k}", c, 0.5 * lp.size * self.cell_size,
                        np.asarray(lp.radii)))
        return out

    def pore_polygon(self, name: str, n: int = 256) -> np.ndarray:
        """(n, 2) points on the pore boundary at angles 2 pi k / n (counter-clockwise), warped
        by the lattice-node offsets."""
        for pname, c, h, r in self.pores():
            if pname == name:
                th = sample_angles(n)
                rho = h * (interpolation_matrix(th, len(r)) @ r)
                return self.warp(c + rho[:, None] * np.stack([np.cos(th), np.sin(th)], axis=1))
        raise InputError(f"the design has no pore {name!r}")

    def pore_areas(self) -> dict[str, float]:
        """Area (mm^2) enclosed by each pore curve: exact (Parseval on the interpolant), or of
        the 4096-gon through the warped curve when lattice nodes are offset."""
        if self.warped:
            return {name: _shoelace(self.pore_polygon(name, 4096)) for name, *_ in self.pores()}
        return {name: float(math.pi * h * h * mean_square(r))
                for name, _, h, r in self.pores()}

    @property
    def grid_area(self) -> float:
        return self.rows * self.cols * self.cell_size ** 2

    def porosity(self) -> float:
        """Total pore area over the grid area rows * cols * s^2."""
        return sum(self.pore_areas().values()) / self.grid_area

    def material_area(self) -> float:
        """Area (mm^2) of material: non-empty cells minus pores (exact pore curves)."""
        if not self.warped:
            n_cells = int(np.sum(self._kinds != "."))
            return n_cells * self.cell_size ** 2 - sum(self.pore_areas().values())
        s, cells = self.cell_size, 0.0
        for i, j in zip(*np.nonzero(self._kinds != "."), strict=True):
            quad = np.array([[j, i], [j + 1, i], [j + 1, i + 1], [j, i + 1]], dtype=float) * s
            cells += _shoelace(self.warp(quad))
        return cells - sum(self.pore_areas().values())

    # ----- parameters ----------------------------------------------------------------------
    def params(self) -> dict:
        """The shape parameters as a JAX pytree: {"radii": (n_porous, N), "large": tuple of
        (N_k,) arrays, "offsets": (rows + 1, cols + 1, 2) mm}. `MorphableMesh.points(params)`
        is differentiable in them."""
        return {"radii": jnp.asarray(self.radii),
                "large": tuple(jnp.asarray(lp.radii) for lp in self.large_pores),
                "offsets": jnp.asarray(self.offsets)}

    def with_params(self, params, *, check: bool = True) -> CellularSolid:
        """A copy with new (concrete) radii (and lattice-node offsets when params has
        "offsets"); DesignError if it violates the bounds."""
        radii = np.asarray(params["radii"], dtype=float)
        large = params.get("large", ())
        if len(large) != len(self.large_pores):
            raise InputError(f"params['large'] has {len(large)} entries, the design has "
                             f"{len(self.large_pores)} large pores")
        lps = tuple(dataclasses.replace(lp, radii=tuple(np.asarray(r, dtype=float).tolist()))
                    for lp, r in zip(self.large_pores, large, strict=True))
        offsets = np.asarray(params["offsets"], dtype=float) if "offsets" in params else \
            self.offsets
        return dataclasses.replace(self, radii=radii, large_pores=lps, forms=(), offsets=offsets,
                                   check=check)

    def with_constraints(self, constraints: Constraints) -> CellularSolid:
        return dataclasses.replace(self, constraints=constraints, check=True)

    # ----- constructors --------------------------------------------------------------------
    @classmethod
    def from_grid(cls, grid: Sequence[str] | str, cell_size: float, *, radii=0.5,
                  n_angles: int = N_ANGLES, large_pores: Sequence[LargePore] = (),
                  constraints: Constraints | None = None, name: str = "") -> CellularSolid:
        """A design from a text grid (top row first; a multi-line string or a list of lines).

        radii: a scalar (circular pores), one (N,) shape for every pore, or (n_porous, N).
        """
        if isinstance(grid, str):
            grid = [g.strip() for g in grid.strip().splitlines() if g.strip()]
        n_p = sum(line.count("P") for line in grid)
        r = np.asarray(radii, dtype=float)
        if r.ndim == 0:
            r = np.full((n_p, n_angles), float(r))
        elif r.ndim == 1:
            r = np.tile(r, (n_p, 1))
        return cls(tuple(grid), cell_size, r, tuple(large_pores), constraints or Constraints(),
                   name=name)

    @classmethod
    def lattice(cls, rows: int, cols: int, cell_size: float, porosity: float, *,
                pore: str = "circle", c1: float = 0.0, c2: float = 0.0, radii=None,
                n_angles: int = N_ANGLES, solid: Sequence[tuple[int, int]] = (),
                empty: Sequence[tuple[int, int]] = (), constraints: Constraints | None = None,
                name: str = "") -> CellularSolid:
        """A rows x cols grid of porous cells whose pores (all the same shape) cover the fraction
        `porosity` of the grid area rows * cols * s^2.

        pore: "circle", "bertoldi" (r0 (1 + c1 cos 4 theta + c2 cos 8 theta), r0 chosen for the
        porosity) or "radii" (the (N,) shape `radii`, scaled for the porosity).
        solid, empty: (row, col) cells (row 0 at the bottom) that are solid or empty instead.
        """
        if rows < 1 or cols < 1:
            raise InputError(f"a lattice needs rows, cols >= 1, got {rows} x {cols}")
        if not 0.0 < porosity < 1.0:
            raise InputError(f"porosity must lie in (0, 1), got {porosity}")
        kinds = np.full((rows, cols), "P")
        for letter, cells in (("S", solid), ("." , empty)):
            for i, j in cells:
                if not (0 <= i < rows and 0 <= j < cols):
                    raise InputError(f"cell ({i}, {j}) is outside the {rows} x {cols} grid")
                kinds[i, j] = letter
        n_p = int(np.sum(kinds == "P"))
        if n_p == 0:
            raise InputError("the lattice has no porous cell left; porosity cannot be met")
        forms = None
        if pore == "circle":
            shape = np.ones(n_angles)
        elif pore == "bertoldi":
            shape = np.asarray(bertoldi_radii(1.0, c1, c2, n_angles))
        elif pore == "radii":
            if radii is None:
                raise InputError("pore='radii' needs the radii of one pore shape")
            shape = np.asarray(radii, dtype=float).reshape(-1)
            n_angles = shape.size
        else:
            raise InputError(f"unknown pore form {pore!r}; use circle, bertoldi or radii")
        if np.any(shape <= 0):
            raise InputError("the pore shape must have positive radii at every angle")
        scale = math.sqrt(4.0 * porosity * rows * cols / (math.pi * n_p
                                                          * float(mean_square(shape))))
        theta = sample_angles(_PEAK_SAMPLES)
        dense = interpolation_matrix(theta, n_angles) @ shape
        peak = scale * dense.max()
        if peak >= 1.0:
            raise DesignError(f"porosity {porosity} needs pores reaching r = {peak:.4f} of the "
                              f"half cell, outside (0, 1): the pores would break through the "
                              f"walls. The largest porosity with this pore shape and "
                              f"{n_p} porous cells is below {porosity / peak ** 2:.4f}; lower "
                              "the porosity", None, "radius range")
        if pore == "bertoldi":
            forms = (("bertoldi", scale, float(c1), float(c2)),) * n_p
        grid = tuple("".join(row) for row in kinds[::-1])
        return cls(grid, cell_size, np.tile(scale * shape, (n_p, 1)), (),
                   constraints or Constraints(), forms or (), name=name)

    # ----- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        pores = []
        for (i, j), r, form in zip(self.porous_cells, self.radii, self.forms, strict=True):
            entry = {"cell": [i, j], "radii": [float(x) for x in r]}
            if form is not None:
                entry["form"] = {"kind": form[0], "r0": form[1], "c1": form[2], "c2": form[3]}
            pores.append(entry)
        return {"format": FORMAT, "version": VERSION, "name": self.name, "units": "mm",
                "cell_size": self.cell_size, "grid": list(self.grid),
                "grid_note": "first line = top row; row 0 is the bottom row; P porous, S solid,"
                             " . empty, L large-pore block",
                "n_angles": self.n_angles, "pores": pores,
                "large_pores": [{"cell": [lp.row, lp.col], "size": lp.size,
                                 "radii": list(lp.radii)} for lp in self.large_pores],
                "constraints": dataclasses.asdict(self.constraints),
                **({"offsets": self.offsets.tolist(),
                    "offsets_note": "lattice-node offsets (mm), [row of nodes from the bottom]"
                                    "[column][x, y]"} if self.warped else {})}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def save(self, path) -> None:
        """Write the design as JSON (atomically)."""
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def from_dict(cls, data: dict, *, check: bool = True, source: str = "the design") -> CellularSolid:
        """The design in `data` (as written by `to_dict`). DataError names the key that is
        missing or malformed (`source` names the file in the message); DesignError when the
        design breaks its own constraints."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError(f"{source} is not a morphax cellular-solid design (expected "
                            f"\"format\": \"{FORMAT}\"); make one with `morphax lattice`")
        version = data.get("version")
        if version != VERSION or isinstance(version, bool):
            raise DataError(f"{source} has version {version!r}, which is not supported (this "
                            f"morphax reads version {VERSION}); re-create it with `morphax lattice`")
        try:
            return cls._parse(data, check, _Keys(data, source))
        except DesignError as err:
            raise DesignError(f"{source}: {err}", err.cell, err.bound) from None
        except DataError:
            raise
        except InputError as err:
            raise InputError(f"{source}: {err}") from None

    @classmethod
    def _parse(cls, data: dict, check: bool, key: _Keys) -> CellularSolid:
        """The design in `data`, read field by field (see `from_dict`)."""
        grid = tuple(key.text(g, f"grid[{k}]") for k, g in enumerate(key.list("grid")))
        if not grid or not grid[0] or len({len(g) for g in grid}) != 1:
            key.fail("grid", "non-empty lines of equal length", list(grid))
        cell_size = key.number(key.get("cell_size"), "cell_size")
        n_angles = key.integer(data.get("n_angles", N_ANGLES), "n_angles", 3, 4096)
        kinds = np.array([list(g) for g in grid[::-1]])
        order = [(int(i), int(j)) for i, j in zip(*np.nonzero(kinds == "P"), strict=True)]
        by_cell = {}
        for k, pore in enumerate(key.list("pores", [])):
            where = f"pores[{k}]"
            pore = key.table(pore, where)
            by_cell[key.cell(pore.get("cell"), f"{where}.cell")] = (pore, where)
        if set(by_cell) != set(order):
            missing = sorted(set(order) - set(by_cell))
            extra = sorted(set(by_cell) - set(order))
            raise DesignError(f"the pores listed do not match the P cells of the grid "
                              f"(missing {missing}, not porous {extra})", (missing or extra)[0], "grid")
        radii = [key.numbers(pore.get("radii"), f"{where}.radii") for pore, where in
                 (by_cell[c] for c in order)]
        if len({len(r) for r in radii}) > 1:
            raise DataError(f"{key.source}: every pore needs the same number of radii, got "
                            f"{sorted({len(r) for r in radii})}")
        radii = np.array(radii, dtype=float).reshape(len(order), -1 if order else n_angles)
        forms = tuple(key.form(by_cell[c]) for c in order)
        large = []
        for k, lp in enumerate(key.list("large_pores", [])):
            where = f"large_pores[{k}]"
            lp = key.table(lp, where)
            large.append(LargePore(*key.cell(lp.get("cell"), f"{where}.cell"),
                                   key.integer(lp.get("size"), f"{where}.size", 1, len(grid)),
                                   tuple(key.numbers(lp.get("radii"), f"{where}.radii"))))
        bounds = key.table(data.get("constraints", {}), "constraints")
        unknown = sorted(set(bounds) - {"min_ligament", "r_min", "r_max"})
        if unknown:
            raise DataError(f"{key.source}: unknown constraints {unknown}; use min_ligament, r_min, "
                            "r_max")
        constraints = Constraints(**{k: key.number(v, f"constraints.{k}") for k, v in bounds.items()})
        offsets = None
        if "offsets" in data:
            rows = key.list("offsets")
            offsets = [[key.numbers(xy, f"offsets[{a}][{b}]") for b, xy in
                        enumerate(key.table_list(row, f"offsets[{a}]"))]
                       for a, row in enumerate(rows)]
            shape = (len(grid) + 1, len(grid[0]) + 1, 2)
            if len(offsets) != shape[0] or any(len(row) != shape[1] for row in offsets) or \
                    any(len(xy) != 2 for row in offsets for xy in row):
                key.fail("offsets", f"a nested list of shape {list(shape)}", "...")
        return cls(grid, cell_size, radii, tuple(large), constraints, forms,
                   name=key.text(data.get("name", ""), "name"), offsets=offsets, check=check)

    @classmethod
    def from_json(cls, text: str, *, check: bool = True, source: str = "the design") -> CellularSolid:
        """The design in JSON `text`; DataError if it is not JSON (`source` names the file)."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as err:
            raise DataError(f"{source} is not valid JSON ({err}); make a design with `morphax "
                            "lattice`") from None
        return cls.from_dict(data, check=check, source=source)

    @classmethod
    def load(cls, path, *, check: bool = True) -> CellularSolid:
        """Read a design JSON file; DataError if it is damaged or malformed, DesignError if it
        violates its own constraints."""
        path = pathlib.Path(path)
        if not path.is_file():
            what = "is a folder, not a design file" if path.is_dir() else "does not exist"
            raise InputError(f"design file {str(path)!r} {what}; make one with "
                             "`morphax lattice --out DESIGN.json`")
        source = f"design file {str(path)!r}"
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{source} is not UTF-8 text (damaged, or not a design); make a "
                            "design with `morphax lattice`") from None
        return cls.from_json(text, check=check, source=source)

    def __eq__(self, other):
        return (isinstance(other, CellularSolid) and self.to_dict() == other.to_dict())

    __hash__ = None

    def __repr__(self):
        return (f"CellularSolid({self.rows} x {self.cols} cells of {self.cell_size} mm, "
                f"{len(self.porous_cells)} porous, {len(self.solid_cells)} solid, "
                f"{len(self.large_pores)} large pores, porosity {self.porosity():.3f})")


class _Keys:
    """Readers of the fields of a design dict: each names the key in its DataError."""

    def __init__(self, data: dict, source: str):
        self.data, self.source = data, source

    def fail(self, where: str, expected: str, value):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise DataError(f"{self.source}: {where!r} must be {expected}, got {shown}; compare "
                        "with the output of `morphax lattice`")

    def missing(self, where: str):
        raise DataError(f"{self.source} has no {where!r}; compare with the output of "
                        "`morphax lattice`")

    def get(self, where: str):
        return self.data[where] if where in self.data else self.missing(where)

    def list(self, where: str, default=None) -> list:
        value = self.data.get(where, default) if default is not None else self.get(where)
        return value if isinstance(value, list) else self.fail(where, "a list", value)

    def table_list(self, value, where: str) -> list:
        return value if isinstance(value, list) else self.fail(where, "a list", value)

    def table(self, value, where: str) -> dict:
        return value if isinstance(value, dict) else self.fail(where, "a table {...}", value)

    def text(self, value, where: str) -> str:
        return value if isinstance(value, str) else self.fail(where, "a string", value)

    def number(self, value, where: str) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if ok else self.fail(where, "a finite number", value)

    def integer(self, value, where: str, low: int, high: int) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return value if ok else self.fail(where, f"an integer in [{low}, {high}]", value)

    def numbers(self, value, where: str) -> list[float]:
        if not isinstance(value, list) or not value:
            self.fail(where, "a non-empty list of numbers", value)
        return [self.number(v, f"{where}[{k}]") for k, v in enumerate(value)]

    def cell(self, value, where: str) -> tuple[int, int]:
        ok = isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 10**6 for v in value)
        return tuple(value) if ok else self.fail(where, "[row, col] (two integers)", value)

    def form(self, entry) -> tuple | None:
        pore, where = entry
        if "form" not in pore:
            return None
        form = self.table(pore["form"], f"{where}.form")
        kind = self.text(form.get("kind"), f"{where}.form.kind")
        return (kind, *(self.number(form.get(k), f"{where}.form.{k}") for k in ("r0", "c1", "c2")))


def _shoelace(xy: np.ndarray) -> float:
    """|area| (mm^2) of a closed polygon (k, 2)."""
    x, y = xy[:, 0], xy[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def pore_lattice(n: int, radii) -> CellularSolid:
    """The unit square with an n x n lattice of circular pores (the Meta-PDE elasticity domain):
    pore (i, j) is centred at ((j + 1/2) / n, (i + 1/2) / n) with radius radii[i, j] (or one
    scalar), in the units of the square. Meshing gives facet sets left/right/bottom/top and
    pore_<i>_<j>. Raises DesignError when a pore does not fit in its cell of side 1 / n."""
    if n < 1:
        raise InputError(f"the pore lattice needs n >= 1, got {n}")
    r = np.broadcast_to(np.asarray(radii, dtype=float), (n, n))
    radii = np.repeat((2.0 * n * r).reshape(-1, 1), N_ANGLES, axis=1)
    return CellularSolid(("P" * n,) * n, 1.0 / n, radii, name=f"pore lattice {n}x{n}")
