"""morphax: simulation-first differentiable physics on JAX.

The subpackages are `morphax.physics` (FEM core), `morphax.geometry`, `morphax.fabrication`
and `morphax.learners`; the `morphax` command line is `morphax.cli`.
"""

from ._version import __version__ as __version__
