"""GRU/LSTM sequence models, training, probes, sketches and the Quick, Draw! loader."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from morphax._core import DataError, InputError
from morphax.learners.rnn_info import (
    SKETCH_CLASSES,
    SequenceRNN,
    TrainConfig,
    autocovariance,
    drawing_to_stroke3,
    final_hidden,
    generate,
    heldout_nll,
    linear_probe_accuracy,
    load_quickdraw_ndjson,
    optimal_nll,
    ornstein_uhlenbeck,
    pad_sketches,
    procedural_sketches,
    sequence_nll,
    simulate,
    train_rnn,
)


def test_gaussian_nll_matches_formula_and_hidden_is_bounded():
    model = SequenceRNN(1, 8, cell="lstm", key=jax.random.key(0))
    xs = jax.random.normal(jax.random.key(1), (3, 6, 1))
    hs = jax.vmap(model.hidden_states)(xs)
    assert hs.shape == (3, 6, 8) and float(jnp.max(jnp.abs(hs))) <= 1.0
    out = jax.vmap(jax.vmap(model.head))(hs[:, :-1])
    mean, log_std = out[..., :1], out[..., 1:]
    want = jnp.mean(0.5 * ((xs[:, 1:] - mean) / jnp.exp(log_std)) ** 2 + log_std
                    + 0.5 * math.log(2 * math.pi))
    assert float(sequence_nll(model, xs)) == pytest.approx(float(want), rel=1e-10)
    assert final_hidden(model, xs).shape == (3, 8)
    assert np.allclose(final_hidden(model, xs), hs[:, -1])


def test_mask_ignores_padding():
    model = SequenceRNN(3, 8, output="stroke", key=jax.random.key(0))
    sk, _ = procedural_sketches(4, seed=1)
    data, mask, lengths, _ = pad_sketches(sk, 40)
    garbage = jnp.asarray(data) + 5.0 * (1 - jnp.asarray(mask))[..., None]
    a = sequence_nll(model, jnp.asarray(data), jnp.asarray(mask))
    b = sequence_nll(model, garbage, jnp.asarray(mask))
    assert float(a) == pytest.approx(float(b), rel=1e-12)
    assert np.allclose(final_hidden(model, jnp.asarray(data), jnp.asarray(lengths)),
                       final_hidden(model, garbage, jnp.asarray(lengths)))


def test_ml_training_approaches_the_exact_optimum():
    sde = ornstein_uhlenbeck(rate=5.0, dt=0.05)
    train = simulate(sde, 512, 12, key=jax.random.key(0))[..., None]
    test = simulate(sde, 512, 12, key=jax.random.key(1))[..., None]
    model = SequenceRNN(1, 8, key=jax.random.key(2))
    before = heldout_nll(model, test)
    res = train_rnn(model, train, config=TrainConfig(steps=300, batch=32, lr=1e-2),
                    key=jax.random.key(3))
    best = optimal_nll(autocovariance(sde, 11))
    after = heldout_nll(res.model, test)
    assert after < before - 0.3
    assert best - 0.05 < after < best + 0.15     # sampling noise of 512 x 11 steps ~ 0.02
    noisy = train_rnn(model, train, config=TrainConfig(steps=5, batch=32, lr=1e-2, noise=0.3),
                      key=jax.random.key(3))
    assert np.all(np.isfinite(noisy.losses))


def test_linear_probe_separates_separable_classes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    feats = np.eye(3)[labels] * 4 + rng.normal(size=(300, 3)) * 0.3
    acc = linear_probe_accuracy(jnp.asarray(feats[:200]), jnp.asarray(labels[:200]),
                                jnp.asarray(feats[200:]), jnp.asarray(labels[200:]))
    assert acc > 0.97


def test_procedural_sketches_are_stroke3():
    sk, labels = procedural_sketches(30, seed=0)
    assert len(sk) == 30 and labels.max() < len(SKETCH_CLASSES)
    for s, lab in zip(sk, labels, strict=True):
        assert s.shape[1] == 3 and s[-1, 2] == 1
        lifts = int(s[:, 2].sum())
        assert lifts == (2 if SKETCH_CLASSES[lab] == "cross" else 1)


def test_quickdraw_loader_on_written_file(tmp_path):
    drawing = [[[10, 20, 30], [5, 5, 15]], [[0, 4], [0, 8], [0, 120]]]
    path = tmp_path / "cat.ndjson"
    lines = [json.dumps({"word": "cat", "countrycode": "US", "recognized": True,
                         "drawing": drawing}), "", json.dumps({"word": "dog", "drawing": drawing})]
    path.write_text("\n".join(lines) + "\n")
    sketches, words = load_quickdraw_ndjson(path)
    assert words == ["cat", "dog"]
    want = np.array([[10, 5, 0], [10, 0, 0], [10, 10, 1], [-30, -15, 0], [4, 8, 1]], float)
    assert np.array_equal(sketches[0], want)
    assert np.array_equal(np.cumsum(sketches[0][:3, :2], axis=0), [[10, 5], [20, 5], [30, 15]])
    assert len(load_quickdraw_ndjson(path, max_items=1)[0]) == 1


@pytest.mark.parametrize("bad", ["{not json", json.dumps({"word": "x"}),
                                 json.dumps({"drawing": [[[1, 2], [3]]]}),
                                 json.dumps({"drawing": [[["a"], ["b"]]]})])
def test_quickdraw_loader_rejects_damaged_lines(tmp_path, bad):
    path = tmp_path / "bad.ndjson"
    path.write_text(json.dumps({"word": "ok", "drawing": [[[0, 1], [0, 1]]]}) + "\n" + bad + "\n")
    with pytest.raises(DataError, match="line 2"):
        load_quickdraw_ndjson(path)


def test_input_errors():
    with pytest.raises(InputError):
        SequenceRNN(1, 4, cell="rnn", key=jax.random.key(0))
    with pytest.raises(InputError):
        TrainConfig(noise_mode="everywhere")
    with pytest.raises(InputError):
        drawing_to_stroke3([])
    with pytest.raises(InputError, match="not found"):
        load_quickdraw_ndjson("/nonexistent/file.ndjson")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40),
                          st.recursive(st.none() | st.integers() | st.floats() | st.text(max_size=5),
                                       lambda c: st.lists(c, max_size=4)
                                       | st.dictionaries(st.sampled_from(["word", "drawing"]), c,
                                                         max_size=2),
                                       max_leaves=12).map(json.dumps)),
                min_size=1, max_size=4))
def test_quickdraw_loader_reads_or_raises_data_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("qd") / "any.ndjson"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        sketches, words = load_quickdraw_ndjson(path)
    except DataError:
        return
    assert len(sketches) == len(words) >= 1
    assert all(s.ndim == 2 and s.shape[1] == 3 and np.all(np.isfinite(s)) for s in sketches)


def test_quickdraw_loader_rejects_binary(tmp_path):
    path = tmp_path / "bin.ndjson"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="UTF-8"):
        load_quickdraw_ndjson(path)


def test_generate_continues_from_the_prefix_state():
    model = SequenceRNN(1, 8, key=jax.random.key(0))
    prefix = jnp.broadcast_to(jnp.linspace(-1, 1, 5)[None, :, None], (4000, 5, 1))
    out = generate(model, prefix, 3, key=jax.random.key(1))
    assert out.shape == (4000, 3, 1)
    h = model.hidden_states(prefix[0])[-1]
    std = float(jnp.exp(model.head(h)[1]))
    mean = float(model.predict_mean(h)[0])
    assert float(jnp.mean(out[:, 0, 0])) == pytest.approx(mean, abs=4 * std / np.sqrt(4000))
    assert float(jnp.std(out[:, 0, 0])) == pytest.approx(std, rel=0.05)
