# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Why is this person doing that? Motivations from images and text
#
# This tutorial follows Vondrick, Oktay, Pirsiavash and Torralba, *Predicting Motivations of
# Actions by Leveraging Text* (CVPR 2016). A person in an image is described by four discrete
# variables: the action $a$, the object $o$, the scene $s$, and the motivation $m$ ("he is
# sitting on the sofa in the living room because he wants to watch television"). A factor
# graph scores every joint state,
#
# $$E(a, o, s, m \mid f) = \sum_v (W_v f + b_v)[x_v] + \sum_k \lambda_k T_k[x_k],$$
#
# with visual unaries on image features $f$ and language factors $T_k$: log-probabilities that
# an English trigram model (CMU's, shipped offline by Debian `pocketsphinx-en-us`) gives to
# templated sentences such as "he uses the phone to call his mother". Inference over the
# $9 \times 10 \times 6 \times 14 = 7{,}560$ joint states is exact.
#
# **The data are synthetic.** The paper's dataset is not available offline, so images are
# rendered: the scene as a grating, the object as a real handwritten MNIST digit (digit $k$
# stands for object $k$), the action as a stick figure. The motivation is never drawn; it is
# linked to action, object and scene by a hand-written commonsense table (`SCRIPTS`).
#
# `morphax tutorial run motivations --quick` uses a small recognition pool and training set;
# pictures go to `OUT`.

# %%
import pathlib

import jax
import matplotlib.pyplot as plt
import numpy as np

from morphax.learners import vision as V

# Set by `morphax tutorial run motivations [--quick] [--out DIR]`; in a notebook, edit them.
QUICK = globals().get("QUICK", True)
OUT = pathlib.Path(globals().get("OUT", "tutorial-out/motivations"))
OUT.mkdir(parents=True, exist_ok=True)
SIZE = (dict(pool=400, steps=80, train=120, test=200) if QUICK
        else dict(pool=4000, steps=800, train=200, test=2000))
vocab = V.DEFAULT_VOCABULARY

# %% [markdown]
# ## Knowledge from text
#
# We read the binary trigram model with our own reader, keep the n-grams over the words the
# templates use (exact for those sentences) and score every templated sentence with an ARPA
# back-off scorer. Each language factor is the table of centred log-probabilities.

# %%
lm = V.read_sphinx_trie(V.english_lm_path()).restrict(V.template_words(vocab))
scorer = V.SentenceScorer(lm, cache=OUT / "sentence_scores.json")
tables = V.language_potentials(vocab, scorer)
om = tables[("object", "motivation")]
for obj in ("phone", "bed", "coffee"):
    best = np.argsort(-om[vocab.objects.index(obj)])[:3]
    print(f"the {obj}: " + ", ".join(vocab.motivations[i] for i in best))
print("paper's 'because he wants to' template, largest coupling under a trigram:",
      f"{V.paper_template_spread(vocab, scorer):.1e}")

# %% [markdown]
# ## Visual features
#
# A small CNN learns action, object and scene from a recognition pool (no motivations), as
# ImageNet/Places CNNs do in the paper. Its per-head log-probabilities are the features $f$.

# %%
train_digits, test_digits = V.split_digits(V.mnist_digits())
pool = V.sample_labels(SIZE["pool"], key=jax.random.key(0), with_motivation=False)
cnn = V.train_cnn(V.render(pool, train_digits, key=jax.random.key(1)), pool, vocab.shape[:3],
                  key=jax.random.key(2), config=V.CNNConfig(steps=SIZE["steps"], batch=32))
train = V.sample_labels(SIZE["train"], key=jax.random.key(3))
train_f = V.cnn_features(cnn, V.render(train, train_digits, key=jax.random.key(4)))
test = V.sample_labels(SIZE["test"], key=jax.random.key(5))
test_images = V.render(test, test_digits, key=jax.random.key(6))
test_f = V.cnn_features(cnn, test_images)

# %% [markdown]
# ## Maximum likelihood and exact inference
#
# We fit the weights by maximum likelihood with and without the language factors and rank the
# 14 motivations of held-out people by their marginal probability.

# %%
models = {s: V.fit_crf(train_f, train, tables, vocab.shape, setting=s)
          for s in ("vision", "joint")}
probs = {s: V.predict(m, test_f, tables, setting=s)[3] for s, m in models.items()}
for s, p in probs.items():
    metrics = V.rank_metrics(p, test[:, 3])
    print(f"{s:7s} mean rank {metrics['mean_rank']:.2f}  top-5 {metrics['top5']:.2f}")
margs, ref_map, _ = V.brute_force(models["joint"], test_f[0], tables)
print("exact marginals equal brute force:",
      np.allclose(np.asarray(probs["joint"][0]), margs[3], atol=1e-10))

# %% [markdown]
# ## Images with their top predicted motivations

# %%
fig, axes = plt.subplots(2, 4, figsize=(12, 8.4))
for i, ax in enumerate(axes.ravel()):
    ax.imshow(test_images[i])
    ax.set_axis_off()
    top = np.argsort(-np.asarray(probs["joint"][i]))[:3]
    a, o, s, m = test[i]
    lines = [f"truth: {vocab.actions[a]} {vocab.objects[o]}, {vocab.scenes[s]}",
             f"-> {vocab.motivations[m]}"]
    lines += [f"{k + 1}. {vocab.motivations[j]} ({float(probs['joint'][i, j]):.2f})"
              for k, j in enumerate(top)]
    ax.set_title("\n".join(lines), fontsize=7, loc="left")
fig.suptitle("Synthetic people: top-3 motivations from vision + language")
fig.tight_layout()
fig.savefig(OUT / "predictions.png", dpi=100)
plt.close(fig)
print("wrote", OUT / "predictions.png")
