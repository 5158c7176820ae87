"""The FEA benchmark's neo-Hookean cases written as jax-fem Problems (same mesh, material and
boundary conditions as morphax's), for jax-fem's own solver and for morphax's interop path."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from morphax import physics as mp

_ELE_TYPES = {"tri3": "TRI3", "hex8": "HEX8", "tet4": "TET4", "tet10": "TET10"}


def jaxfem_problem(case: str, problem: mp.Problem, strain: float):
    """A jax-fem Problem equal to the benchmark's `problem` ("plate": plane-strain TRI3 plate,
    bottom fixed, top moved down by strain * height; "cube", "bar4", "bar10": HEX8, TET4 or
    TET10 solids, same in z)."""
    jf_problem = mp.JaxFemProblem.import_jax_fem("problem")
    jf_mesh = mp.JaxFemProblem.import_jax_fem("generate_mesh")
    mu, kappa = problem.model.mu, problem.model.kappa
    dim = problem.dim
    x = np.asarray(problem.mesh.points)
    height = float(x[:, dim - 1].max())

    class NeoHookean(jf_problem.Problem):
        def get_tensor_map(self):
            def energy(F):
                log_j = jnp.log(jnp.linalg.det(F))
                return 0.5 * mu * (jnp.sum(F * F) - dim - 2.0 * log_j) + 0.5 * kappa * log_j ** 2

            stress = jax.grad(energy)
            return lambda u_grad: stress(u_grad + jnp.eye(dim))

    def bottom(p):
        return jnp.isclose(p[dim - 1], 0.0, atol=1e-9)

    def top(p):
        return jnp.isclose(p[dim - 1], height, atol=1e-9)

    def zero(p):
        return 0.0

    def down(p):
        return -strain * height

    comps = list(range(dim))
    bc = [[bottom] * dim + [top] * dim, comps + comps, [zero] * dim + [zero] * (dim - 1) + [down]]
    with jax.numpy_dtype_promotion("standard"):   # jax-fem mixes int32 and int64 indices
        return NeoHookean(jf_mesh.Mesh(x, np.asarray(problem.mesh.cells)), vec=dim, dim=dim,
                          ele_type=_ELE_TYPES[problem.mesh.cell_type],
                          dirichlet_bc_info=bc)
