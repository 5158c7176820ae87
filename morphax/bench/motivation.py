"""`morphax bench motivation`: predicting why a person acts (Vondrick, Oktay, Pirsiavash, Torralba,
CVPR 2016) on a SYNTHETIC benchmark (the paper's dataset is not available offline).

What it runs (sizes: full / --quick):

* Language: the CMU US English trigram model (Debian pocketsphinx-en-us or the pocketsphinx
  wheel), read by our own trie reader, restricted to the template words and scored with our
  ARPA back-off scorer; templated sentences become the pairwise and triple language factors.
  Reported: the number of sentences, how much the paper's "because he wants to" template
  couples the motivation with the rest under a trigram (it cannot: 0), and the correlation of
  the triple (action, object, motivation) factor with the (object, motivation) pair.
* Vision: a small CNN trained on a recognition pool of 4000 / 2000 rendered images (action,
  object, scene labels only) for 800 / 250 Adam steps; its head log-probabilities are the
  features.
* Motivation: factor graphs fitted by maximum likelihood on 14, 25, 50, 100, 200, 400 /
  14, 50, 200 labelled images (3 / 1 seeds), tested on 1500 / 600 held-out images drawn with
  unseen handwriting; rank of the true motivation (mean, median, top-1, top-5) for vision only,
  language only, vision + language, and the oracle (true action, object, scene given).
* Exact inference: sum-product marginals, log Z and the max-product MAP against brute-force
  enumeration on a few test images.
* WordNet: 3 simulated annotators per person answer with WordNet synonyms; the loader maps the
  answers back onto the vocabulary; fraction of people recovered exactly.

Headline summary keys (at 50 training images): vision_rank, language_rank, joint_rank,
oracle_rank and the matching *_top5, joint_minus_vision (paired mean rank difference) with its
standard error.
"""

from __future__ import annotations

import pathlib
import sys
import time

import numpy as np

HEADLINE_TRAIN = 50
SIZES = {True: dict(pool=2000, steps=250, test=600, train=(14, 50, 200), seeds=1),
         False: dict(pool=4000, steps=800, test=1500, train=(14, 25, 50, 100, 200, 400),
                     seeds=3)}
_T0 = [time.perf_counter()]


def _log(progress, msg):
    if progress:
        print(f"[bench motivation {time.perf_counter() - _T0[0]:7.1f} s] {msg}", file=sys.stderr,
              flush=True)


def _language(out: pathlib.Path):
    from morphax.learners import vision as V

    path = V.english_lm_path()
    start = time.perf_counter()
    model = V.read_sphinx_trie(path).restrict(V.template_words(V.DEFAULT_VOCABULARY))
    scorer = V.SentenceScorer(model, model_id=f"{path}:{path.stat().st_size}",
                              cache=out / "sentence_scores.json")
    tables = V.language_potentials(V.DEFAULT_VOCABULARY, scorer)
    pair, triple = tables[("object", "motivation")], tables[("action", "object", "motivation")]
    corr = np.corrcoef(np.broadcast_to(pair[None], triple.shape).ravel(), triple.ravel())[0, 1]
    record = {"kind": "language", "lm": str(path), "ngrams_kept": len(model.prob),
              "sentences": sum(t.size for t in tables.values()),
              "paper_template_spread_log10": V.paper_template_spread(V.DEFAULT_VOCABULARY, scorer),
              "triple_vs_object_pair_corr": float(corr),
              "seconds": time.perf_counter() - start}
    return tables, record


def _vision(size: dict, progress: bool):
    import jax

    from morphax.learners import vision as V

    vocab = V.DEFAULT_VOCABULARY
    train_digits, test_digits = V.split_digits(V.mnist_digits())
    pool = V.sample_labels(size["pool"], key=jax.random.key(0), with_motivation=False)
    images = V.render(pool, train_digits, key=jax.random.key(1))
    start = time.perf_counter()
    cnn = V.train_cnn(images, pool, vocab.shape[:3], key=jax.random.key(2),
                      config=V.CNNConfig(steps=size["steps"]))
    _log(progress, f"CNN trained in {time.perf_counter() - start:.1f} s")
    test = V.sample_labels(size["test"], key=jax.random.key(3))
    test_f = V.cnn_features(cnn, V.render(test, test_digits, key=jax.random.key(4)))
    bounds = np.cumsum((0,) + vocab.shape[:3])
    acc = {v: float(np.mean(test_f[:, bounds[i]:bounds[i + 1]].argmax(1) == test[:, i]))
           for i, v in enumerate(("action", "object", "scene"))}
    record = {"kind": "recognition", "pool": size["pool"], "steps": size["steps"],
              "seconds": time.perf_counter() - start, **{f"{k}_accuracy": a for k, a in acc.items()}}
    return cnn, train_digits, (test, test_f), record


def _fit_and_rank(cnn, digits, test, tables, n: int, seed: int):
    import jax

    from morphax.learners import vision as V

    vocab = V.DEFAULT_VOCABULARY
    labels = V.sample_labels(n, key=jax.random.key(100 + 7 * seed + n))
    feats = V.cnn_features(cnn, V.render(labels, digits, key=jax.random.key(200 + 7 * seed + n)))
    test_labels, test_f = test
    records, ranks = [], {}
    for setting in ("vision", "language", "joint", "oracle"):
        start = time.perf_counter()
        if setting != "oracle":
            crf = V.fit_crf(feats, labels, tables, vocab.shape, setting=setting)
        prob = V.predict(crf, test_f, tables, setting=setting, clamp=test_labels[:, :3])[3]
        ranks[setting] = np.asarray(V.motivation_ranks(prob, test_labels[:, 3]))
        records.append({"kind": "motivation", "setting": setting, "n_train": n, "seed": seed,
                        "n_test": len(test_labels), **V.rank_metrics(prob, test_labels[:, 3]),
                        "seconds": time.perf_counter() - start,
                        "language_weights": [float(x) for x in crf.lam]})
    return records, ranks, crf


def _exactness(crf, tables, features, count: int = 3) -> dict:
    import jax.numpy as jnp

    from morphax.learners import vision as V

    logj = V.log_joint(crf, jnp.asarray(features[:count]), {k: jnp.asarray(tables[k])
                                                            for k in crf.factors})
    margs, states, logz = V.marginals(logj), np.asarray(V.map_state(logj)), V.log_partition(logj)
    err_m, err_z, same_map = 0.0, 0.0, True
    for i in range(count):
        ref_m, ref_map, ref_z = V.brute_force(crf, features[i], tables)
        err_m = max(err_m, max(float(np.abs(np.asarray(margs[v][i]) - ref_m[v]).max())
                               for v in range(4)))
        err_z = max(err_z, abs(float(logz[i]) - ref_z))
        same_map &= tuple(int(x) for x in states[i]) == tuple(ref_map)
    return {"kind": "exactness", "images": count, "max_abs_marginal_error": err_m,
            "max_abs_logz_error": err_z, "map_equal": bool(same_map)}


def _annotation_roundtrip(out: pathlib.Path, labels: np.ndarray) -> dict:
    from morphax.learners import vision as V

    vocab, wn = V.DEFAULT_VOCABULARY, V.wordnet()
    rng = np.random.default_rng(0)

    def say(word, pos):
        offsets = wn.synsets(word, pos)
        options = wn.lemmas(offsets[0], pos) if offsets else (word,)
        return options[rng.integers(len(options))].replace("_", " ")

    images, boxes, answers = [], [], []
    for i, (a, o, s, m) in enumerate(labels):
        for _ in range(3):
            images.append(f"img{i:05d}.jpg")
            boxes.append((10, 20, 110, 220))
            answers.append((say(vocab.action_lemmas[a], "v"), say(vocab.objects[o], "n"),
                            say(vocab.scenes[s].replace(" ", "_"), "n"), vocab.motivations[m]))
    path = out / "annotations_synthetic.tsv"
    V.write_annotations(path, images, boxes, answers)
    loaded = V.load_annotations(path, vocab, wordnet=wn)
    order = np.array([int(name[3:8]) for name in loaded.images])
    exact = np.all(loaded.labels == labels[order], axis=1)
    verbatim = np.mean([a[1] == vocab.objects[labels[i // 3][1]] for i, a in enumerate(answers)])
    return {"kind": "annotations", "people": len(labels), "recovered": len(loaded.images),
            "exact_fraction": float(exact.sum() / len(labels)), "unmapped_answers": loaded.unmapped,
            "object_answers_verbatim": float(verbatim)}


def _summary(records, ranks_by_n) -> dict:
    head = [r for r in records if r.get("kind") == "motivation" and r["n_train"] == HEADLINE_TRAIN]
    summary = {"n_train": HEADLINE_TRAIN}
    names = {"vision": "vision", "language": "language", "joint": "joint", "oracle": "oracle"}
    for setting, key in names.items():
        rows = [r for r in head if r["setting"] == setting]
        summary[f"{key}_rank"] = float(np.mean([r["mean_rank"] for r in rows]))
        summary[f"{key}_top5"] = float(np.mean([r["top5"] for r in rows]))
    for n, ranks in ranks_by_n.items():
        diff = np.concatenate(ranks["joint"]) - np.concatenate(ranks["vision"])
        suffix = "" if n == HEADLINE_TRAIN else f"_n{n}"
        summary[f"joint_minus_vision{suffix}"] = float(diff.mean())
        summary[f"joint_minus_vision_se{suffix}"] = float(diff.std(ddof=1) / np.sqrt(len(diff)))
    return summary


def run(quick: bool, out: pathlib.Path, progress: bool) -> dict:
    _T0[0] = time.perf_counter()
    out = pathlib.Path(out)
    size = SIZES[bool(quick)]
    tables, lang = _language(out)
    _log(progress, f"language factors from {lang['sentences']} sentences")
    cnn, digits, test, recog = _vision(size, progress)
    records, ranks_by_n, crf = [lang, recog], {}, None
    for n in size["train"]:
        ranks_by_n[n] = {"vision": [], "joint": []}
        for seed in range(size["seeds"]):
            recs, ranks, crf = _fit_and_rank(cnn, digits, test, tables, n, seed)
            records += recs
            for key in ranks_by_n[n]:
                ranks_by_n[n][key].append(ranks[key])
            _log(progress, f"n_train {n} seed {seed}: " + ", ".join(
                f"{r['setting']} {r['mean_rank']:.2f}" for r in recs))
    records.append(_exactness(crf, tables, test[1]))
    records.append(_annotation_roundtrip(out, test[0][:100]))
    summary = _summary(records, ranks_by_n)
    exact = records[-2]
    summary.update(exact_max_marginal_error=exact["max_abs_marginal_error"],
                   exact_map_equal=exact["map_equal"],
                   paper_template_spread=lang["paper_template_spread_log10"],
                   object_accuracy=recog["object_accuracy"], action_accuracy=recog["action_accuracy"],
                   scene_accuracy=recog["scene_accuracy"],
                   annotations_exact=records[-1]["exact_fraction"])
    return {"records": records, "summary": summary}


def _curves(records):
    rows = [r for r in records if r.get("kind") == "motivation"]
    out = {}
    for setting in ("vision", "language", "joint", "oracle"):
        ns = sorted({r["n_train"] for r in rows if r["setting"] == setting})
        out[setting] = (ns, [[np.mean([r[k] for r in rows if r["setting"] == setting
                                       and r["n_train"] == n]) for n in ns]
                             for k in ("mean_rank", "top5")])
    return out


def plot(records, out: pathlib.Path) -> pathlib.Path:
    from morphax._core import new_figure, save_figure

    fig = new_figure(9.0, 3.6)
    axes = fig.subplots(1, 2)
    curves = _curves(records)
    for setting, (ns, (rank, top5)) in curves.items():
        axes[0].plot(ns, rank, "o-", label=setting)
        axes[1].plot(ns, top5, "o-", label=setting)
    for ax, name in zip(axes, ("mean rank of true motivation (lower is better)", "top-5 accuracy"),
                        strict=True):
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(curves["joint"][0], [str(n) for n in curves["joint"][0]])
        ax.set_xlabel("labelled training images")
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=8)
    fig.suptitle("Motivation prediction, synthetic benchmark (14 motivations)", fontsize=10)
    return save_figure(fig, pathlib.Path(out) / "motivation.png")


def table(records) -> str:
    rows = [r for r in records if r.get("kind") == "motivation"]
    paper = {"vision": "baseline", "language": "worse than V+L", "joint": "better than vision",
             "oracle": "best"}
    lines = ["| setting | paper (CVPR 2016, qualitative) | n_train | mean rank | median | top-1 "
             "| top-5 |", "|---|---|---|---|---|---|---|"]
    for setting in ("vision", "language", "joint", "oracle"):
        for n in sorted({r["n_train"] for r in rows}):
            sel = [r for r in rows if r["setting"] == setting and r["n_train"] == n]
            mean = {k: np.mean([r[k] for r in sel]) for k in ("mean_rank", "median_rank", "top1",
                                                              "top5")}
            lines.append(f"| {setting} | {paper[setting]} | {n} | {mean['mean_rank']:.2f} | "
                         f"{mean['median_rank']:.1f} | {mean['top1']:.3f} | {mean['top5']:.3f} |")
    return "\n".join(lines) + "\n"
