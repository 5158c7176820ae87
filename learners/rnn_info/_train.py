"""Maximum-likelihood training of the sequence RNNs (Adam, gradient clipping) and the
downstream probes: held-out likelihood and a linear probe on class labels."""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.linalg

from morphax._core import InputError

from ._models import NOISE_MODES, SequenceRNN, sequence_nll


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """steps of Adam (learning rate lr, cosine-decayed to lr / 20) on minibatches of `batch`
    sequences (drawn with replacement), global-norm clip `clip`, hidden-state noise sigma
    `noise` (0: maximum likelihood with a deterministic RNN) added inside the recurrence
    ("recurrent") or to the representation that predicts the next step ("readout"), see
    `sequence_nll`."""

    steps: int = 1500
    batch: int = 64
    lr: float = 3e-3
    clip: float = 1.0
    noise: float = 0.0
    noise_mode: str = "recurrent"

    def __post_init__(self):
        if self.steps < 1 or self.batch < 1:
            raise InputError(f"steps and batch must be >= 1, got {self.steps}, {self.batch}")
        if self.noise_mode not in NOISE_MODES:
            raise InputError(f"noise_mode must be one of {NOISE_MODES}, got {self.noise_mode!r}")
        if not (self.lr > 0 and self.clip > 0 and self.noise >= 0):
            raise InputError("lr and clip must be positive and noise >= 0, got "
                             f"{self.lr}, {self.clip}, {self.noise}")


@dataclasses.dataclass
class TrainResult:
    """The trained model and the minibatch NLL (nats per step) of every step."""

    model: SequenceRNN
    losses: np.ndarray


def train_rnn(model: SequenceRNN, data: jax.Array, mask: jax.Array | None = None, *,
              config: TrainConfig = TrainConfig(), key: jax.Array,
              progress: bool = False) -> TrainResult:
    """Fit `model` to sequences data (N, T, in_size) (mask (N, T) for padded ones) by
    minimising the next-step NLL, with config.noise injected into the hidden state."""
    if data.ndim != 3 or data.shape[1] < 2:
        raise InputError(f"data must be (sequences, steps >= 2, features), got {data.shape}")
    if not bool(jnp.all(jnp.isfinite(data))):
        raise InputError("data contains NaN or inf; clean or drop those sequences")
    static_config = dataclasses.replace(config, noise=0.0)
    params, static = eqx.partition(model, eqx.is_array)
    opt_state = _optimizer(static_config).init(params)
    full_mask = jnp.ones(data.shape[:2], data.dtype) if mask is None else mask
    noise = jnp.asarray(config.noise, data.dtype)
    losses = []
    keys = jax.random.split(key, config.steps)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.steps, desc=f"train {model.cell_type} sigma={config.noise}",
                   leave=False)
    for i in range(config.steps):
        params, opt_state, loss = _train_step(params, static, opt_state, keys[i], data, full_mask,
                                              noise, static_config)
        losses.append(loss)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return TrainResult(eqx.combine(params, static), np.asarray(jax.device_get(losses)))


def _optimizer(config):
    schedule = optax.cosine_decay_schedule(config.lr, config.steps, alpha=0.05)
    return optax.chain(optax.clip_by_global_norm(config.clip), optax.adam(schedule))


@eqx.filter_jit
def _train_step(params, static, opt_state, key, data, mask, noise, config):
    """One Adam step; compiled once per model structure, data shape and config (noise is
    traced, so a noise sweep reuses the compiled step)."""
    k_idx, k_noise = jax.random.split(key)
    idx = jax.random.randint(k_idx, (config.batch,), 0, data.shape[0])

    def loss_fn(p):
        return sequence_nll(eqx.combine(p, static), data[idx], mask[idx], noise=noise,
                            noise_mode=config.noise_mode, key=k_noise)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    # optax's bias correction mixes float and int32 counts; strict promotion rejects it.
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = _optimizer(config).update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def heldout_nll(model: SequenceRNN, data: jax.Array, mask: jax.Array | None = None) -> float:
    """Next-step NLL in nats per step of the noise-free model on held-out sequences."""
    return float(eqx.filter_jit(sequence_nll)(model, data, mask))


def linear_probe_accuracy(features_train: jax.Array, labels_train: jax.Array,
                          features_test: jax.Array, labels_test: jax.Array, *,
                          l2: float = 1e-3) -> float:
    """Test accuracy of a ridge-regression linear classifier (one-hot targets, features
    standardised on the training set) trained on features (N, d) with int labels (N,)."""
    mu = jnp.mean(features_train, axis=0)
    sd = jnp.std(features_train, axis=0) + 1e-8
    ftr = (features_train - mu[None, :]) / sd[None, :]
    fte = (features_test - mu[None, :]) / sd[None, :]
    ftr = jnp.concatenate([ftr, jnp.ones((ftr.shape[0], 1), ftr.dtype)], axis=1)
    fte = jnp.concatenate([fte, jnp.ones((fte.shape[0], 1), fte.dtype)], axis=1)
    classes = int(max(int(jnp.max(labels_train)), int(jnp.max(labels_test)))) + 1
    onehot = jax.nn.one_hot(labels_train, classes, dtype=ftr.dtype)
    gram = ftr.T @ ftr + l2 * ftr.shape[0] * jnp.eye(ftr.shape[1], dtype=ftr.dtype)
    w = jnp.linalg.solve(gram, ftr.T @ onehot)
    pred = jnp.argmax(fte @ w, axis=1)
    return float(jnp.mean((pred == labels_test).astype(ftr.dtype)))


def optimal_nll(autocov: np.ndarray) -> float:
    """The smallest next-step NLL in nats any model can reach on a stationary Gaussian
    sequence with autocovariance autocov (L,): the average over steps 1..L-1 of
    1/2 log(2 pi e Var(y_t | y_0..y_{t-1})) (what sequence_nll averages)."""
    cov = scipy.linalg.toeplitz(np.asarray(autocov, float))
    chol = np.linalg.cholesky(cov)
    cond_var = np.diagonal(chol)[1:] ** 2
    return float(np.mean(0.5 * np.log(2 * math.pi * math.e * cond_var)))
