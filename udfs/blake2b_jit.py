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
def _round(v, x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15):
    """One round of F on the state ``v`` (16 words) with the message words in the round's
    order (sigma applied by the caller, so every index is a constant)."""
    v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15 = v
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, x0, x1)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, x2, x3)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, x4, x5)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, x6, x7)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, x8, x9)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, x10, x11)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, x12, x13)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, x14, x15)
    return v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15


@njit(**_OPTS)
def _load_words(src, base, n, m):
    """The 16 message words ``m`` of a block holding the ``n`` <= 128 bytes ``src[base:base +
    n]``, read little-endian, zero-padded (a short key touches its few bytes, not a whole block)."""
    if n == 128:
        for i in range(16):
            w = np.uint64(0)
            for b in range(8):
                w |= np.uint64(src[base + 8 * i + b]) << np.uint64(8 * b)
            m[i] = w
    else:
        for i in range(16):
            m[i] = 0
        for b in range(n):
            m[b >> 3] |= np.uint64(src[base + b]) << np.uint64(8 * (b & 7))


@njit(**_OPTS)
def _compress(h, block, t, last, m):
    """The compression function F on one 128-byte block; ``t`` bytes so far including it.
    ``m`` (16 words) receives the block's message words."""
    _load_words(block, np.int64(0), np.int64(128), m)
    _compress_words(h, m, t, last)


@njit(**_OPTS)
def _compress_words(h, m, t, last):
    """F on one block given as its 16 message words ``m``; ``t`` bytes so far including it.
    The twelve rounds are written out with sigma's permutations (the message schedule of
    RFC 7693 section 2.7), so the message words stay in registers."""
    m0, m1, m2, m3, m4, m5, m6, m7 = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    m8, m9, m10, m11, m12, m13, m14, m15 = m[8], m[9], m[10], m[11], m[12], m[13], m[14], m[15]
    v = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], _IV[0], _IV[1], _IV[2], _IV[3],
         _IV[4] ^ np.uint64(t),  # t < 2^64: the high counter word stays 0
         _IV[5], ~_IV[6] if last else _IV[6], _IV[7])
    v = _round(v, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15)
    v = _round(v, m14, m10, m4, m8, m9, m15, m13, m6, m1, m12, m0, m2, m11, m7, m5, m3)
    v = _round(v, m11, m8, m12, m0, m5, m2, m15, m13, m10, m14, m3, m6, m7, m1, m9, m4)
    v = _round(v, m7, m9, m3, m1, m13, m12, m11, m14, m2, m6, m5, m10, m4, m0, m15, m8)
    v = _round(v, m9, m0, m5, m7, m2, m4, m10, m15, m14, m1, m11, m12, m6, m8, m3, m13)
    v = _round(v, m2, m12, m6, m10, m0, m11, m8, m3, m4, m13, m7, m5, m15, m14, m1, m9)
    v = _round(v, m12, m5, m1, m15, m14, m13, m4, m10, m0, m7, m6, m3, m9, m2, m8, m11)
    v = _round(v, m13, m11, m7, m14, m12, m1, m3, m9, m5, m0, m15, m4, m8, m6, m2, m10)
    v = _round(v, m6, m15, m14, m9, m11, m3, m0, m8, m12, m2, m13, m7, m1, m4, m10, m5)
    v = _round(v, m10, m2, m8, m4, m7, m6, m1, m5, m15, m11, m9, m14, m3, m12, m13, m0)
    v = _round(v, m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15)
    v = _round(v, m14, m10, m4, m8, m9, m15, m13, m6, m1, m12, m0, m2, m11, m7, m5, m3)
    for i in range(8):
        h[i] ^= v[i] ^ v[i + 8]


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
            filled = min(np.int64(128), size - 128 * k)
            _load_words(buf, lo + 128 * k, filled, m)  # from the data, no copy into a block
            t += filled
            _compress_words(h, m, t, k == n_blocks - 1)
        out[row] = h[0]
    return out
