"""MinHash signatures, LSH band keys, Jaccard estimates and LSH parameters.

Signatures are computed from the shingle hashes of corpusql.udfs.shingles (normalization,
units, shingles and their hash are defined there) with datasketch 2.0's permutation schemes;
the minimum per document and permutation is taken in one compiled loop
(corpusql.udfs.minhash_jit). Everything works on whole Arrow batches.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import minhash_jit as jit
from .sets_jit import offsets, shared_counts
from .shingles import POLY_BASE, _list_array, _shingles

SCHEMES = ("affine32", "legacy")

_U64 = np.uint64
MERSENNE61 = (1 << 61) - 1


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
    is hashed to 32 bits over its UTF-8 bytes (see ``corpusql.udfs.shingles.shingle_hash``).

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

def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (uint64 arrays, wrapping arithmetic)."""
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> _U64(33))


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


def minhash_bands(signature: pa.Array, *, bands: int = 9, rows: int = 13) -> pa.Array:
    """LSH band keys of a MinHash signature: ``bands`` uint64 keys, band ``i`` from rows ``i*r..``.

    Band ``i`` covers signature positions ``[i*rows, (i+1)*rows)``; its key is
    ``h = fmix64(i + 1)``, then for each value ``v`` of the band ``h = fmix64(h * 0x9E3779B97F4A7C15
    + v)`` (MurmurHash3's 64-bit finalizer, arithmetic modulo 2^64). Equal keys mean equal
    bands at the same band index (up to 64-bit collisions): the index is mixed in, so one
    table of (key, document) rows serves all bands. Two documents with Jaccard ``s`` share at least
    one key with probability ``1 - (1 - s^rows)^bands`` (Leskovec, Rajaraman, Ullman, *Mining of
    Massive Datasets*, ch. 3). Needs ``bands * rows <= num_perm``. The defaults, 9 bands of 13
    rows, are ``minhash_params(0.8)`` for 128 permutations. NULL gives NULL.
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
    ``norm_numbers``), compared by their 64-bit hashes (collisions are negligible); the shared
    shingles are counted by set_jaccard's merge. NULL on either side, or both texts empty after
    normalization, gives NULL; one empty text gives 0.
    """
    n = len(a_text)
    da, la, ha = _shingles(a_text, ngram, unit, norm_numbers)
    db, lb, hb = _shingles(b_text, ngram, unit, norm_numbers)
    ua_h, la = jit.distinct_runs(ha, la)  # each row's shingles, sorted and distinct
    ub_h, lb = jit.distinct_runs(hb, lb)
    size_a = np.zeros(n, dtype=np.int64)
    size_a[da] = la
    size_b = np.zeros(n, dtype=np.int64)
    size_b[db] = lb
    inter = shared_counts(ua_h, offsets(size_a), ub_h, offsets(size_b))
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
