"""datatrove's left-to-right scan for repeated n-grams (Gopher repetition), compiled with numba.

The scan (:func:`.repetition._dup_chars` gives its definition and the Python version) walks a
document's n-grams in order with a set of those seen: an n-gram already in the set is a
duplicate, and the scan jumps past its last word; one not yet seen is added. Here the set is an
open-addressing table of the 64-bit n-gram keys, and the loop releases the GIL. Same hits as the
Python loop (tests/udfs/quality/test_repetition_scan.py compares them).
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit


@njit(nogil=True, cache=True, boundscheck=False)
def scan_hits(pos, keys, n):
    """Positions (from ``pos``, ascending) where a key already seen starts a duplicate n-gram;
    positions inside the previous hit's n words are skipped and not added to the set."""
    m = len(pos)
    bits = 4
    while (1 << bits) < 2 * m + 2:
        bits += 1
    mask = (1 << bits) - 1
    table = np.zeros(1 << bits, dtype=np.uint64)
    used = np.zeros(1 << bits, dtype=np.bool_)
    hits = np.empty(m, dtype=np.int64)
    shift = np.uint64(64 - bits)
    mult = np.uint64(0x9E3779B97F4A7C15)
    idx = -1
    found_n = 0
    for i in range(m):
        p = pos[i]
        if p < idx:
            continue
        k = keys[i]
        j = np.int64(((k ^ (k >> np.uint64(31))) * mult) >> shift)
        found = False
        while used[j]:
            if table[j] == k:
                found = True
                break
            j = (j + 1) & mask
        if found:
            hits[found_n] = p
            found_n += 1
            idx = p + n
        else:
            used[j] = True
            table[j] = k
    return hits[:found_n]


#: Repeated n-gram positions a process scans in Python before it loads (or, on a fresh install,
#: compiles: about a second) the compiled scan; an earlier process's compile is used at once.
COMPILE_AFTER_POSITIONS = 5_000_000
_seen = 0


def use_compiled(n_positions: int) -> bool:
    """True when the compiled scan should run (see :data:`COMPILE_AFTER_POSITIONS`)."""
    global _seen
    if _seen >= COMPILE_AFTER_POSITIONS:
        return True
    try:
        if os.path.exists(scan_hits._cache._cache_file._index_path):
            return True
    except AttributeError:  # numba internals moved: compile as for a long job
        return True
    _seen += n_positions
    return False
