"""ARPA back-off n-gram models: a reader, a writer and the Katz back-off scorer.

An ARPA file lists, per order n, lines ``log10 P(w_n | w_1 .. w_{n-1})  w_1 .. w_n  [log10 bo]``.
The probability of a word after a history the model has not seen backs off:
``P(w | h_1..h_k) = bo(h_1..h_k) * P(w | h_2..h_k)`` until an n-gram is found (all in log10).
"""

from __future__ import annotations

import dataclasses
import pathlib

from morphax._core import DataError, InputError

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


@dataclasses.dataclass(frozen=True)
class ArpaModel:
    """A back-off n-gram model.

    Attributes:
        order: the largest n.
        prob: n-gram (a tuple of words, oldest first) -> log10 probability of its last word.
        backoff: n-gram used as a history -> log10 back-off weight (absent means 0).
    """

    order: int
    prob: dict
    backoff: dict

    @property
    def vocabulary(self) -> frozenset:
        """The words with a unigram entry."""
        return frozenset(g[0] for g in self.prob if len(g) == 1)

    def logprob(self, word: str, history: tuple = ()) -> float:
        """log10 P(word | history), history oldest first; only its last order-1 words count.

        Raises InputError for a word without a unigram (and no ``<unk>`` entry).
        """
        history = tuple(history)[len(history) - self.order + 1:] if self.order > 1 else ()
        total = 0.0
        while True:
            gram = history + (word,)
            if gram in self.prob:
                return total + self.prob[gram]
            if not history:
                break
            total += self.backoff.get(history, 0.0)
            history = history[1:]
        if (UNK,) in self.prob:
            return total + self.prob[(UNK,)]
        raise InputError(f"word {word!r} is not in the language model's vocabulary; "
                         "choose a word the model knows (see ArpaModel.vocabulary)")

    def sentence_logprob(self, words, *, bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a word sequence, with ``<s>``/``</s>`` around it by default."""
        history = (BOS,) if bos else ()
        total = 0.0
        for w in list(words) + ([EOS] if eos else []):
            total += self.logprob(w, history)
            history = history + (w,)
        return total


def _parse_counts(lines, where: str) -> dict:
    counts = {}
    for line in lines:
        if not line.startswith("ngram "):
            break
        n, _, c = line[6:].partition("=")
        counts[int(n)] = int(c)
    if not counts:
        raise DataError(f"{where}: no 'ngram N=COUNT' lines after \\data\\; is it an ARPA file?")
    return counts


def parse_arpa(text: str, where: str = "ARPA text") -> ArpaModel:
    """Read an ARPA model from its text. Raises DataError naming the first malformed line."""
    lines = [ln.strip() for ln in text.splitlines()]
    try:
        start = lines.index("\\data\\")
    except ValueError:
        raise DataError(f"{where}: no \\data\\ line; is it an ARPA language model?") from None
    counts = _parse_counts(lines[start + 1:], where)
    prob, backoff, n = {}, {}, 0
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if not line or line.startswith("ngram "):
            continue
        if line == "\\end\\":
            break
        if line.startswith("\\") and line.endswith("-grams:"):
            n = int(line[1:-7])
            continue
        parts = line.split()
        if n == 0 or len(parts) not in (n + 1, n + 2):
            raise DataError(f"{where}, line {number}: expected a log10 probability, {n} words "
                            f"and an optional back-off, got {line!r}")
        gram = tuple(parts[1:n + 1])
        prob[gram] = float(parts[0])
        if len(parts) == n + 2:
            backoff[gram] = float(parts[-1])
    found = {k: sum(1 for g in prob if len(g) == k) for k in counts}
    if found != counts:
        raise DataError(f"{where}: the header announces {counts} n-grams but the file has {found}")
    return ArpaModel(order=max(counts), prob=prob, backoff=backoff)


def read_arpa(path: str | pathlib.Path) -> ArpaModel:
    """Read an ARPA model from a file (plain text)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"ARPA file {path} does not exist")
    return parse_arpa(path.read_text(encoding="utf-8"), where=str(path))


def format_arpa(model: ArpaModel) -> str:
    """The model as ARPA text (n-grams sorted, 6 decimals); ``parse_arpa`` reads it back."""
    out = ["\\data\\"]
    orders = range(1, model.order + 1)
    grams = {n: sorted(g for g in model.prob if len(g) == n) for n in orders}
    out += [f"ngram {n}={len(grams[n])}" for n in orders]
    for n in orders:
        out += ["", f"\\{n}-grams:"]
        for g in grams[n]:
            bo = f"\t{model.backoff[g]:.6f}" if g in model.backoff else ""
            out.append(f"{model.prob[g]:.6f}\t{' '.join(g)}{bo}")
    out += ["", "\\end\\", ""]
    return "\n".join(out)
