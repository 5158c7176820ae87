"""Entropy-penalized reparameterization (Oktay et al., ICLR 2020, Sec. 3): every parameter
tensor theta_k of a model is stored as integer latents phi_k and a small decoder,
theta_k = f_k(round(phi_k)).

* Dense kernels, biases and any other tensor: a per-tensor affine decoder,
  theta = step * phi + offset (step = exp(log_step)).
* Convolution kernels (4-D arrays whose last two, spatial, axes are both > 1, the equinox
  Conv2d layout (out, in, kh, kw)): phi lives in the orthonormal real DFT domain of each
  kh x kw slice, with one step per frequency coefficient: theta_slice = B^T (step * phi).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

from ._priors import PRIORS, bits, tabulated_bits

#: the decoder kinds (also the codes stored in a file)
AFFINE, DFT = "affine", "dft"


def round_st(x: jax.Array) -> jax.Array:
    """round(x) in the forward pass, the identity in the backward pass (straight-through)."""
    return x + jax.lax.stop_gradient(jnp.round(x) - x)


def rdft_basis(h: int, w: int) -> np.ndarray:
    """The orthonormal real DFT of h x w images as an (h*w, h*w) float64 matrix B: row i is
    the i-th real coefficient, coefficients = B @ image.ravel(), image = B.T @ coefficients.

    One row per self-conjugate frequency (its real part), two per conjugate pair
    (sqrt(2) times the real and the imaginary part of the first member), in the order of
    the first member in the (row, column) frequency grid."""
    spectra = np.fft.fft2(np.eye(h * w).reshape(h * w, h, w), axes=(1, 2)) / math.sqrt(h * w)
    rows, seen = [], set()
    for k in range(h):
        for m in range(w):
            if (k, m) in seen:
                continue
            partner = ((-k) % h, (-m) % w)
            seen.update({(k, m), partner})
            if partner == (k, m):
                rows.append(spectra[:, k, m].real)
            else:
                rows += [math.sqrt(2) * spectra[:, k, m].real, math.sqrt(2) * spectra[:, k, m].imag]
    return np.stack(rows)


def is_conv_kernel(shape: tuple[int, ...]) -> bool:
    """Whether a tensor of this shape is treated as a conv kernel (DFT decoder)."""
    return len(shape) == 4 and shape[2] > 1 and shape[3] > 1


class TensorCode(eqx.Module):
    """One reparameterized tensor. latent: (size,) for affine, (slices, kh*kw) for DFT
    (continuous during training; rounded by `decode`); log_step: () or (kh*kw,);
    offset: () (zero and unused for DFT)."""

    latent: jax.Array
    log_step: jax.Array
    offset: jax.Array
    kind: str = eqx.field(static=True)
    shape: tuple = eqx.field(static=True)

    def decode(self, latent: jax.Array) -> jax.Array:
        """Tensor of `shape` from integer-valued latents shaped like `self.latent`."""
        if self.kind == AFFINE:
            return (jnp.exp(self.log_step) * latent + self.offset).reshape(self.shape)
        basis = jnp.asarray(rdft_basis(*self.shape[2:]), latent.dtype)
        coeffs = latent * jnp.exp(self.log_step)[None, :]
        return (coeffs @ basis).reshape(self.shape)


def _rms(x, axis=None):
    return np.sqrt(np.mean(np.square(x), axis=axis))


def compute_dtype(dtype) -> np.dtype:
    """The dtype latents, decoders and priors of a tensor of `dtype` are trained in: float64
    for float64 tensors, float32 otherwise."""
    return np.dtype(np.float64 if np.dtype(dtype) == np.float64 else np.float32)


def init_code(theta: np.ndarray, *, latent_std: float = 4.0) -> TensorCode:
    """A TensorCode that decodes (before rounding) to `theta`, with steps chosen so that the
    latents have a spread of about `latent_std` integer bins; trained in compute_dtype."""
    dtype = compute_dtype(np.asarray(theta).dtype)
    theta = np.asarray(theta, np.float64)
    shape = tuple(theta.shape)
    if is_conv_kernel(shape):
        basis = rdft_basis(*shape[2:])
        coeffs = theta.reshape(-1, basis.shape[0]) @ basis.T
        step = np.maximum(_rms(coeffs, axis=0), 1e-8) / latent_std
        return TensorCode(jnp.asarray(coeffs / step[None, :], dtype), jnp.asarray(np.log(step), dtype),
                          jnp.zeros((), dtype), DFT, shape)
    offset = float(np.mean(theta)) if theta.size > 1 else 0.0
    spread = float(np.std(theta)) if theta.size > 1 else abs(float(theta.ravel()[0]))
    step = max(spread, 1e-3) / latent_std
    return TensorCode(jnp.asarray((theta.ravel() - offset) / step, dtype),
                      jnp.asarray(math.log(step), dtype), jnp.asarray(offset, dtype), AFFINE, shape)


class EPR(eqx.Module):
    """A model reparameterized for entropy-penalized training: the floating-point array
    leaves of `model` become `codes` (one TensorCode each) with one learned density each in
    `priors`; everything else of the model is kept in `rest`.

    Build with `EPR.from_model`; `model()` gives the working model (rounded latents,
    straight-through gradients); `rate_bits(key=...)` the relaxed rate in bits."""

    codes: tuple
    priors: tuple
    rest: object
    treedef: object = eqx.field(static=True)
    names: tuple = eqx.field(static=True)
    dtypes: tuple = eqx.field(static=True)
    radius: int = eqx.field(static=True, default=64)

    @classmethod
    def from_model(cls, model, *, key: jax.Array, prior: str = "factorized",
                   latent_std: float = 4.0) -> EPR:
        """Reparameterize every floating-point array of `model` (any pytree, e.g. an equinox
        Module). prior: "factorized" (Balle 2018) or "logistic"."""
        if prior not in PRIORS:
            raise InputError(f"prior must be one of {sorted(PRIORS)}, got {prior!r}")
        if not latent_std > 0:
            raise InputError(f"latent_std must be > 0, got {latent_std}")
        arrays, rest = eqx.partition(model, eqx.is_inexact_array)
        leaves, treedef = jax.tree_util.tree_flatten_with_path(arrays)
        if not leaves:
            raise InputError("the model has no floating-point arrays to compress")
        keys = jax.random.split(key, len(leaves))
        codes = tuple(init_code(np.asarray(leaf), latent_std=latent_std) for _, leaf in leaves)
        priors = tuple(PRIORS[prior](key=k, init_scale=2.0 * latent_std, dtype=c.latent.dtype)
                       for k, c in zip(keys, codes, strict=True))
        names = tuple(path_name(path) for path, _ in leaves)
        dtypes = tuple(np.dtype(leaf.dtype).name for _, leaf in leaves)
        widest = max(float(jnp.max(jnp.abs(c.latent))) for c in codes)
        radius = max(64, 2 * math.ceil(widest))
        return cls(codes, priors, rest, jax.tree_util.tree_structure(arrays), names, dtypes, radius)

    def model(self):
        """The model with every tensor decoded from rounded latents (straight-through)."""
        leaves = [code.decode(round_st(code.latent)).astype(dt)
                  for code, dt in zip(self.codes, self.dtypes, strict=True)]
        return eqx.combine(jax.tree_util.tree_unflatten(self.treedef, leaves), self.rest)

    def rate_bits(self, *, key: jax.Array | None = None) -> jax.Array:
        """Total bits of all latents under their priors: with `key`, of latents plus uniform
        noise U(-1/2, 1/2) (the training relaxation, priors tabulated on a grid of 1/4 bin
        over [-radius, radius], see `tabulated_bits`); without, of the rounded latents under
        the exact priors (the model's own entropy estimate)."""
        dtype = self.rate_dtype
        total = jnp.zeros((), dtype)
        keys = jax.random.split(key, len(self.codes)) if key is not None else [None] * len(self.codes)
        for code, prior, k in zip(self.codes, self.priors, keys, strict=True):
            if k is None:
                part = bits(prior, jnp.round(code.latent))
            else:
                noise = jax.random.uniform(k, code.latent.shape, code.latent.dtype, -0.5, 0.5)
                part = tabulated_bits(prior, code.latent + noise, radius=self.radius)
            total = total + part.astype(dtype)
        return total

    def entropy_bits(self) -> float:
        """The model's own entropy estimate in bits: `rate_bits()` of the rounded latents
        (compiled once per architecture)."""
        return float(_exact_bits(self))

    @property
    def rate_dtype(self):
        """float64 if any tensor is trained in float64, else float32."""
        wide = any(c.latent.dtype == jnp.float64 for c in self.codes)
        return jnp.float64 if wide else jnp.float32

    @property
    def num_params(self) -> int:
        return sum(math.prod(c.shape) for c in self.codes)


def path_name(path) -> str:
    """'layers[0].weight' from a pytree key path (dict keys as plain names: 'conv.weight')."""
    parts = []
    for entry in path:
        if isinstance(entry, jax.tree_util.SequenceKey):
            parts.append(f"[{entry.idx}]")
        elif isinstance(entry, jax.tree_util.DictKey):
            parts.append(f".{entry.key}")
        elif isinstance(entry, jax.tree_util.GetAttrKey):
            parts.append(f".{entry.name}")
        else:
            parts.append(str(entry))
    return "".join(parts).lstrip(".")


@eqx.filter_jit
def _exact_bits(epr: EPR) -> jax.Array:
    return epr.rate_bits()
