"""``semantic_dup_clusters`` on Spark: the DuckDB macro's rows, row for row.

A small table of 8-dimensional embeddings with planted near copies (cosine > 0.95), NULL
embeddings and a ``keep_by`` column; the same Arrow table is a DuckDB table and a Spark temp
view. Uses the shared session of tests/spark/conftest.py.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import corpusql
import corpusql.spark
from corpusql.spark import library
from corpusql.spark.render import MacroCallError

pytestmark = pytest.mark.spark


def _table() -> pa.Table:
    rng = np.random.default_rng(7)
    base = rng.normal(size=(12, 8)).astype(np.float32)
    rows = []
    for i in range(40):
        v = base[i % 12] + rng.normal(scale=0.02 if i >= 12 else 0.0, size=8)
        emb = None if i in (5, 31) else [float(x) for x in v.astype(np.float32)]
        rows.append({"id": f"e{i:02d}", "emb": emb, "score": None if i % 7 == 0 else i % 4})
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("id", pa.string()), ("emb", pa.list_(pa.float32())), ("score", pa.int64())]))


@pytest.fixture(scope="module")
def both(spark):
    table = _table()
    con = corpusql.connect()
    con.register("sem_docs", table)
    spark.createDataFrame(table).createOrReplaceTempView("sem_docs")
    yield spark, con
    con.close()


CALLS = [
    "semantic_dup_clusters('sem_docs', 'emb', 'id')",
    "semantic_dup_clusters('sem_docs', 'emb', 'id', eps := 0.2, n_clusters := 3)",
    "semantic_dup_clusters('sem_docs', 'emb', 'id', keep_by := 'score')",
    "semantic_dup_clusters('sem_docs', 'emb', 'id', keep := 'farthest', seed := 3)",
]


@pytest.mark.parametrize("call", CALLS)
def test_spark_gives_the_macros_rows(both, call):
    spark, con = both
    expected = con.execute(f"SELECT * FROM {call}").fetchall()
    got = [tuple(r) for r in library.sql(spark, f"SELECT * FROM {call}").collect()]
    assert sorted(got) == sorted(expected)
    assert any(size > 1 for _, _, size, *_ in expected)  # planted copies were found
    assert any(k is None for *_, k, _ in expected)  # NULL embeddings: singletons


def test_python_form_order_and_refusals(both):
    spark, con = both
    df = corpusql.spark.semantic_dup_clusters(spark, "sem_docs", "emb", "id", eps=0.05)
    assert df.columns == ["id", "cluster_id", "cluster_size", "is_kept", "kmeans_cluster",
                          "centroid_similarity"]
    rows = [tuple(r) for r in df.collect()]
    assert rows == con.execute(
        "SELECT * FROM semantic_dup_clusters('sem_docs', 'emb', 'id', eps := 0.05)").fetchall()
    with pytest.raises(MacroCallError, match=r"eps = 1.5 is outside \(0, 1\)"):
        library.sql(spark, "SELECT * FROM semantic_dup_clusters('sem_docs', 'emb', 'id', "
                           "eps := 1.5)")
    with pytest.raises(MacroCallError, match="keep = 'last' is not one of"):
        library.sql(spark, "SELECT * FROM semantic_dup_clusters('sem_docs', 'emb', 'id', "
                           "keep := 'last')")
