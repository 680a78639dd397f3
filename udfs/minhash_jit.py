"""Compiled loops behind corpusql.udfs.shingles and corpusql.udfs.minhash.

Each function is one pass over a batch's bytes or shingles, compiled by numba (``nogil``, so
DuckDB's threads run batches in parallel) and cached on disk. The definitions they implement are
stated in :mod:`corpusql.udfs.shingles` (``minhash_normalize``, ``shingle_hash``) and
:mod:`corpusql.udfs.minhash` (``minhash_signature``); the tests compare them with the scalar
references and with datasketch. All arithmetic is on unsigned integers and wraps modulo 2^64
(or 2^32 where stated).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .sets_jit import sort_inplace, use_compiled

_OPTS = {"nogil": True, "cache": True, "boundscheck": False}

_M32 = np.uint64(0xFFFFFFFF)


@njit(**_OPTS)
def _decode(buf, j, hi):
    """The code point starting at byte ``j`` (valid UTF-8 assumed) and its length in bytes."""
    b0 = np.int64(buf[j])
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xE0:
        cp, size = b0 & 0x1F, 2
    elif b0 < 0xF0:
        cp, size = b0 & 0x0F, 3
    else:
        cp, size = b0 & 0x07, 4
    size = min(size, hi - j)
    for t in range(1, size):
        cp = (cp << 6) | (np.int64(buf[j + t]) & 0x3F)
    return cp, size


@njit(**_OPTS)
def rows_with_class(buf, offsets, classes, wanted):
    """Which rows hold at least one code point whose class is ``wanted``."""
    n_docs = len(offsets) - 1
    out = np.zeros(n_docs, dtype=np.bool_)
    for d in range(n_docs):
        j = offsets[d]
        hi = offsets[d + 1]
        while j < hi:
            if buf[j] < 0x80:
                j += 1
                continue
            cp, size = _decode(buf, j, hi)
            if cp < len(classes) and classes[cp] == wanted:
                out[d] = True
                break
            j += size
    return out


@njit(inline="always", **_OPTS)
def _put(out, w, cp):
    """Write ``cp`` as UTF-8 at ``out[w]``; return the new ``w``."""
    if cp < 0x80:
        out[w] = cp
        return w + 1
    if cp < 0x800:
        out[w] = 0xC0 | (cp >> 6)
        out[w + 1] = 0x80 | (cp & 0x3F)
        return w + 2
    if cp < 0x10000:
        out[w] = 0xE0 | (cp >> 12)
        out[w + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[w + 2] = 0x80 | (cp & 0x3F)
        return w + 3
    out[w] = 0xF0 | (cp >> 18)
    out[w + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[w + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[w + 3] = 0x80 | (cp & 0x3F)
    return w + 4


@njit(**_OPTS)
def normalize_pass(buf, offsets, classes, rep_offsets, rep_cps):
    """The compiled pass of minhash_normalize over a batch of lowercased UTF-8 text: a code
    point of class 3 is replaced by its code points ``rep_cps[rep_offsets[cp]:rep_offsets[cp+1]]``
    (possibly none); then class 1 becomes a space and class 2 a ``0``, others are copied; a space
    that follows a space or starts its document, a ``0`` that follows a digit, and a trailing
    space are dropped. No replacement may be longer in UTF-8 than its code point. Returns the
    new bytes and int64 offsets (len(offsets))."""
    n_docs = len(offsets) - 1
    out = np.empty(len(buf), dtype=np.uint8)  # no replacement is longer than its code point
    new_offsets = np.empty(n_docs + 1, dtype=np.int64)
    w = 0
    for d in range(n_docs):
        new_offsets[d] = w
        start = w
        prev_sp = True
        prev_dg = False
        j = offsets[d]
        hi = offsets[d + 1]
        while j < hi:
            b0 = buf[j]
            if b0 < 0x80:  # ASCII: its class says it all
                cp = np.int64(b0)
                size = 1
                c = classes[cp]
            else:
                cp, size = _decode(buf, j, hi)
                c = classes[cp] if cp < len(classes) else 0
            j += size
            if c == 0 or c > 3:
                for t in range(j - size, j):
                    out[w] = buf[t]
                    w += 1
                prev_sp = False
                prev_dg = False
                continue
            # the space/digit folding below is written out twice on purpose: a shared helper
            # returning (w, prev_sp, prev_dg) made this pass 1.5x slower (measured)
            if c == 3:
                k_end = rep_offsets[cp + 1]
                for k in range(rep_offsets[cp], k_end):
                    r = rep_cps[k]
                    rc = classes[r]
                    if rc == 1:
                        if not prev_sp:
                            out[w] = 32
                            w += 1
                        prev_sp = True
                        prev_dg = False
                    elif rc == 2:
                        if not prev_dg:
                            out[w] = 48
                            w += 1
                        prev_sp = False
                        prev_dg = True
                    else:
                        w = _put(out, w, r)
                        prev_sp = False
                        prev_dg = False
                continue
            if c == 1:
                if not prev_sp:
                    out[w] = 32
                    w += 1
                prev_sp = True
                prev_dg = False
            else:
                if not prev_dg:
                    out[w] = 48
                    w += 1
                prev_sp = False
                prev_dg = True
        if w > start and out[w - 1] == 32:
            w -= 1
    new_offsets[n_docs] = w
    return out[:w], new_offsets


@njit(**_OPTS)
def _fmix64(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@njit(**_OPTS)
def _units(buf, lo, hi, char_unit, starts, ends):
    """Fill ``starts``/``ends`` with the byte spans of the doc's units; return their count.
    Words are the runs between single spaces; chars are UTF-8 code points."""
    k = 0
    if char_unit:
        for j in range(lo, hi):
            if (buf[j] & 0xC0) != 0x80:
                if k > 0:
                    ends[k - 1] = j
                starts[k] = j
                k += 1
        if k > 0:
            ends[k - 1] = hi
    else:
        starts[0] = lo
        for j in range(lo, hi):
            if buf[j] == 32:
                ends[k] = j
                k += 1
                starts[k] = j + 1
        ends[k] = hi
        k += 1
    return k


@njit(**_OPTS)
def shingle_counts(buf, offsets, docs, char_unit, ngram):
    """Units and shingles of each selected doc: (units, max(units - ngram + 1, 1))."""
    units = np.empty(len(docs), dtype=np.int64)
    for i in range(len(docs)):
        d = docs[i]
        lo, hi = offsets[d], offsets[d + 1]
        n = 0
        if char_unit[i]:
            for j in range(lo, hi):
                if (buf[j] & 0xC0) != 0x80:
                    n += 1
        else:
            n = 1
            for j in range(lo, hi):
                if buf[j] == 32:
                    n += 1
        units[i] = n
    return units, np.maximum(units - ngram + 1, 1)


@njit(inline="always", **_OPTS)
def _power(table, k):
    """table[1]^k mod 2^64, where table holds table[1]^0..: a lookup, or squaring when k is long."""
    if k < len(table):
        return table[k]
    result = np.uint64(1)
    base = table[1]
    while k > 0:
        if k & 1:
            result *= base
        base *= base
        k >>= 1
    return result


@njit(inline="always", **_OPTS)
def _horner(buf, s, e, base):
    """sum(buf[j] * base^(j - s) for j in [s, e)) mod 2^64, from the last byte."""
    h = np.uint64(0)
    for j in range(e - 1, s - 1, -1):
        h = h * base + np.uint64(buf[j])
    return h


@njit(**_OPTS)
def shingle_hash64(buf, offsets, docs, char_unit, ngram, units, counts, powers, inv_powers,
                   len_mix):
    """The 64-bit hash (see shingles.shingle_hash) of every shingle of the selected docs, in doc
    and text order: ``fmix64(raw XOR len * len_mix)`` with ``raw = sum(byte_j * B^(j - s))``
    over the shingle's bytes ``[s, e)``. Per doc, the prefix sums
    ``P(x) = sum(byte_j * B^(j - lo) for j < x)`` are kept at unit starts and ends only (each
    unit hashed by Horner's rule, then shifted by its power of B), so
    ``raw = (P(e) - P(s)) * B^-(s - lo)`` and memory is per unit, not per byte. ``powers`` and
    ``inv_powers`` hold B^i and B^-i for small i (longer ones are squared)."""
    total = 0
    most = 1
    for i in range(len(docs)):
        total += counts[i]
        most = max(most, units[i])
    out = np.empty(total, dtype=np.uint64)
    starts = np.empty(most, dtype=np.int64)
    ends = np.empty(most, dtype=np.int64)
    at_start = np.empty(most, dtype=np.uint64)
    inv_at_start = np.empty(most, dtype=np.uint64)
    at_end = np.empty(most, dtype=np.uint64)
    base = powers[1]
    w = 0
    for i in range(len(docs)):
        d = docs[i]
        n = _units(buf, offsets[d], offsets[d + 1], char_unit[i], starts, ends)
        prefix = np.uint64(0)  # P(starts[k])
        power = np.uint64(1)  # B^(starts[k] - lo)
        inv = np.uint64(1)  # B^-(starts[k] - lo)
        for k in range(n):
            s, e = starts[k], ends[k]
            at_start[k] = prefix
            inv_at_start[k] = inv
            end_prefix = prefix + power * _horner(buf, s, e, base)
            at_end[k] = end_prefix
            if k + 1 < n:
                nxt = starts[k + 1]
                power_at_end = power * _power(powers, e - s)
                prefix = end_prefix + power_at_end * _horner(buf, e, nxt, base)
                power = power_at_end * _power(powers, nxt - e)
                inv = inv * _power(inv_powers, nxt - s)
        for k in range(counts[i]):
            v = min(k + ngram - 1, n - 1)
            raw = (at_end[v] - at_start[k]) * inv_at_start[k]
            out[w] = _fmix64(raw ^ (np.uint64(ends[v] - starts[k]) * len_mix))
            w += 1
    return out


@njit(**_OPTS)
def min_affine32(h64, lengths, a, b):
    """MinHash with datasketch 2.0's affine32 scheme over runs of shingles: for each run and
    permutation k, ``min((a[k] * fmix32(h) + b[k]) mod 2^32)`` over the run's shingle hashes
    ``h = h64 >> 32``. Returns a (runs, num_perm) uint32 matrix."""
    num_perm = len(a)
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    out = np.empty((len(lengths), num_perm), dtype=np.uint32)
    mins = np.empty(num_perm, dtype=np.uint64)
    pos = 0
    for r in range(len(lengths)):
        mins[:] = _M32
        for _ in range(lengths[r]):
            h = h64[pos] >> np.uint64(32)
            pos += 1
            h ^= h >> np.uint64(16)
            h = (h * np.uint64(0x85EBCA6B)) & _M32
            h ^= h >> np.uint64(13)
            h = (h * np.uint64(0xC2B2AE35)) & _M32
            h ^= h >> np.uint64(16)
            for k in range(num_perm):
                v = (a64[k] * h + b64[k]) & _M32
                if v < mins[k]:
                    mins[k] = v
        for k in range(num_perm):
            out[r, k] = np.uint32(mins[k])
    return out


def distinct_runs(h64, lengths):
    """Sort each run of values and drop repeats: (values, new lengths), runs in the same order.

    Compiled (``distinct_runs_compiled``) for large jobs; numpy (``distinct_runs_numpy``, the
    same result) while the job is small and the compiled version is not cached
    (``sets_jit.use_compiled``)."""
    if use_compiled(distinct_runs_compiled, len(h64)):
        return distinct_runs_compiled(h64, lengths)
    return distinct_runs_numpy(h64, lengths)


def distinct_runs_numpy(h64, lengths):
    """``distinct_runs`` with one numpy sort of (run, value) keys."""
    lengths = np.asarray(lengths, dtype=np.int64)
    run = np.repeat(np.arange(len(lengths)), lengths)
    values = np.asarray(h64)[:len(run)]
    order = np.lexsort((values, run))
    v = values[order]
    keep = np.ones(len(v), dtype=bool)
    keep[1:] = (v[1:] != v[:-1]) | (run[1:] != run[:-1])  # run[order] == run: runs are in order
    return v[keep], np.bincount(run[keep], minlength=len(lengths)).astype(np.int64)


@njit(**_OPTS)
def distinct_runs_compiled(h64, lengths):
    """``distinct_runs`` compiled: each run copied, heapsorted in place and scanned."""
    out = np.empty_like(h64)
    run = np.empty_like(h64)  # scratch: the current run, sorted in place
    new_lengths = np.empty(len(lengths), dtype=np.int64)
    pos = 0
    w = 0
    for r in range(len(lengths)):
        n = lengths[r]
        for k in range(n):
            run[k] = h64[pos + k]
        view = run[:n]
        sort_inplace(view)
        pos += n
        start = w
        for k in range(n):
            if k == 0 or view[k] != view[k - 1]:
                out[w] = view[k]
                w += 1
        new_lengths[r] = w - start
    return out[:w], new_lengths
