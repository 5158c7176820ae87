"""morphax.learners.rad: randomized automatic differentiation (Oktay, McGreivy, Aduol,
Beatson, Adams, "Randomized Automatic Differentiation", ICLR 2021).

Layers whose forward pass is exact and whose backward pass keeps only a random, rescaled
fraction of the stored activations, so gradients are unbiased and use less memory; exact
accounting of what JAX saves; the Eq. 7 estimator for reaction-diffusion control.
"""

from .._datasets import load_fashion_mnist as load_fashion_mnist
from .._datasets import load_mnist_5k as load_mnist_5k
from .._datasets import mnist_5k_split as mnist_5k_split
from .._datasets import read_idx as read_idx
from ._conv import rad_conv2d as rad_conv2d
from ._dense import rad_dense as rad_dense
from ._memory import SavedResiduals as SavedResiduals
from ._memory import pytree_bytes as pytree_bytes
from ._memory import saved_residuals as saved_residuals
from ._memory import table1_memory_bytes as table1_memory_bytes
from ._models import RadConv2d as RadConv2d
from ._models import RadConvNet as RadConvNet
from ._models import RadIRNN as RadIRNN
from ._models import RadLinear as RadLinear
from ._models import RadMLP as RadMLP
from ._models import accuracy as accuracy
from ._models import avg_pool2 as avg_pool2
from ._models import nll_loss as nll_loss
from ._parallel import make_parallel_step as make_parallel_step
from ._pde import ESTIMATORS as ESTIMATORS
from ._pde import rd_loss_rad as rd_loss_rad
from ._pde import rd_stored_values_per_step as rd_stored_values_per_step
from ._pde import train_rd_control as train_rd_control
from ._relu import relu_bits as relu_bits
from ._relu import relu_from_output as relu_from_output
from ._sampling import MODES as MODES
from ._sampling import compress as compress
from ._sampling import expand as expand
from ._sampling import num_kept as num_kept
from ._sampling import sample as sample
from ._train import TrainResult as TrainResult
from ._train import train_classifier as train_classifier
