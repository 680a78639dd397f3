"""Compiled (numba) parts of the set kernels: shared values of sorted runs.

Named ``*_jit`` like the other compiled modules, so what numba compiles (and caches on disk) is
in one kind of file.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit


def offsets(lengths: np.ndarray) -> np.ndarray:
    """Run offsets (n + 1, int64) from run lengths."""
    return np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)


_OPTS = {"nogil": True, "cache": True, "boundscheck": False}


@njit(**_OPTS)
def _sift_down(a, root, end):
    while True:
        child = 2 * root + 1
        if child > end:
            return
        if child + 1 <= end and a[child] < a[child + 1]:
            child += 1
        if a[root] < a[child]:
            a[root], a[child] = a[child], a[root]
            root = child
        else:
            return


@njit(**_OPTS)
def sort_inplace(a):
    """Sort ``a`` in place (heapsort). numba's own ``np.sort`` compiles for several seconds per
    element type; this compiles in a fraction of that and is within 2x of it at run time."""
    n = len(a)
    for start in range((n - 2) // 2, -1, -1):
        _sift_down(a, start, n - 1)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        _sift_down(a, 0, end - 1)


@njit(**_OPTS)
def _sorted_run(values, lo, hi, scratch):
    """values[lo:hi] copied into ``scratch`` and sorted there (a sorted run is only copied)."""
    n = hi - lo
    is_sorted = True
    for k in range(n):
        scratch[k] = values[lo + k]
        if k and scratch[k] < scratch[k - 1]:
            is_sorted = False
    run = scratch[:n]
    if not is_sorted:
        sort_inplace(run)
    return run


@njit(**_OPTS)
def _shared_counts(va, oa, vb, ob):
    out = np.zeros(len(oa) - 1, dtype=np.int64)
    xs = np.empty(len(va), dtype=va.dtype)
    ys = np.empty(len(vb), dtype=vb.dtype)
    for i in range(len(oa) - 1):
        x = _sorted_run(va, oa[i], oa[i + 1], xs)
        y = _sorted_run(vb, ob[i], ob[i + 1], ys)
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


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def shared_counts_compiled(va, oa, vb, ob) -> np.ndarray:
    """``shared_counts`` by the compiled merge. The arrays are passed to the compiled loop as read-only views, so Arrow's read-only buffers
    and numpy's writable arrays share one compiled version (numba compiles one per flag)."""
    return _shared_counts(_read_only(np.asarray(va)), _read_only(np.asarray(oa, np.int64)),
                          _read_only(np.asarray(vb)), _read_only(np.asarray(ob, np.int64)))


# --- small jobs: the same results with numpy, so they never wait for a compile -----------------
#: Values a process passes through the uncompiled paths (numpy sorts, several times slower than
#: the compiled loops) before it compiles them; a kernel already compiled by an earlier process
#: of this install (its numba cache index exists) is used from the start.
COMPILE_AFTER_VALUES = 20_000_000
_values_seen = 0


def use_compiled(dispatcher, n_values: int) -> bool:
    """True when ``dispatcher`` should run: it is cached on disk, or this process has passed
    COMPILE_AFTER_VALUES values through the numpy paths (then the compile pays for itself)."""
    global _values_seen
    if _values_seen >= COMPILE_AFTER_VALUES or cached_on_disk(dispatcher, unknown=True):
        return True
    _values_seen += n_values
    return False


def cached_on_disk(dispatcher, unknown: bool) -> bool:
    """True when an earlier process of this install compiled ``dispatcher`` (numba's cache index
    for it exists), so loading it costs milliseconds instead of a compile; ``unknown`` when
    numba's internals moved and this cannot be told."""
    try:
        return os.path.exists(dispatcher._cache._cache_file._index_path)
    except AttributeError:
        return unknown


def _keyed_counts(run: np.ndarray, values: np.ndarray):
    """Distinct (run, value) pairs, sorted, with how often each occurs."""
    order = np.lexsort((values, run))
    r, v = run[order], values[order]
    first = np.ones(len(v), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (v[1:] != v[:-1])
    starts = np.flatnonzero(first)
    return r[starts], v[starts], np.diff(np.append(starts, len(v)))


def shared_counts_numpy(va, oa, vb, ob) -> np.ndarray:
    """``shared_counts`` with numpy sorts: per pair, the size of the multiset intersection of
    the two runs (for runs of distinct values, the number of shared values), as the compiled
    merge counts it."""
    oa = np.asarray(oa, dtype=np.int64)
    ob = np.asarray(ob, dtype=np.int64)
    n = len(oa) - 1
    if n <= 0:
        return np.zeros(max(n, 0), dtype=np.int64)
    ra, xa, ca = _keyed_counts(np.repeat(np.arange(n), np.diff(oa)), np.asarray(va)[oa[0]:oa[-1]])
    rb, xb, cb = _keyed_counts(np.repeat(np.arange(n), np.diff(ob)), np.asarray(vb)[ob[0]:ob[-1]])
    r = np.concatenate([ra, rb])
    x = np.concatenate([xa, xb])
    c = np.concatenate([ca, cb])
    order = np.lexsort((x, r))
    r, x, c = r[order], x[order], c[order]
    both = (r[1:] == r[:-1]) & (x[1:] == x[:-1])  # each key once per side: a pair is a match
    shared = np.minimum(c[1:], c[:-1])[both]
    return np.bincount(r[1:][both], weights=shared, minlength=n).astype(np.int64)


def shared_counts(va, oa, vb, ob) -> np.ndarray:
    """For each pair i, how many values the runs va[oa[i]:oa[i+1]] and vb[ob[i]:ob[i+1]] share
    (each run a set of distinct values; a run that is not sorted is sorted first).

    Compiled (``_shared_counts``) for large jobs; numpy (``shared_counts_numpy``, same counts)
    while the job is small and the compiled version is not cached (see ``use_compiled``)."""
    va, vb = np.asarray(va), np.asarray(vb)
    if va.dtype != vb.dtype or use_compiled(_shared_counts, len(va) + len(vb)):
        return shared_counts_compiled(va, oa, vb, ob)
    return shared_counts_numpy(va, oa, vb, ob)
