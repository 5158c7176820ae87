"""Shared utilities every morphax package uses the same way: the error family, atomic file
writes, the gmsh session, the compile cache and the figure saver.

This package imports nothing of morphax, so physics, geometry, fabrication, the learners and
the command line can all depend on it.
"""

from ._atomic import atomic_path as atomic_path
from ._atomic import atomic_write_bytes as atomic_write_bytes
from ._atomic import atomic_write_text as atomic_write_text
from ._atomic import check_folder as check_folder
from ._atomic import check_writable as check_writable
from ._cache import cached as cached
from ._deprecation import moved_names as moved_names
from ._errors import ConvergenceError as ConvergenceError
from ._errors import DataError as DataError
from ._errors import InputError as InputError
from ._errors import InvertedElementError as InvertedElementError
from ._errors import MeshError as MeshError
from ._errors import MorphaxError as MorphaxError
from ._errors import SingularMatrixError as SingularMatrixError
from ._errors import SolverError as SolverError
from ._errors import describe_cells as describe_cells
from ._figures import new_figure as new_figure
from ._figures import save_figure as save_figure
from ._gmsh import gmsh_session as gmsh_session
from ._gmsh import quiet_stdout as quiet_stdout
