"""The tangent's sparsity pattern built on the node graph equals the one built on dofs."""

import numpy as np
import pytest

from morphax import physics as mp
from morphax.physics._sparsity import Pattern


@pytest.mark.parametrize("mesh, c", [(mp.rectangle(3, 2, "tri6"), 2), (mp.box(2, 2, 1, "hex8"), 3),
                                     (mp.box(1, 2, 1, "tet10"), 3)])
def test_block_pattern_equals_dof_pattern(mesh, c):
    cells = mesh.cells
    cd = (cells[:, :, None] * c + np.arange(c)).reshape(len(cells), -1)
    ndof = mesh.n_nodes * c
    free, fixed = np.arange(1, ndof), np.array([0])
    by_dof, by_node = Pattern(cd, ndof, free, fixed), Pattern(cd, ndof, free, fixed, block=c)
    np.testing.assert_array_equal(by_node.indptr, by_dof.indptr)
    np.testing.assert_array_equal(by_node.indices, by_dof.indices)
    np.testing.assert_array_equal(by_node.scatter, by_dof.scatter)
    values = np.random.default_rng(0).standard_normal(by_dof.scatter.size)
    a = np.bincount(by_dof.scatter, values, by_dof.nnz)
    assert (by_node.free_block(a) != by_dof.free_block(a)).nnz == 0


def test_scattered_cell_matrices_give_the_tangent():
    """A problem's pattern (block-built) assembles the same matrix as dense accumulation."""
    mesh = mp.box(2, 1, 1, "hex8")
    problem = mp.Problem(mesh, mp.LinearElasticity())
    K = problem.tangent(np.zeros(problem.ndof), problem.params()).toarray()
    blocks = np.asarray(problem.cell_tangents(np.zeros(problem.ndof), problem.params()))
    dense = np.zeros_like(K)
    cd = (mesh.cells[:, :, None] * 3 + np.arange(3)).reshape(mesh.n_cells, -1)
    for dofs, block in zip(cd, blocks, strict=True):
        dense[np.ix_(dofs, dofs)] += block
    np.testing.assert_allclose(K, dense, rtol=0, atol=1e-13)
