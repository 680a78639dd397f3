"""Diversity selection: pick rows that cover a vector space (greedy k-center)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .mixing import hash_unit

PICK_TYPE = pa.list_(pa.struct([
    ("id", pa.string()), ("rank", pa.int32()), ("radius", pa.float64())]))


def k_center_pick(ids: pa.Array, vectors: pa.Array, *, k: int = 10, seed: int = 0) -> pa.Array:
    """Greedy k-center over one row of lists: the ids of k entries that cover the vectors.

    Each row holds a whole problem: ``ids[i]`` names the vector ``vectors[i]``. The first center
    is the entry with the smallest ``hash_unit(id, seed)`` (keyed BLAKE2b, never the engine's
    hash); each next center is the entry farthest from the centers picked so far, in Euclidean
    distance, ties going to the entry earliest in the lists (``k_center_greedy`` passes them
    ordered by id, so to the smallest id). This is Gonzalez's farthest-point greedy (T. F.
    Gonzalez 1985, "Clustering to minimize the maximum intercluster distance", Theoretical
    Computer Science 38), a 2-approximation of the smallest radius that k centers among the
    entries can achieve. The answer is the list of picks in order: ``{id, rank, radius}`` with
    rank 1..k and radius the covering radius after that pick (the largest distance from any entry
    to its nearest center so far; it never grows, and is 0 once every distinct vector is picked).
    With k at least the number of entries, every entry is picked. Entries whose id or vector is
    NULL are skipped; a NULL list gives NULL. Fails when the lists differ in length, the vectors
    differ in length, or a vector holds NULL, NaN or infinite values. Distances are computed in
    float64, with one vectorized pass over all entries per pick (O(n k d) time, n x d memory).
    """
    ids = _combined(ids)
    vectors = _combined(vectors)
    starts, picks, ranks, radii = [0], [], [], []
    valid = []
    for i in range(len(ids)):  # one row per problem: a query passes one row holding every entry
        if not ids[i].is_valid or not vectors[i].is_valid:
            valid.append(False)
            starts.append(starts[-1])
            continue
        valid.append(True)
        row_ids, row_radii = _pick_row(ids[i].values, vectors[i].values, k, seed)
        picks.append(row_ids)
        radii.append(row_radii)
        ranks.append(np.arange(1, len(row_radii) + 1, dtype=np.int32))
        starts.append(starts[-1] + len(row_radii))
    structs = pa.StructArray.from_arrays([
        pa.concat_arrays(picks) if picks else pa.array([], pa.string()),
        pa.array(np.concatenate(ranks) if ranks else np.zeros(0, np.int32), pa.int32()),
        pa.array(np.concatenate(radii) if radii else np.zeros(0), pa.float64()),
    ], names=["id", "rank", "radius"])
    offsets = pa.array(starts, pa.int32())
    return pa.ListArray.from_arrays(offsets, structs, type=PICK_TYPE,
                                    mask=pa.array([not v for v in valid]))


def _combined(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _pick_row(ids: pa.Array, vectors: pa.Array, k: int, seed: int) -> tuple[pa.Array, np.ndarray]:
    """The picked ids (in order) and the covering radius after each pick, for one problem."""
    if k < 1:
        raise ValueError(f"k_center_pick: k = {k} must be at least 1")
    if len(ids) != len(vectors):
        raise ValueError(f"k_center_pick: ids has {len(ids)} entries but vectors has "
                         f"{len(vectors)}; they must pair up")
    keep = pc.and_(ids.is_valid(), vectors.is_valid())
    if keep.false_count:
        ids, vectors = pc.filter(ids, keep), pc.filter(vectors, keep)
    n = len(ids)
    if n == 0:
        return pa.array([], pa.string()), np.zeros(0)
    lengths = pc.list_value_length(vectors).to_numpy(zero_copy_only=False)
    if lengths.min() != lengths.max():
        a, b = int(np.argmin(lengths)), int(np.argmax(lengths))
        raise ValueError(
            f"k_center_pick: vectors must all have the same length, but id "
            f"{_show(ids[a].as_py())} has {lengths[a]} values and id {_show(ids[b].as_py())} "
            f"has {lengths[b]}")
    flat = vectors.flatten()
    x = flat.to_numpy(zero_copy_only=False).astype(np.float64).reshape(n, int(lengths[0]))
    finite = np.isfinite(x).all(axis=1) if x.size else np.ones(n, dtype=bool)
    if not finite.all():  # NULL values read as NaN
        bad = int(np.argmin(finite))
        raise ValueError(f"k_center_pick: the vector of id {_show(ids[bad].as_py())} holds NULL, "
                         "NaN or infinite values; distances need finite numbers")
    u = hash_unit(ids, seed=seed).to_numpy(zero_copy_only=False)
    picked, squared = _greedy(x, u, min(k, n))
    return pc.take(ids, pa.array(picked)), np.sqrt(squared)


def _greedy(x: np.ndarray, u: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Farthest-point traversal: picked positions and squared covering radius after each pick.

    ``nearest`` holds each entry's squared distance to its nearest center so far (-1 once the
    entry is a center, so it is never picked twice); each pick costs one pass over ``x``, in
    blocks of about 1 MB so the differences stay in cache (each row's sum is the same whatever
    the block size, so blocks never change an answer).
    """
    n, dim = x.shape
    picked = np.empty(k, dtype=np.int64)
    squared = np.empty(k)
    nearest = np.full(n, np.inf)
    block = max(1, 2**17 // max(dim, 1))
    diff = np.empty((min(block, n), dim))
    c = int(np.argmin(u))  # first occurrence: ties go to the earliest entry
    for step in range(k):
        picked[step] = c
        center = x[c]
        for lo in range(0, n, block):
            rows = x[lo:lo + block]
            d = diff[:len(rows)]
            np.subtract(rows, center, out=d)
            part = nearest[lo:lo + block]
            np.minimum(part, np.einsum("ij,ij->i", d, d), out=part)
        nearest[c] = -1.0
        c = int(np.argmax(nearest))
        squared[step] = max(nearest[c], 0.0)
    return picked, squared
