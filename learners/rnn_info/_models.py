"""GRU / LSTM sequence models with a next-step likelihood, optionally with Gaussian noise
injected into the hidden state at every step (the paper's noise-trained RNNs).

Reading x_0 ... x_t gives the hidden state h_t, which predicts x_{t+1}:
* output "gaussian": a diagonal Gaussian (mean, log std) over the next observation (d,);
* output "stroke": for stroke-3 steps (dx, dy, pen_lift), a diagonal Gaussian over (dx, dy)
  and a Bernoulli over pen_lift.
All likelihoods are in nats.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from morphax._core import InputError

CELLS = ("gru", "lstm")
"""The recurrent cell types of `SequenceRNN`."""
OUTPUTS = ("gaussian", "stroke")
NOISE_MODES = ("recurrent", "readout")
"""Where hidden-state noise goes: inside the recurrence at every step, or only into the h_t
that predicts the next step."""


class SequenceRNN(eqx.Module):
    """A GRU or LSTM (`hidden` units) with a linear likelihood head.

    `hidden_states` returns the representation h_t (for the LSTM, its output h_t, not the
    cell state), bounded in [-1, 1] by the cells' tanh, so an added noise level sigma means
    the same for every model.
    """

    cell: eqx.Module
    head: eqx.nn.Linear
    cell_type: str = eqx.field(static=True)
    output: str = eqx.field(static=True)
    hidden: int = eqx.field(static=True)

    def __init__(self, in_size: int, hidden: int = 32, *, cell: str = "gru",
                 output: str = "gaussian", key: jax.Array):
        if cell not in CELLS:
            raise InputError(f"cell must be one of {CELLS}, got {cell!r}")
        if output not in OUTPUTS:
            raise InputError(f"output must be one of {OUTPUTS}, got {output!r}")
        if output == "stroke" and in_size != 3:
            raise InputError(f"stroke output needs stroke-3 inputs (in_size 3), got {in_size}")
        k1, k2 = jax.random.split(key)
        make = eqx.nn.GRUCell if cell == "gru" else eqx.nn.LSTMCell
        self.cell = make(in_size, hidden, key=k1)
        self.head = eqx.nn.Linear(hidden, 5 if output == "stroke" else 2 * in_size, key=k2)
        self.cell_type, self.output, self.hidden = cell, output, hidden

    def _init_state(self):
        h = jnp.zeros((self.hidden,), self.head.weight.dtype)
        return (h, h) if self.cell_type == "lstm" else h

    def hidden_states(self, xs: jax.Array, *, noise: float = 0.0, key: jax.Array | None = None
                      ) -> jax.Array:
        """Hidden states (T, hidden) after reading each of xs (T, in_size) (same dtype as the
        parameters); given a `key`, noise * N(0, I) is added to h at every step inside the
        recurrence (noise may be a traced scalar)."""
        shape = (xs.shape[0], self.hidden)
        eps = (jnp.zeros(shape, xs.dtype) if key is None
               else noise * jax.random.normal(key, shape, xs.dtype))

        def step(state, inputs):
            x, e = inputs
            new = self.cell(x, state)
            if self.cell_type == "lstm":
                h = new[0] + e
                return (h, new[1]), h
            h = new + e
            return h, h

        _, hs = jax.lax.scan(step, self._init_state(), (xs, eps))
        return hs

    def step_nll(self, h: jax.Array, target: jax.Array) -> jax.Array:
        """-log p(target | h) in nats for one step: h (hidden,), target (in_size,)."""
        out = self.head(h)
        if self.output == "gaussian":
            d = target.shape[0]
            mean, log_std = out[:d], jnp.clip(out[d:], -7.0, 5.0)
            return jnp.sum(0.5 * ((target - mean) / jnp.exp(log_std)) ** 2 + log_std
                           + 0.5 * math.log(2 * math.pi))
        mean, log_std = out[:2], jnp.clip(out[2:4], -7.0, 5.0)
        gauss = jnp.sum(0.5 * ((target[:2] - mean) / jnp.exp(log_std)) ** 2 + log_std
                        + 0.5 * math.log(2 * math.pi))
        pen = jax.nn.softplus(out[4]) - target[2] * out[4]
        return gauss + pen

    def predict_mean(self, h: jax.Array) -> jax.Array:
        """The predicted mean of the next step (in_size,) (for strokes, pen = P(lift))."""
        out = self.head(h)
        if self.output == "gaussian":
            return out[: out.shape[0] // 2]
        return jnp.concatenate([out[:2], jax.nn.sigmoid(out[4:5])])


def sequence_nll(model: SequenceRNN, xs: jax.Array, mask: jax.Array | None = None, *,
                 noise: float = 0.0, noise_mode: str = "recurrent",
                 key: jax.Array | None = None) -> jax.Array:
    """Mean next-step negative log-likelihood in nats per predicted step.

    Args:
        xs: (B, T, in_size) sequences; step t+1 is predicted from h_t.
        mask: (B, T) 1 where a step is real (padding 0), or None for all real.
        noise: hidden-state noise sigma (used only with a `key`; may be a traced scalar).
        noise_mode: "recurrent" adds the noise inside the recurrence at every step;
            "readout" keeps the recurrence deterministic and predicts from h_t + sigma e_t,
            the same stochastic representation z = h(past) + sigma e that is measured.
    """
    if noise_mode not in NOISE_MODES:
        raise InputError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")

    def one(x, k):
        if k is None:
            hs = model.hidden_states(x)
        elif noise_mode == "recurrent":
            hs = model.hidden_states(x, noise=noise, key=k)
        else:
            hs = model.hidden_states(x)
            hs = hs + noise * jax.random.normal(k, hs.shape, hs.dtype)
        return jax.vmap(model.step_nll)(hs[:-1], x[1:])

    if key is None:
        terms = jax.vmap(lambda x: one(x, None))(xs)     # (B, T - 1)
    else:
        terms = jax.vmap(one)(xs, jax.random.split(key, xs.shape[0]))
    if mask is None:
        return jnp.mean(terms)
    m = mask[:, 1:].astype(terms.dtype)
    return jnp.sum(terms * m) / jnp.maximum(jnp.sum(m), 1.0)


@eqx.filter_jit
def final_hidden(model: SequenceRNN, xs: jax.Array, lengths: jax.Array | None = None
                 ) -> jax.Array:
    """Noise-free representations h(past): (B, hidden) for xs (B, T, in_size), taken after
    the last step, or after step lengths[b] - 1 for padded sequences."""
    hs = jax.vmap(model.hidden_states)(xs)               # (B, T, hidden)
    if lengths is None:
        return hs[:, -1, :]
    idx = jnp.clip(lengths - 1, 0, xs.shape[1] - 1)
    return jnp.take_along_axis(hs, idx[:, None, None], axis=1)[:, 0, :]


def generate(model: SequenceRNN, prefix: jax.Array, length: int, *, noise: float = 0.0,
             key: jax.Array) -> jax.Array:
    """Continue sequences with a "gaussian" model: read prefix (B, P, in_size), then sample
    `length` further steps, feeding each sample back in (readout noise sigma = noise on the
    state that predicts). Returns the sampled continuation (B, length, in_size)."""
    if model.output != "gaussian":
        raise InputError("generate samples Gaussian-output models; stroke sampling is not built")
    if prefix.ndim != 3 or prefix.shape[1] < 1 or length < 1:
        raise InputError(f"prefix must be (B, P >= 1, in_size) and length >= 1, got "
                         f"{prefix.shape}, {length}")
    d = prefix.shape[2]

    def sample_next(h, k):
        ka, kb = jax.random.split(k)
        out = model.head(h + noise * jax.random.normal(ka, h.shape, h.dtype))
        return out[:d] + jnp.exp(jnp.clip(out[d:], -7.0, 5.0)) * jax.random.normal(
            kb, (d,), h.dtype)

    def one(xs, k):
        state = model._init_state()

        def read(state, x):
            new = model.cell(x, state)
            return new, None

        state, _ = jax.lax.scan(read, state, xs)

        def step(state, k_t):
            h = state[0] if model.cell_type == "lstm" else state
            x = sample_next(h, k_t)
            return model.cell(x, state), x

        _, out = jax.lax.scan(step, state, jax.random.split(k, length))
        return out

    return jax.vmap(one)(prefix, jax.random.split(key, prefix.shape[0]))
