"""morphax: simulation-first differentiable physics on JAX.

The subpackages are `morphax.physics` (FEM core), `morphax.geometry`, `morphax.fabrication`
and `morphax.learners`; the `morphax` command line is `morphax.cli`. The error family lives
here: every error morphax raises on purpose is a `MorphaxError`.
"""

import pathlib as _pathlib

from ._core import ConvergenceError as ConvergenceError
from ._core import DataError as DataError
from ._core import InputError as InputError
from ._core import InvertedElementError as InvertedElementError
from ._core import MeshError as MeshError
from ._core import MorphaxError as MorphaxError
from ._core import SingularMatrixError as SingularMatrixError
from ._core import SolverError as SolverError
from ._version import __version__ as __version__

# In a source checkout, `python -m pytest` or `python -m morphax` in the repository root finds
# this folder first on sys.path; its subpackages then live beside it (physics/, geometry/, ...,
# as pyproject's package-dir maps them), so they are looked up there too.
_checkout = _pathlib.Path(__file__).resolve().parent.parent
if __name__ == "morphax" and (_checkout / "pyproject.toml").is_file() \
        and (_checkout / "physics" / "__init__.py").is_file():
    __path__.append(str(_checkout))
