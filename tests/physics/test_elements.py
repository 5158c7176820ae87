"""Reference elements: partition of unity, nodal interpolation, quadrature exactness."""

import itertools
import math

import jax
import numpy as np
import pytest

from morphax import physics as mp

NODES = {
    "tri3": [[0, 0], [1, 0], [0, 1]],
    "tri6": [[0, 0], [1, 0], [0, 1], [0.5, 0], [0.5, 0.5], [0, 0.5]],
    "quad4": [[-1, -1], [1, -1], [1, 1], [-1, 1]],
    "tet4": [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
    "hex8": [[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
             [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]],
    "line2": [[0], [1]], "line3": [[0], [1], [0.5]],
}


@pytest.mark.parametrize("name", sorted(NODES))
def test_shape_functions_are_nodal_and_sum_to_one(name):
    elem = mp.element(name)
    values = np.asarray(jax.vmap(elem.shape)(np.asarray(NODES[name], float)))
    np.testing.assert_allclose(values, np.eye(elem.n_nodes), atol=1e-14)
    _, N, dN = elem.tables()
    np.testing.assert_allclose(N.sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(dN.sum(axis=1), 0.0, atol=1e-13)


def _simplex_monomial(powers):
    """Exact integral of prod x_i^a_i over the unit simplex: prod(a_i!) / (d + sum a)!."""
    return math.prod(math.factorial(a) for a in powers) / math.factorial(len(powers) + sum(powers))


def _cube_monomial(powers):
    return math.prod(0.0 if a % 2 else 2.0 / (a + 1) for a in powers)


@pytest.mark.parametrize("name", ["tri3", "tet4", "quad4", "hex8", "line2"])
@pytest.mark.parametrize("degree", [1, 2, 3, 4, 5, 6])
def test_quadrature_is_exact_up_to_its_degree(name, degree):
    elem = mp.element(name)
    points, weights = elem.quadrature(degree)
    exact = _simplex_monomial if elem.simplex else _cube_monomial
    if name == "line2":
        exact = lambda a: 1.0 / (a[0] + 1)  # noqa: E731  [0, 1]
    for powers in itertools.product(range(degree + 1), repeat=elem.dim):
        if sum(powers) > degree:
            continue
        value = np.sum(weights * np.prod(points ** np.asarray(powers), axis=1))
        assert value == pytest.approx(exact(powers), rel=1e-12, abs=1e-14), powers


def test_unknown_element_names_the_choices():
    with pytest.raises(mp.InputError, match="tri3"):
        mp.element("pentagon")
