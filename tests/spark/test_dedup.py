"""Near-duplicate clusters on Spark equal DuckDB's near_dup_clusters on the bundled sample."""

from __future__ import annotations

import logging
import random
from importlib import resources

import pytest

from corpusql.spark.dedup import connected_components, exact_dup_groups, near_dup_clusters

pytestmark = pytest.mark.spark

SAMPLE = str(resources.files("corpusql") / "data" / "sample.parquet")


def test_connected_components_on_a_long_shuffled_chain(spark, con):
    """A path of 300 nodes in random order (many rounds) plus two small components."""
    rng = random.Random(7)
    order = list(range(300))
    rng.shuffle(order)
    edges = [(order[i], order[i + 1]) for i in range(299)] + [(500, 501), (502, 501), (600, 601)]
    rng.shuffle(edges)
    df = spark.createDataFrame(edges, "src BIGINT, dst BIGINT")
    got = {r["node"]: r["component"] for r in connected_components(df).collect()}
    labels = con.execute("SELECT connected_components(?::BIGINT[], ?::BIGINT[])",
                         [[e[0] for e in edges], [e[1] for e in edges]]).fetchone()[0]
    nodes = {n for e in edges for n in e}
    assert got == {n: labels[n] for n in nodes}
    assert set(got.values()) == {0, 500, 600}


def test_connected_components_reports_its_rounds(spark, caplog):
    """``stats["rounds"]`` (and an INFO log line) give the large-star/small-star rounds run: one
    for edges that are stars already, more for a long path, within Kiveris et al.'s O(log^2 n)."""
    star = spark.createDataFrame([(1, 2), (1, 3), (1, 4)], "src BIGINT, dst BIGINT")
    stats: dict = {}
    with caplog.at_level(logging.INFO, logger="corpusql.spark.dedup"):
        assert sorted(tuple(r) for r in connected_components(star, stats=stats).collect()) == [
            (1, 1), (2, 1), (3, 1), (4, 1)]
    assert stats == {"rounds": 1}
    assert "connected_components: stars after 1 round(s)" in caplog.text
    rng = random.Random(3)
    order = list(range(256))
    rng.shuffle(order)
    path = spark.createDataFrame([(order[i], order[i + 1]) for i in range(255)],
                                 "src BIGINT, dst BIGINT")
    connected_components(path, stats=stats)
    assert 1 < stats["rounds"] <= 8 * 8  # log2(256) = 8


@pytest.fixture
def docs_con(con):
    con.execute(f"CREATE TABLE docs AS FROM read_parquet('{SAMPLE}')")
    return con


@pytest.fixture(scope="module")
def sample_labels(spark):
    """The sample's documents and connected_components' labels, computed once (the stages of
    near_dup_clusters; keep_by only changes the last one, ``clusters``)."""
    from corpusql.spark import dedup

    docs = spark.read.parquet(SAMPLE).select("id", "text", "source")
    base = docs.select("id", "text")
    opts = dedup.shingle_options()
    bands, rows = dedup.banding(spark)
    keys = dedup.band_keys(dedup.signatures(base, options=opts), bands, rows)
    pairs = dedup.verified_pairs(dedup.candidate_pairs(keys), base, 0.8, opts)
    stats: dict = {}
    labels = connected_components(pairs, stats=stats).localCheckpoint(eager=True)
    return docs, labels, stats


@pytest.mark.parametrize("keep_by", [None, "source"])
def test_near_dup_clusters_same_as_duckdb(docs_con, sample_labels, keep_by):
    """Same clusters, sizes and kept ids as the macro, with and without keep_by (the public
    near_dup_clusters, which chains these stages, runs in test_sql_library_spark.py and in
    the demo recipe's test)."""
    from pyspark.sql import functions as F

    from corpusql.spark.dedup import clusters

    keep = "NULL" if keep_by is None else f"'{keep_by}'"
    want = docs_con.execute(
        "SELECT id, cluster_id, cluster_size, is_kept FROM "
        f"near_dup_clusters('docs', 'text', 'id', keep_by := {keep}) ORDER BY id").fetchall()
    docs, labels, stats = sample_labels
    base = docs.select("id", (F.col(keep_by) if keep_by else F.lit(None)).alias("priority"))
    got = clusters(base, labels)
    assert [tuple(r) for r in got.orderBy("id").collect()] == want
    assert stats["rounds"] >= 1, "connected_components reports its rounds"
    assert max(r[2] for r in want) > 1, "the sample has near-duplicates"


def test_over_full_buckets_give_stars_that_join_the_same_documents(spark, docs_con):
    """Unverified, max_bucket := 1 (every shared bucket over-full: representative-member pairs
    only) clusters exactly as all pairs do (the DuckDB macro, unverified)."""
    want = docs_con.execute(
        "SELECT id, cluster_id, cluster_size, is_kept FROM "
        "near_dup_clusters('docs', 'text', 'id', verify := false) ORDER BY id").fetchall()
    docs = spark.read.parquet(SAMPLE)
    got = near_dup_clusters(spark, docs, "text", "id", verify=False, max_bucket=1)
    assert [tuple(r) for r in got.orderBy("id").collect()] == want
    with pytest.raises(ValueError, match="max_bucket = 0 must be at least 1"):
        near_dup_clusters(spark, docs, "text", "id", max_bucket=0)


@pytest.mark.parametrize(("normalize", "keep_by"), [(True, None), (False, "source")])
def test_exact_dup_groups_same_as_duckdb(spark, docs_con, normalize, keep_by):
    keep = "NULL" if keep_by is None else f"'{keep_by}'"
    want = docs_con.execute(
        "SELECT id, group_id, group_size, is_kept FROM exact_dup_groups('docs', 'text', 'id', "
        f"normalize := {str(normalize).lower()}, keep_by := {keep}) ORDER BY id").fetchall()
    docs = spark.read.parquet(SAMPLE)
    got = exact_dup_groups(spark, docs, "text", "id", normalize=normalize, keep_by=keep_by)
    assert [tuple(r) for r in got.orderBy("id").collect()] == want
    assert max(r[2] for r in want) > 1, "the sample has exact duplicates"
