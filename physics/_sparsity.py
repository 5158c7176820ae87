"""The fixed sparsity pattern of a global tangent, and its free/fixed blocks.

Built once per topology: element matrices are scatter-added into `values` (nnz,) through
`scatter` (symmetric ones: their node-pair blocks into the node blocks on and above the
diagonal through `node_pairs`), and the whole matrix and its free-free and free-fixed blocks
are sliced out of either by precomputed indices.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from morphax._core import InputError


class Pattern:
    """cell_dofs (m, n): the global dofs of each cell; free, fixed: sorted dof indices.

    scatter (m * n * n,): for each entry of the cell matrices (m, n, n), its slot in the
    CSR pattern (indptr, indices) of the (ndof, ndof) matrix.
    block: dofs per node. When cell_dofs number the `block` components of each node
    consecutively (dof = node * block + component), the pattern is built on the node graph
    and expanded by blocks: block^2 times fewer entries to sort, the same result.
    """

    def __init__(self, cell_dofs: np.ndarray, ndof: int, free: np.ndarray, fixed: np.ndarray,
                 block: int = 1):
        cd = np.asarray(cell_dofs, dtype=np.int64)
        self.cell_size = cd.shape[1]
        self.block = block if block > 1 and _node_blocked(cd, block) else 1
        if self.block > 1:
            self.scatter, r, c = _block_pattern(cd, ndof, block)
        else:
            self.scatter, r, c = _dof_pattern(cd, ndof)
        self.nnz = r.size
        self.shape = (ndof, ndof)
        self.indptr, self.indices = _csr_index(r, ndof), c
        self.free, self.fixed = free, fixed
        is_free = np.zeros(ndof, bool)
        is_free[free] = True
        free_num = np.full(ndof, -1, np.int64)
        free_num[free] = np.arange(free.size)
        fixed_num = np.full(ndof, -1, np.int64)
        fixed_num[fixed] = np.arange(fixed.size)
        ff = is_free[r] & is_free[c]
        self._ff_take = np.nonzero(ff)[0]
        self._ff_index = (_csr_index(free_num[r[ff]], free.size), free_num[c[ff]])
        fd = is_free[r] & ~is_free[c]
        self._fd_take = np.nonzero(fd)[0]
        self._fd_rows_cols = (free_num[r[fd]], fixed_num[c[fd]])

    @functools.cached_property
    def _mirror(self) -> tuple[np.ndarray, int]:
        """(mirror (nnz,), n_upper): the upper values of a symmetric matrix are its node blocks
        (b x b, b = `block`) on and above the node diagonal, (n_upper / b^2, b, b) in the node
        graph's CSR order; mirror gives for each pattern slot the index of its value among
        them: its own entry on or above the diagonal, its transpose's below (so the entries
        below the diagonal of a node's own block are never read). Built on the node graph (the
        pattern itself when b = 1): b^2 times fewer entries to sort."""
        b = self.block
        node_ptr = self.indptr[::b] // (b * b)       # row (i, 0) starts b^2 node_ptr[i]
        degree = np.diff(node_ptr)
        node_row = np.repeat(np.arange(degree.size), degree)
        rank = np.arange(node_row.size) - node_ptr[node_row]
        node_col = self.indices[self.indptr[node_row * b] + b * rank] // b
        upper = node_row <= node_col
        block = np.cumsum(upper) - 1
        block = np.where(upper, block, block[_transposed_slots(node_col)])
        # entry (a, c) of node pair q sits in slot base[q] + a stride[q] + c, and reads entry
        # (a, c) of its upper block, or (c, a) below the diagonal
        itype = _index_type(self.nnz)
        comp = np.arange(b, dtype=itype)
        slot = ((b * b * node_ptr[node_row] + b * rank).astype(itype)[:, None, None]
                + (b * degree[node_row]).astype(itype)[:, None, None] * comp[:, None] + comp)
        below = (node_row > node_col)[:, None, None] | (
            (node_row == node_col)[:, None, None] & (comp[:, None] > comp))
        entry = np.where(below, comp * b + comp[:, None], comp[:, None] * b + comp)
        n_upper = int(upper.sum()) * b * b
        mirror = np.empty(self.nnz, _index_type(n_upper))
        mirror[slot.ravel()] = (block.astype(mirror.dtype)[:, None, None] * (b * b)
                                + entry).ravel()
        return mirror, n_upper

    @functools.cached_property
    def node_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """Symmetric assembly from node-pair blocks: (first, second, blocks, flipped, n_blocks).

        A symmetric matrix is assembled from the blocks (m, P, b, b) of the P node pairs
        (first[p], second[p]) = np.triu_indices(k) of each cell (k nodes, b = `block` dofs
        each): block (cell, p), transposed where flipped[cell, p] (its first node comes later
        in the global numbering), adds into the upper node block blocks[cell, p] of the upper
        values (n_blocks, b, b) (see `_mirror`), which `matrix`, `free_block` and
        `free_fixed_block` take as they are (exactly symmetric). About half the entries of the
        full cell matrices, scattered b^2 at a time."""
        b = self.block
        m, n = self.scatter.size // self.cell_size ** 2, self.cell_size
        k = n // b
        first, second = np.triu_indices(k)
        corner = self.scatter.reshape(m, k, b, k, b)[:, first, 0, second, 0]   # (m, P) slots
        flipped = np.searchsorted(self.indptr, corner, side="right") - 1 > self.indices[corner]
        mirror, n_upper = self._mirror          # a flipped corner reads its transposed block
        return first, second, mirror[corner] // (b * b), flipped, n_upper // (b * b)

    def matrix(self, values) -> sp.csr_matrix:
        """The whole matrix (ndof, ndof) from its pattern values: all of them (nnz,), or the
        upper node blocks (n_upper,) of a symmetric matrix (`_mirror`)."""
        return sp.csr_matrix((self._take(values, None), self.indices, self.indptr),
                             shape=self.shape)

    def free_block(self, values) -> sp.csr_matrix:
        """The free-free block (n_free, n_free); values as in `matrix`."""
        indptr, indices = self._ff_index
        return sp.csr_matrix((self._take(values, "_ff_take"), indices, indptr),
                             shape=(self.free.size, self.free.size))

    def free_fixed_block(self, values) -> sp.csr_matrix:
        """The free-fixed block (n_free, n_fixed), for the load-step predictor; values as in
        `matrix`."""
        rows, cols = self._fd_rows_cols
        return sp.csr_matrix((self._take(values, "_fd_take"), (rows, cols)),
                             shape=(self.free.size, self.fixed.size))

    def _take(self, values, name: str | None) -> np.ndarray:
        """The pattern values at the slots `getattr(self, name)` (None: all), from all values
        (nnz,) or from the upper ones (n_upper,) through `_mirror`."""
        values = np.asarray(values)
        take = None if name is None else getattr(self, name)
        if values.shape == (self.nnz,):
            return values if take is None else values[take]
        n_upper = self._mirror[1]
        if values.shape != (n_upper,):
            raise InputError(f"tangent values must have shape ({self.nnz},) or, the node blocks "
                             f"on and above the diagonal of a symmetric tangent, ({n_upper},); got "
                             f"{values.shape}: pass what tangent_values(u, p) of this problem "
                             "returns")
        return values[self._upper_takes[name]]

    @functools.cached_property
    def _upper_takes(self) -> dict:
        """The slots of the upper values that `_take` reads, by the name of its slice."""
        mirror = self._mirror[0]
        return {None: mirror, "_ff_take": mirror[self._ff_take],
                "_fd_take": mirror[self._fd_take]}


def _dof_pattern(cd, ndof):
    """(scatter, rows, cols) of the sorted CSR pattern of cell dofs cd (m, n)."""
    n = cd.shape[1]
    keys, inverse = np.unique(np.repeat(cd, n, axis=1).ravel() * ndof + np.tile(cd, (1, n)).ravel(),
                              return_inverse=True)
    return inverse.ravel().astype(_index_type(keys.size)), keys // ndof, keys % ndof


def _node_blocked(cd, c) -> bool:
    """Whether cd (m, k * c) holds whole nodes: dofs node * c + 0..c-1, in that order."""
    blocks = cd.reshape(cd.shape[0], -1, c)
    return bool(np.all(blocks[..., 0] % c == 0)
                and np.all(blocks == blocks[..., :1] + np.arange(c)))


def _block_pattern(cd, ndof, c):
    """`_dof_pattern` for node-blocked cell dofs, built on the node graph: node pairs (i, j)
    become c x c blocks; row (i, a) holds columns j * c + b for the sorted neighbours j of i."""
    m = cd.shape[0]
    nodes = cd[:, ::c] // c                                          # (m, k)
    k, n_nodes = nodes.shape[1], ndof // c
    keys, inverse = np.unique(np.repeat(nodes, k, axis=1).ravel() * n_nodes
                              + np.tile(nodes, (1, k)).ravel(), return_inverse=True)
    node_ptr = _csr_index(keys // n_nodes, n_nodes)                 # (n_nodes + 1,)
    degree = np.diff(node_ptr)
    itype = _index_type(c * c * keys.size)
    # scatter[cell, k1, a, k2, b] = c^2 ptr[i] + a c deg[i] + (rank of j among i's) c + b
    start, deg = (c * c * node_ptr[nodes]).astype(itype), (c * degree[nodes]).astype(itype)
    rank = (inverse.reshape(m, k, k) - node_ptr[nodes][:, :, None]).astype(itype) * c
    a, b = np.arange(c, dtype=itype), np.arange(c, dtype=itype)
    scatter = (start[:, :, None, None, None] + a[None, None, :, None, None] * deg[:, :, None, None, None]
               + rank[:, :, None, :, None] + b[None, None, None, None, :])
    row_len = np.repeat(c * degree, c)                               # (ndof,)
    rows = np.repeat(np.arange(ndof), row_len)
    offset = np.arange(rows.size) - np.repeat(_csr_index_from_lengths(row_len)[:-1], row_len)
    neighbours = keys % n_nodes
    cols = neighbours[node_ptr[rows // c] + offset // c] * c + offset % c
    return scatter.ravel(), rows, cols


def _transposed_slots(indices: np.ndarray) -> np.ndarray:
    """For a structurally symmetric CSR pattern with sorted rows, given its column indices
    (nnz,): the slot of entry (j, i) for each slot of (i, j). Ordering the slots by column
    (stably, so rows stay sorted within a column) lists the entries of the transpose in CSR
    order."""
    order = np.argsort(indices, kind="stable")
    transposed = np.empty_like(order)
    transposed[order] = np.arange(order.size)
    return transposed.astype(_index_type(order.size))


def _index_type(size):
    return np.int32 if size < 2**31 else np.int64


def _csr_index_from_lengths(lengths: np.ndarray) -> np.ndarray:
    indptr = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr


def _csr_index(sorted_rows: np.ndarray, n_rows: int) -> np.ndarray:
    return _csr_index_from_lengths(np.bincount(sorted_rows, minlength=n_rows))
