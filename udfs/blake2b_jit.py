"""BLAKE2b (RFC 7693) compiled with numba, over every string of an Arrow batch at once.

The same function as ``hashlib.blake2b(data, digest_size=n, key=key)`` (the tests compare them
on random inputs), written for batches of short keys, where a Python call per row would cost
more than the hash and hold the GIL: this loop releases it, so DuckDB's threads hash their
batches in parallel. Long texts are better served by hashlib's C code.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

if sys.byteorder != "little":  # pragma: no cover - every platform corpusql ships wheels for
    raise ImportError("corpusql.udfs.blake2b_jit reads BLAKE2b message words in native order, "
                      "which must be little-endian; this machine is big-endian")

_IV = np.array([
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
], dtype=np.uint64)

_SIGMA = np.array([
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
], dtype=np.int64)

_OPTS = {"nogil": True, "cache": True, "boundscheck": False}


@njit(**_OPTS)
def _rotr(x, n):
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@njit(**_OPTS)
def _g(a, b, c, d, x, y):
    """The mixing function G on four state words and two message words."""
    a = a + b + x
    d = _rotr(d ^ a, 32)
    c = c + d
    b = _rotr(b ^ c, 24)
    a = a + b + y
    d = _rotr(d ^ a, 16)
    c = c + d
    b = _rotr(b ^ c, 63)
    return a, b, c, d


@njit(**_OPTS)
def _compress(h, block, t, last, m):
    """The compression function F on one 128-byte block; ``t`` bytes so far including it."""
    words = block.view(np.uint64)  # little-endian words, as RFC 7693 reads them (x86, ARM)
    for i in range(16):
        m[i] = words[i]
    v0, v1, v2, v3, v4, v5, v6, v7 = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    v8, v9, v10, v11 = _IV[0], _IV[1], _IV[2], _IV[3]
    v12 = _IV[4] ^ np.uint64(t)  # t < 2^64: the high counter word stays 0
    v13 = _IV[5]
    v14 = ~_IV[6] if last else _IV[6]
    v15 = _IV[7]
    for r in range(12):
        s = _SIGMA[r % 10]
        v0, v4, v8, v12 = _g(v0, v4, v8, v12, m[s[0]], m[s[1]])
        v1, v5, v9, v13 = _g(v1, v5, v9, v13, m[s[2]], m[s[3]])
        v2, v6, v10, v14 = _g(v2, v6, v10, v14, m[s[4]], m[s[5]])
        v3, v7, v11, v15 = _g(v3, v7, v11, v15, m[s[6]], m[s[7]])
        v0, v5, v10, v15 = _g(v0, v5, v10, v15, m[s[8]], m[s[9]])
        v1, v6, v11, v12 = _g(v1, v6, v11, v12, m[s[10]], m[s[11]])
        v2, v7, v8, v13 = _g(v2, v7, v8, v13, m[s[12]], m[s[13]])
        v3, v4, v9, v14 = _g(v3, v4, v9, v14, m[s[14]], m[s[15]])
    h[0] ^= v0 ^ v8
    h[1] ^= v1 ^ v9
    h[2] ^= v2 ^ v10
    h[3] ^= v3 ^ v11
    h[4] ^= v4 ^ v12
    h[5] ^= v5 ^ v13
    h[6] ^= v6 ^ v14
    h[7] ^= v7 ^ v15


@njit(**_OPTS)
def blake2b_first_words(buf, offsets, valid, key, digest_size):
    """The first 8 bytes of BLAKE2b(data, digest_size, key), read little-endian, of each string
    ``buf[offsets[i]:offsets[i+1]]``; 0 where ``valid`` is false. ``digest_size`` >= 8."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.uint64)
    h = np.empty(8, dtype=np.uint64)
    m = np.empty(16, dtype=np.uint64)
    block = np.empty(128, dtype=np.uint8)
    keylen = len(key)
    # the state after the key block (not the last one) is the same for every row: compute it once
    h0 = np.empty(8, dtype=np.uint64)
    for i in range(8):
        h0[i] = _IV[i]
    h0[0] ^= np.uint64(0x01010000) ^ (np.uint64(keylen) << np.uint64(8)) ^ np.uint64(digest_size)
    keyed = h0.copy()
    if keylen > 0:
        block[:] = 0
        block[:keylen] = key
        _compress(keyed, block, 128, False, m)
    for row in range(n):
        if not valid[row]:
            continue
        lo = offsets[row]
        size = offsets[row + 1] - lo
        t = 0
        if keylen > 0:
            t = 128
            if size == 0:
                h[:] = h0
                block[:] = 0
                block[:keylen] = key
                _compress(h, block, t, True, m)
                out[row] = h[0]
                continue
            h[:] = keyed
        else:
            h[:] = h0
        pos = 0
        while size - pos > 128:
            block[:] = buf[lo + pos: lo + pos + 128]
            t += 128
            _compress(h, block, t, False, m)
            pos += 128
        rest = size - pos
        block[:] = 0
        block[:rest] = buf[lo + pos: lo + size]
        t += rest
        _compress(h, block, t, True, m)
        out[row] = h[0]
    return out
