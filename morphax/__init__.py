"""morphax: simulation-first differentiable physics on JAX.

The subpackages are `morphax.physics` (FEM core), `morphax.geometry`, `morphax.fabrication`
and `morphax.learners`; the `morphax` command line is `morphax.cli`. The error family lives
here: every error morphax raises on purpose is a `MorphaxError`.
"""

from ._core import ConvergenceError as ConvergenceError
from ._core import DataError as DataError
from ._core import InputError as InputError
from ._core import InvertedElementError as InvertedElementError
from ._core import MeshError as MeshError
from ._core import MorphaxError as MorphaxError
from ._core import SingularMatrixError as SingularMatrixError
from ._core import SolverError as SolverError
from ._version import __version__ as __version__
