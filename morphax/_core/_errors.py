"""The error family of morphax. Each message says what happened and what to try."""

from __future__ import annotations


class MorphaxError(Exception):
    """Base class of every error morphax raises on purpose."""


class InputError(MorphaxError, ValueError):
    """Bad input: a shape, dtype, name or value that cannot work. Nothing was computed."""


class MeshError(InputError):
    """An invalid mesh: inverted or degenerate cells, out-of-range indices, missing sets."""

    def __init__(self, message: str, cells=()):
        super().__init__(message)
        self.cells = tuple(int(c) for c in cells)


class SolverError(MorphaxError, RuntimeError):
    """A solve that did not produce an answer."""


class ConvergenceError(SolverError):
    """Newton did not converge. `history` holds (load factor, iteration, residual norm) rows."""

    def __init__(self, message: str, history=()):
        super().__init__(message)
        self.history = list(history)


class InvertedElementError(SolverError):
    """det F <= 0 in some cells even after cutting the load step; `cells` names them."""

    def __init__(self, message: str, cells=(), history=()):
        super().__init__(message)
        self.cells = tuple(int(c) for c in cells)
        self.history = list(history)


class SingularMatrixError(SolverError):
    """The tangent matrix could not be factorized (a mechanism, or too few boundary conditions)."""


def describe_cells(cells, limit: int = 10) -> str:
    """'cells 3, 17, 42' or 'cells 3, 17, ... (120 in all)' for error messages."""
    cells = [int(c) for c in cells]
    shown = ", ".join(str(c) for c in cells[:limit])
    more = f", ... ({len(cells)} in all)" if len(cells) > limit else ""
    return f"cell{'s' if len(cells) != 1 else ''} {shown}{more}"


class DataError(InputError):
    """A file that exists but cannot be read back: damaged, truncated, or of another kind."""
