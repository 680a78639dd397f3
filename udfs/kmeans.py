"""Spherical k-means on embeddings, nearest centroids and SemDeDup pairs, in numpy blocks.

Vectors are L2-normalized first (cosine similarity is then a dot product); every pass over the
rows is a float32 matrix product of a block of rows with the centroids (BLAS), so no Python runs
per row. Results depend only on the rows, their order (the SQL macros pass them ordered by id)
and the seed.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

#: Rows per block: a block's similarity matrix is BLOCK x k float32.
BLOCK = 8192
#: k-means++ seeding runs on at most this many rows per centroid (drawn with the seed).
SEED_SAMPLE_PER_CENTROID = 16
#: Rows per cluster the default cluster count aims at (n_clusters := NULL).
ROWS_PER_CLUSTER = 1000

CENTROIDS_TYPE = pa.list_(pa.struct([
    ("centroid_id", pa.int32()), ("centroid", pa.list_(pa.float32())), ("size", pa.int64())]))
NEAREST_TYPE = pa.list_(pa.struct([("centroid_id", pa.int32()), ("similarity", pa.float32())]))
PAIRS_TYPE = pa.struct([
    ("cluster", pa.list_(pa.int32())), ("similarity", pa.list_(pa.float32())),
    ("a", pa.list_(pa.int32())), ("b", pa.list_(pa.int32())),
    ("pair_similarity", pa.list_(pa.float32()))])


def matrix(vectors: pa.Array, function: str, what: str = "vectors") -> np.ndarray:
    """One row's list of equal-length vectors as an [n, d] float32 matrix, L2-normalized.

    Fails when vectors differ in length (naming both lengths) or hold NULL, NaN or infinite
    values. Zero vectors stay zero.
    """
    if len(vectors) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if vectors.null_count:
        raise ValueError(f"{function}: {what} holds a NULL vector; leave NULL rows out")
    if pa.types.is_fixed_size_list(vectors.type):
        d = vectors.type.list_size
    else:
        lengths = np.diff(vectors.offsets.to_numpy())
        if lengths.min() != lengths.max():
            raise ValueError(f"{function}: {what} must all have the same dimension, but one has "
                             f"{lengths.min()} values and another {lengths.max()}")
        d = int(lengths[0])
    flat = vectors.flatten().to_numpy(zero_copy_only=False)
    x = np.asarray(flat, dtype=np.float32).reshape(len(vectors), d)
    if not np.isfinite(x).all():
        bad = int(np.argmin(np.isfinite(x).all(axis=1)))
        raise ValueError(f"{function}: vector {bad} of {what} holds NULL, NaN or infinite values")
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


def _seed_centroids(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ (Arthur & Vassilvitskii 2007) on a seeded sample of at most 16 k rows."""
    n = len(x)
    m = min(n, SEED_SAMPLE_PER_CENTROID * k)
    sample = x if m == n else x[np.sort(rng.choice(n, m, replace=False))]
    chosen = [int(rng.integers(m))]
    nearest = np.maximum(2.0 - 2.0 * (sample @ sample[chosen[0]]), 0).astype(np.float64)
    for _ in range(1, k):
        total = nearest.sum()
        if total <= 0:  # every row sits on a centroid: take the first rows not chosen
            rest = np.setdiff1d(np.arange(m), chosen)
            chosen.append(int(rest[0]) if len(rest) else chosen[-1])
        else:
            c = int(np.searchsorted(np.cumsum(nearest), rng.random() * total, side="right"))
            chosen.append(min(c, m - 1))
        d = np.maximum(2.0 - 2.0 * (sample @ sample[chosen[-1]]), 0)
        np.minimum(nearest, d, out=nearest)
    return sample[chosen].copy()


def assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid (highest dot product, ties to the lowest number) and its similarity."""
    labels = np.empty(len(x), dtype=np.int32)
    best = np.empty(len(x), dtype=np.float32)
    ct = np.ascontiguousarray(centroids.T)
    for lo in range(0, len(x), BLOCK):
        s = x[lo:lo + BLOCK] @ ct
        a = s.argmax(axis=1)
        labels[lo:lo + BLOCK] = a
        best[lo:lo + BLOCK] = s[np.arange(len(a)), a]
    return labels, best


def lloyd_step(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One spherical k-means iteration: labels, sizes and the new (normalized) centroids."""
    k, d = centroids.shape
    sums = np.zeros((k, d), dtype=np.float64)
    labels = np.empty(len(x), dtype=np.int32)
    ct = np.ascontiguousarray(centroids.T)
    for lo in range(0, len(x), BLOCK):
        xb = x[lo:lo + BLOCK]
        a = (xb @ ct).argmax(axis=1).astype(np.int32)
        labels[lo:lo + BLOCK] = a
        order = np.argsort(a, kind="stable")
        groups, starts = np.unique(a[order], return_index=True)
        sums[groups] += np.add.reduceat(xb[order], starts, axis=0)
    sizes = np.bincount(labels, minlength=k)
    norm = np.linalg.norm(sums, axis=1, keepdims=True)
    new = np.where(norm > 0, sums / np.where(norm == 0, 1, norm), centroids).astype(np.float32)
    return labels, sizes, new


def fit(x: np.ndarray, k: int, seed: int, iters: int) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means: centroids [min(k, n), d] and each row's label; stops when stable."""
    k = min(k, len(x))
    centroids = _seed_centroids(x, k, np.random.default_rng(seed))
    labels = None
    for _ in range(iters):
        new_labels, _sizes, centroids = lloyd_step(x, centroids)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
    labels, _ = assign(x, centroids)
    return centroids, labels


def _rows(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _lists(parts: list[pa.Array | None], typ: pa.ListType) -> pa.Array:
    """One list per row from per-row value arrays (None: a NULL row), without Python objects."""
    offsets, mask, values = [0], [], []
    for p in parts:
        mask.append(p is None)
        if p is not None:
            values.append(p)
        offsets.append(offsets[-1] + (0 if p is None else len(p)))
    flat = pa.concat_arrays(values) if values else pa.array([], typ.value_type)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), flat, type=typ,
                                    mask=pa.array(mask))


def _vectors(m: np.ndarray) -> pa.Array:
    """An [n, d] float32 matrix as a FLOAT[] array of n rows."""
    n, d = m.shape
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * d),
                                    pa.array(m.ravel(), pa.float32()))


def kmeans_fit(vectors: pa.Array, *, k: int = 8, seed: int = 1, iters: int = 20) -> pa.Array:
    """Spherical k-means over one row's list of vectors: k centroids with their sizes.

    Each row holds a whole problem (the kmeans macro passes every vector of a table, ordered by
    id). Vectors are L2-normalized; the first centroids are chosen by k-means++ (Arthur &
    Vassilvitskii 2007) on at most 16 k of the rows, drawn with numpy's PCG64 generator from
    ``seed``; then at most ``iters`` Lloyd iterations assign each vector to the centroid of
    highest cosine similarity (ties to the lowest centroid number) and replace each centroid by
    the normalized sum of its vectors (spherical k-means, Dhillon & Modha 2001; a centroid left
    without vectors stays where it was), stopping early when no assignment changes. Returns
    ``{centroid_id, centroid, size}`` per centroid (ids 0..k-1; k is lowered to the number of
    vectors when there are fewer). The answer depends only on the vectors, their order and the
    seed. A NULL list gives NULL; vectors of different lengths or holding NULL/NaN fail.
    """
    vectors = _rows(vectors)
    out = []
    for i in range(len(vectors)):
        if not vectors[i].is_valid or len(vectors[i].values) == 0:
            out.append(None)
            continue
        x = matrix(vectors[i].values, "kmeans_fit")
        centroids, labels = fit(x, k, seed, iters)
        sizes = np.bincount(labels, minlength=len(centroids))
        out.append(pa.StructArray.from_arrays(
            [pa.array(np.arange(len(centroids), dtype=np.int32)), _vectors(centroids),
             pa.array(sizes.astype(np.int64))], fields=list(CENTROIDS_TYPE.value_type)))
    return _lists(out, CENTROIDS_TYPE)


def kmeans_nearest(vectors: pa.Array, centroids: pa.Array) -> pa.Array:
    """For one row's list of vectors, each vector's nearest centroid and cosine similarity.

    ``centroids[i]`` is the list of centroid vectors (centroid j is entry j); vectors and
    centroids are L2-normalized, the nearest is the highest dot product, ties going to the
    lowest centroid number. Returns ``{centroid_id, similarity}`` per vector, in order. Fails
    naming both dimensions when vectors and centroids differ in length. NULL lists give NULL.
    """
    vectors, centroids = _rows(vectors), _rows(centroids)
    out = []
    for i in range(len(vectors)):
        if not vectors[i].is_valid or not centroids[i].is_valid:
            out.append(None)
            continue
        x = matrix(vectors[i].values, "kmeans_nearest")
        c = matrix(centroids[i].values, "kmeans_nearest", "centroids")
        if len(x) and len(c) == 0:
            raise ValueError("kmeans_nearest: there are no centroids")
        if len(x) and x.shape[1] != c.shape[1]:
            raise ValueError(f"kmeans_nearest: the embeddings have {x.shape[1]} dimensions but "
                             f"the centroids have {c.shape[1]}; use centroids fitted on the "
                             "same embedding model")
        labels, best = assign(x, c) if len(x) else (np.zeros(0, np.int32), np.zeros(0))
        out.append(pa.StructArray.from_arrays(
            [pa.array(labels, pa.int32()), pa.array(best, pa.float32())],
            fields=list(NEAREST_TYPE.value_type)))
    return _lists(out, NEAREST_TYPE)


def default_clusters(n: int) -> int:
    """The cluster count used when n_clusters is NULL: one per 1,000 vectors, at least 1."""
    return max(1, math.ceil(n / ROWS_PER_CLUSTER))


def close_pairs(x: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
    """Pairs (a < b) of rows in the same cluster whose dot product exceeds ``threshold``."""
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    a_parts, b_parts, s_parts = [], [], []
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        xc = x[members]
        for lo in range(0, len(members), BLOCK):
            for co in range(lo, len(members), BLOCK):  # column blocks at or right of the rows
                s = xc[lo:lo + BLOCK] @ xc[co:co + BLOCK].T
                r, c = np.nonzero(s > threshold)
                upper = co + c > lo + r  # each pair once
                r, c = r[upper], c[upper]
                a_parts.append(members[lo + r])
                b_parts.append(members[co + c])
                s_parts.append(s[r, c])
    if not a_parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32)
    a, b, s = np.concatenate(a_parts), np.concatenate(b_parts), np.concatenate(s_parts)
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    key = np.lexsort((hi_, lo_))
    return lo_[key].astype(np.int32), hi_[key].astype(np.int32), s[key].astype(np.float32)


def semdedup_pairs(vectors: pa.Array, *, eps: float = 0.05, n_clusters: int | None = None,
                   seed: int = 1, iters: int = 20) -> pa.Array:
    """SemDeDup over one row's list of vectors: k-means clusters and the close pairs in each.

    Vectors are L2-normalized and clustered by spherical k-means (as kmeans_fit, with
    ``n_clusters`` centroids; NULL: one per 1,000 vectors); within each cluster every pair is
    compared (block matrix products) and pairs with cosine similarity above ``1 - eps`` are
    returned (Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale through
    semantic deduplication"). Returns a struct of lists: ``cluster`` and ``similarity`` (each
    vector's cluster and cosine similarity to its centroid, in order) and the pairs ``a`` < ``b``
    (positions in the list) with their ``pair_similarity``, ordered by a then b. Pairs split
    across clusters are not compared: that is the cost saving and the recall loss of SemDeDup.
    Fails when eps is not strictly between 0 and 1.
    """
    if eps is None or not 0 < eps < 1:
        raise ValueError(f"semdedup_pairs: eps = {eps} is outside (0, 1); pairs with cosine "
                         "similarity above 1 - eps are duplicates (SemDeDup's usual eps: 0.05)")
    vectors = _rows(vectors)
    out: list[tuple | None] = []
    for i in range(len(vectors)):
        if not vectors[i].is_valid or len(vectors[i].values) == 0:
            out.append(None)
            continue
        x = matrix(vectors[i].values, "semdedup_pairs")
        k = default_clusters(len(x)) if n_clusters is None else n_clusters
        if k < 1:
            raise ValueError(f"semdedup_pairs: n_clusters = {k} must be at least 1")
        centroids, labels = fit(x, k, seed, iters)
        sims = np.einsum("ij,ij->i", x, centroids[labels])
        a, b, s = close_pairs(x, labels, 1.0 - eps)
        out.append((labels, sims, a, b, s))
    fields = []
    for j, f in enumerate(PAIRS_TYPE):
        fields.append(_lists([None if o is None else pa.array(o[j], f.type.value_type)
                              for o in out], f.type))
    return pa.StructArray.from_arrays(fields, fields=list(PAIRS_TYPE),
                                      mask=pa.array([o is None for o in out]))
