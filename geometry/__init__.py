"""morphax.geometry: parametric shapes, gmsh meshing and differentiable mesh morphing.

Cellular solids (`CellularSolid`): a grid of porous, solid and empty cells whose pores are
smooth curves through radii at evenly spaced angles; `morphable_mesh(design)` meshes it once
with gmsh and gives node coordinates as a smooth JAX function of the radii and of the
lattice-node offsets. `print_check` / `PrintPenalty`: per-pore printability (necks, bends,
walls) for a nozzle printer. Also the Meta-PDE
domains: `StarDomain` and `pore_lattice`.
"""

from morphax._core import moved_names as _moved_names

from ._constraints import Constraints as Constraints
from ._constraints import DesignError as DesignError
from ._design import CellularSolid as CellularSolid
from ._design import LargePore as LargePore
from ._design import pore_lattice as pore_lattice
from ._fourier import bertoldi_radii as bertoldi_radii
from ._fourier import interpolation_matrix as interpolation_matrix
from ._fourier import sample_angles as sample_angles
from ._gmsh_mesh import MeshOptions as MeshOptions
from ._io import plot_mesh_groups as plot_mesh_groups
from ._io import write_mesh_groups as write_mesh_groups
from ._manufacture import Ligament as Ligament
from ._manufacture import constraint_penalty as constraint_penalty
from ._manufacture import free_segments as free_segments
from ._manufacture import ligaments as ligaments
from ._manufacture import min_ligament as min_ligament
from ._manufacture import project_params as project_params
from ._manufacture import radius_caps as radius_caps
from ._manufacture import validate_design as validate_design
from ._meshing import add_groups as add_groups
from ._meshing import mesh_design as mesh_design
from ._morph import MorphableMesh as MorphableMesh
from ._morph import MorphCheck as MorphCheck
from ._morph import morphable_mesh as morphable_mesh
from ._morph import triangle_angles as triangle_angles
from ._printability import PoreCheck as PoreCheck
from ._printability import PrintPenalty as PrintPenalty
from ._printability import PrintRules as PrintRules
from ._printability import bend_radii as bend_radii
from ._printability import curve_neck as curve_neck
from ._printability import print_check as print_check
from ._printability import smooth_pores as smooth_pores
from ._printability import thicken_walls as thicken_walls
from ._star import StarDomain as StarDomain
from ._warp import corner_jacobians as corner_jacobians
from ._warp import warp_points as warp_points

__getattr__ = _moved_names("morphax.geometry", {"gmsh_session": "morphax._core.gmsh_session"})
