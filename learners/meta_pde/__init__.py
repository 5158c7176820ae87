"""morphax.learners.meta_pde: meta-learned neural PDE solvers (Meta-PDE, Qin et al. 2022).

A SIREN field with learned input/output scales (`Siren`) is trained per task on mesh-free
losses (PDE residual + boundary terms, or potential energy), starting from an initialization
meta-learned with MAML (learned per-parameter, per-step learning rates) or LEAP. Families:
`PoissonFamily`, `BurgersFamily`, `HyperelasticFamily`, with their tasks (`PoissonTask`,
`BurgersTask`, `HyperTask`), samplers and FEA ground truth. Shipped initializations:
`pretrained(name)`; regenerate them with `python benchmarks/meta_pde_pretrain.py`.
"""

from ._burgers_family import BurgersTask as BurgersTask
from ._burgers_family import sample_burgers_tasks as sample_burgers_tasks
from ._hyper_family import HyperFEA as HyperFEA
from ._hyper_family import HyperTask as HyperTask
from ._hyper_family import meta_neo_hookean_density as meta_neo_hookean_density
from ._hyper_family import mirror_min_error as mirror_min_error
from ._hyper_family import mirror_points as mirror_points
from ._hyper_family import sample_hyper_tasks as sample_hyper_tasks
from ._meta import METHODS as METHODS
from ._meta import Adapter as Adapter
from ._meta import MetaInit as MetaInit
from ._meta import adapt as adapt
from ._meta import leap_meta_gradient as leap_meta_gradient
from ._meta import maml_outer_loss as maml_outer_loss
from ._meta import maml_step as maml_step
from ._meta import new_init as new_init
from ._metrics import relative_mse as relative_mse
from ._pdes import FAMILIES as FAMILIES
from ._pdes import BurgersFamily as BurgersFamily
from ._pdes import HyperelasticFamily as HyperelasticFamily
from ._pdes import PoissonFamily as PoissonFamily
from ._poisson_family import PoissonFEA as PoissonFEA
from ._poisson_family import PoissonTask as PoissonTask
from ._poisson_family import gaussian_bumps as gaussian_bumps
from ._poisson_family import morph_to_star as morph_to_star
from ._poisson_family import poisson_ground_truth as poisson_ground_truth
from ._poisson_family import sample_poisson_tasks as sample_poisson_tasks
from ._poisson_family import star_source as star_source
from ._pretrained import SETTINGS as SETTINGS
from ._pretrained import available_pretrained as available_pretrained
from ._pretrained import pretrain as pretrain
from ._pretrained import pretrained as pretrained
from ._pretrained import pretrained_dir as pretrained_dir
from ._siren import Siren as Siren
from ._train import MetaTrainConfig as MetaTrainConfig
from ._train import init_metadata as init_metadata
from ._train import load_init as load_init
from ._train import meta_train as meta_train
from ._train import save_init as save_init
