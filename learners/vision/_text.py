"""Language potentials: a language model scores templated sentences that link the variables.

Each template fills slots with vocabulary entries and is scored as log10 P(sentence) (with
``<s>``/``</s>``). A trigram model only sees two words back, so a link between two slots exists
only where they lie within two words of each other; the paper's full template
("he is [action] the [object] in the [scene] because he wants to [motivation]") puts five words
between any slot and the motivation, which a trigram cannot bridge (``paper_template_spread``
measures that). The pairwise and triple templates below put the purpose clause ("to ...")
right after the slot instead.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import pathlib

import numpy as np

from morphax._core import DataError, atomic_write_text

from ._arpa import BOS, EOS, ArpaModel
from ._vocab import Vocabulary

PAPER_TEMPLATE = "he is {action} the {object} in the {scene} because he wants to {motivation}"
"""The paper's full sentence template, linking all four variables (too spread for a trigram)."""
TEMPLATES = {
    ("action", "object"): "he is {action} the {object}",
    ("action", "motivation"): "he is {action_head} to {motivation}",
    ("object", "motivation"): "he uses the {object} to {motivation}",
    ("scene", "motivation"): "he went to the {scene} to {motivation}",
    ("action", "object", "motivation"): "he is {action} the {object} to {motivation}",
}
"""Factor (variables) -> template; the language potentials of the factor graph."""


def _fill(template: str, vocab: Vocabulary, variables: tuple, idx: tuple) -> str:
    slots = {v: vocab.words(v)[i] for v, i in zip(variables, idx, strict=True)}
    if "action" in slots:
        slots["action_head"] = slots["action"].split()[0]
    return template.format(**slots)


def template_sentences(vocab: Vocabulary, variables: tuple, template: str) -> list:
    """Every filling of ``template`` over ``variables``, in C order of their indices."""
    ranges = [range(len(vocab.words(v))) for v in variables]
    return [_fill(template, vocab, variables, idx) for idx in itertools.product(*ranges)]


@dataclasses.dataclass(frozen=True, eq=False)
class SentenceScorer:
    """log10 P(sentence) under an ARPA model, cached in memory and optionally in a JSON file.

    ``cache`` (a path) keeps scores across runs; ``model_id`` names the model so that a cache
    written with another model is not reused.
    """

    model: ArpaModel
    model_id: str = "model"
    cache: pathlib.Path | None = None
    _scores: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.cache is not None and pathlib.Path(self.cache).is_file():
            try:
                stored = json.loads(pathlib.Path(self.cache).read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise DataError(f"sentence-score cache {self.cache} is not JSON ({err}); "
                                "delete it to rebuild") from None
            if stored.get("model") == self.model_id:
                self._scores.update(stored["scores"])

    def __call__(self, sentences) -> np.ndarray:
        """(len(sentences),) float64 log10 probabilities."""
        new = [s for s in dict.fromkeys(sentences) if s not in self._scores]
        for s in new:
            self._scores[s] = self.model.sentence_logprob(s.split())
        if new and self.cache is not None:
            atomic_write_text(self.cache, json.dumps({"model": self.model_id,
                                                      "scores": self._scores}))
        return np.array([self._scores[s] for s in sentences], dtype=np.float64)


def template_words(vocab: Vocabulary) -> set:
    """Every word any template can produce (the vocabulary to restrict a big model to)."""
    words = {BOS, EOS}
    for variables, template in list(TEMPLATES.items()) + [(("action", "object", "scene",
                                                             "motivation"), PAPER_TEMPLATE)]:
        for s in template_sentences(vocab, variables, template):
            words.update(s.split())
    return words


def _centre(table: np.ndarray, motivation_axis: bool) -> np.ndarray:
    """Remove what does not couple the slots: per-slot means (pairs), or for a triple the mean
    over the motivation and the mean over the other slots, then scale to unit spread."""
    if motivation_axis:
        last = table.ndim - 1
        others = tuple(range(last))
        out = table - table.mean(axis=last, keepdims=True) - table.mean(axis=others, keepdims=True)
        out = out + table.mean()
    else:
        out = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True)
        out = out + table.mean()
    spread = out.std()
    return out / spread if spread > 0 else out


def language_potentials(vocab: Vocabulary, scorer: SentenceScorer) -> dict:
    """Factor (variables) -> table of shape (sizes of the variables), the centred log10
    probabilities of the templated sentences (dimensionless, unit standard deviation)."""
    out = {}
    for variables, template in TEMPLATES.items():
        shape = tuple(len(vocab.words(v)) for v in variables)
        raw = scorer(template_sentences(vocab, variables, template)).reshape(shape)
        out[variables] = _centre(raw, motivation_axis=len(variables) == 3)
    return out


def paper_template_spread(vocab: Vocabulary, scorer: SentenceScorer) -> float:
    """How much the paper's full template couples the motivation with the other slots under
    this model: the largest |interaction| of log10 P over (action, object, scene) x motivation.
    Zero (to rounding) for a trigram model."""
    shape = vocab.shape
    variables = ("action", "object", "scene", "motivation")
    raw = scorer(template_sentences(vocab, variables, PAPER_TEMPLATE)).reshape(shape)
    flat = raw.reshape(-1, shape[3])
    inter = flat - flat.mean(axis=1, keepdims=True) - flat.mean(axis=0, keepdims=True) + flat.mean()
    return float(np.abs(inter).max())
