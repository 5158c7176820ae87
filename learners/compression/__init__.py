"""morphax.learners.compression: entropy-penalized reparameterization for compressing network
weights to real bitstreams (Oktay, Balle, Singh, Shrivastava, ICLR 2020).

Every float tensor of an equinox model becomes integer latents plus a small decoder (affine per
tensor; orthonormal real DFT with per-frequency steps for conv kernels) and a learned density
(`FactorizedDensity`, Balle et al. 2018, or `LogisticDensity`). `train_epr` minimises
task loss + lam * bits/param; `save_compressed` entropy-codes the rounded latents with a range
coder (constriction) into a versioned, checksummed file; `load_compressed` rebuilds the weights
bit for bit.
"""

from ._api import compress_arrays as compress_arrays
from ._api import file_size as file_size
from ._api import load_compressed as load_compressed
from ._api import save_compressed as save_compressed
from ._compress import epr_tensors as epr_tensors
from ._compress import format_report as format_report
from ._compress import load_named as load_named
from ._compress import load_npz as load_npz
from ._compress import named_arrays as named_arrays
from ._compress import ptq8_tensors as ptq8_tensors
from ._compress import quantized_arrays as quantized_arrays
from ._compress import raw_tensors as raw_tensors
from ._compress import read_tensors as read_tensors
from ._compress import save_npz as save_npz
from ._compress import write_tensors as write_tensors
from ._data import fashion_available as fashion_available
from ._data import load_dataset as load_dataset
from ._format import FORMAT_VERSION as FORMAT_VERSION
from ._format import CodedTensor as CodedTensor
from ._format import decode_tensors as decode_tensors
from ._format import encode_tensors as encode_tensors
from ._models import ARCHITECTURES as ARCHITECTURES
from ._models import LeNet5 as LeNet5
from ._models import LeNet300 as LeNet300
from ._models import cross_entropy as cross_entropy
from ._models import error_rate as error_rate
from ._models import make_model as make_model
from ._models import train_float as train_float
from ._priors import FactorizedDensity as FactorizedDensity
from ._priors import LogisticDensity as LogisticDensity
from ._priors import bin_mass as bin_mass
from ._priors import bits as bits
from ._priors import range_masses as range_masses
from ._reparam import EPR as EPR
from ._reparam import TensorCode as TensorCode
from ._reparam import rdft_basis as rdft_basis
from ._reparam import round_st as round_st
from ._train import EPRConfig as EPRConfig
from ._train import fit_arrays as fit_arrays
from ._train import train_epr as train_epr
