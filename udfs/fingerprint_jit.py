"""text_fingerprint compiled: text_normalize's defaults and BLAKE2b-128 in one pass per batch.

The same function as ``fingerprint128(text_normalize(text))`` (the tests compare them on every
BMP code point, in context, and on random mixed-script text), computed in a numba loop that
releases the GIL instead of four regex and Unicode passes of pyarrow plus a Python call per row.

How it stays equal. A BMP code point ``c`` is *context-free* when NFKC maps it to the same
code points whatever surrounds it: it is assigned (Python's Unicode database), the first code
point of its NFKD form is a starter (combining class 0) that is not the second half of any
canonical composition pair (nor a conjoining Hangul jamo), and Python's and pyarrow's NFKC of
``c`` agree. For a text made only of context-free code points, NFKC of the text is the
concatenation of NFKC of each code point (each decomposition starts with a starter, which
blocks reordering and composition across the boundary). The tables hold, for each such ``c``,
that NFKC form lowercased code point by code point, and for each output code point whether it
becomes a space (punctuation or symbol per RE2's ``[\\p{P}\\p{S}]``, or RE2's ``\\s``) and
whether ``utf8_trim_whitespace`` strips it. All of these come from calling pyarrow (the very
functions text_normalize calls) on each code point once per process, so the tables agree with
text_normalize by construction. A row holding any other code point (supplementary planes,
combining marks after a base, conjoining jamo...) is computed by text_normalize itself.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata

import numpy as np
import pyarrow as pa
from numba import njit

from .blake2b_jit import _IV, _compress
from .minhash_jit import _put  # UTF-8 of one code point

#: Longest NFKC expansion kept in the tables (longer ones, such as U+FDFA, take the slow path).
MAX_SEGMENT = 8
_OPTS = {"nogil": True, "cache": True, "boundscheck": False}
_lock = threading.Lock()
_tables: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


def _second_halves() -> set[int]:
    """Code points that can be the second half of a canonical composition pair, plus jamo."""
    out: set[int] = set()
    for c in range(0x110000):
        d = unicodedata.decomposition(chr(c))
        if d and not d.startswith("<"):
            parts = d.split()
            if len(parts) == 2:
                out.add(int(parts[1], 16))
    for lo, hi in ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF)):
        out.update(range(lo, hi + 1))
    return out


def _build() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import pyarrow.compute as pc

    from .text import PUNCT_RE

    cps = [c for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    text = pa.array([chr(c) for c in cps], pa.string())
    nfkc = pc.utf8_normalize(text, form="NFKC").to_pylist()
    lower = dict(zip(cps, pc.utf8_lower(text).to_pylist()))
    punct = pc.replace_substring_regex(text, PUNCT_RE, " ").to_pylist()
    blank = pc.replace_substring_regex(text, r"\s", " ").to_pylist()
    trimmed = pc.utf8_trim_whitespace(text).to_pylist()

    # classes of an output (already lowercased) code point, as the later steps see it
    space = np.zeros(0x10000, dtype=np.bool_)
    trim = np.zeros(0x10000, dtype=np.bool_)
    for c, p, b, t in zip(cps, punct, blank, trimmed):
        space[c] = p == " " or b == " "
        trim[c] = t == ""

    seg_len = np.full(0x10000, -1, dtype=np.int8)
    seg_out = np.zeros((0x10000, MAX_SEGMENT), dtype=np.uint16)
    second = _second_halves()
    for c, n in zip(cps, nfkc):
        ch = chr(c)
        if unicodedata.category(ch) in ("Cn", "Cs") or n != unicodedata.normalize("NFKC", ch):
            continue
        first = unicodedata.normalize("NFKD", ch)[0]
        if unicodedata.combining(first) or ord(first) in second:
            continue
        if not 0 < len(n) <= MAX_SEGMENT or any(ord(x) >= 0x10000 for x in n):
            continue
        outs = [lower.get(ord(x), "") for x in n]
        if any(len(o) != 1 or ord(o) >= 0x10000 for o in outs):
            continue
        seg_len[c] = len(outs)
        seg_out[c, :len(outs)] = [ord(o) for o in outs]
    return seg_len, seg_out, space, trim


def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(seg_len, seg_out, space, trim), built once per process (see the module docstring)."""
    global _tables
    with _lock:
        if _tables is None:
            _tables = _build()
        return _tables


@njit(**_OPTS)
def _digest16(data, size, out, h, m, block):
    """BLAKE2b with a 16-byte digest, no key, of ``data[:size]``, written to ``out[0:16]``."""
    for i in range(8):
        h[i] = _IV[i]
    h[0] ^= np.uint64(0x01010000) ^ np.uint64(16)
    pos = 0
    t = 0
    while size - pos > 128:
        block[:] = data[pos: pos + 128]
        t += 128
        _compress(h, block, t, False, m)
        pos += 128
    rest = size - pos
    block[:] = 0
    block[:rest] = data[pos: size]
    t += rest
    _compress(h, block, t, True, m)
    for i in range(2):
        for b in range(8):
            out[8 * i + b] = np.uint8((h[i] >> np.uint64(8 * b)) & np.uint64(0xFF))


@njit(**_OPTS)
def normalized_digests(buf, offsets, valid, seg_len, seg_out, space, trim, raw):
    """BLAKE2b-128 of each string (``raw``) or of its normalized form, as rows of 16 bytes.

    Returns (digests, slow): ``slow[i]`` is true where row i holds a code point outside the
    tables, and its digest must be computed by the reference path.
    """
    n = len(offsets) - 1
    digests = np.zeros((n, 16), dtype=np.uint8)
    slow = np.zeros(n, dtype=np.bool_)
    h = np.empty(8, dtype=np.uint64)
    m = np.empty(16, dtype=np.uint64)
    block = np.empty(128, dtype=np.uint8)
    scratch = np.empty(4096, dtype=np.uint8)
    # plain[b]: the output byte of an ASCII byte that stays one ASCII byte, neither a space nor
    # trimmed (letters, digits...), else -1
    plain = np.full(128, -1, dtype=np.int64)
    for b in range(128):
        if seg_len[b] == 1 and seg_out[b, 0] < 0x80:
            o = np.int64(seg_out[b, 0])
            if not space[o] and not trim[o]:
                plain[b] = o
    for row in range(n):
        if not valid[row]:
            continue
        lo = offsets[row]
        hi = offsets[row + 1]
        if raw:
            _digest16(buf[lo:hi], hi - lo, digests[row], h, m, block)
            continue
        need = (hi - lo) * 3 * 8 + 8
        if need > len(scratch):
            scratch = np.empty(need, dtype=np.uint8)
        pos = 0
        end = 0
        started = False
        pending = False
        i = lo
        while i < hi:
            b0 = np.int64(buf[i])
            if b0 < 0x80 and started and plain[b0] >= 0:
                # the common case, once the text has started: a plain byte after plain bytes
                # or after spaces (written as one)
                if pending:
                    scratch[pos] = 32
                    pos += 1
                    pending = False
                scratch[pos] = plain[b0]
                pos += 1
                end = pos
                i += 1
                continue
            if b0 < 0x80 and seg_len[b0] == 1 and seg_out[b0, 0] < 0x80:
                # ASCII to ASCII (every ASCII code point in practice): the steps below for
                # one output code point of one byte, without the segment loop
                o = np.int64(seg_out[b0, 0])
                i += 1
                if space[o]:
                    pending = started
                    continue
                if not started:
                    if trim[o]:
                        continue
                    started = True
                if pending:
                    scratch[pos] = 32
                    pos += 1
                    pending = False
                scratch[pos] = o
                pos += 1
                if not trim[o]:
                    end = pos
                continue
            if b0 < 0x80:
                cp = b0
                i += 1
            elif b0 < 0xE0:
                cp = ((b0 & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F)
                i += 2
            elif b0 < 0xF0:
                cp = ((b0 & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6) \
                    | (np.int64(buf[i + 2]) & 0x3F)
                i += 3
            else:
                slow[row] = True
                break
            k = seg_len[cp]
            if k < 0:
                slow[row] = True
                break
            for j in range(k):
                o = np.int64(seg_out[cp, j])
                if space[o]:
                    pending = started
                    continue
                if not started:
                    if trim[o]:
                        continue
                    started = True
                if pending:
                    pos = _put(scratch, pos, 32)
                    pending = False
                pos = _put(scratch, pos, o)
                if not trim[o]:
                    end = pos
        if not slow[row]:
            _digest16(scratch, end, digests[row], h, m, block)
    return digests, slow


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_array(digests: np.ndarray, valid: np.ndarray, null_count: int) -> pa.Array:
    """Rows of 16 bytes as an Arrow string array of 32 lowercase hex digits (NULL where not valid)."""
    n = len(digests)
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[digests >> 4]
    hexed[:, 1::2] = _HEX[digests & 0x0F]
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int32)
    mask = pa.py_buffer(np.packbits(valid, bitorder="little")) if null_count else None
    return pa.Array.from_buffers(pa.string(), n, [mask, pa.py_buffer(offsets),
                                                  pa.py_buffer(hexed.tobytes())], null_count)


#: Bytes of text a process fingerprints through the reference expression before it builds
#: the tables and loads (or, on a fresh install, compiles) the kernel: small jobs such as the
#: demo never pay that start-up cost. Both paths give the same values.
COMPILE_AFTER = 64 * 2**20
_seen = 0


def _reference(text: pa.Array, normalize: bool) -> pa.Array:
    from .text import text_normalize

    values = (text_normalize(text) if normalize else text).to_pylist()
    return pa.array([None if v is None else hashlib.blake2b(v.encode("utf-8"), digest_size=16)
                     .hexdigest() for v in values], pa.string())


def fingerprint(text: pa.Array | pa.ChunkedArray, *, normalize: bool = True) -> pa.Array:
    """``fingerprint128(text_normalize(text))`` (or of ``text`` itself when not ``normalize``);
    see the module docstring. Rows the tables do not cover go through that very expression,
    and so does everything until the process has seen :data:`COMPILE_AFTER` bytes of text."""
    global _seen

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks() if text.num_chunks else pa.array([], pa.string())
    if not pa.types.is_large_string(text.type):
        text = text.cast(pa.large_string())
    if _seen < COMPILE_AFTER:
        _seen += text.nbytes
        if _seen < COMPILE_AFTER:
            return _reference(text, normalize)
    bufs = text.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[text.offset: text.offset + len(text) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = np.asarray(text.is_valid()) if text.null_count else np.ones(len(text), dtype=bool)
    seg_len, seg_out, space, trim = tables()
    digests, slow = normalized_digests(data, offsets, valid, seg_len, seg_out, space, trim,
                                       not normalize)
    out = _hex_array(digests, valid, text.null_count)
    if not slow.any():
        return out
    rows = np.flatnonzero(slow)
    ref = "".join(_reference(text.take(pa.array(rows)), True).to_pylist()).encode()
    hexed = np.frombuffer(out.buffers()[2], dtype=np.uint8).reshape(len(text), 32).copy()
    hexed[rows] = np.frombuffer(ref, dtype=np.uint8).reshape(-1, 32)
    return pa.Array.from_buffers(pa.string(), len(text), [out.buffers()[0], out.buffers()[1],
                                                          pa.py_buffer(hexed.tobytes())],
                                 text.null_count)
