"""Reader for CMU Sphinx's binary trie language models (``*.lm.bin``, "Trie Language Model").

This is how the offline English trigram model (CMU US English, 72,547 words, 2.05 M bigrams,
1.67 M trigrams) ships: Debian ``pocketsphinx-en-us`` puts it at
``/usr/share/pocketsphinx/model/en-us/en-us.lm.bin`` and the PyPI ``pocketsphinx`` wheel at
``pocketsphinx/model/en-us/en-us.lm.bin``. Reading it needs neither package's code.

Layout (little-endian): the header text, ``uint8`` order, ``uint32`` counts per order, an
``int32`` tag, the quantisation tables (float32 bin centres: for each middle order 65,536
probabilities then 65,536 back-offs, then 65,536 probabilities of the highest order), the
unigrams (``float32 prob, float32 backoff, uint32 first child``; one extra end entry), the
bit-packed middle and highest-order arrays, then the vocabulary as NUL-terminated strings.
The trie is keyed in reverse: below word ``w`` lie its histories ``h1`` (the n-gram ``h1 w``),
below those ``h2`` (``h2 h1 w``). A middle entry packs [word | backoff code (16 bits) | prob
code (16 bits) | first child]; a highest-order entry packs [word | prob code (16 bits)]. Values
are in units of log base 1.0001.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import pathlib

import numpy as np

from morphax._core import DataError, InputError

from ._arpa import ArpaModel

HEADER = b"Trie Language Model"
DEBIAN_PATH = pathlib.Path("/usr/share/pocketsphinx/model/en-us/en-us.lm.bin")
#: log10 of one unit of the file's log base 1.0001
LOG10_UNIT = math.log10(1.0001)
_QBITS = 16
_UNIGRAM = np.dtype([("prob", "<f4"), ("bo", "<f4"), ("next", "<u4")])


def _bits_for(max_value: int) -> int:
    return int(max_value).bit_length()


@dataclasses.dataclass(frozen=True)
class _Packed:
    """One bit-packed level: ``total`` bits per entry, fields at bit offsets."""

    mem: np.ndarray
    total: int
    word_bits: int
    next_bits: int

    def field(self, index: np.ndarray, offset: int, bits: int) -> np.ndarray:
        """The unsigned ``bits``-bit field at ``offset`` of each entry in ``index`` (int64)."""
        at = np.asarray(index, dtype=np.int64) * self.total + offset
        byte = at >> 3
        word = np.zeros(at.shape, dtype=np.uint64)
        for k in range(8):
            word |= self.mem[byte + k].astype(np.uint64) << np.uint64(8 * k)
        return ((word >> (at & 7).astype(np.uint64)) & np.uint64((1 << bits) - 1)).astype(np.int64)

    def words(self, index):
        return self.field(index, 0, self.word_bits)

    def code(self, index, which: int):
        """Quantisation code: which=0 back-off (middle), 1 probability (middle), 0 for longest."""
        return self.field(index, self.word_bits + _QBITS * which, _QBITS)

    def next(self, index):
        return self.field(index, self.word_bits + 2 * _QBITS, self.next_bits)


@dataclasses.dataclass(frozen=True)
class SphinxTrieModel:
    """A trigram model read from a Sphinx trie file (order 3 only).

    Attributes:
        words: (V,) the vocabulary, in file order; unigrams (V + 1,) with an end entry;
        tables: (3, 65536) float32 bin centres (bigram prob, bigram backoff, trigram prob).
    """

    words: tuple
    unigrams: np.ndarray
    tables: np.ndarray
    middle: _Packed
    longest: _Packed

    @property
    def index(self) -> dict:
        return {w: i for i, w in enumerate(self.words)}

    def _children(self, lo: int, hi: int, level: _Packed, keep: np.ndarray):
        at = np.arange(lo, hi, dtype=np.int64)
        mask = keep[level.words(at)]
        return at[mask]

    def restrict(self, vocabulary) -> ArpaModel:
        """The sub-model over ``vocabulary``: every n-gram whose words all lie in it.

        Scoring a sentence made only of these words gives exactly the full model's value (the
        back-off chain never leaves the vocabulary). Probabilities are converted to log10.
        Raises InputError naming the words the model does not know.
        """
        index = self.index
        missing = sorted(w for w in vocabulary if w not in index)
        if missing:
            raise InputError(f"words not in the language model: {missing}; rephrase them")
        ids = np.array(sorted(index[w] for w in vocabulary), dtype=np.int64)
        keep = np.zeros(len(self.words) + 1, dtype=bool)
        keep[ids] = True
        prob, backoff = {}, {}
        for w in ids:
            prob[(self.words[w],)] = float(self.unigrams["prob"][w]) * LOG10_UNIT
            backoff[(self.words[w],)] = float(self.unigrams["bo"][w]) * LOG10_UNIT
            self._bigrams(w, keep, prob, backoff)
        return ArpaModel(order=3, prob=prob, backoff=backoff)

    def _bigrams(self, w, keep, prob, backoff):
        lo, hi = int(self.unigrams["next"][w]), int(self.unigrams["next"][w + 1])
        for i in self._children(lo, hi, self.middle, keep):
            h1 = self.words[int(self.middle.words(i))]
            gram = (h1, self.words[w])
            prob[gram] = float(self.tables[0][self.middle.code(i, 1)]) * LOG10_UNIT
            backoff[gram] = float(self.tables[1][self.middle.code(i, 0)]) * LOG10_UNIT
            lo3, hi3 = int(self.middle.next(i)), int(self.middle.next(i + 1))
            for j in self._children(lo3, hi3, self.longest, keep):
                h2 = self.words[int(self.longest.words(j))]
                prob[(h2,) + gram] = float(self.tables[2][self.longest.code(j, 0)]) * LOG10_UNIT


def _take(buf: bytes, pos: int, dtype, count: int):
    dtype = np.dtype(dtype)
    end = pos + dtype.itemsize * count
    if end > len(buf):
        raise DataError("the trie language model file is truncated; reinstall the package")
    return np.frombuffer(buf, dtype, count, pos), end


def read_sphinx_trie(path: str | pathlib.Path) -> SphinxTrieModel:
    """Read a CMU Sphinx binary trie trigram model (``*.lm.bin``)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"language model file {path} does not exist")
    buf = path.read_bytes()
    if not buf.startswith(HEADER):
        raise DataError(f"{path} is not a Sphinx trie language model (header {buf[:19]!r})")
    pos = len(HEADER) + 1
    order = buf[len(HEADER)]
    if order != 3:
        raise DataError(f"{path}: only trigram models are supported, this one has order {order}")
    counts, pos = _take(buf, pos, "<u4", 3)
    n1, n2, n3 = (int(c) for c in counts)
    tables, pos = _take(buf, pos + 4, "<f4", 3 << _QBITS)
    unigrams, pos = _take(buf, pos, _UNIGRAM, n1 + 1)
    word_bits, next_bits = _bits_for(n1), _bits_for(n3)
    mid_total, long_total = word_bits + 2 * _QBITS + next_bits, word_bits + _QBITS
    mid_size = ((1 + n2) * mid_total + 7) // 8 + 8
    long_size = ((1 + n3) * long_total + 7) // 8 + 8
    middle, pos = _take(buf, pos, np.uint8, mid_size)
    longest, pos = _take(buf, pos, np.uint8, long_size)
    (nchars,), pos = _take(buf, pos, "<i4", 1)
    names = buf[pos:pos + int(nchars)].split(b"\0")[:n1]
    if len(names) != n1:
        raise DataError(f"{path}: {len(names)} vocabulary strings for {n1} unigrams")
    return SphinxTrieModel(
        words=tuple(n.decode("utf-8", "replace") for n in names), unigrams=unigrams,
        tables=tables.reshape(3, 1 << _QBITS),
        middle=_Packed(middle, mid_total, word_bits, next_bits),
        longest=_Packed(longest, long_total, word_bits, 0))


def english_lm_path() -> pathlib.Path:
    """Where the CMU US English trigram model is installed.

    Looks for Debian's ``pocketsphinx-en-us`` first, then the ``pocketsphinx`` wheel. Raises
    InputError naming both packages when neither is installed.
    """
    if DEBIAN_PATH.is_file():
        return DEBIAN_PATH
    spec = importlib.util.find_spec("pocketsphinx")
    if spec is not None and spec.submodule_search_locations:
        path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "model/en-us/en-us.lm.bin"
        if path.is_file():
            return path
    raise InputError("no English trigram model found: apt-get install pocketsphinx-en-us "
                     "(or pip install pocketsphinx)")
