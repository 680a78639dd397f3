"""MinHash near-duplicate kernels: normalization, shingle hashes, signatures, LSH bands, Jaccard.

Each kernel takes a whole Arrow batch; no Python loop runs per document or per shingle (the hot
loops are compiled with numba in :mod:`corpusql.udfs.minhash_jit`). For one batch of texts:

1. normalize (datatrove's MinHash text normalization, see :func:`minhash_normalize`): Arrow
   lowercases, then one compiled pass maps each code point through tables built from Python's
   unicodedata (accents removed, digits, punctuation and spaces folded);
2. cut each document into units (words, or code points) and shingles of ``ngram`` consecutive
   units, as byte spans of the normalized text;
3. hash every span with :func:`shingle_hash` (polynomial hash over the span's bytes, from one
   prefix sum per document);
4. permute the hashes with datasketch 2.0's ``affine32`` (or ``legacy``) scheme and keep the
   minimum per document and permutation.
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
SCHEMES = ("affine32", "legacy")

_U64 = np.uint64
_M64 = (1 << 64) - 1
#: Multiplier of the polynomial shingle hash (odd, so invertible modulo 2^64).
POLY_BASE = 0x9E3779B97F4A7C15
#: Mixed with the span length so spans that differ only by trailing NUL bytes differ.
LEN_MIX = 0xC2B2AE3D27D4EB4F
MERSENNE61 = (1 << 61) - 1


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

def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (uint64 arrays, wrapping arithmetic)."""
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> _U64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (uint32 arrays, wrapping arithmetic)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


#: POLY_BASE^i modulo 2^64 for i < 256 (the compiled hashing squares for longer spans).
_POWERS = np.full(256, POLY_BASE, dtype=np.uint64)
_POWERS[0] = 1
_POWERS = np.cumprod(_POWERS, dtype=np.uint64)  # wraps modulo 2^64


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
                                            _POWERS, _U64(LEN_MIX))


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


# --- signatures ---------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters ``(a, b)`` datasketch 2.0 draws for ``num_perm``, ``seed``.

    Both schemes draw from ``numpy.random.RandomState(seed)``. ``affine32``: first
    ``num_perm`` values uniform in ``[0, 2^31)`` (uint32), each mapped to ``2v + 1`` (odd), then
    ``num_perm`` values ``b`` uniform in ``[0, 2^32)``. ``legacy``: for each permutation in turn,
    one ``a`` uniform in ``[1, 2^61 - 1)`` then one ``b`` uniform in ``[0, 2^61 - 1)`` (uint64).
    """
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        pairs = np.array(
            [(gen.randint(1, MERSENNE61, dtype=_U64), gen.randint(0, MERSENNE61, dtype=_U64))
             for _ in range(num_perm)], dtype=_U64)
        return pairs[:, 0].copy(), pairs[:, 1].copy()
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _min_per_doc(h32: np.ndarray, starts: np.ndarray, num_perm: int, seed: int,
                 scheme: str) -> np.ndarray:
    """(docs, num_perm) uint32 minima of the permuted hashes over each doc's run of shingles."""
    a, b = permutations(num_perm, seed, scheme)
    out = np.empty((num_perm, len(starts)), dtype=np.uint32)
    if len(starts) == 0:
        return out.T
    if scheme == "legacy":
        h = h32.astype(_U64)
        tmp = np.empty(len(h), dtype=_U64)
        for k in range(num_perm):
            np.multiply(h, a[k], out=tmp)  # wraps modulo 2^64, as datasketch's uint64 does
            np.add(tmp, b[k], out=tmp)
            np.remainder(tmp, _U64(MERSENNE61), out=tmp)
            np.bitwise_and(tmp, _U64(0xFFFFFFFF), out=tmp)
            out[k] = np.minimum.reduceat(tmp, starts)
        return out.T
    lengths = np.diff(np.append(starts, len(h32)))
    return jit.min_affine32(h32.astype(_U64) << _U64(32), lengths, a, b)


def signatures_from_hashes(h32: np.ndarray, lengths: np.ndarray, *, num_perm: int = 128,
                           seed: int = 1, scheme: str = "affine32") -> np.ndarray:
    """MinHash signatures (docs, num_perm) of runs of 32-bit shingle hashes (lengths >= 1)."""
    starts = (np.cumsum(lengths) - lengths).astype(np.int64)
    return np.ascontiguousarray(_min_per_doc(h32, starts, num_perm, seed, scheme))


def minhash_signature(
    text: pa.Array,
    *,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 1,
    unit: str = "word",
    scheme: str = "affine32",
    norm_numbers: bool = True,
) -> pa.Array:
    """MinHash signature of a text's set of shingles: ``num_perm`` unsigned 32-bit minima.

    The text is normalized as datatrove's MinHash does (lowercase, digit runs to ``0`` unless
    ``norm_numbers=False``, punctuation and symbols to spaces, accents removed by NFD, whitespace
    collapsed; see :func:`minhash_normalize`). Shingles are
    ``ngram`` consecutive words (``unit='word'``: words are the space-separated runs of the
    normalized text), or ``ngram`` consecutive code points (``unit='char'``, for Chinese and
    Japanese; spaces count as characters), or per document char when more than half of its
    non-space characters are Han, Hiragana or Katakana, else word (``unit='auto'``). A document
    with fewer than ``ngram`` units gives one shingle of its whole normalized text. Each shingle
    is hashed to 32 bits over its UTF-8 bytes (see ``corpusql.udfs.minhash.shingle_hash``).

    ``scheme='affine32'`` (datasketch 2.0's default): the hash goes through MurmurHash3's fmix32,
    then ``(a*h + b) mod 2^32``; ``scheme='legacy'`` (datasketch before 2.0):
    ``((a*h + b) mod 2^64 mod (2^61 - 1)) & (2^32 - 1)``. ``a`` and ``b`` are drawn exactly as
    datasketch draws them for the same ``seed``, so signatures equal datasketch's
    ``MinHash(num_perm, seed, scheme).update_batch`` over the same shingle hashes.
    Source: Broder, "On the resemblance and containment of documents" (1997); datasketch 2.0.
    NULL text, and text that is empty after normalization, gives NULL.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme = {scheme!r} is not one of {', '.join(map(repr, SCHEMES))}")
    docs, lengths, h64 = _shingles(text, ngram, unit, norm_numbers)
    if scheme == "affine32":  # the compiled loop takes the 64-bit hashes as they are
        sig = jit.min_affine32(h64, lengths, *permutations(num_perm, seed, scheme))
    else:
        h32 = (h64 >> _U64(32)).astype(np.uint32)
        sig = signatures_from_hashes(h32, lengths, num_perm=num_perm, seed=seed, scheme=scheme)
    return _list_array(len(text), docs, np.full(len(docs), num_perm, dtype=np.int64),
                       pa.array(sig.ravel()))


# --- banding and estimates ----------------------------------------------------------------------

def _matrix(lists: pa.Array, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a list<uint32> array as a 2-D matrix, plus the row indices that are not NULL."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    valid = np.flatnonzero(np.asarray(lists.is_valid())) if lists.null_count else np.arange(
        len(lists))
    sub = lists.take(pa.array(valid)) if lists.null_count else lists
    lens = pc.list_value_length(sub).to_numpy(zero_copy_only=False) if len(sub) else np.zeros(0)
    if len(sub) and (lens.min() != lens.max()):
        raise ValueError(f"{what}: signatures have different lengths ({lens.min()} and "
                         f"{lens.max()}); compute them with the same num_perm")
    width = int(lens[0]) if len(sub) else 0
    values = pc.list_flatten(sub).to_numpy(zero_copy_only=False).astype(np.uint32)
    return values.reshape(len(sub), width), valid


def minhash_bands(signature: pa.Array, *, bands: int, rows: int) -> pa.Array:
    """LSH band keys of a MinHash signature: ``bands`` uint64 keys, band ``i`` from rows ``i*r..``.

    Band ``i`` covers signature positions ``[i*rows, (i+1)*rows)``; its key is
    ``h = fmix64(i + 1)``, then for each value ``v`` of the band ``h = fmix64(h * 0x9E3779B97F4A7C15
    + v)`` (MurmurHash3's 64-bit finalizer, arithmetic modulo 2^64). Equal keys mean equal
    bands at the same band index (up to 64-bit collisions): the index is mixed in, so one
    table of (key, document) rows serves all bands. Two documents with Jaccard ``s`` share at least
    one key with probability ``1 - (1 - s^rows)^bands`` (Leskovec, Rajaraman, Ullman, *Mining of
    Massive Datasets*, ch. 3). Needs ``bands * rows <= num_perm``. NULL gives NULL.
    """
    sig, valid = _matrix(signature, "minhash_bands")
    if sig.shape[1] < bands * rows:
        raise ValueError(
            f"minhash_bands: bands * rows = {bands} * {rows} = {bands * rows} exceeds the "
            f"signature length {sig.shape[1]}")
    block = sig[:, : bands * rows].reshape(len(sig), bands, rows).astype(_U64)
    h = np.broadcast_to(_fmix64(np.arange(1, bands + 1, dtype=_U64)), (len(sig), bands))
    for j in range(rows):
        h = _fmix64(h * _U64(POLY_BASE) + block[:, :, j])
    return _list_array(len(signature), valid, np.full(len(valid), bands, dtype=np.int64),
                       pa.array(np.ascontiguousarray(h).ravel()))


def minhash_jaccard(sig_a: pa.Array, sig_b: pa.Array) -> pa.Array:
    """Estimated Jaccard similarity: the fraction of positions where two signatures agree.

    The MinHash estimator (Broder 1997; datasketch's ``MinHash.jaccard``). Both signatures must
    have the same length. NULL on either side gives NULL.
    """
    if isinstance(sig_a, pa.ChunkedArray):
        sig_a = sig_a.combine_chunks()
    if isinstance(sig_b, pa.ChunkedArray):
        sig_b = sig_b.combine_chunks()
    both = pc.and_(sig_a.is_valid(), sig_b.is_valid())
    keep = np.flatnonzero(np.asarray(both))
    a, _ = _matrix(sig_a.take(pa.array(keep)), "minhash_jaccard")
    b, _ = _matrix(sig_b.take(pa.array(keep)), "minhash_jaccard")
    if a.shape != b.shape:
        raise ValueError(f"minhash_jaccard: signature lengths differ ({a.shape[1]} and "
                         f"{b.shape[1]}); compute them with the same num_perm")
    out = np.full(len(sig_a), np.nan)
    if a.shape[1]:
        out[keep] = (a == b).mean(axis=1)
    mask = np.ones(len(sig_a), dtype=bool)
    mask[keep] = a.shape[1] == 0
    return pa.array(out, mask=mask, type=pa.float64())


def jaccard(a_text: pa.Array, b_text: pa.Array, *, ngram: int = 5,
            unit: str = "word", norm_numbers: bool = True) -> pa.Array:
    """Exact Jaccard similarity of two texts' shingle sets: ``|A ∩ B| / |A ∪ B|``.

    Shingles as in ``minhash_signature`` (same normalization, ``ngram``, ``unit`` and
    ``norm_numbers``), compared
    by their 64-bit hashes (collisions are negligible). NULL on either side, or both texts empty
    after normalization, gives NULL; one empty text gives 0.
    """
    n = len(a_text)
    da, la, ha = _shingles(a_text, ngram, unit, norm_numbers)
    db, lb, hb = _shingles(b_text, ngram, unit, norm_numbers)
    ua_h, la = jit.distinct_runs(ha, la)
    ub_h, lb = jit.distinct_runs(hb, lb)
    ua_doc, ub_doc = np.repeat(da, la), np.repeat(db, lb)
    size_a = np.bincount(ua_doc, minlength=n)
    size_b = np.bincount(ub_doc, minlength=n)
    doc = np.concatenate((ua_doc, ub_doc))
    h = np.concatenate((ua_h, ub_h))
    order = np.lexsort((h, doc))
    doc, h = doc[order], h[order]
    same = (doc[1:] == doc[:-1]) & (h[1:] == h[:-1])
    inter = np.bincount(doc[1:][same], minlength=n)
    union = size_a + size_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inter / union
    valid = np.asarray(pc.and_(a_text.is_valid(), b_text.is_valid())) & (union > 0)
    return pa.array(np.where(valid, out, 0.0), mask=~valid, type=pa.float64())


# --- LSH parameters -----------------------------------------------------------------------------

@lru_cache(maxsize=256)
def optimal_params(threshold: float, num_perm: int,
                   fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int, float, float]:
    """``(bands, rows, fp_area, fn_area)`` minimizing the weighted false positive/negative areas.

    Over all ``b >= 1``, ``r >= 1`` with ``b * r <= num_perm`` (b outer, r inner, first minimum
    wins), the false positive area is the integral of ``1 - (1 - s^r)^b`` over ``[0, t]`` and the
    false negative area the integral of ``(1 - s^r)^b`` over ``[t, 1]``: datasketch's
    ``MinHashLSH`` optimization with weights (0.5, 0.5). Integrals by Gauss-Legendre quadrature,
    exact for these polynomials (degree ``b*r <= num_perm``) up to rounding.
    """
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 2)
    bs, rs = [], []
    for b in range(1, num_perm + 1):
        r = np.arange(1, num_perm // b + 1)
        bs.append(np.full(len(r), b))
        rs.append(r)
    b = np.concatenate(bs).astype(float)[:, None]
    r = np.concatenate(rs).astype(float)[:, None]
    s_fp = (nodes + 1) * threshold / 2
    s_fn = threshold + (nodes + 1) * (1 - threshold) / 2
    fp = (1 - (1 - s_fp ** r) ** b) @ weights * threshold / 2
    fn = ((1 - s_fn ** r) ** b) @ weights * (1 - threshold) / 2
    err = fp * fp_weight + fn * fn_weight
    i = int(np.argmin(err))
    return int(b[i, 0]), int(r[i, 0]), float(fp[i]), float(fn[i])


def minhash_params(threshold: pa.Array, *, num_perm: int = 128,
                   fn_weight: float = 0.5) -> pa.Array:
    """LSH banding for a Jaccard threshold: STRUCT(bands, rows, false_positive_area, false_negative_area).

    The ``(bands, rows)`` with ``bands * rows <= num_perm`` that minimize the weighted sum of the
    false positive area (integral of ``1 - (1 - s^rows)^bands`` over ``[0, threshold]``, weight
    ``1 - fn_weight``) and the false negative area (integral of ``(1 - s^rows)^bands`` over
    ``[threshold, 1]``, weight ``fn_weight``): the same answer as datasketch's
    ``MinHashLSH(threshold, num_perm, weights=(1 - fn_weight, fn_weight))``; the default 0.5 is
    datasketch's default. Raise ``fn_weight`` to find more true pairs at the cost of more
    candidates (worth it when candidates are verified). The threshold must lie in (0, 1]. NULL
    gives NULL.
    """
    if isinstance(threshold, pa.ChunkedArray):
        threshold = threshold.combine_chunks()
    values = threshold.to_pylist()
    out = []
    for t in dict.fromkeys(v for v in values if v is not None):
        if not 0.0 < t <= 1.0:
            raise ValueError(f"minhash_params: threshold = {t!r} is out of range (0, 1]")
    for t in values:  # one cached answer per distinct threshold, not per-row work
        if t is None:
            out.append(None)
        else:
            b, r, fp, fn = optimal_params(float(t), int(num_perm), 1.0 - fn_weight, fn_weight)
            out.append({"bands": b, "rows": r, "false_positive_area": fp,
                        "false_negative_area": fn})
    return pa.array(out, type=pa.struct([
        ("bands", pa.int32()), ("rows", pa.int32()),
        ("false_positive_area", pa.float64()), ("false_negative_area", pa.float64())]))


# --- connected components -----------------------------------------------------------------------

def connected_components(src: pa.Array, dst: pa.Array) -> pa.Array:
    """Connected components of a graph given as one row of edge lists: a label per node.

    ``src`` and ``dst`` are lists of node numbers ``0..n-1`` (edge ``i`` joins ``src[i]`` and
    ``dst[i]``); the answer for the row is the list of ``n = max node + 1`` labels, each node's
    label being the smallest node number in its component (so labels are deterministic).
    Vectorized min-label propagation with pointer jumping (Shiloach-Vishkin style). Edges with a
    NULL end are ignored; a NULL list gives NULL.
    """
    if isinstance(src, pa.ChunkedArray):
        src = src.combine_chunks()
    if isinstance(dst, pa.ChunkedArray):
        dst = dst.combine_chunks()
    out = []
    for i in range(len(src)):  # one row per graph: a query passes one row holding all edges
        if not src[i].is_valid or not dst[i].is_valid:
            out.append(None)
            continue
        su, sv = src[i].values, dst[i].values
        if len(su) != len(sv):
            raise ValueError("connected_components: src and dst lists differ in length")
        both = pc.and_(su.is_valid(), sv.is_valid())  # an edge with a NULL end joins nothing
        u = pc.filter(su, both).to_numpy(zero_copy_only=False).astype(np.int64)
        v = pc.filter(sv, both).to_numpy(zero_copy_only=False).astype(np.int64)
        out.append(_components(u, v))
    return pa.array(out, type=pa.list_(pa.int64()))


def _components(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if len(u) == 0:
        return np.zeros(0, dtype=np.int64)
    if min(u.min(), v.min()) < 0:
        raise ValueError("connected_components: node numbers must be >= 0")
    n = int(max(u.max(), v.max())) + 1
    label = np.arange(n, dtype=np.int64)
    while True:
        lu, lv = label[u], label[v]
        m = np.minimum(lu, lv)
        new = label.copy()
        np.minimum.at(new, lu, m)  # hook the roots onto the smaller label
        np.minimum.at(new, lv, m)
        while True:  # pointer jumping to the root
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, label):
            return label
        label = new
