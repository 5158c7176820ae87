"""Test-wide JAX settings: float64 and strict dtype promotion (DESIGN.md, convention 11)."""

import os

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
