"""Compiled loop behind corpusql.udfs.embed_static: mean pooling of token-table rows.

Compiled by numba (``nogil``, so DuckDB's threads pool batches in parallel) and cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True, boundscheck=False)
def mean_rows(table, ids, offsets, out):
    """out[i] = L2-normalized mean of table[ids[offsets[i]:offsets[i+1]]], summed in float64
    in token order (so a text's vector depends on its tokens alone); empty spans stay NaN."""
    dim = table.shape[1]
    acc = np.empty(dim, np.float64)
    for i in range(offsets.shape[0] - 1):
        lo, hi = offsets[i], offsets[i + 1]
        if hi == lo:
            continue
        acc[:] = 0.0
        for t in range(lo, hi):
            row = table[ids[t]]
            for j in range(dim):
                acc[j] += row[j]
        norm = 0.0
        for j in range(dim):
            norm += acc[j] * acc[j]
        scale = 1.0 / np.sqrt(norm) if norm > 0.0 else 1.0
        for j in range(dim):
            out[i, j] = acc[j] * scale
