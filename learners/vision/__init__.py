"""morphax.learners.vision: predicting the motivations of actions in images with knowledge mined
from text (Vondrick, Oktay, Pirsiavash, Torralba, CVPR 2016).

A factor graph over (action, object, scene, motivation) with linear visual unaries on image
features and language factors from an n-gram model scoring templated sentences; exact
sum-product / max-product inference over the joint space; weights by maximum likelihood.
The benchmark data are synthetic (rendered scenes with real MNIST digits as objects).
"""

from ._annotations import Annotations as Annotations
from ._annotations import load_annotations as load_annotations
from ._annotations import load_features as load_features
from ._annotations import write_annotations as write_annotations
from ._arpa import ArpaModel as ArpaModel
from ._arpa import format_arpa as format_arpa
from ._arpa import parse_arpa as parse_arpa
from ._arpa import read_arpa as read_arpa
from ._cnn import CNNConfig as CNNConfig
from ._cnn import SceneCNN as SceneCNN
from ._cnn import cnn_features as cnn_features
from ._cnn import train_cnn as train_cnn
from ._data import StoryConfig as StoryConfig
from ._data import mnist_digits as mnist_digits
from ._data import render as render
from ._data import sample_labels as sample_labels
from ._data import split_digits as split_digits
from ._graph import MotivationCRF as MotivationCRF
from ._graph import brute_force as brute_force
from ._graph import log_joint as log_joint
from ._graph import log_partition as log_partition
from ._graph import map_state as map_state
from ._graph import marginals as marginals
from ._graph import max_marginals as max_marginals
from ._graph import motivation_ranks as motivation_ranks
from ._learn import SETTINGS as SETTINGS
from ._learn import FitConfig as FitConfig
from ._learn import fit_crf as fit_crf
from ._learn import nll as nll
from ._learn import predict as predict
from ._learn import rank_metrics as rank_metrics
from ._sphinx import SphinxTrieModel as SphinxTrieModel
from ._sphinx import english_lm_path as english_lm_path
from ._sphinx import read_sphinx_trie as read_sphinx_trie
from ._text import PAPER_TEMPLATE as PAPER_TEMPLATE
from ._text import TEMPLATES as TEMPLATES
from ._text import SentenceScorer as SentenceScorer
from ._text import language_potentials as language_potentials
from ._text import paper_template_spread as paper_template_spread
from ._text import template_sentences as template_sentences
from ._text import template_words as template_words
from ._vocab import DEFAULT_VOCABULARY as DEFAULT_VOCABULARY
from ._vocab import SCRIPTS as SCRIPTS
from ._vocab import VARIABLES as VARIABLES
from ._vocab import Vocabulary as Vocabulary
from ._wordnet import Normaliser as Normaliser
from ._wordnet import WordNet as WordNet
from ._wordnet import wordnet as wordnet
