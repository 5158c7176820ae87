"""morphax.physics: the differentiable FEM core.

Meshes are arrays (`Mesh`), elements are reference tables, a `Problem` couples a mesh, a
pointwise model and boundary conditions, and `solve` runs Newton with an implicit adjoint.
"""

from morphax._core import ConvergenceError as ConvergenceError
from morphax._core import InputError as InputError
from morphax._core import InvertedElementError as InvertedElementError
from morphax._core import MeshError as MeshError
from morphax._core import MorphaxError as MorphaxError
from morphax._core import SingularMatrixError as SingularMatrixError
from morphax._core import SolverError as SolverError
from morphax._core import moved_names as _moved_names

from . import validation as validation
from ._burgers import BurgersSolution as BurgersSolution
from ._burgers import BurgersTask as BurgersTask
from ._burgers import burgers_cole_hopf as burgers_cole_hopf
from ._burgers import burgers_fd as burgers_fd
from ._burgers import sample_burgers_tasks as sample_burgers_tasks
from ._config import FEAJob as FEAJob
from ._config import load_job as load_job
from ._elements import ELEMENTS as ELEMENTS
from ._elements import Element as Element
from ._elements import element as element
from ._families import PoissonFEA as PoissonFEA
from ._families import PoissonTask as PoissonTask
from ._families import disk_mesh as disk_mesh
from ._families import interpolate as interpolate
from ._families import morph_to_star as morph_to_star
from ._families import poisson_ground_truth as poisson_ground_truth
from ._families import relative_mse as relative_mse
from ._families import sample_poisson_tasks as sample_poisson_tasks
from ._io import from_meshio as from_meshio
from ._io import plot_png as plot_png
from ._io import read_mesh as read_mesh
from ._io import to_meshio as to_meshio
from ._io import write_mesh as write_mesh
from ._io import write_vtu as write_vtu
from ._jaxfem import JaxFemProblem as JaxFemProblem
from ._linear import Cholmod as Cholmod
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
from ._metapde_models import MetaNeoHookean as MetaNeoHookean
from ._metapde_models import StarPoisson as StarPoisson
from ._metapde_models import gaussian_bumps as gaussian_bumps
from ._metapde_models import meta_neo_hookean_density as meta_neo_hookean_density
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
from ._reaction_diffusion import RD_NUM_PARAMS as RD_NUM_PARAMS
from ._reaction_diffusion import ReactionDiffusion as ReactionDiffusion
from ._reaction_diffusion import rd_grid as rd_grid
from ._reaction_diffusion import rd_initial as rd_initial
from ._reaction_diffusion import rd_initial_theta as rd_initial_theta
from ._reaction_diffusion import rd_interior_mask as rd_interior_mask
from ._reaction_diffusion import rd_loss as rd_loss
from ._reaction_diffusion import rd_loss_scan as rd_loss_scan
from ._reaction_diffusion import rd_source as rd_source
from ._reaction_diffusion import rd_source_basis as rd_source_basis
from ._reaction_diffusion import rd_step as rd_step
from ._reaction_diffusion import rd_step_transpose as rd_step_transpose
from ._reaction_diffusion import rd_target as rd_target
from ._reaction_diffusion import rd_times as rd_times
from ._reaction_diffusion import rd_trajectory as rd_trajectory
from ._solve import Solution as Solution
from ._solve import solve as solve

__getattr__ = _moved_names("morphax.physics", {
    "atomic_path": "morphax._core.atomic_path",
    "atomic_write_bytes": "morphax._core.atomic_write_bytes",
    "atomic_write_text": "morphax._core.atomic_write_text",
})
