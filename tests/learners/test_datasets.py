"""The learners' shared offline data: Debian's Fashion-MNIST is found where the package puts
it, and MNIST 5k splits the same way for every learner."""

import numpy as np

from morphax.learners._datasets import (
    fashion_mnist_available,
    load_fashion_mnist,
    mnist_5k_split,
)


def test_fashion_mnist_is_read_from_the_debian_package():
    # .ci/run installs dataset-fashion-mnist; the loader must find it without a directory
    assert fashion_mnist_available()
    x, y = load_fashion_mnist("test")
    assert x.shape == (10000, 784) and x.dtype == np.float32 and 0.0 <= x.min() < x.max() <= 1.0
    assert sorted(np.unique(y)) == list(range(10))


def test_mnist_5k_split_is_seeded_and_disjoint():
    a = mnist_5k_split(test_size=1000, seed=0)
    b = mnist_5k_split(test_size=1000, seed=0)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert a[0].shape == (4000, 784) and a[2].shape == (1000, 784)
    train_rows = {r.tobytes() for r in a[0][:500]}
    assert not any(r.tobytes() in train_rows for r in a[2])
