"""Semantic duplicate clusters on Spark: the ``semantic_dup_clusters`` macro's answer, row for row.

The macro (sql/semantic/semantic_dup_clusters.sql) hands every embedding of the table, in id
order, to the ``semdedup_pairs`` kernel as one list (k-means, then the close pairs within each
k-means cluster), labels the pairs' connected components with the ``connected_components``
kernel and ranks each component's copies. Spark has no table name parameter and the kernel
needs all vectors at once, so this runs the same two kernels on the driver: the table's id,
embedding and ``keep_by`` columns are collected in id order (as DuckDB holds them, n x dim x 4
bytes of vectors), and the ranking is the macro's (component = the smallest node number in it,
a NULL embedding its own singleton; cluster_id = its smallest id; kept: with keep 'first' the
highest ``keep_by`` then the smallest id, with 'farthest' the lowest centroid similarity first).
The result is a DataFrame of the macro's columns, in its order (cluster_id, then copy rank).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .render import MacroCallError

RETURNS = ("id", "cluster_id", "cluster_size", "is_kept", "kmeans_cluster",
           "centroid_similarity")


def _check(eps, keep) -> None:
    """The macro's refusals, in its words."""
    if eps is None or not 0 < eps < 1:
        raise MacroCallError(f"semantic_dup_clusters: eps = {'NULL' if eps is None else eps} is "
                         "outside (0, 1); pairs with cosine similarity above 1 - eps are "
                         "duplicates (SemDeDup's usual eps: 0.05)")
    if keep not in ("first", "farthest"):
        raise MacroCallError(f"semantic_dup_clusters: keep = {'NULL' if keep is None else repr(keep)}"
                         " is not one of 'first' (highest keep_by, then smallest id) or "
                         "'farthest' (least similar to its centroid)")


def _kernels(vectors: pa.ListArray, m: int, eps, n_clusters, seed, iters):
    """Per node (non-NULL embedding, in id order): k-means cluster, centroid similarity and
    component label, from the macro's two kernels."""
    from ..udfs.graph import connected_components
    from ..udfs.kmeans import semdedup_pairs

    if m == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    one = pa.ListArray.from_arrays(pa.array([0, m], pa.int32()), vectors)
    res = semdedup_pairs(one, eps=eps, n_clusters=n_clusters, seed=seed, iters=iters)[0]
    cluster = np.asarray(res["cluster"].values.to_numpy(zero_copy_only=False), np.int32)
    sims = np.asarray(res["similarity"].values.to_numpy(zero_copy_only=False), np.float32)
    label = np.arange(m, dtype=np.int64)  # a node in no pair is its own component
    a, b = res["a"].values.cast(pa.int64()), res["b"].values.cast(pa.int64())
    if len(a):
        cc = connected_components(pa.array([a.to_pylist()], pa.list_(pa.int64())),
                                  pa.array([b.to_pylist()], pa.list_(pa.int64())))[0]
        got = np.asarray(cc.values.to_numpy(zero_copy_only=False), np.int64)
        label[:len(got)] = got
    return cluster, sims, label


def _ranked(members: list[int], priority: list, sims: list, farthest: bool) -> list[int]:
    """``members`` (row positions in id order) in copy-rank order: (farthest: centroid
    similarity ascending, NULLs last), keep_by descending NULLs last, id."""
    out = [i for i in members if priority[i] is not None]
    out.sort(key=lambda i: priority[i], reverse=True)  # stable: ties stay in id order
    out += [i for i in members if priority[i] is None]
    if farthest:
        near = [i for i in out if sims[i] is not None]
        near.sort(key=lambda i: sims[i])
        out = near + [i for i in out if sims[i] is None]
    return out


def semantic_dup_clusters(spark, docs, emb_col: str, id_col: str, eps: float = 0.05,
                          n_clusters: int | None = None, keep_by: str | None = None,
                          keep: str = "first", seed: int = 1, iters: int = 20):
    """DataFrame of ``semantic_dup_clusters(tbl, emb_col, id_col, ...)`` for the DataFrame
    ``docs`` (the macro's parameters and answer; see the module docstring)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    _check(eps, keep)
    cols = [F.col(f"`{id_col}`").alias("id"), F.col(f"`{emb_col}`").alias("emb"),
            (F.col(f"`{keep_by}`") if keep_by else F.lit(None)).alias("priority")]
    rows = docs.select(*cols).orderBy("id").toArrow()
    ids = rows.column("id").to_pylist()
    emb = rows.column("emb").combine_chunks()
    valid = np.asarray(emb.is_valid().to_numpy(zero_copy_only=False), bool)
    node = np.cumsum(valid) - 1
    m = int(valid.sum())
    vectors = emb.filter(pa.array(valid)).cast(pa.list_(pa.float32()))
    cluster, sims, label = _kernels(vectors, m, eps, n_clusters, seed, iters)
    groups: dict[int, list[int]] = {}
    for i in range(len(ids)):
        comp = int(label[node[i]]) if valid[i] else -1 - i
        groups.setdefault(comp, []).append(i)
    km = [int(cluster[node[i]]) if valid[i] else None for i in range(len(ids))]
    sim = [float(sims[node[i]]) if valid[i] else None for i in range(len(ids))]
    priority = rows.column("priority").to_pylist()
    out = []
    for members in groups.values():
        ranked = _ranked(members, priority, sim, keep == "farthest")
        first = ids[members[0]]  # members are in id order: the smallest id
        out += [(ids[i], first, len(members), r == 0, km[i], sim[i])
                for r, i in enumerate(ranked)]
    order = sorted(range(len(out)), key=lambda j: out[j][1])  # stable: copy rank kept
    id_type = docs.select(F.col(f"`{id_col}`")).schema.fields[0].dataType
    schema = T.StructType([
        T.StructField("id", id_type), T.StructField("cluster_id", id_type),
        T.StructField("cluster_size", T.LongType()), T.StructField("is_kept", T.BooleanType()),
        T.StructField("kmeans_cluster", T.IntegerType()),
        T.StructField("centroid_similarity", T.FloatType())])
    return spark.createDataFrame([out[j] for j in order], schema)
