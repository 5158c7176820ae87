"""The encoder (a bounded MLP controller) and the trainable state of an NMA: controller
weights, geometry parameters and (digits task) the colour field."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


class Controller(eqx.Module):
    """MLP encoder: task input (n_in,) -> actuations (n_out,) in mm, bounded by
    tanh(x) * max_disp (Varmint: ReLU hidden layers, no bias on the last layer)."""

    layers: tuple
    max_disp: float = eqx.field(static=True)

    def __init__(self, n_in: int, n_out: int, hidden, max_disp: float, *, key):
        sizes = [int(n_in), *[int(h) for h in hidden], int(n_out)]
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(eqx.nn.Linear(a, b, use_bias=k < len(sizes) - 2, key=kk)
                            for k, (a, b, kk) in enumerate(zip(sizes[:-1], sizes[1:], keys,
                                                               strict=True)))
        self.max_disp = float(max_disp)

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
        return jnp.tanh(self.layers[-1](x)) * self.max_disp


class NMA(eqx.Module):
    """Everything an NMA run trains. controller: the encoder; geometry: the design parameters
    {"radii": (n_porous, N), "large": (...), "offsets": (rows + 1, cols + 1, 2)} of
    `morphax.geometry.CellularSolid.params`;
    colour: per-node logits of the colour field (digits task; shape (0,) otherwise)."""

    controller: Controller
    geometry: dict
    colour: jax.Array

    def labels(self) -> NMA:
        """The optimizer group of every leaf: "net", "geometry" (pore radii), "offsets"
        (lattice-node offsets) or "colour"."""
        geometry = {k: jax.tree_util.tree_map(lambda _, k=k: "offsets" if k == "offsets" else
                                              "geometry", v) for k, v in self.geometry.items()}
        return NMA(jax.tree_util.tree_map(lambda _: "net", self.controller), geometry, "colour")
