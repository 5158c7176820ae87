"""Loader for motivation annotations in the paper's template format, and precomputed features.

The paper's annotators completed "person is [action]-ing [object] in [scene] because he/she
wants to [motivation]" for a person box; several annotators per person. The released files
could not be checked offline, so this reads those fields as tab-separated text with a header:

    image   x1  y1  x2  y2  action  object  scene   motivation

one row per annotator answer (box in pixels). Answers are mapped onto the vocabulary with
WordNet (``Normaliser``); each person (image and box) gets the majority answer per variable.
Features for the original images come as ``features.npy`` (n, d) float (no pickles) with
``ids.txt`` listing the image of each row.
"""

from __future__ import annotations

import collections
import dataclasses
import pathlib

import numpy as np

from morphax._core import DataError, InputError, atomic_write_text

from ._vocab import VARIABLES, Vocabulary
from ._wordnet import Normaliser, WordNet

COLUMNS = ("image", "x1", "y1", "x2", "y2") + VARIABLES
_POS = {"action": "v", "object": "n", "scene": "n", "motivation": "v"}


@dataclasses.dataclass(frozen=True)
class Annotations:
    """People with their majority answers.

    Attributes:
        images: (n,) image names; boxes: (n, 4) float pixels (x1, y1, x2, y2);
        labels: (n, 4) int vocabulary indices (action, object, scene, motivation);
        unmapped: answers WordNet could not map onto the vocabulary (dropped).
    """

    images: tuple
    boxes: np.ndarray
    labels: np.ndarray
    unmapped: int


def _mapper(vocab: Vocabulary, variable: str, wordnet: WordNet | None):
    words = vocab.words(variable)
    if variable == "action":
        lookup = dict(zip(vocab.action_lemmas, words, strict=True)) | {w: w for w in words}
        norm = Normaliser(wordnet, vocab.action_lemmas, "v") if wordnet else None
    else:
        lookup = {w: w for w in words}
        norm = Normaliser(wordnet, words, _POS[variable]) if wordnet else None

    def to_index(answer: str):
        answer = answer.strip().lower()
        if answer in lookup:
            return words.index(lookup[answer])
        if norm is None or variable == "motivation":
            return None
        hit = norm(answer.split()[0] if variable == "action" else answer)
        return None if hit is None else words.index(lookup[hit])

    return to_index


def load_annotations(path: str | pathlib.Path, vocab: Vocabulary,
                     wordnet: WordNet | None = None) -> Annotations:
    """Read a template-answer table (see the module docstring).

    Args:
        path: the .tsv file. vocab: the vocabularies to map onto.
        wordnet: maps synonyms and inflections ("couch", "ate") onto the vocabulary; without it
            only exact vocabulary words (or action lemmas) are accepted. Motivations must be
            exact vocabulary phrases.
    Raises InputError for a missing file, DataError for a wrong header or a malformed row.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"annotation file {path} does not exist")
    rows = [r.split("\t") for r in path.read_text(encoding="utf-8").splitlines() if r.strip()]
    if not rows or tuple(c.strip() for c in rows[0]) != COLUMNS:
        raise DataError(f"{path}: the header must be the tab-separated columns {COLUMNS}")
    mappers = [_mapper(vocab, v, wordnet) for v in VARIABLES]
    votes = collections.defaultdict(lambda: [collections.Counter() for _ in VARIABLES])
    unmapped = 0
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(COLUMNS):
            raise DataError(f"{path}, line {number}: expected {len(COLUMNS)} fields, got {len(row)}")
        try:
            box = tuple(float(x) for x in row[1:5])
        except ValueError:
            raise DataError(f"{path}, line {number}: box coordinates must be numbers") from None
        for v, answer in enumerate(row[5:]):
            index = mappers[v](answer)
            unmapped += index is None
            if index is not None:
                votes[(row[0], box)][v][index] += 1
    people = [(key, c) for key, c in votes.items() if all(len(x) for x in c)]
    if not people:
        raise DataError(f"{path}: no person has a mapped answer for every variable")
    return Annotations(
        images=tuple(k[0] for k, _ in people),
        boxes=np.array([k[1] for k, _ in people], dtype=np.float64),
        labels=np.array([[x.most_common(1)[0][0] for x in c] for _, c in people], dtype=np.int64),
        unmapped=int(unmapped))


def load_features(folder: str | pathlib.Path, images: tuple) -> np.ndarray:
    """Precomputed features (len(images), d) for the named images, from ``folder/features.npy``
    and ``folder/ids.txt`` (one image name per row of the array)."""
    folder = pathlib.Path(folder)
    if not (folder / "features.npy").is_file() or not (folder / "ids.txt").is_file():
        raise InputError(f"{folder} must hold features.npy and ids.txt")
    feats = np.load(folder / "features.npy", allow_pickle=False)
    ids = (folder / "ids.txt").read_text(encoding="utf-8").split()
    if feats.ndim != 2 or len(ids) != feats.shape[0] or not np.all(np.isfinite(feats)):
        raise DataError(f"{folder}: features.npy must be a finite (n, d) array with n = "
                        f"{len(ids)} rows (one per id), got {feats.shape}")
    row = {name: i for i, name in enumerate(ids)}
    missing = [name for name in images if name not in row]
    if missing:
        raise DataError(f"{folder}: no features for images {missing[:5]}")
    return feats[[row[name] for name in images]].astype(np.float64)


def write_annotations(path: str | pathlib.Path, images, boxes, answers) -> None:
    """Write a template-answer table: images (n,), boxes (n, 4), answers (n, 4) strings."""
    lines = ["\t".join(COLUMNS)]
    for name, box, ans in zip(images, np.asarray(boxes), answers, strict=True):
        lines.append("\t".join([str(name)] + [f"{x:g}" for x in box] + [str(a) for a in ans]))
    atomic_write_text(path, "\n".join(lines) + "\n")
