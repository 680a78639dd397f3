"""Set similarity over lists of distinct values (e.g. the shingle hashes of ``shingle_set``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _values_and_lengths(lists: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    values = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
    return values, lengths.astype(np.int64)


def set_jaccard(a: pa.Array, b: pa.Array) -> pa.Array:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two lists of distinct values.

    Each list is read as a set (its values must be distinct, as ``shingle_set`` returns them).
    Vectorized over the whole batch: the values of every pair are sorted together with their
    pair number, and a value seen twice in one pair is shared. With shingle sets this equals
    ``jaccard(a_text, b_text)`` on the same texts. NULL if either list is NULL or both are empty.
    """
    n = len(a)
    va, la = _values_and_lengths(a)
    vb, lb = _values_and_lengths(b)
    pair = np.concatenate([np.repeat(np.arange(n), la), np.repeat(np.arange(n), lb)])
    values = np.concatenate([va, vb])
    order = np.lexsort((values, pair))
    pair, values = pair[order], values[order]
    same = (pair[1:] == pair[:-1]) & (values[1:] == values[:-1])
    shared = np.bincount(pair[1:][same], minlength=n)
    union = la + lb - shared
    valid = (np.asarray(a.is_valid()) & np.asarray(b.is_valid()) & (union > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(valid, shared / np.maximum(union, 1), 0.0)
    return pa.array(ratio, pa.float64(), mask=~valid)
