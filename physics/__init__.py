"""morphax.physics: the differentiable FEM core.

Meshes are arrays (`Mesh`), elements are reference tables, a `Problem` couples a mesh, a
pointwise model and boundary conditions, and `solve` runs Newton with an implicit adjoint.
Beside it: the Burgers and reaction-diffusion steppers, point evaluation (`interpolate`) and
the validation problems (`validation`). Errors are the `morphax.MorphaxError` family.
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
from ._amg import AMG as AMG
from ._batch import KrylovOptions as KrylovOptions
from ._batch import newton_krylov as newton_krylov
from ._batch import solve_batch as solve_batch
from ._burgers import BurgersSolution as BurgersSolution
from ._burgers import burgers_cole_hopf as burgers_cole_hopf
from ._burgers import burgers_fd as burgers_fd
from ._config import FEAJob as FEAJob
from ._config import load_job as load_job
from ._elements import ELEMENTS as ELEMENTS
from ._elements import Element as Element
from ._elements import element as element
from ._interpolate import interpolate as interpolate
from ._io import from_meshio as from_meshio
from ._io import plot_png as plot_png
from ._io import read_mesh as read_mesh
from ._io import to_meshio as to_meshio
from ._io import write_mesh as write_mesh
from ._io import write_vtu as write_vtu
from ._jaxfem import JaxFemProblem as JaxFemProblem
from ._linear import AUTO_ITERATIVE_UNKNOWNS as AUTO_ITERATIVE_UNKNOWNS
from ._linear import Cholmod as Cholmod
from ._linear import Factorization as Factorization
from ._linear import LinearSolver as LinearSolver
from ._linear import SuperLU as SuperLU
from ._linear import available_solvers as available_solvers
from ._linear import default_solver as default_solver
from ._linear import factor_bytes_estimate as factor_bytes_estimate
from ._linear import get_solver as get_solver
from ._linear import register_solver as register_solver
from ._mesh import Mesh as Mesh
from ._mesh import Topology as Topology
from ._mesh import boundary_facets as boundary_facets
from ._mesh import orient_cells as orient_cells
from ._meshgen import box as box
from ._meshgen import disk_mesh as disk_mesh
from ._meshgen import elevate as elevate
from ._meshgen import rectangle as rectangle
from ._models import MODELS as MODELS
from ._models import PLANES as PLANES
from ._models import IsochoricNeoHookean as IsochoricNeoHookean
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
from ._post import cell_stress as cell_stress
from ._post import von_mises as von_mises
from ._problem import Dirichlet as Dirichlet
from ._problem import Pressure as Pressure
from ._problem import Problem as Problem
from ._problem import Source as Source
from ._problem import Traction as Traction
from ._reaction_diffusion import ReactionDiffusion as ReactionDiffusion
from ._solve import Solution as Solution
from ._solve import solve as solve

_META_PDE = "morphax.learners.meta_pde"
_RD = "morphax.physics.ReactionDiffusion"

# Old names, kept for one release (they warn): shared utilities moved to morphax._core, the
# Meta-PDE task helpers to morphax.learners.meta_pde, the rd_* functions became methods.
__getattr__ = _moved_names("morphax.physics", {
    "atomic_path": "morphax._core.atomic_path",
    "atomic_write_bytes": "morphax._core.atomic_write_bytes",
    "atomic_write_text": "morphax._core.atomic_write_text",
    "MetaNeoHookean": "morphax.physics.IsochoricNeoHookean",
    "BurgersTask": f"{_META_PDE}.BurgersTask",
    "sample_burgers_tasks": f"{_META_PDE}.sample_burgers_tasks",
    "PoissonFEA": f"{_META_PDE}.PoissonFEA",
    "PoissonTask": f"{_META_PDE}.PoissonTask",
    "poisson_ground_truth": f"{_META_PDE}.poisson_ground_truth",
    "relative_mse": f"{_META_PDE}.relative_mse",
    "sample_poisson_tasks": f"{_META_PDE}.sample_poisson_tasks",
    "gaussian_bumps": f"{_META_PDE}.gaussian_bumps",
    "meta_neo_hookean_density": f"{_META_PDE}.meta_neo_hookean_density",
    "morph_to_star": f"{_META_PDE}.morph_to_star",
    "RD_NUM_PARAMS": f"{_RD}.num_params",
    **{f"rd_{name}": f"{_RD}.{name}" for name in (
        "grid", "interior_mask", "initial", "target", "source_basis", "source", "initial_theta",
        "step", "step_transpose", "times", "loss", "loss_scan", "trajectory")},
}, removed={
    "StarPoisson": "use Problem(mesh, NonlinearPoisson(), source=Source(star_source, bumps)) "
                   "with morphax.learners.meta_pde.star_source",
})
