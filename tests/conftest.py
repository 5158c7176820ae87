"""Test-wide JAX settings: float64 and strict dtype promotion (DESIGN.md, convention 11); the
docs site's build hooks as a fixture."""

import importlib.util
import os
import pathlib

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(scope="session")
def docs_hooks():
    """docs/_hooks.py (the mkdocs hooks that build the site's pages) as a module."""
    path = pathlib.Path(__file__).resolve().parent.parent / "docs" / "_hooks.py"
    spec = importlib.util.spec_from_file_location("morphax_docs_hooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
