"""Shingles of normalized text: the normalization, the shingle hash and the shingle sets that
MinHash signatures (corpusql.udfs.minhash) and exact Jaccard verification are built from.

For one batch of texts: Arrow lowercases, then one compiled pass (corpusql.udfs.minhash_jit)
maps each code point through tables built from Python's unicodedata (accents removed, digits,
punctuation and spaces folded; see :func:`minhash_normalize`); each document is cut into units
(words, or code points) and shingles of ``ngram`` consecutive units, and each shingle's bytes are
hashed with :func:`shingle_hash`. No Python loop runs per document or per shingle.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import minhash_jit as jit
from .text import CJK_CLASS

UNITS = ("word", "char", "auto")

_U64 = np.uint64
_M64 = (1 << 64) - 1
#: Multiplier of the polynomial shingle hash (odd, so invertible modulo 2^64).
POLY_BASE = 0x9E3779B97F4A7C15
#: Mixed with the span length so spans that differ only by trailing NUL bytes differ.
LEN_MIX = 0xC2B2AE3D27D4EB4F


# --- normalization ------------------------------------------------------------------------------



#: Classes of code points in the compiled normalization pass (see _normalization_tables).
KEEP, SPACE, DIGIT, REPLACE, EXACT = 0, 1, 2, 3, 4
#: Non-ASCII code points that can be anything but KEEP: planes 3 and up hold only CJK ideographs
#: (U+30000-U+323AF), tags and variation selectors (plane 14) and private use.
_ASSIGNED = range(0x80, 0x32400)
_ASSIGNED = [*_ASSIGNED, *range(0xE0000, 0xE1000)]


def _stripped(text: str) -> str:
    """NFD with combining marks (Mn, except the kana voicing marks) removed, then NFC."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in decomposed
                   if unicodedata.category(c) != "Mn" or c in "\u3099\u309a")
    return unicodedata.normalize("NFC", kept)


@lru_cache(maxsize=1)
def _normalization_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code point: its class, and for REPLACE its replacement (CSR: offsets, code points).

    REPLACE: the code point changes under NFD + mark removal + NFC (accented letters lose their
    accents, marks vanish, singletons such as U+2126 map to their canonical form); its
    replacement is that string, so the text is decomposed one code point at a time. EXACT: a code
    point for which that is not enough, because it composes with or reorders against its
    neighbours (kana voicing marks, conjoining jamo, the second half of a canonical composition
    that is not a mark, combining characters that are not Mn), or because its replacement is
    longer in UTF-8 than itself (21 code points): rows holding one take the whole-row NFD/NFC
    path. DIGIT: ASCII digits and category Nd. SPACE: ASCII punctuation, symbols,
    whitespace and controls, categories P*, S*, Z*, and the C1 controls. KEEP: the rest.
    Built from Python's unicodedata on first use (about half a second).
    """
    n = 0x110000
    classes = np.zeros(n, dtype=np.uint8)
    classes[:128] = _ASCII_CLASS[:128]
    exact = {0x3099, 0x309A, *range(0x1100, 0x1200)}
    for cp in _ASSIGNED:
        ch = chr(cp)
        d = unicodedata.decomposition(ch)
        if d and not d.startswith("<"):
            parts = d.split()
            if len(parts) == 2 and unicodedata.normalize("NFC", ch) == ch:
                second = chr(int(parts[1], 16))
                if unicodedata.category(second) != "Mn":
                    exact.add(ord(second))
        elif unicodedata.combining(ch) and unicodedata.category(ch) != "Mn":
            exact.add(cp)
    rep_offsets = np.zeros(n + 1, dtype=np.int64)
    rep_cps: list[int] = []
    for cp in _ASSIGNED:
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cp in exact:
            classes[cp] = EXACT
        elif cat == "Mn" or unicodedata.decomposition(ch) and _stripped(ch) != ch:
            rep = _stripped(ch)
            if len(rep.encode()) > len(ch.encode()):  # 21 rare ones: keep output <= input
                classes[cp] = EXACT
            else:
                classes[cp] = REPLACE
                rep_cps.extend(map(ord, rep))
                rep_offsets[cp + 1] = len(rep_cps)
        elif cat == "Nd":
            classes[cp] = DIGIT
        elif cat[0] in "PSZ" or cp < 0xA0:
            classes[cp] = SPACE
    # rep_offsets[cp + 1] was set for REPLACE code points only: carry the counts forward
    rep_offsets = np.maximum.accumulate(rep_offsets)
    return classes, rep_offsets, np.array(rep_cps, dtype=np.int64)


@lru_cache(maxsize=1)
def _digits_kept() -> np.ndarray:
    """The class table with digits KEEP instead of DIGIT (``norm_numbers=False``)."""
    classes = _normalization_tables()[0]
    return np.where(classes == DIGIT, KEEP, classes).astype(np.uint8)


def _strip_marks(text: pa.Array) -> pa.Array:
    """:func:`_stripped` of whole rows (few rows need it: see _normalization_tables). Python's
    unicodedata, so that both paths use the same Unicode version."""
    return pa.array([None if s is None else _stripped(s) for s in text.to_pylist()], text.type)


#: Byte classes for the ASCII pass: 0 keep, 1 becomes a space, 2 is a digit.
_ASCII_CLASS = np.zeros(256, dtype=np.uint8)
for _b in range(128):
    _c = chr(_b)
    if _b < 32 or _b == 127 or _c.isspace() or not (_c.isalnum()):
        _ASCII_CLASS[_b] = 1
    elif _c.isdigit():
        _ASCII_CLASS[_b] = 2
del _b, _c


def _normalize_buffers(text: pa.Array, norm_numbers: bool = True
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalized UTF-8 bytes, int64 offsets (n+1) and validity of a batch (see minhash_normalize).

    One compiled pass over the lowercased bytes maps every code point by its class (see
    _normalization_tables): accented letters to their base letters, marks removed, punctuation,
    symbols, separators and controls to a space, each run of digits to one ``0``; runs of spaces
    collapse and the ends are trimmed. Rows holding a code point of class EXACT first go through
    NFD, mark removal and NFC as whole rows.
    """
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if not pa.types.is_large_string(text.type):
        text = text.cast(pa.large_string())
    classes, rep_offsets, rep_cps = _normalization_tables()
    if not norm_numbers:
        classes = _digits_kept()
    out = pc.utf8_lower(text)
    buf, offsets = _buffers(out)
    exact = jit.rows_with_class(buf, offsets, classes, EXACT)
    if exact.any():
        hit = pa.array(exact)
        out = pc.replace_with_mask(out, hit, _strip_marks(pc.filter(out, hit)).cast(out.type))
        buf, offsets = _buffers(out)
    valid = np.asarray(out.is_valid()) if out.null_count else np.ones(len(out), dtype=bool)
    new_buf, new_offsets = jit.normalize_pass(buf, offsets, classes, rep_offsets, rep_cps)
    return new_buf, new_offsets, valid


def _string_array(buf: np.ndarray, offsets: np.ndarray, valid: np.ndarray) -> pa.Array:
    mask = None if valid.all() else pa.array(~valid)
    arr = pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(buf))
    if mask is not None:
        arr = pc.if_else(mask, pa.scalar(None, pa.large_string()), arr)
    return arr


def minhash_normalize(text: pa.Array, *, norm_numbers: bool = True) -> pa.Array:
    """Normalize text before shingling, as datatrove's MinHash stages do.

    Steps: Unicode lowercasing; NFD decomposition with combining marks (category Mn) removed, so
    accents disappear, then NFC (the kana voicing marks U+3099/U+309A are kept, so Japanese,
    Korean and Indic vowel signs come back composed); each run of decimal digits (category Nd)
    becomes ``0``; every punctuation, symbol, separator, whitespace or control code point
    (categories P*, S*, Z*, Cc) becomes a space; runs of spaces collapse to one and the ends are
    trimmed. Source: datatrove's ``simplify_text`` with its MinHash defaults (lowercase,
    norm_numbers, remove_punctuation, norm_unicode_diacritics, norm_whitespace); datatrove also
    strips the kana voicing marks and leaves the text decomposed. ``norm_numbers=False`` keeps
    digits as they are (datatrove's ``norm_numbers`` option). NULL gives NULL.
    """
    return _string_array(*_normalize_buffers(text, norm_numbers)).cast(pa.string())


# --- the shingle hash ---------------------------------------------------------------------------

#: The inverse of POLY_BASE modulo 2^64 (it is odd, so it has one).
POLY_INV = pow(POLY_BASE, -1, 1 << 64)


def _power_table(base: int, n: int = 256) -> np.ndarray:
    table = np.full(n, base, dtype=np.uint64)
    table[0] = 1
    return np.cumprod(table, dtype=np.uint64)  # wraps modulo 2^64


#: POLY_BASE^i and POLY_BASE^-i modulo 2^64 for i < 256 (the kernel squares for longer spans).
_POWERS, _INV_POWERS = _power_table(POLY_BASE), _power_table(POLY_INV)


def shingle_hash(data: bytes) -> int:
    """The 32-bit shingle hash of one byte string (scalar reference for the vectorized code).

    ``raw = sum(data[j] * B**j for j in range(len(data))) mod 2**64`` with
    ``B = 0x9E3779B97F4A7C15``; then ``h64 = fmix64(raw XOR (len(data) * 0xC2B2AE3D27D4EB4F mod
    2**64))`` with MurmurHash3's 64-bit finalizer, and the shingle hash is the high 32 bits of
    ``h64``. The polynomial form lets every shingle of a batch be hashed at once from one prefix
    sum over the batch's bytes.
    """
    raw = 0
    for j, byte in enumerate(data):
        raw = (raw + byte * pow(POLY_BASE, j, 1 << 64)) & _M64
    h = raw ^ ((len(data) * LEN_MIX) & _M64)
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    h ^= h >> 33
    return h >> 32


# --- shingling ----------------------------------------------------------------------------------

def _buffers(norm: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and the int64 offsets (length n+1) of a string array."""
    norm = norm.cast(pa.large_string()) if norm.type != pa.large_string() else norm
    bufs = norm.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[norm.offset: norm.offset + len(norm) + 1]
    data = bufs[2]
    buf = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    start, stop = int(offsets[0]), int(offsets[-1])
    return buf[start:stop], offsets - start


def _cjk_mostly(norm: pa.Array) -> np.ndarray:
    cjk = pc.count_substring_regex(norm, f"[{CJK_CLASS}]").to_numpy(zero_copy_only=False)
    other = pc.count_substring_regex(norm, r"[^\s]").to_numpy(zero_copy_only=False)
    return 2 * cjk > other


def _shingles(text: pa.Array, ngram: int, unit: str, norm_numbers: bool = True):
    """Normalize and shingle a batch.

    Returns ``(docs, lengths, h64)``: indices of the non-empty documents, the number of shingles
    of each, and the 64-bit hashes of all shingles in document order.
    """
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if unit not in UNITS:
        raise ValueError(f"unit = {unit!r} is not one of {', '.join(map(repr, UNITS))}")
    if ngram < 1:
        raise ValueError(f"ngram = {ngram} must be at least 1")
    buf, offsets, valid = _normalize_buffers(text, norm_numbers)
    nonempty = (np.diff(offsets) > 0) & valid
    docs = np.flatnonzero(nonempty)
    if unit == "auto":
        is_char = _cjk_mostly(_string_array(buf, offsets, valid))[docs]
    else:
        is_char = np.full(len(docs), unit == "char")
    units, counts = jit.shingle_counts(buf, offsets, docs, is_char, ngram)
    return docs, counts, jit.shingle_hash64(buf, offsets, docs, is_char, ngram, units, counts,
                                            _POWERS, _INV_POWERS, _U64(LEN_MIX))


def _list_array(n: int, rows: np.ndarray, lengths: np.ndarray, values: pa.Array) -> pa.Array:
    """A list array of ``n`` rows: row ``rows[i]`` holds the next ``lengths[i]`` values."""
    per_row = np.zeros(n, dtype=np.int64)
    per_row[rows] = lengths
    offsets = np.concatenate(([0], np.cumsum(per_row))).astype(np.int32)
    valid = np.zeros(n, dtype=bool)
    valid[rows] = True
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(~valid))


def shingle_hashes(text: pa.Array, *, ngram: int = 5, unit: str = "word",
                   norm_numbers: bool = True) -> pa.Array:
    """The 32-bit hashes of each document's shingles, in text order (duplicates kept).

    Same normalization and shingling as :func:`minhash_signature`; each hash is
    :func:`shingle_hash` of the shingle's UTF-8 bytes. NULL or empty text gives NULL.
    """
    docs, lengths, h64 = _shingles(text, ngram, unit, norm_numbers)
    return _list_array(len(text), docs, lengths, pa.array((h64 >> _U64(32)).astype(np.uint32)))


def shingle_set(text: pa.Array, *, ngram: int = 5, unit: str = "word",
                norm_numbers: bool = True) -> pa.Array:
    """The set of a text's shingles as sorted distinct 64-bit hashes (for exact Jaccard in SQL).

    Same normalization and shingles as ``minhash_signature``; each shingle is represented by the
    64-bit hash from which its 32-bit shingle hash is taken (the high half), so collisions are
    negligible. ``len(list_intersect(a, b))`` of two such lists is the size of the shingle
    intersection. NULL or empty text gives NULL.
    """
    docs, lengths, h64 = _shingles(text, ngram, unit, norm_numbers)
    h, counts = jit.distinct_runs(h64, lengths)
    return _list_array(len(text), docs, counts, pa.array(h))
