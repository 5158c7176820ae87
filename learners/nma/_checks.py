"""Verification of the NMA pipeline: the adjoint gradient of the task loss against central
finite differences, and the equilibrium residual of a decoded target."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from morphax.physics import solve

from ._model import NMA
from ._system import NMASystem


def _direction(tree, key):
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    keys = jax.random.split(key, max(len(leaves), 1))
    vs = [jax.random.normal(k, jnp.shape(x), dtype=jnp.result_type(x))
          for k, x in zip(keys, leaves, strict=True)]
    norm = jnp.sqrt(sum(jnp.sum(v * v) for v in vs))
    return jax.tree_util.tree_unflatten(treedef, [v / norm for v in vs])


def _dot(a, b):
    return sum(jnp.sum(x * y) for x, y in zip(jax.tree_util.tree_leaves(a),
                                              jax.tree_util.tree_leaves(b), strict=True))


def gradient_check(system: NMASystem, model: NMA, target, *, key, eps: float = 1e-5,
                   rtol: float = 1e-13) -> dict:
    """Relative error between the adjoint directional derivative of the loss for one target
    and a central finite difference (step eps along a random unit direction), separately for
    the controller weights ("net") and the pore radii ("radii"). Solves run to `rtol`
    (float64 needed). Returns {"net": err, "radii": err, "ad": {...}, "fd": {...}}."""
    def loss(m):
        return system.sample_loss(m, target, rtol=rtol)[0]

    grad = eqx.filter_grad(loss)(model)
    out = {"ad": {}, "fd": {}}
    k_net, k_geo = jax.random.split(key)
    parts = {"net": (lambda m: m.controller, k_net),
             "radii": (lambda m: m.geometry["radii"], k_geo)}
    for name, (where, k) in parts.items():
        v = _direction(eqx.filter(where(model), eqx.is_inexact_array), k)

        def shifted(h, where=where, v=v):
            part = eqx.apply_updates(where(model), jax.tree_util.tree_map(lambda d: h * d, v))
            return eqx.tree_at(where, model, part)

        ad = float(_dot(eqx.filter(where(grad), eqx.is_inexact_array), v))
        fd = float((loss(shifted(eps)) - loss(shifted(-eps))) / (2.0 * eps))
        out["ad"][name], out["fd"][name] = ad, fd
        out[name] = abs(fd - ad) / max(abs(ad), 1e-300)
    return out


def equilibrium_residual(system: NMASystem, model: NMA, target) -> float:
    """|R_free| / reference force scale at the decoded equilibrium for one target (an eager
    solve at the training tolerance)."""
    a = model.controller(target["input"])
    p = system.physics_params(model.geometry, a)
    sol = solve(system.problem, jax.tree_util.tree_map(np.asarray, p),
                load_steps=system.config.load_steps)
    return float(sol.report.residual / sol.report.reference_residual)
