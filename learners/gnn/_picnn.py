"""Partially input-convex neural networks (PICNN; Amos, Xu and Kolter, ICML 2017).

f(y, u) is convex in y for every u and arbitrary in u: y enters only through affine maps whose
coefficients depend on u, followed by convex non-decreasing activations and non-negative
combinations, plus a convex quadratic 1/2 |M(u) y + r(u)|^2.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


class PICNN(eqx.Module):
    """Scalar f(y, u), convex in y (m,), any function of u (p,).

    z1 = softplus(W_y (y * a(u)) + W_u u + b)               (k,), convex in y
    f  = sum_k softplus(c)_k g_k(u) z1_k + l(u) . y + 1/2 |M(u) y + r(u)|^2
    with gates g(u) = softplus(.) >= 0 and a(u), l(u), M(u) (q, m), r(u) (q,) affine in
    [u, tanh(V u)]. `scale` multiplies the whole energy (learned, kept positive).
    """

    v: eqx.nn.Linear
    a: eqx.nn.Linear
    wy: jax.Array
    wu: eqx.nn.Linear
    c: jax.Array
    gate: eqx.nn.Linear
    lin: eqx.nn.Linear
    quad: eqx.nn.Linear
    m: int = eqx.field(static=True)
    q: int = eqx.field(static=True)

    def __init__(self, m: int, p: int, *, hidden: int = 16, quad: int | None = None, key,
                 dtype=None):
        q = m if quad is None else quad
        ks = jax.random.split(key, 7)
        f = p + hidden
        kw = {} if dtype is None else {"dtype": dtype}
        self.m, self.q = m, q
        self.v = eqx.nn.Linear(p, hidden, key=ks[0], **kw)
        self.a = eqx.nn.Linear(f, m, key=ks[1], **kw)
        self.wy = jax.random.normal(ks[2], (hidden, m), **kw) / jnp.sqrt(m)
        self.wu = eqx.nn.Linear(f, hidden, key=ks[3], **kw)
        self.c = jnp.full((hidden,), -2.0, **kw)
        self.gate = eqx.nn.Linear(f, hidden, key=ks[4], **kw)
        self.lin = eqx.nn.Linear(f, m, key=ks[5], **kw)
        self.quad = eqx.nn.Linear(f, q * (m + 1), key=ks[6], **kw)

    def coefficients(self, u):
        """Everything that depends on the features u (p,) only, so that it can be computed once
        per graph: (input scale (m,), pre-activation bias (k,), output weights (k,) >= 0,
        linear term (m,), quadratic [M | r] (q, m + 1))."""
        feat = jnp.concatenate([u, jnp.tanh(self.v(u))])
        weights = jax.nn.softplus(self.c) * jax.nn.softplus(self.gate(feat))
        return (1.0 + self.a(feat), self.wu(feat), weights, self.lin(feat),
                self.quad(feat).reshape(self.q, self.m + 1))

    def energy(self, y, coefficients):
        """y (m,) and `coefficients(u)` -> scalar energy, convex in y."""
        scale, bias, weights, lin, mr = coefficients
        z1 = jax.nn.softplus(self.wy @ (y * scale) + bias)
        res = mr[:, :self.m] @ y + mr[:, self.m]
        return jnp.sum(weights * z1) + lin @ y + 0.5 * jnp.sum(res * res)

    def __call__(self, y, u):
        """y (m,), u (p,) -> scalar energy."""
        return self.energy(y, self.coefficients(u))
