"""A user's registered kernel runs on Spark with the same name, defaults and values as in DuckDB."""

from __future__ import annotations

import pytest

import corpusql
from corpusql.binder import bind
from corpusql.extending import function_row

pytestmark = pytest.mark.spark


def test_a_user_kernel_runs_on_spark_like_on_duckdb(spark):
    import pyarrow as pa
    import pyarrow.compute as pc

    def count_term(text: pa.Array, *, term: str = "debian") -> pa.Array:
        """Occurrences of ``term`` in the lower-cased text."""
        return pc.count_substring(pc.utf8_lower(text), term)

    row = function_row(count_term, returns="BIGINT")
    assert corpusql.spark.register(spark, [row]) == ["count_term"]
    texts = ["Debian is debian", "nothing", None, "is is is"]
    con = corpusql.connect()
    try:
        bind(con, [row])
        con.execute("CREATE TABLE t AS SELECT * FROM unnest(?) WITH ORDINALITY AS u(text, i)",
                    [texts])
        duck = con.execute("SELECT i, count_term(text), count_term(text, term := 'is') FROM t "
                           "ORDER BY i").fetchall()
    finally:
        con.close()
    spark.createDataFrame([(i + 1, t) for i, t in enumerate(texts)], "i long, text string") \
        .createOrReplaceTempView("user_fn_texts")
    got = [tuple(r) for r in spark.sql(
        "SELECT i, count_term(text), count_term(text, term => 'is') FROM user_fn_texts "
        "ORDER BY i").collect()]
    assert got == duck == [(1, 2, 1), (2, 0, 0), (3, None, None), (4, 0, 3)]
