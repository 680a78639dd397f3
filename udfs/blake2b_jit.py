"""BLAKE2b (RFC 7693) compiled with numba, over every string of an Arrow batch at once.

The same function as ``hashlib.blake2b(data, digest_size=n, key=key)`` (the tests compare them
on random inputs), written for batches of short keys, where a Python call per row would cost
more than the hash and hold the GIL: this loop releases it, so DuckDB's threads hash their
batches in parallel. Long texts are better served by hashlib's C code. A process hashes its
first ``COMPILE_AFTER_ROWS`` rows with hashlib, so a small job does not pay for the compile.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit

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


_R32, _L32 = np.uint64(32), np.uint64(32)
_R24, _L24 = np.uint64(24), np.uint64(40)
_R16, _L16 = np.uint64(16), np.uint64(48)
_R63, _L63 = np.uint64(63), np.uint64(1)


@njit(**_OPTS)
def _g(a, b, c, d, x, y):
    """The mixing function G on four state words and two message words (rotations by 32, 24,
    16 and 63 bits written out: one compiled function, no specialization per constant)."""
    a = a + b + x
    d ^= a
    d = (d >> _R32) | (d << _L32)
    c = c + d
    b ^= c
    b = (b >> _R24) | (b << _L24)
    a = a + b + y
    d ^= a
    d = (d >> _R16) | (d << _L16)
    c = c + d
    b ^= c
    b = (b >> _R63) | (b << _L63)
    return a, b, c, d


@njit(**_OPTS)
def _compress(h, block, t, last, m):
    """The compression function F on one 128-byte block; ``t`` bytes so far including it."""
    for i in range(16):
        w = np.uint64(0)
        for b in range(8):
            w |= np.uint64(block[8 * i + b]) << np.uint64(8 * b)
        m[i] = w
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


#: Rows a process hashes with hashlib before it switches to the compiled loop. Below this the
#: compile (seconds, once per install) would cost more than it saves (hashlib: about 1 µs a
#: row, holding the GIL), so a small job, like the demo's first run, never compiles it.
COMPILE_AFTER_ROWS = 200_000
_rows_hashed = 0


def blake2b_first_words(buf, offsets, valid, key, digest_size: int) -> np.ndarray:
    """The first 8 bytes of BLAKE2b(data, digest_size, key), read little-endian, of each string
    ``buf[offsets[i]:offsets[i+1]]``; 0 where ``valid`` is false. ``digest_size`` >= 8.

    The first ``COMPILE_AFTER_ROWS`` rows of a process go through hashlib, later ones through
    the compiled loop (``compiled_first_words``); both give the same words."""
    global _rows_hashed
    n = len(offsets) - 1
    if _rows_hashed >= COMPILE_AFTER_ROWS:
        return compiled_first_words(buf, offsets, valid, key, digest_size)
    _rows_hashed += n
    return hashlib_first_words(buf, offsets, valid, key, digest_size)


def hashlib_first_words(buf, offsets, valid, key, digest_size: int) -> np.ndarray:
    """``compiled_first_words`` with one hashlib call per row."""
    out = np.zeros(len(offsets) - 1, dtype=np.uint64)
    view = memoryview(np.ascontiguousarray(buf, dtype=np.uint8))
    k = bytes(np.asarray(key, dtype=np.uint8))
    bounds = np.asarray(offsets, dtype=np.int64).tolist()
    words = [
        int.from_bytes(hashlib.blake2b(view[bounds[i]:bounds[i + 1]], digest_size=digest_size,
                                       key=k).digest()[:8], "little")
        for i in np.flatnonzero(valid).tolist()]
    out[np.flatnonzero(valid)] = np.array(words, dtype=np.uint64)
    return out


@njit(**_OPTS)
def compiled_first_words(buf, offsets, valid, key, digest_size):
    """The first 8 bytes of BLAKE2b(data, digest_size, key), read little-endian, of each string
    ``buf[offsets[i]:offsets[i+1]]``; 0 where ``valid`` is false. ``digest_size`` >= 8.

    Written for a short first compile: ``_compress`` always called with the same argument types
    (one specialization) and element loops instead of slice copies (whose shape checks pull in numba's exception
    formatting)."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.uint64)
    h = np.empty(8, dtype=np.uint64)
    m = np.empty(16, dtype=np.uint64)
    block = np.empty(128, dtype=np.uint8)
    keylen = np.int64(len(key))
    h0 = np.empty(8, dtype=np.uint64)  # the parameter block's state
    for i in range(8):
        h0[i] = _IV[i]
    h0[0] ^= np.uint64(0x01010000) ^ (np.uint64(keylen) << np.uint64(8)) ^ np.uint64(digest_size)
    # With a key, the message starts with the key padded to one block: the state after that
    # block (when more data follows it) is the same for every row, so it is computed once.
    keyed = np.empty(8, dtype=np.uint64)
    for i in range(8):
        keyed[i] = h0[i]
    key_t = np.int64(128)  # bytes compressed once the key block is
    if keylen > 0:
        for b in range(128):
            block[b] = key[b] if b < keylen else 0
        _compress(keyed, block, key_t, keylen < 0, m)  # not the last block
    for row in range(n):
        if not valid[row]:
            continue
        lo = np.int64(offsets[row])
        size = np.int64(offsets[row + 1]) - lo
        if keylen > 0 and size == 0:
            # the key block is the whole message: compressed with the final flag
            for i in range(8):
                h[i] = h0[i]
            for b in range(128):
                block[b] = key[b] if b < keylen else 0
            _compress(h, block, key_t, keylen > 0, m)  # the last block
            out[row] = h[0]
            continue
        start = keyed if keylen > 0 else h0
        for i in range(8):
            h[i] = start[i]
        t = key_t if keylen > 0 else np.int64(0)
        # the data, the last block zero-padded and compressed with the final flag (one block
        # at least, also for empty data without a key)
        n_blocks = max(1, (size + 127) // 128)
        for k in range(n_blocks):
            filled = np.int64(0)
            for b in range(128):
                p = 128 * k + b
                if p < size:
                    block[b] = buf[lo + p]
                    filled = b + 1
                else:
                    block[b] = 0
            t += filled
            _compress(h, block, t, k == n_blocks - 1, m)
        out[row] = h[0]
    return out
