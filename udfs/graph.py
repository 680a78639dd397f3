"""Graph kernels over edge lists: connected components for clustering near-duplicate pairs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


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
