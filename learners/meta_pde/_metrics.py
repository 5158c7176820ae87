"""The Meta-PDE error metric shared by the families."""

from __future__ import annotations

import numpy as np
from jaxtyping import ArrayLike, Float


def relative_mse(pred: Float[ArrayLike, "..."], truth: Float[ArrayLike, "..."]) -> float:
    """Meta-PDE's relative MSE: mean |pred - truth|^2 / mean |truth|^2 (over points and
    components), the metric of `trainer_util.vmap_validation_error`."""
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    return float(np.mean((pred - truth) ** 2) / max(np.mean(truth ** 2), 1e-300))
