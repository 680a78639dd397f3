"""Set similarity over lists of distinct values (e.g. the shingle hashes of ``shingle_set``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .sets_jit import offsets, shared_counts


def _values_and_lengths(lists: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    values = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
    return values, lengths.astype(np.int64)


#: Bytes set_jaccard holds per value of either side (the values and a sorted copy).
BYTES_PER_VALUE = 16


def set_jaccard(a: pa.Array, b: pa.Array, *, memory_budget: int | None = None) -> pa.Array:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two lists of distinct values.

    Each list is read as a set (its values must be distinct, as ``shingle_set`` returns them).
    Per pair, a compiled merge of the two sorted lists counts the shared values (a list that is
    not sorted is sorted first). With shingle sets this equals ``jaccard(a_text, b_text)`` on the
    same texts. NULL if either list is NULL or both are empty. The kernel holds about 16 bytes
    per value of the batch; when that exceeds ``memory_budget`` (bytes; the corpusql memory
    budget, None for no limit) it fails naming the budget instead of growing.
    """
    va, la = _values_and_lengths(a)
    vb, lb = _values_and_lengths(b)
    need = (len(va) + len(vb)) * BYTES_PER_VALUE
    if memory_budget is not None and need > memory_budget:
        raise ValueError(
            f"set_jaccard needs more than {round(need / 1e9, 2)} GB for {len(la)} sets of "
            f"{len(va) + len(vb)} values (budget {round(memory_budget / 1e9, 2)} GB); raise the "
            "budget with corpusql.connect(..., memory_budget=...) or "
            "corpusql.set_memory_budget(con, ...)")
    shared = shared_counts(va, offsets(la), vb, offsets(lb))
    union = la + lb - shared
    valid = (np.asarray(a.is_valid()) & np.asarray(b.is_valid()) & (union > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(valid, shared / np.maximum(union, 1), 0.0)
    return pa.array(ratio, pa.float64(), mask=~valid)
