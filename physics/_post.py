"""Stresses for pictures and result files: the full 3-D Cauchy stress of the elastic models
(sigma_zz of plane strain included) and the von Mises stress."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from morphax._core import InputError

from ._problem import Problem


def cell_stress(problem: Problem, u: Float[ArrayLike, "n d"], params=None) -> Float[Array, "m 3 3"]:
    """Cell averages (m, 3, 3) of the 3-D Cauchy stress of an elastic problem
    (`LinearElasticity`, `NeoHookean`) at displacement u (n, d): in 2-D with the out-of-plane
    component of the plane assumption (sigma_zz = 0 in plane stress). Units of E."""
    model = problem.model
    if not hasattr(model, "cauchy3"):
        raise InputError(f"the stress picture needs linear-elasticity or neo-hookean, not "
                         f"{type(model).__name__}")
    p = problem.params() if params is None else params
    mesh = problem.mesh
    w, _, dN = mesh.element.tables(problem.degree)
    x = jnp.asarray(p["points"])[mesh.cells]                               # (m, k, d)
    ue = jnp.reshape(jnp.asarray(u), (mesh.n_nodes, -1))[mesh.cells]       # (m, k, d)
    return _average_stress(model, x, ue, jnp.asarray(dN), jnp.asarray(w), p["material"])


@jax.jit(static_argnums=0)
def _average_stress(model, x, ue, dN, w, material):
    jac = jnp.einsum("mkd,qke->mqde", x, dN)
    dNdx = jnp.einsum("qke,mqed->mqkd", dN, jnp.linalg.inv(jac))
    g = jnp.einsum("mkc,mqkd->mqcd", ue, dNdx)
    sigma = jax.vmap(jax.vmap(lambda gq: model.cauchy3(gq, material)))(g)
    jxw = jnp.abs(jnp.linalg.det(jac)) * w[None, :]
    return jnp.einsum("mqij,mq->mij", sigma, jxw) / jnp.sum(jxw, axis=1)[:, None, None]


def von_mises(sigma: Float[ArrayLike, "... 3 3"]) -> np.ndarray:
    """The von Mises stress sqrt(3/2 s:s), s the deviator of sigma (..., 3, 3)."""
    sigma = np.asarray(sigma)
    s = sigma - np.trace(sigma, axis1=-2, axis2=-1)[..., None, None] * np.eye(3) / 3.0
    return np.sqrt(1.5 * np.sum(s * s, axis=(-2, -1)))
