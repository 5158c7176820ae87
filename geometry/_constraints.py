"""Manufacturing bounds of a cellular-solid design and the error that names a violated one.

The lowest module of the design layer: `_manufacture` checks the bounds and `_design` (the
`CellularSolid` itself) builds on both.
"""

from __future__ import annotations

import dataclasses

from morphax._core import InputError


class DesignError(InputError):
    """An invalid design. `cell` is the (row, col) it concerns (or None), `bound` the name of
    the violated bound ("radius range", "radius bounds", "min ligament", "overlap", "grid")."""

    def __init__(self, message: str, cell=None, bound: str | None = None):
        super().__init__(message)
        self.cell = None if cell is None else tuple(int(c) for c in cell)
        self.bound = bound


@dataclasses.dataclass(frozen=True)
class Constraints:
    """Manufacturing bounds of a design.

    min_ligament: the thinnest wall (mm) allowed between a pore and another pore or the free
    boundary (e.g. two nozzle widths). r_min, r_max: bounds on the pore radius curve r(theta)
    (fractions of the half cell size; Varmint clips to [0.1, 0.9]).
    """

    min_ligament: float = 0.0
    r_min: float = 0.0
    r_max: float = 1.0

    def __post_init__(self):
        if not 0.0 <= self.r_min < self.r_max <= 1.0:
            raise InputError(f"radius bounds need 0 <= r_min < r_max <= 1, got r_min = "
                             f"{self.r_min}, r_max = {self.r_max}")
        if not self.min_ligament >= 0.0:
            raise InputError(f"min_ligament must be >= 0 mm, got {self.min_ligament}")
