"""Gopher repetition's n-gram passes compiled with numba: grouping repeated n-grams, and
datatrove's left-to-right scan for duplicated ones.

* :func:`repeated` finds the n-grams that occur at least twice (their positions, and per
  repeated n-gram its first position and count), as :class:`.repetition._Repeats` does with a
  sort, here with one pass over an open-addressing table of the 64-bit n-gram keys.
* :func:`scan_hits`: the scan (:func:`.repetition._dup_chars` gives its definition and the Python
  version) walks a document's n-grams in order with a set of those seen: an n-gram already in
  the set is a duplicate, and the scan jumps past its last word; one not yet seen is added.

Both release the GIL. Same results as the Python versions
(tests/udfs/quality/test_repetition_scan.py compares them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..sets_jit import cached_on_disk


@njit(nogil=True, cache=True, boundscheck=False)
def _table_bits(m):
    """log2 of an open-addressing table's size for m keys (at most half full)."""
    bits = 4
    while (1 << bits) < 2 * m + 2:
        bits += 1
    return bits


@njit(nogil=True, cache=True, boundscheck=False)
def _slot(k, shift):
    """A key's home slot: its bits mixed, the top ones kept."""
    return np.int64(((k ^ (k >> np.uint64(31))) * np.uint64(0x9E3779B97F4A7C15)) >> shift)


@njit(nogil=True, cache=True, boundscheck=False)
def scan_hits(pos, keys, n):
    """Positions (from ``pos``, ascending) where a key already seen starts a duplicate n-gram;
    positions inside the previous hit's n words are skipped and not added to the set."""
    m = len(pos)
    bits = _table_bits(m)
    mask = (1 << bits) - 1
    table = np.zeros(1 << bits, dtype=np.uint64)
    used = np.zeros(1 << bits, dtype=np.bool_)
    hits = np.empty(m, dtype=np.int64)
    shift = np.uint64(64 - bits)
    idx = -1
    found_n = 0
    for i in range(m):
        p = pos[i]
        if p < idx:
            continue
        k = keys[i]
        j = _slot(k, shift)
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


@njit(nogil=True, cache=True, boundscheck=False)
def repeated(pos, keys):
    """(mask of the positions whose key occurs at least twice, first position and count of each
    such key); the keys' groups come in table order."""
    m = len(keys)
    bits = _table_bits(m)
    mask = (1 << bits) - 1
    table = np.zeros(1 << bits, dtype=np.uint64)
    count = np.zeros(1 << bits, dtype=np.int64)
    first = np.zeros(1 << bits, dtype=np.int64)
    slot_of = np.empty(m, dtype=np.int64)
    shift = np.uint64(64 - bits)
    for i in range(m):
        k = keys[i]
        j = _slot(k, shift)
        while count[j] and table[j] != k:
            j = (j + 1) & mask
        if not count[j]:
            table[j] = k
            first[j] = pos[i]
        count[j] += 1
        slot_of[i] = j
    repeated_pos = np.empty(m, dtype=np.bool_)
    for i in range(m):
        repeated_pos[i] = count[slot_of[i]] >= 2
    n_groups = 0
    for j in range(len(count)):
        n_groups += count[j] >= 2
    group_first = np.empty(n_groups, dtype=np.int64)
    group_count = np.empty(n_groups, dtype=np.int64)
    g = 0
    for j in range(len(count)):
        if count[j] >= 2:
            group_first[g] = first[j]
            group_count[g] = count[j]
            g += 1
    return repeated_pos, group_first, group_count


#: Repeated n-gram positions a process passes through the Python versions before it loads (or,
#: on a fresh install, compiles: about 1.5 s) the compiled ones; an earlier process's compile is
#: used at once. The demo sends 7.4 million (two passes over the sample), so it never compiles.
COMPILE_AFTER_POSITIONS = 50_000_000
_seen = 0


def use_compiled(n_positions: int) -> bool:
    """True when the compiled scan should run (see :data:`COMPILE_AFTER_POSITIONS`)."""
    global _seen
    if _seen >= COMPILE_AFTER_POSITIONS or cached_on_disk(scan_hits, unknown=True):
        return True
    _seen += n_positions
    return False
