"""The benchmarks' figure output."""

from __future__ import annotations

import pathlib

from morphax.physics import atomic_path


def save_png(fig, path, dpi: int = 110) -> pathlib.Path:
    """Write the matplotlib figure `fig` to `path` as PNG (atomically), close it, return path."""
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return path
