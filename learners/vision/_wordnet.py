"""WordNet 3.0 read straight from its database files (Debian ``wordnet-base``, /usr/share/wordnet):
base forms ("ate" -> "eat", "sofas" -> "sofa") and synonyms ("couch" ~ "sofa"), used to map
free-text annotations onto the finite vocabularies of actions, objects, scenes and motivations.

Files read: ``index.POS`` (lemma -> synset offsets, most frequent sense first), ``data.POS``
(the synset line at that byte offset lists its lemmas) and ``POS.exc`` (irregular forms).
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib

from morphax._core import DataError, InputError

DEBIAN_DIR = pathlib.Path("/usr/share/wordnet")
POS_NAMES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
#: detachment rules of WordNet's morphy: (suffix, replacement) per part of speech
_RULES = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
          ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}


def _check_pos(pos: str) -> str:
    if pos not in POS_NAMES:
        raise InputError(f"part of speech {pos!r} must be one of {sorted(POS_NAMES)}")
    return pos


@dataclasses.dataclass(frozen=True, eq=False)
class WordNet:
    """A read-only WordNet database in ``root`` (index.*, data.*, *.exc files)."""

    root: pathlib.Path

    @functools.cached_property
    def _index(self) -> dict:
        out = {}
        for pos, name in POS_NAMES.items():
            out[pos] = {}
            path = self.root / f"index.{name}"
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if not line or line.startswith(" "):
                    continue
                parts = line.split()
                n_synsets = int(parts[2])
                out[pos][parts[0]] = tuple(int(p) for p in parts[len(parts) - n_synsets:])
        return out

    @functools.cached_property
    def _exceptions(self) -> dict:
        out = {}
        for pos, name in POS_NAMES.items():
            path = self.root / f"{name}.exc"
            rows = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
            out[pos] = {r.split()[0]: tuple(r.split()[1:]) for r in rows if len(r.split()) > 1}
        return out

    def base_forms(self, word: str, pos: str) -> tuple:
        """Lemmas in WordNet that ``word`` is an inflection of (itself first if it is one)."""
        _check_pos(pos)
        word = word.strip().lower().replace(" ", "_")
        found = []
        candidates = (word,) + self._exceptions[pos].get(word, ())
        candidates += tuple(word[: -len(s)] + r for s, r in _RULES[pos] if word.endswith(s))
        for c in candidates:
            if c in self._index[pos] and c not in found:
                found.append(c)
        return tuple(found)

    def synsets(self, lemma: str, pos: str) -> tuple:
        """Synset byte offsets of ``lemma`` (most frequent sense first); () if unknown."""
        return self._index[_check_pos(pos)].get(lemma.lower().replace(" ", "_"), ())

    def lemmas(self, offset: int, pos: str) -> tuple:
        """The lemmas of the synset at ``offset`` in data.POS."""
        path = self.root / f"data.{POS_NAMES[_check_pos(pos)]}"
        with path.open("rb") as f:
            f.seek(offset)
            parts = f.readline().decode("utf-8", errors="replace").split()
        if not parts or int(parts[0]) != offset:
            raise DataError(f"{path}: no synset at byte {offset}; the WordNet files do not match")
        count = int(parts[3], 16)
        return tuple(parts[4 + 2 * i] for i in range(count))


def wordnet(root: str | pathlib.Path | None = None) -> WordNet:
    """The WordNet database in ``root`` (default Debian's /usr/share/wordnet).

    Raises InputError saying to install ``wordnet-base`` when the files are missing.
    """
    root = pathlib.Path(root) if root is not None else DEBIAN_DIR
    if not (root / "index.noun").is_file() or not (root / "data.noun").is_file():
        raise InputError(f"no WordNet database in {root}: apt-get install wordnet-base "
                         "(or pass the folder holding index.noun and data.noun)")
    return _cached_wordnet(root.resolve())


@functools.lru_cache(maxsize=4)
def _cached_wordnet(root: pathlib.Path) -> WordNet:
    return WordNet(root)


@dataclasses.dataclass(frozen=True, eq=False)
class Normaliser:
    """Maps free-text words onto one vocabulary with WordNet.

    A word maps to the vocabulary entry that is one of its base forms, else to the entry that
    shares a synset with it, preferring the word's most frequent senses. ``senses`` limits how
    many senses of each word and entry count (rare senses make spurious matches).
    """

    wordnet: WordNet
    vocabulary: tuple
    pos: str
    senses: int = 3

    def __call__(self, word: str) -> str | None:
        """The vocabulary entry ``word`` means, or None when WordNet links it to none."""
        key = word.strip().lower().replace("_", " ")
        if key in self.vocabulary:
            return key
        forms = self.wordnet.base_forms(key, self.pos)
        for form in forms:
            if form.replace("_", " ") in self.vocabulary:
                return form.replace("_", " ")
        for form in forms:
            for offset in self.wordnet.synsets(form, self.pos)[: self.senses]:
                for entry in self.vocabulary:
                    if offset in self._entry_synsets(entry):
                        return entry
        return None

    def _entry_synsets(self, entry: str) -> tuple:
        head = entry.split()[0] if self.pos == "v" else entry
        out = ()
        for form in self.wordnet.base_forms(head, self.pos):
            out += self.wordnet.synsets(form, self.pos)[: self.senses]
        return out
