"""morphax.fabrication: print-ready export (STL, 3MF, STEP) and print reports.

`export_part(path, design=..., thickness=...)` writes a checked, watertight part (format from
the suffix) and returns a `PrintReport` (also written as JSON and a PNG drawing)."""

from ._export import FORMATS as FORMATS
from ._export import design_section as design_section
from ._export import export_part as export_part
from ._export import load_result as load_result
from ._export import report_paths as report_paths
from ._export import save_result as save_result
from ._formats import read_3mf as read_3mf
from ._formats import read_stl as read_stl
from ._formats import step_volume as step_volume
from ._report import MATERIALS as MATERIALS
from ._report import PrintReport as PrintReport
from ._report import Wall as Wall
from ._report import walls as walls
from ._solid import FabricationError as FabricationError
from ._solid import Section as Section
from ._solid import Solid as Solid
from ._solid import SolidCheck as SolidCheck
from ._solid import boundary_loops as boundary_loops
from ._solid import check_solid as check_solid
from ._solid import extrude as extrude
from ._solid import polygon_area as polygon_area
from ._solid import section_from_mesh as section_from_mesh
