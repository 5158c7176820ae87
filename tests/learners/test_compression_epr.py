"""Entropy-penalized reparameterization: decoders, priors, straight-through gradients, the
rate relaxation, training, and the trained model's file round trip."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax._core import InputError
from morphax.learners.compression import (
    EPR,
    EPRConfig,
    FactorizedDensity,
    LogisticDensity,
    bin_mass,
    bits,
    epr_tensors,
    load_compressed,
    named_arrays,
    quantized_arrays,
    round_st,
    save_compressed,
    train_epr,
)
from morphax.learners.compression._priors import tabulated_bits


class _Tiny(eqx.Module):
    conv: eqx.nn.Conv2d
    fc: eqx.nn.Linear

    def __init__(self, *, key):
        k1, k2 = jax.random.split(key)
        self.conv = eqx.nn.Conv2d(1, 4, 3, key=k1)
        self.fc = eqx.nn.Linear(4 * 6 * 6, 3, key=k2)

    def __call__(self, x):
        return jax.vmap(lambda v: self.fc(jnp.tanh(self.conv(v.reshape(1, 8, 8))).reshape(-1)))(x)


def _loss(model, batch):
    x, y = batch
    logits = model(x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def _data(n=96):
    x = jax.random.normal(jax.random.key(5), (n, 64))
    y = (jnp.sum(x[:, :32], axis=1) > 0).astype(jnp.int32) + (x[:, 0] > 1).astype(jnp.int32)
    return x, y


def test_round_st_rounds_forward_and_passes_gradients_straight_through():
    x = jnp.array([0.2, 1.7, -2.5001])
    np.testing.assert_array_equal(round_st(x), jnp.round(x))
    np.testing.assert_array_equal(jax.grad(lambda v: jnp.sum(3.0 * round_st(v)))(x), 3.0)


def test_decoders_reproduce_the_initial_weights_before_rounding():
    model = _Tiny(key=jax.random.key(0))
    epr = EPR.from_model(model, key=jax.random.key(1))
    kinds = {n: c.kind for n, c in zip(epr.names, epr.codes, strict=True)}
    assert kinds == {"conv.weight": "dft", "conv.bias": "affine", "fc.weight": "affine",
                     "fc.bias": "affine"}
    for code, (name, theta) in zip(epr.codes, named_arrays(model).items(), strict=True):
        np.testing.assert_allclose(code.decode(code.latent), theta, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("prior_cls", [FactorizedDensity, LogisticDensity])
def test_priors_are_normalised_and_tabulation_is_exact_on_integers(prior_cls):
    prior = prior_cls(key=jax.random.key(0), init_scale=3.0)
    grid = jnp.arange(-400.0, 401.0)
    assert abs(float(jnp.sum(bin_mass(prior, grid))) - 1.0) < 1e-6
    ints = jnp.arange(-20.0, 21.0)
    np.testing.assert_allclose(tabulated_bits(prior, ints), bits(prior, ints), rtol=1e-9)


def test_straight_through_gradient_is_step_times_weight_gradient():
    model = _Tiny(key=jax.random.key(0))
    epr = EPR.from_model(model, key=jax.random.key(1))
    batch = _data(16)
    grads = jax.grad(lambda e: _loss(e.model(), batch))(epr)
    wgrads = jax.grad(_loss)(epr.model(), batch)
    code = epr.codes[2]       # fc.weight, affine
    np.testing.assert_allclose(grads.codes[2].latent,
                               jnp.exp(code.log_step) * wgrads.fc.weight.ravel(), rtol=1e-10)


def test_unknown_prior_is_an_input_error():
    with pytest.raises(InputError, match="prior"):
        EPR.from_model(_Tiny(key=jax.random.key(0)), key=jax.random.key(1), prior="laplace")
    with pytest.raises(InputError, match="lam"):
        EPRConfig(lam=-1.0)


@pytest.mark.parametrize("prior", ["factorized", pytest.param("logistic", marks=pytest.mark.slow)])
def test_training_trades_bits_for_loss_and_the_file_round_trips_bit_exactly(tmp_path, prior):
    model = _Tiny(key=jax.random.key(0))
    data = _data()
    epr0 = EPR.from_model(model, key=jax.random.key(1), prior=prior)
    results = {}
    for lam in (0.0, 5.0):
        epr, _ = train_epr(epr0, _loss, data, config=EPRConfig(lam=lam, steps=100, batch_size=32),
                           key=jax.random.key(2))
        results[lam] = float(epr.rate_bits())
    assert results[5.0] < 0.7 * results[0.0]
    path = tmp_path / "tiny.mxc"
    report = save_compressed(path, epr)
    arrays = load_compressed(path)
    expected = quantized_arrays(epr_tensors(epr))
    for name, value in expected.items():
        assert arrays[name].dtype == value.dtype and arrays[name].tobytes() == value.tobytes()
    # the decoded model is the trained quantised model
    decoded = load_compressed(path, model)
    np.testing.assert_allclose(decoded(data[0]), epr.model()(data[0]), rtol=1e-5, atol=1e-5)
    # the coded bits are what the stored tables promise (within 1 % plus the coder's flush)
    for r in report:
        assert 8 * r["payload_bytes"] <= 1.01 * r["ideal_bits"] + 64
    # and close to the model's own entropy estimate
    payload = 8 * sum(r["payload_bytes"] for r in report)
    assert payload <= 1.05 * results[5.0] + 64 * len(report)
