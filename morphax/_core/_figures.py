"""Figures without pyplot state: library plots draw on a `matplotlib.figure.Figure`, so they
never switch a notebook user's backend or leave figures open."""

from __future__ import annotations

import pathlib

from ._atomic import atomic_path


def new_figure(width: float = 6.4, height: float = 4.8):
    """A `matplotlib.figure.Figure` of width x height inches, not registered with pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path, dpi: int = 110) -> pathlib.Path:
    """Write `fig` to `path` atomically (the format follows the suffix, PNG by default) and
    return the path."""
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi)
    return path
