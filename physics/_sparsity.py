"""The fixed sparsity pattern of a global tangent, and its free/fixed blocks.

Built once per topology: element matrices are scatter-added into `values` (nnz,) through
`scatter`, and the free-free and free-fixed blocks are sliced out by precomputed indices.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class Pattern:
    """cell_dofs (m, n): the global dofs of each cell; free, fixed: sorted dof indices.

    scatter (m * n * n,): for each entry of the cell matrices (m, n, n), its slot in the
    CSR pattern (indptr, indices) of the (ndof, ndof) matrix.
    """

    def __init__(self, cell_dofs: np.ndarray, ndof: int, free: np.ndarray, fixed: np.ndarray):
        cd = np.asarray(cell_dofs, dtype=np.int64)
        n = cd.shape[1]
        rows = np.repeat(cd, n, axis=1).ravel()
        cols = np.tile(cd, (1, n)).ravel()
        keys, inverse = np.unique(rows * ndof + cols, return_inverse=True)
        self.scatter = inverse.ravel().astype(np.int32 if keys.size < 2**31 else np.int64)
        self.nnz = keys.size
        self.shape = (ndof, ndof)
        r, c = keys // ndof, keys % ndof
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

    def matrix(self, values) -> sp.csr_matrix:
        """The whole matrix (ndof, ndof) from its pattern values (nnz,)."""
        return sp.csr_matrix((np.asarray(values), self.indices, self.indptr), shape=self.shape)

    def free_block(self, values) -> sp.csr_matrix:
        """The free-free block (n_free, n_free)."""
        indptr, indices = self._ff_index
        return sp.csr_matrix((np.asarray(values)[self._ff_take], indices, indptr),
                             shape=(self.free.size, self.free.size))

    def free_fixed_block(self, values) -> sp.csr_matrix:
        """The free-fixed block (n_free, n_fixed), for the load-step predictor."""
        rows, cols = self._fd_rows_cols
        return sp.csr_matrix((np.asarray(values)[self._fd_take], (rows, cols)),
                             shape=(self.free.size, self.fixed.size))


def _csr_index(sorted_rows: np.ndarray, n_rows: int) -> np.ndarray:
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(sorted_rows, minlength=n_rows), out=indptr[1:])
    return indptr
