"""The tangent's sparsity pattern built on the node graph equals the one built on dofs."""

import jax
import numpy as np
import pytest

from morphax import InputError
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


@pytest.mark.parametrize("mesh, model", [
    (mp.box(3, 2, 2, "hex8"), mp.NeoHookean.from_young(1.0, 0.3)),     # 12 cells: 3 chunks of 4
    (mp.rectangle(4, 3, "tri6"), mp.NonlinearPoisson()),              # 24 cells: 5 of 5, on u
    (mp.rectangle(3, 2, "quad4"), mp.NeoHookean(plane="stress")),      # symmetric, no closed form
    (mp.rectangle(4, 3, "tri3"), mp.Poisson())])                       # symmetric, scalar
def test_chunked_cell_tangents_are_the_jacobian_of_the_residual(monkeypatch, mesh, model):
    """Cells in chunks that do not divide the cell count (the last chunk padded): the assembled
    tangent equals the autodiff Jacobian of the residual, and the residual and energies equal
    those of a single chunk."""
    problem = mp.Problem(mesh, model)
    n = mesh.cells.shape[1] * problem.ncomp
    monkeypatch.setattr(mp._problem, "CELL_CHUNK_ENTRIES", 5 * n ** 2)
    p = problem.params()
    u = 0.05 * np.random.default_rng(1).standard_normal(problem.ndof)
    K = problem.tangent(u, p).toarray()
    exact = np.asarray(jax.jacfwd(lambda w: problem.residual(w, p))(u))
    np.testing.assert_allclose(K, exact, rtol=0, atol=1e-12 * np.abs(exact).max())
    kernels = [problem.cell_residuals] + ([problem.cell_energies] if model.energy else [])
    chunked = [kernel(u, p) for kernel in kernels]
    monkeypatch.setattr(mp._problem, "CELL_CHUNK_ENTRIES", 10 ** 9)
    for kernel, value in zip(kernels, chunked, strict=True):
        np.testing.assert_allclose(value, kernel(u, p), rtol=1e-13, atol=1e-15)


def test_node_pair_assembly_mirrors_the_full_scatter():
    """Symmetric cell matrices: the node-pair blocks on and above the diagonal, transposed
    where `Pattern.node_pairs` says flipped and summed into its upper node blocks, give upper
    values from which the pattern's whole matrix and its free-free and free-fixed blocks equal
    the full scatter's, exactly symmetric, from about half the entries."""
    mesh = mp.box(2, 2, 1, "tet10")
    c = 3
    cd = (mesh.cells[:, :, None] * c + np.arange(c)).reshape(mesh.n_cells, -1)
    ndof = mesh.n_nodes * c
    fixed = np.arange(0, ndof, 7)
    pattern = Pattern(cd, ndof, np.setdiff1d(np.arange(ndof), fixed), fixed, block=c)
    half = np.random.default_rng(0).standard_normal((mesh.n_cells, cd.shape[1], cd.shape[1]))
    cells = half + np.swapaxes(half, 1, 2)
    first, second, blocks, flipped, n_blocks = pattern.node_pairs
    assert 0 < flipped.mean() < 1
    k = cd.shape[1] // c
    pairs = cells.reshape(-1, k, c, k, c).transpose(0, 1, 3, 2, 4)[:, first, second]
    pairs = np.where(flipped[..., None, None], np.swapaxes(pairs, 2, 3), pairs)
    upper = np.zeros((n_blocks, c * c))
    np.add.at(upper, blocks.ravel(), pairs.reshape(-1, c * c))
    upper = upper.ravel()
    full = np.bincount(pattern.scatter, cells.ravel(), pattern.nnz)
    np.testing.assert_allclose(pattern.matrix(upper).data, full, rtol=1e-14, atol=1e-14)
    for part in (pattern.matrix, pattern.free_block, pattern.free_fixed_block):
        difference = part(upper) - part(full)
        assert part(upper).shape == part(full).shape and abs(difference).max() < 1e-14
    K = pattern.matrix(upper)
    assert (K != K.T).nnz == 0
    assert upper.size < 0.6 * pattern.nnz
    with pytest.raises(InputError, match="tangent values must have shape"):
        pattern.free_block(upper[:-1])


@pytest.mark.parametrize("block", [1, 3])
def test_mirror_reads_each_entry_and_its_transpose_from_one_upper_value(block):
    """`Pattern._mirror`, for plain patterns and, through the node graph, blocked ones: the
    slots of (i, j) and (j, i) read the same upper value, distinct entries on and above the
    diagonal read distinct ones, and the upper values are whole node blocks in CSR order."""
    mesh = mp.box(2, 1, 2, "tet10")
    c = 3
    cd = (mesh.cells[:, :, None] * c + np.arange(c)).reshape(mesh.n_cells, -1)
    ndof = mesh.n_nodes * c
    pattern = Pattern(cd, ndof, np.arange(ndof), np.array([], int), block=block)
    assert pattern.block == block
    rows = np.repeat(np.arange(ndof), np.diff(pattern.indptr))
    cols = pattern.indices
    mirror, n_upper = pattern._mirror
    keys = zip(rows.tolist(), cols.tolist(), strict=True)
    index = dict(zip(keys, mirror.tolist(), strict=True))
    assert all(index[j, i] == value for (i, j), value in index.items())
    upper = mirror[rows <= cols]
    assert np.unique(upper).size == upper.size and upper.max() < n_upper
    pairs = sorted({(i // block, j // block) for i, j in index if i // block <= j // block})
    assert n_upper == len(pairs) * block ** 2
    first = [index[i * block, j * block] for i, j in pairs]
    assert first == list(range(0, n_upper, block ** 2))
