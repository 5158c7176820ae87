"""morphax.learners.gnn: energy GNNs that stay correct under asynchronous inference
(Solodova, Richardson, Oktay, Adams, "Graph Neural Networks Gone Hogwild", ICLR 2025).

Graphs as arrays (`Graph`), explicit baselines (`GCN`, `GAT`), implicit models (`IGNN`,
`GSDGNN`, `EnergyGNN`) trained through the implicit function theorem (`fixed_point`,
`argmin`), an asynchronous inference simulator (`Schedule`, `simulate`, `simulate_many`,
`run_async`), the paper's synthetic tasks, and a learned asynchronous Poisson solver on
morphax meshes.
"""

from ._async import MODES as MODES
from ._async import AsyncResult as AsyncResult
from ._async import Schedule as Schedule
from ._async import async_outputs as async_outputs
from ._async import run_async as run_async
from ._async import simulate as simulate
from ._async import simulate_many as simulate_many
from ._graphs import Graph as Graph
from ._graphs import batch_graphs as batch_graphs
from ._graphs import degrees as degrees
from ._graphs import gcn_weights as gcn_weights
from ._graphs import make_graph as make_graph
from ._graphs import pad_graph as pad_graph
from ._graphs import softmax_per_receiver as softmax_per_receiver
from ._graphs import spectral_radius as spectral_radius
from ._implicit import argmin as argmin
from ._implicit import fixed_point as fixed_point
from ._implicit import hessian_bound as hessian_bound
from ._implicit import unrolled_fixed_point as unrolled_fixed_point
from ._implicit import unrolled_gradient_descent as unrolled_gradient_descent
from ._mesh import PoissonCase as PoissonCase
from ._mesh import lumped_areas as lumped_areas
from ._mesh import mesh_graph as mesh_graph
from ._mesh import poisson_cases as poisson_cases
from ._mesh import relative_error as relative_error
from ._mesh import train_mesh_solver as train_mesh_solver
from ._models import GAT as GAT
from ._models import GCN as GCN
from ._models import GSDGNN as GSDGNN
from ._models import IGNN as IGNN
from ._models import EnergyGNN as EnergyGNN
from ._models import EnergyModel as EnergyModel
from ._models import GNNModel as GNNModel
from ._models import project_inf_ball as project_inf_ball
from ._picnn import PICNN as PICNN
from ._tasks import Task as Task
from ._tasks import atlas_counting as atlas_counting
from ._tasks import chains as chains
from ._tasks import coordinates as coordinates
from ._tasks import counting as counting
from ._tasks import from_networkx as from_networkx
from ._tasks import geometric_graph as geometric_graph
from ._tasks import karate_club as karate_club
from ._tasks import pygsp_graph as pygsp_graph
from ._tasks import sums as sums
from ._train import TrainResult as TrainResult
from ._train import evaluate as evaluate
from ._train import evaluate_async as evaluate_async
from ._train import metric as metric
from ._train import task_loss as task_loss
from ._train import train as train
