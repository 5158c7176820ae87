"""Language side of the motivation learner: ARPA reading and back-off on a hand-made model,
the Sphinx trie reader against pocketsphinx's own scores, WordNet normalisation, templates."""

import math

import numpy as np
import pytest

from morphax import InputError
from morphax._core import DataError
from morphax.learners.vision import (
    DEFAULT_VOCABULARY,
    PAPER_TEMPLATE,
    TEMPLATES,
    Normaliser,
    SentenceScorer,
    WordNet,
    english_lm_path,
    format_arpa,
    language_potentials,
    paper_template_spread,
    parse_arpa,
    read_arpa,
    read_sphinx_trie,
    template_sentences,
    template_words,
    wordnet,
)

SMALL_ARPA = """
\\data\\
ngram 1=5
ngram 2=4
ngram 3=2

\\1-grams:
-1.0 <s> -0.5
-0.7 he -0.3
-1.2 eats -0.2
-1.5 pizza
-0.9 </s>

\\2-grams:
-0.2 <s> he -0.1
-0.4 he eats -0.25
-0.3 eats pizza
-0.1 pizza </s>

\\3-grams:
-0.05 <s> he eats
-0.15 he eats pizza

\\end\\
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.arpa"
    path.write_text(SMALL_ARPA)
    return read_arpa(path)


def test_arpa_backoff_by_hand(small):
    # trigram present
    assert small.logprob("pizza", ("he", "eats")) == pytest.approx(-0.15)
    # bigram present, no trigram "<s> eats pizza": bo(<s> eats) is absent (0), so P(pizza|eats)
    assert small.logprob("pizza", ("<s>", "eats")) == pytest.approx(-0.3)
    # no trigram "he eats he", no bigram "eats he": bo(he eats) + bo(eats) + P(he)
    assert small.logprob("he", ("he", "eats")) == pytest.approx(-0.25 - 0.2 - 0.7)
    # no bigram "pizza he": bo(pizza) = 0 + P(he)
    assert small.logprob("he", ("pizza",)) == pytest.approx(-0.7)
    # sentence: P(he|<s>) P(eats|<s> he) P(pizza|he eats) P(</s>|eats pizza)
    assert small.sentence_logprob(["he", "eats", "pizza"]) == pytest.approx(-0.2 - 0.05 - 0.15 - 0.1)


def test_arpa_round_trip_and_errors(small, tmp_path):
    again = parse_arpa(format_arpa(small))
    assert again.prob == small.prob and again.backoff == small.backoff and again.order == 3
    with pytest.raises(InputError, match="vocabulary"):
        small.logprob("bicycle", ("he",))
    with pytest.raises(DataError, match="announces"):
        parse_arpa(SMALL_ARPA.replace("ngram 3=2", "ngram 3=3"))
    with pytest.raises(DataError, match="data"):
        parse_arpa("not a model")
    with pytest.raises(InputError, match="does not exist"):
        read_arpa(tmp_path / "missing.arpa")


def test_sentence_scorer_cache(small, tmp_path):
    cache = tmp_path / "scores.json"
    first = SentenceScorer(small, model_id="small", cache=cache)(["he eats pizza"])
    assert cache.is_file()
    again = SentenceScorer(small, model_id="small", cache=cache)
    assert again._scores == {"he eats pizza": pytest.approx(float(first[0]))}
    assert SentenceScorer(small, model_id="other", cache=cache)._scores == {}


#: log base 1.0001 values that pocketsphinx 5.1.1's NGramModel.prob returned for these queries
#: (word, most recent history word first) on the same en-us.lm.bin; its values are rounded.
POCKETSPHINX_REFERENCE = {("television", "watch", "to"): -51987, ("sofa", "the", "on"): -75537,
                          ("bicycle", "the", "eat"): -112371, ("hungry",): -107065,
                          ("zulu", "shaka"): -43399, ("pizza", "eating", "is"): -59393}


def test_sphinx_trie_matches_pocketsphinx():
    trie = read_sphinx_trie(english_lm_path())
    assert len(trie.words) == 72547
    words = {w for q in POCKETSPHINX_REFERENCE for w in q}
    model = trie.restrict(words)
    for query, ref in POCKETSPHINX_REFERENCE.items():
        ours = model.logprob(query[0], tuple(reversed(query[1:])))
        assert ours == pytest.approx(ref * math.log10(1.0001), abs=2e-4)
    with pytest.raises(InputError, match="not in the language model"):
        trie.restrict({"qwxzzy"})


def test_trie_reader_rejects_other_files(tmp_path):
    bad = tmp_path / "x.lm.bin"
    bad.write_bytes(b"Darpa Trigram LM\0....")
    with pytest.raises(DataError, match="not a Sphinx trie"):
        read_sphinx_trie(bad)


def test_templates_and_trigram_window():
    vocab = DEFAULT_VOCABULARY
    sentences = template_sentences(vocab, ("action", "motivation"), TEMPLATES[("action", "motivation")])
    assert len(sentences) == 9 * 14 and sentences[0] == "he is sitting to watch television"
    model = read_sphinx_trie(english_lm_path()).restrict(template_words(vocab))
    scorer = SentenceScorer(model)
    tables = language_potentials(vocab, scorer)
    for factor, table in tables.items():
        assert table.shape == tuple(len(vocab.words(v)) for v in factor)
        assert table.std() == pytest.approx(1.0) and np.all(np.isfinite(table))
    # the paper's template keeps five words between every slot and the motivation: no coupling
    assert "because he wants to" in PAPER_TEMPLATE
    assert paper_template_spread(vocab, scorer) < 1e-9
    # knowledge from text: using a phone ranks "call his mother" above "sleep"
    om = tables[("object", "motivation")]
    assert om[vocab.objects.index("phone"), vocab.motivations.index("call his mother")] > \
        om[vocab.objects.index("phone"), vocab.motivations.index("sleep")]


def _write_wordnet(root):
    """A three-synset WordNet in the real file format (data lines at their byte offsets)."""
    root.mkdir()
    header = "  1 This is a tiny test database\n"
    synsets = ["sofa couch lounge", "bed", "bicycle bike wheel"]
    data, offsets = header, []
    for words in synsets:
        offsets.append(len(data.encode()))
        names = words.split()
        body = " ".join(f"{w} 0" for w in names)
        data += f"{offsets[-1]:08d} 06 n {len(names):02x} {body} 000 | gloss\n"
    (root / "data.noun").write_text(data)
    index = {}
    for off, words in zip(offsets, synsets, strict=True):
        for w in words.split():
            index.setdefault(w, []).append(off)
    lines = [header.rstrip("\n")] + [f"{w} n {len(o)} 0 {len(o)} 0 " + " ".join(f"{x:08d}" for x in o)
                                     for w, o in sorted(index.items())]
    (root / "index.noun").write_text("\n".join(lines) + "\n")
    (root / "noun.exc").write_text("beds bed\n")
    for pos in ("verb", "adj", "adv"):
        (root / f"index.{pos}").write_text(header)
    return offsets


def test_wordnet_on_written_files(tmp_path):
    offsets = _write_wordnet(tmp_path / "wn")
    wn = WordNet(tmp_path / "wn")
    assert wn.synsets("couch", "n") == (offsets[0],)
    assert wn.lemmas(offsets[2], "n") == ("bicycle", "bike", "wheel")
    assert wn.base_forms("sofas", "n") == ("sofa",) and wn.base_forms("beds", "n") == ("bed",)
    norm = Normaliser(wn, ("sofa", "bed", "bicycle"), "n")
    assert [norm(w) for w in ("Couch", "bikes", "beds", "lounge", "table")] == \
        ["sofa", "bicycle", "bed", "sofa", None]
    with pytest.raises(InputError, match="wordnet-base"):
        wordnet(tmp_path / "nowhere")


def test_real_wordnet_normalises_answers():
    wn = wordnet()
    nouns = Normaliser(wn, DEFAULT_VOCABULARY.objects, "n")
    assert [nouns(w) for w in ("couch", "bike", "automobile", "telephone")] == \
        ["sofa", "bicycle", "car", "phone"]
    verbs = Normaliser(wn, DEFAULT_VOCABULARY.action_lemmas, "v")
    assert [verbs(w) for w in ("ate", "sat", "drove", "reading")] == ["eat", "sit", "drive", "read"]
