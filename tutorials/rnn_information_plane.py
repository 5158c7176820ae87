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
# # RNNs in the predictive information plane
#
# This tutorial follows Dong, Oktay, Poole and Alemi, *On predictive information in RNNs*
# (2019). A sequence model reads the past $X$ of a process and keeps a representation $z$.
# Two numbers place it in the **predictive information plane**: how much it remembers,
# $I(X; z)$, and how much that memory says about the future, $I(z; Y)$, both in bits. No
# representation can lie above the optimal frontier, the information bottleneck of $X$ and $Y$.
#
# For a Gaussian process that frontier is exact: it follows from the canonical correlations
# of past and future windows (Chechik et al. 2005). We use *restorative Brownian motion*, a
# noise-driven damped oscillator simulated exactly, train a GRU by maximum likelihood, make
# its hidden state stochastic with $z = h(X) + \sigma\epsilon$, and bound both informations.
#
# `morphax tutorial run rnn_information_plane --quick` takes about a minute; without `--quick`
# (or with `QUICK = False`) it trains longer and sweeps more noise levels. Pictures go to `OUT`.

# %%
import pathlib

import jax
import matplotlib.pyplot as plt
import numpy as np

from morphax.learners.rnn_info import (
    SequenceRNN,
    TrainConfig,
    autocovariance,
    brute_force_frontier,
    canonical_correlations,
    final_hidden,
    heldout_nll,
    ib_frontier,
    information_plane,
    optimal_nll,
    predictive_information,
    restorative_brownian_motion,
    simulate,
    train_rnn,
    window_covariance,
)

# Set by `morphax tutorial run rnn_information_plane [--quick] [--out DIR]`; edit in a notebook.
QUICK = globals().get("QUICK", True)
OUT = pathlib.Path(globals().get("OUT", "tutorial-out/rnn_information_plane"))
OUT.mkdir(parents=True, exist_ok=True)
STEPS, TRAIN_SEQ, SIGMAS = (250, 800, (0.1, 0.3)) if QUICK else (2000, 6000, (0.03, 0.1, 0.3, 1.0))
N_PAST, N_FUTURE = 20, 10

# %% [markdown]
# ## 1. The process and its exact past/future statistics
# $dx = v\,dt$, $dv = (-\Gamma v - \omega^2 x)\,dt + \sqrt{D}\,dW$ with Palmer et al.'s
# $\omega = 2\pi \cdot 1.5\,\mathrm{s}^{-1}$, $\Gamma = 20\,\mathrm{s}^{-1}$, sampled every
# $1/60$ s. One exact step is $s_{t+1} = F s_t + w_t$ with $F = e^{A\,\Delta t}$ and the
# noise covariance from Van Loan's block exponential, so the autocovariance of $x$ is known.

# %%
sde = restorative_brownian_motion()
cov = window_covariance(sde, N_PAST, N_FUTURE)
rho = canonical_correlations(cov, N_PAST)
print("canonical correlations:", np.round(rho[:4], 4))
print(f"I(past; future) = {predictive_information(cov, N_PAST):.3f} bits")
ys = np.asarray(simulate(sde, 5, 200, key=jax.random.key(0)))
fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(np.arange(200) / 60, ys.T)
ax.set(xlabel="time [s]", ylabel="x", title="restorative Brownian motion (exact simulation)")
fig.savefig(OUT / "trajectories.png", dpi=100)

# %% [markdown]
# Only two canonical correlations are non-zero: the process is Markov in $(x, v)$, so two
# numbers summarise everything the past says about the future.
#
# ## 2. The optimal frontier, checked by brute force
# For each trade-off $\beta$ the analytic curve gives $(I(X;z), I(z;Y))$. As an independent
# check we optimise full linear-Gaussian encoders $z = WX + \epsilon$ numerically.

# %%
betas = np.array([1.5, 5.0, 50.0]) / rho[0] ** 2
bx, by = brute_force_frontier(cov, N_PAST, betas, restarts=1)
ax_, ay_ = ib_frontier(rho, betas)
print("brute force vs analytic I(z; future) [bits]:", np.round(by, 5), np.round(ay_, 5))

# %% [markdown]
# ## 3. A GRU trained by maximum likelihood, and one trained with hidden-state noise
# Both predict the next observation with a Gaussian. The noisy one predicts from
# $h_t + \sigma\epsilon_t$ during training ("readout" noise), which is the same stochastic
# representation we measure.

# %%
train = simulate(sde, TRAIN_SEQ, N_PAST + N_FUTURE, key=jax.random.key(1))[..., None]
test = simulate(sde, 500, N_PAST + N_FUTURE, key=jax.random.key(2))[..., None]
models = {"GRU, maximum likelihood": (0.0, SIGMAS),
          f"GRU, trained with sigma = {SIGMAS[-1]}": (SIGMAS[-1], (SIGMAS[-1],))}
planes = {}
for name, (noise, sigmas) in models.items():
    res = train_rnn(SequenceRNN(1, 32, key=jax.random.key(3)), train,
                    config=TrainConfig(steps=STEPS, noise=noise, noise_mode="readout"),
                    key=jax.random.key(4))
    print(f"{name}: held-out NLL {heldout_nll(res.model, test):.3f} nats/step "
          f"(exact optimum {optimal_nll(autocovariance(sde, N_PAST + N_FUTURE - 1)):.3f})")
    encoder = jax.jit(lambda p, m=res.model: final_hidden(m, p[:, :, None]))
    planes[name] = information_plane(encoder, cov, N_PAST, sigmas, key=jax.random.key(5),
                                     k=256 if QUICK else 512)

# %% [markdown]
# ## 4. The information plane
# $I(X; z)$ is bracketed by InfoNCE (lower) and leave-one-out (upper) bounds that use the
# known encoder $p(z|x) = \mathcal N(h(x), \sigma^2 I)$. $I(z; Y) = I(z; X) - I(z; X|Y)$ is
# bracketed the same way, with pasts drawn exactly from $p(x|y)$; a linear-Gaussian decoder
# gives a second lower bound. Points below the frontier waste memory on the past.

# %%
fx, fy = ib_frontier(rho, np.geomspace(1.0001 / rho[0] ** 2, 1e6, 300))
fig, ax = plt.subplots(figsize=(7, 5))
ax.plot(fx[fx < 12], fy[fx < 12], "k-", label="optimal frontier")
ax.plot(bx, by, "kx", label="brute force")
for name, points in planes.items():
    x = [p.past_lower for p in points]
    y = [max(p.future_lower, p.future_decoder) for p in points]
    up = [p.future_upper - v for p, v in zip(points, y, strict=True)]
    ax.errorbar(x, y, yerr=[np.zeros(len(y)), up], fmt="o-", capsize=3, label=name)
    for p in points:
        print(f"{name}, sigma {p.sigma}: I(past;z) in [{p.past_lower:.2f}, {p.past_upper:.2f}],"
              f" I(z;future) in [{p.future_lower:.2f}, {p.future_upper:.2f}], decoder "
              f"{p.future_decoder:.2f}, frontier {p.frontier:.2f}, gap {p.gap:.3f} bits")
ax.set(xlabel="I(past; z) [bits]", ylabel="I(z; future) [bits]",
       title="predictive information plane")
ax.legend()
fig.savefig(OUT / "information_plane.png", dpi=100)

# %% [markdown]
# The benchmark `morphax bench rnn-info` runs the same analysis at full size with an LSTM,
# more noise levels, recurrent noise, estimator checks on Gaussian cases with analytic truth,
# and the sketch probes (held-out likelihood and a linear class probe).
