"""Graph kernels over edge lists: connected components for clustering near-duplicate pairs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Edges hooked per step: bounds the temporaries to a few times this many values.
CHUNK = 1 << 20
#: Bytes the kernel holds per edge (its two ends, int64) and per node (three label arrays).
BYTES_PER_EDGE = 16
BYTES_PER_NODE = 24


def connected_components(src: pa.Array, dst: pa.Array, *,
                         memory_budget: int | None = None) -> pa.Array:
    """Connected components of a graph given as one row of edge lists: a label per node.

    ``src`` and ``dst`` are lists of node numbers ``0..n-1`` (edge ``i`` joins ``src[i]`` and
    ``dst[i]``); the answer for the row is the list of ``n = max node + 1`` labels, each node's
    label being the smallest node number in its component (so labels are deterministic).
    Vectorized min-label propagation with pointer jumping (Shiloach-Vishkin style). Edges with a
    NULL end are ignored; a NULL list gives NULL. Edges are hooked in chunks of ``CHUNK``, so
    the kernel holds 16 bytes per edge and 24 per node plus a fixed amount; when that exceeds
    ``memory_budget`` (bytes; the corpusql memory budget, None for no limit) it fails naming
    the budget and the knobs instead of growing.
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
        if su.null_count or sv.null_count:  # an edge with a NULL end joins nothing
            both = pc.and_(su.is_valid(), sv.is_valid())
            su, sv = pc.filter(su, both), pc.filter(sv, both)
        u = su.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        v = sv.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        _check_budget(u, v, memory_budget)
        out.append(_components(u, v))
    return pa.array(out, type=pa.list_(pa.int64()))


def _check_budget(u: np.ndarray, v: np.ndarray, memory_budget: int | None) -> None:
    if memory_budget is None or len(u) == 0:
        return
    nodes = int(max(u.max(), v.max())) + 1
    need = len(u) * BYTES_PER_EDGE + nodes * BYTES_PER_NODE + 3 * 8 * min(len(u), CHUNK)
    if need > memory_budget:
        raise ValueError(
            f"connected_components needs more than {round(need / 1e9, 2)} GB for {len(u)} edges "
            f"over {nodes} nodes (budget {round(memory_budget / 1e9, 2)} GB); raise the budget "
            "with corpusql.connect(..., memory_budget=...) or corpusql.set_memory_budget(con, ...), "
            "or lower max_bucket or raise threshold (fewer candidate pairs)")


def _components(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if len(u) == 0:
        return np.zeros(0, dtype=np.int64)
    if min(u.min(), v.min()) < 0:
        raise ValueError("connected_components: node numbers must be >= 0")
    n = int(max(u.max(), v.max())) + 1
    label = np.arange(n, dtype=np.int64)
    while True:
        new = label.copy()
        for start in range(0, len(u), CHUNK):  # hook the roots onto the smaller label
            lu, lv = label[u[start:start + CHUNK]], label[v[start:start + CHUNK]]
            m = np.minimum(lu, lv)
            np.minimum.at(new, lu, m)
            np.minimum.at(new, lv, m)
        while True:  # pointer jumping to the root
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, label):
            return label
        label = new
