"""Compiled (numba) parts of the set kernels: shared values of sorted runs.

Named ``*_jit`` like the other compiled modules, so what numba compiles (and caches on disk) is
in one kind of file.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def offsets(lengths: np.ndarray) -> np.ndarray:
    """Run offsets (n + 1, int64) from run lengths."""
    return np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)


@njit(nogil=True, cache=True)
def _sorted(values):
    for k in range(1, len(values)):
        if values[k] < values[k - 1]:
            return np.sort(values)
    return values


@njit(nogil=True, cache=True)
def shared_counts(va, oa, vb, ob):
    """For each pair i, how many values the runs va[oa[i]:oa[i+1]] and vb[ob[i]:ob[i+1]] share
    (each run a set of distinct values; a run that is not sorted is sorted first)."""
    out = np.zeros(len(oa) - 1, dtype=np.int64)
    for i in range(len(oa) - 1):
        x = _sorted(va[oa[i]:oa[i + 1]])
        y = _sorted(vb[ob[i]:ob[i + 1]])
        p = q = shared = 0
        while p < len(x) and q < len(y):
            if x[p] == y[q]:
                shared += 1
                p += 1
                q += 1
            elif x[p] < y[q]:
                p += 1
            else:
                q += 1
        out[i] = shared
    return out
