"""morphax.learners.rnn_info: RNNs in the predictive information plane (Dong, Oktay, Poole,
Alemi 2019, "On predictive information in RNNs").

Exact restorative Brownian motion and its past/future covariances, the optimal Gaussian
information-bottleneck frontier (and a brute-force check), GRU/LSTM sequence models trained by
maximum likelihood with or without hidden-state noise, known-encoder and variational bounds on
I(past; z) and I(z; future) (bits), procedural sketches and a Quick, Draw! loader, probes.
"""

from ._estimators import Bracket as Bracket
from ._estimators import add_encoder_noise as add_encoder_noise
from ._estimators import decoder_lower_bound as decoder_lower_bound
from ._estimators import future_information_bounds as future_information_bounds
from ._estimators import gaussian_entropy_bits as gaussian_entropy_bits
from ._estimators import known_encoder_bounds as known_encoder_bounds
from ._estimators import log_density_matrix as log_density_matrix
from ._estimators import marginal_upper_bound as marginal_upper_bound
from ._frontier import brute_force_frontier as brute_force_frontier
from ._frontier import canonical_correlations as canonical_correlations
from ._frontier import frontier_future_at as frontier_future_at
from ._frontier import ib_frontier as ib_frontier
from ._frontier import linear_encoder_information as linear_encoder_information
from ._frontier import predictive_information as predictive_information
from ._models import CELLS as CELLS
from ._models import NOISE_MODES as NOISE_MODES
from ._models import SequenceRNN as SequenceRNN
from ._models import final_hidden as final_hidden
from ._models import generate as generate
from ._models import sequence_nll as sequence_nll
from ._plane import PlanePoint as PlanePoint
from ._plane import information_plane as information_plane
from ._process import LinearSDE as LinearSDE
from ._process import autocovariance as autocovariance
from ._process import discretize as discretize
from ._process import ornstein_uhlenbeck as ornstein_uhlenbeck
from ._process import restorative_brownian_motion as restorative_brownian_motion
from ._process import sample_past_given_future as sample_past_given_future
from ._process import sample_windows as sample_windows
from ._process import simulate as simulate
from ._process import stationary_covariance as stationary_covariance
from ._process import window_covariance as window_covariance
from ._sketch import SKETCH_CLASSES as SKETCH_CLASSES
from ._sketch import drawing_to_stroke3 as drawing_to_stroke3
from ._sketch import load_quickdraw_ndjson as load_quickdraw_ndjson
from ._sketch import pad_sketches as pad_sketches
from ._sketch import procedural_sketches as procedural_sketches
from ._train import TrainConfig as TrainConfig
from ._train import TrainResult as TrainResult
from ._train import heldout_nll as heldout_nll
from ._train import linear_probe_accuracy as linear_probe_accuracy
from ._train import optimal_nll as optimal_nll
from ._train import train_rnn as train_rnn
