"""morphax.physics: the differentiable FEM core.

Meshes are arrays (`Mesh`), elements are reference tables, a `Problem` couples a mesh, a
pointwise model and boundary conditions, and `solve` runs Newton with an implicit adjoint.
"""

from . import validation as validation
from ._atomic import atomic_path as atomic_path
from ._atomic import atomic_write_bytes as atomic_write_bytes
from ._atomic import atomic_write_text as atomic_write_text
from ._config import FEAJob as FEAJob
from ._config import load_job as load_job
from ._elements import ELEMENTS as ELEMENTS
from ._elements import Element as Element
from ._elements import element as element
from ._errors import ConvergenceError as ConvergenceError
from ._errors import InputError as InputError
from ._errors import InvertedElementError as InvertedElementError
from ._errors import MeshError as MeshError
from ._errors import MorphaxError as MorphaxError
from ._errors import SingularMatrixError as SingularMatrixError
from ._errors import SolverError as SolverError
from ._io import from_meshio as from_meshio
from ._io import plot_png as plot_png
from ._io import read_mesh as read_mesh
from ._io import to_meshio as to_meshio
from ._io import write_mesh as write_mesh
from ._io import write_vtu as write_vtu
from ._linear import Factorization as Factorization
from ._linear import LinearSolver as LinearSolver
from ._linear import SuperLU as SuperLU
from ._linear import available_solvers as available_solvers
from ._linear import default_solver as default_solver
from ._linear import get_solver as get_solver
from ._linear import register_solver as register_solver
from ._mesh import Mesh as Mesh
from ._mesh import Topology as Topology
from ._mesh import boundary_facets as boundary_facets
from ._mesh import orient_cells as orient_cells
from ._meshgen import box as box
from ._meshgen import elevate as elevate
from ._meshgen import rectangle as rectangle
from ._models import MODELS as MODELS
from ._models import LinearElasticity as LinearElasticity
from ._models import Model as Model
from ._models import NeoHookean as NeoHookean
from ._models import NonlinearPoisson as NonlinearPoisson
from ._models import Poisson as Poisson
from ._models import bulk_from_young as bulk_from_young
from ._models import lame_from_young as lame_from_young
from ._newton import NewtonOptions as NewtonOptions
from ._newton import NewtonReport as NewtonReport
from ._newton import newton as newton
from ._problem import Dirichlet as Dirichlet
from ._problem import Pressure as Pressure
from ._problem import Problem as Problem
from ._problem import Traction as Traction
from ._solve import Solution as Solution
from ._solve import solve as solve
