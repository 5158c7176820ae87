"""Validation problems with known answers, shared by tests, benchmarks, tutorials and the
default `morphax solve` job."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError, gmsh_session

from ._elements import det, inv
from ._io import from_meshio
from ._mesh import Mesh
from ._meshgen import elevate, rectangle
from ._models import LinearElasticity, NeoHookean, Poisson
from ._problem import Dirichlet, Pressure, Problem

# ----- manufactured Poisson solution -------------------------------------------------------


def poisson_exact(x):
    """u(x, y) = sin(pi x) sin(pi y) + x^2 / 2 on the unit square (not polynomial, not zero on
    the boundary). x (..., 2) -> (...)."""
    return jnp.sin(jnp.pi * x[..., 0]) * jnp.sin(jnp.pi * x[..., 1]) + 0.5 * x[..., 0] ** 2


def poisson_source(x):
    """f = -laplace(u) for `poisson_exact`, (..., 2) -> (..., 1)."""
    f = 2.0 * jnp.pi ** 2 * jnp.sin(jnp.pi * x[..., 0]) * jnp.sin(jnp.pi * x[..., 1]) - 1.0
    return f[..., None]


def manufactured_poisson(mesh: Mesh) -> Problem:
    """-laplace u = f on a rectangle mesh with u = poisson_exact on all four sides."""
    exact = [Dirichlet(side, lambda x: np.asarray(poisson_exact(x)))
             for side in ("left", "right", "bottom", "top")]
    return Problem(mesh, Poisson(), dirichlet=exact, source=poisson_source)


def l2_h1_errors(mesh: Mesh, u, exact, degree: int | None = None) -> tuple[float, float]:
    """(||u_h - u||_L2, |u_h - u|_H1) for a scalar FE field u (n,) and an exact solution
    exact(x (2,)) -> scalar, by quadrature of `degree` (default 2 * order + 2)."""
    elem = mesh.element
    tables = elem.tables(2 * elem.order + 2 if degree is None else degree)
    ue = jnp.ravel(jnp.asarray(u))[mesh.cells]
    e0, e1 = _errors(tuple(jnp.asarray(t) for t in tables), jnp.asarray(mesh.points)[mesh.cells], ue, exact)
    return float(e0), float(e1)


@functools.partial(jax.jit, static_argnums=3)
def _errors(tables, X, ue, exact):
    w, N, dN = tables
    G = jnp.einsum("mkd,qke->mqde", X, dN)
    dNdx = jnp.einsum("qke,mqed->mqkd", dN, inv(G))
    jxw = det(G) * w[None, :]
    xq = jnp.einsum("qk,mkd->mqd", N, X)
    e0 = jnp.einsum("qk,mk->mq", N, ue) - jax.vmap(jax.vmap(exact))(xq)
    e1 = jnp.einsum("mqkd,mk->mqd", dNdx, ue) - jax.vmap(jax.vmap(jax.grad(exact)))(xq)
    return jnp.sqrt(jnp.sum(e0 ** 2 * jxw)), jnp.sqrt(jnp.sum(jnp.sum(e1 ** 2, axis=-1) * jxw))


# ----- homogeneous hyperelastic deformations ------------------------------------------------


def neo_hookean_uniaxial_stretch(stretch: float, mu: float, kappa: float) -> tuple[float, float]:
    """Plane-strain uniaxial stress (traction-free sides) of the compressible neo-Hookean solid:
    returns (lateral stretch l2, nominal stress P11). Solves P22 = 0,
    mu (l2 - 1/l2) + kappa ln(J)/l2 = 0 with J = stretch * l2, by a bracketing root finder."""
    if stretch <= 0:
        raise InputError(f"stretch must be positive, got {stretch}")

    def p22(l2):
        return mu * (l2 - 1.0 / l2) + kappa * np.log(stretch * l2) / l2

    from scipy.optimize import brentq  # imported here: scipy.optimize costs ~1 s to import

    l2 = brentq(p22, 1e-6, 1e6, xtol=1e-15, rtol=1e-15)
    J = stretch * l2
    p11 = mu * (stretch - 1.0 / stretch) + kappa * np.log(J) / stretch
    return float(l2), float(p11)


# ----- thick-walled ring under internal pressure (Lame) --------------------------------------


def quarter_ring(inner: float = 1.0, outer: float = 2.0, n_r: int = 4, n_theta: int = 8,
                 order: int = 1) -> Mesh:
    """A structured mesh of the quarter ring inner <= r <= outer, 0 <= theta <= pi/2 (P1 or
    curved P2 triangles: the polar image of a rectangle mesh). Facet sets: "inner", "outer",
    "bottom" (on y = 0) and "left" (on x = 0)."""
    if not 0 < inner < outer or order not in (1, 2):
        raise InputError(f"quarter_ring needs 0 < inner < outer and order 1 or 2, got {inner}, "
                         f"{outer}, {order}")
    flat = rectangle(n_r, n_theta, "tri3", size=(outer - inner, np.pi / 2), origin=(inner, 0.0))
    flat = elevate(flat) if order == 2 else flat
    r, t = np.asarray(flat.points).T
    names = {"left": "inner", "right": "outer", "bottom": "bottom", "top": "left"}
    return Mesh(np.stack([r * np.cos(t), r * np.sin(t)], axis=1), flat.cells, flat.cell_type,
                facet_sets={names[k]: v for k, v in flat.facet_sets.items()})


def lame_ring_displacement(r, inner: float, outer: float, pressure: float, E: float, nu: float):
    """Radial displacement u_r(r) of a plane-strain thick-walled cylinder (linear elasticity)
    with internal pressure `pressure` and a free outer surface (Lame):
    u_r = p a^2 (1 + nu) ((1 - 2 nu) r + b^2 / r) / (E (b^2 - a^2)), a = inner, b = outer."""
    a, b = inner, outer
    return pressure * a ** 2 * (1 + nu) * ((1 - 2 * nu) * r + b ** 2 / r) / (E * (b ** 2 - a ** 2))


def pressurized_ring(mesh: Mesh, pressure: float = 0.01, E: float = 1.0, nu: float = 0.3,
                     model: str = "linear-elasticity", follower: bool = False) -> Problem:
    """The quarter ring of `quarter_ring` under internal pressure, with symmetry conditions
    (u_y = 0 on y = 0, u_x = 0 on x = 0). Plane strain; its linear answer is
    `lame_ring_displacement`."""
    material = NeoHookean.from_young(E, nu) if model == "neo-hookean" else LinearElasticity(E, nu)
    return Problem(mesh, material, dirichlet=[Dirichlet("bottom", 0.0, [1]),
                                              Dirichlet("left", 0.0, [0])],
                   pressures=[Pressure("inner", pressure, follower=follower)])


# ----- the default FEA job ----------------------------------------------------------------------


def perforated_plate(width: float = 2.0, height: float = 1.0, holes: tuple[int, int] = (4, 2),
                     radius: float = 0.6, mesh_size: float = 0.05, order: int = 1) -> Mesh:
    """A plate [0, width] x [0, height] with a grid of holes (radius as a fraction of half the
    pitch), meshed with gmsh triangles (order 1 or 2). Facet sets: left, right, bottom, top,
    holes. Deterministic for the same arguments."""
    nx, ny = holes
    pitch = min(width / nx, height / ny)
    if not 0 < radius < 1:
        raise InputError(f"hole radius fraction must lie in (0, 1), got {radius}")
    with gmsh_session("plate") as gmsh:
        occ = gmsh.model.occ
        plate = occ.addRectangle(0, 0, 0, width, height)
        disks = [(2, occ.addDisk((i + 0.5) * width / nx, (j + 0.5) * height / ny, 0,
                                 radius * pitch / 2, radius * pitch / 2))
                 for i in range(nx) for j in range(ny)]
        occ.cut([(2, plate)], disks)
        occ.synchronize()
        eps = 1e-4 * max(width, height)  # gmsh pads bounding boxes
        groups = {"left": [], "right": [], "bottom": [], "top": [], "holes": []}
        for _, tag in gmsh.model.getEntities(1):
            x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(1, tag)
            side = ("left" if x1 < eps else "right" if x0 > width - eps else
                    "bottom" if y1 < eps else "top" if y0 > height - eps else "holes")
            groups[side].append(tag)
        for name, tags in groups.items():
            gmsh.model.addPhysicalGroup(1, tags, name=name)
        gmsh.model.addPhysicalGroup(2, [s for _, s in gmsh.model.getEntities(2)], name="plate")
        gmsh.option.setNumber("Mesh.MeshSizeMax", mesh_size)
        gmsh.option.setNumber("Mesh.MeshSizeMin", mesh_size)
        gmsh.option.setNumber("Mesh.Algorithm", 6)
        gmsh.model.mesh.generate(2)
        if order == 2:
            gmsh.model.mesh.setOrder(2)
        return from_meshio(_gmsh_to_meshio())


def _gmsh_to_meshio():
    """The current gmsh model as a meshio.Mesh with gmsh:physical tags (no temporary file)."""
    import gmsh
    import meshio

    tags, coords, _ = gmsh.model.mesh.getNodes()
    index = np.zeros(int(tags.max()) + 1, dtype=np.int64)
    index[tags.astype(np.int64)] = np.arange(len(tags))
    points = coords.reshape(-1, 3)
    names = {1: "line", 2: "triangle", 8: "line3", 9: "triangle6", 3: "quad", 4: "tetra",
             5: "hexahedron"}
    cells, physical, field_data = [], [], {}
    for dim, ptag in gmsh.model.getPhysicalGroups():
        name = gmsh.model.getPhysicalName(dim, ptag)
        field_data[name] = np.array([ptag, dim])
        for entity in gmsh.model.getEntitiesForPhysicalGroup(dim, ptag):
            etypes, _, enodes = gmsh.model.mesh.getElements(dim, entity)
            for etype, nodes in zip(etypes, enodes, strict=True):
                kind = names[int(etype)]
                conn = index[nodes.astype(np.int64)].reshape(len(nodes) // _nnodes(kind), -1)
                cells.append((kind, conn))
                physical.append(np.full(len(conn), ptag))
    return meshio.Mesh(points, cells, cell_data={"gmsh:physical": physical}, field_data=field_data)


def _nnodes(kind):
    return {"line": 2, "triangle": 3, "line3": 3, "triangle6": 6, "quad": 4, "tetra": 4,
            "hexahedron": 8}[kind]


def compressed_plate(mesh: Mesh, strain: float = 0.1, E: float = 1.0, nu: float = 0.3,
                     model: str = "neo-hookean") -> Problem:
    """The plate compressed by `strain` of its height: bottom fixed, top moved down (and held
    in x). Plane strain."""
    height = float(np.ptp(np.asarray(mesh.points)[:, 1]))
    material = NeoHookean.from_young(E, nu) if model == "neo-hookean" else LinearElasticity(E, nu)
    return Problem(mesh, material, dirichlet=[Dirichlet("bottom", 0.0),
                                              Dirichlet("top", (0.0, -strain * height))])
