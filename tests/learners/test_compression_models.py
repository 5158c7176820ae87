"""The paper's networks, named-array models and compressing a shipped Meta-PDE initialization."""

import jax
import numpy as np
import pytest

from morphax._core import InputError
from morphax.learners.compression import (
    LeNet5,
    LeNet300,
    compress_arrays,
    load_compressed,
    load_named,
    load_npz,
    named_arrays,
    save_npz,
)


def test_lenets_have_the_papers_parameter_counts_and_shapes():
    for cls, count in ((LeNet300, 266_610), (LeNet5, 431_080)):
        model = cls(key=jax.random.key(0))
        assert sum(a.size for a in named_arrays(model).values()) == count
        out = jax.eval_shape(model, jax.ShapeDtypeStruct((3, 784), jax.numpy.float32))
        assert out.shape == (3, 10) and out.dtype == jax.numpy.float32


def test_named_arrays_round_trip_through_npz_and_refuse_other_architectures(tmp_path):
    model = LeNet5(key=jax.random.key(0))
    save_npz(tmp_path / "m.npz", model)
    arrays = load_npz(tmp_path / "m.npz")
    assert list(arrays)[:2] == ["conv1.weight", "conv1.bias"]
    back = load_named(LeNet5(key=jax.random.key(1)), arrays)
    x = np.random.default_rng(0).uniform(size=(2, 784))
    np.testing.assert_array_equal(back(x), model(x))
    with pytest.raises(InputError, match="do not match"):
        load_named(LeNet300(key=jax.random.key(0)), arrays)


def test_shipped_meta_pde_initialization_compresses_and_loads_back(tmp_path):
    meta_pde = pytest.importorskip("morphax.learners.meta_pde")
    source = meta_pde.pretrained_dir() / "poisson_maml.npz"
    report = compress_arrays(load_npz(source), tmp_path / "p.mxc", method="ptq8")
    assert {r["name"] for r in report} >= {"meta", "leaf_000"}
    save_npz(tmp_path / "p.npz", load_compressed(tmp_path / "p.mxc"))
    assert (tmp_path / "p.mxc").stat().st_size < source.stat().st_size / 3
    fam = meta_pde.PoissonFamily()
    x = fam.eval_points(fam.held_out(1)[0], 200, seed=0)
    ref = np.asarray(fam.predict(meta_pde.load_init(source).model, x))
    got = np.asarray(fam.predict(meta_pde.load_init(tmp_path / "p.npz").model, x))
    assert np.linalg.norm(got - ref) < 0.05 * np.linalg.norm(ref)
