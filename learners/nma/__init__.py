"""morphax.learners.nma: neuromechanical autoencoders (Oktay, Mirramezani, Medina, Adams,
"Neuromechanical Autoencoders: Learning to Couple Elastic and Neural Network Nonlinearity",
ICLR 2023).

An MLP encoder maps a task input to bounded prescribed displacements of named boundary
groups of a cellular solid; the decoder is the solid's static neo-Hookean equilibrium (the
FEM core's Newton solve with an implicit adjoint); the loss compares the deformed solid with
the target. Controller weights and the geometry (pore radii and lattice-node offsets) are
trained jointly (co-design, with per-pore print rules as a penalty and re-meshing when the
morphed mesh would degrade) or the controller alone on a frozen geometry (the paper's
ablation). `morphax design` is the CLI.
"""

from ._checks import equilibrium_residual as equilibrium_residual
from ._checks import gradient_check as gradient_check
from ._config import TASKS as TASKS
from ._config import NMAConfig as NMAConfig
from ._config import preset as preset
from ._model import NMA as NMA
from ._model import Controller as Controller
from ._output import evaluate_run as evaluate_run
from ._output import load_run as load_run
from ._output import sweep_targets as sweep_targets
from ._output import write_outputs as write_outputs
from ._output import write_report as write_report
from ._output import write_sweep as write_sweep
from ._parallel import ParallelTrainer as ParallelTrainer
from ._parallel import train_parallel as train_parallel
from ._system import NMASystem as NMASystem
from ._tasks import SEVEN_SEGMENTS as SEVEN_SEGMENTS
from ._tasks import Actuator as Actuator
from ._tasks import Task as Task
from ._tasks import build_design as build_design
from ._tasks import ellipse_targets as ellipse_targets
from ._tasks import make_task as make_task
from ._tasks import mnist_split as mnist_split
from ._tasks import segment_points as segment_points
from ._tasks import shape_distance as shape_distance
from ._train import Trainer as Trainer
from ._train import TrainState as TrainState
from ._train import evaluate as evaluate
from ._train import heldout_targets as heldout_targets
from ._train import latest_checkpoint as latest_checkpoint
from ._train import make_optimizer as make_optimizer
from ._train import train as train
