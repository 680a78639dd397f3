"""The SQL library on Spark: each table macro, expanded by corpusql, gives DuckDB's rows.

Uses the shared session of tests/spark/conftest.py (corpusql's functions registered).
"""

from __future__ import annotations

import math

import pytest
from sql_library_data import CALLS, TABLES

import corpusql.spark
from corpusql.spark import library

pytestmark = pytest.mark.spark

#: Calls with no Spark form yet (the expansion refuses them: test_sql_library_expand.py).
NOT_ON_SPARK: set[str] = set()


@pytest.fixture(scope="module")
def both(spark, mcon):
    """(spark, duckdb connection) holding the same tables."""
    for name, make in TABLES.items():
        table = make()
        mcon.register(name, table)
        spark.createDataFrame(table).createOrReplaceTempView(name)
    return spark, mcon


def _norm(v):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 9)
    if isinstance(v, dict):
        return tuple(_norm(x) for x in v.values())
    if isinstance(v, list | tuple):  # a Spark Row is a tuple
        return tuple(_norm(x) for x in v)
    return v


def _sorted(rows):
    return sorted((_norm(tuple(r)) for r in rows), key=repr)


@pytest.mark.parametrize("case", sorted(set(CALLS) - NOT_ON_SPARK))
def test_spark_gives_duckdbs_rows(both, case):
    spark, con = both
    call = CALLS[case]
    expected = _sorted(con.execute(f"SELECT * FROM {call}").fetchall())
    got = _sorted(library.sql(spark, f"SELECT * FROM {call}").collect())
    assert got == expected
    assert expected


def test_python_function_form_is_the_sql_form(both):
    spark, _ = both
    by_sql = library.sql(spark, "SELECT * FROM split_summary('docs', split_col => 'source')")
    by_python = corpusql.spark.split_summary(spark, "docs", split_col="source")
    assert by_python.columns == ["split", "n_rows", "n_chars", "row_share"]
    assert _sorted(by_python.collect()) == _sorted(by_sql.collect())
    assert corpusql.spark.split_summary.__name__ == "split_summary"
    assert corpusql.spark.split_summary.__doc__.startswith("split_summary(tbl, split_col := ")
    with pytest.raises(AttributeError, match="no attribute 'near_dup_settings'"):
        _ = corpusql.spark.near_dup_settings  # a scalar macro: a SQL function, not a DataFrame


def test_a_macros_error_reaches_the_spark_user_word_for_word(both):
    spark, con = both
    call = "SELECT * FROM mix_weights_temperature('counts', 0.0)"
    with pytest.raises(Exception, match="mix_weights_temperature: t must be > 0, got 0.0"):
        con.execute(call)
    with pytest.raises(Exception, match="mix_weights_temperature: t must be > 0, got 0.0"):
        library.sql(spark, call).collect()


def test_macro_result_composes_with_the_users_sql(both):
    spark, con = both
    sql = ("SELECT s.split, s.n_rows * 2 AS twice FROM split_summary('docs') AS s "
           "WHERE s.split IS NOT NULL")
    assert _sorted(library.sql(spark, sql).collect()) == _sorted(con.execute(sql).fetchall())


def test_scalar_macro_is_a_spark_function_with_defaults(both):
    spark, con = both
    spark.sql(library.scalar_function_sql("near_dup_settings"))
    for spark_call, duck_call in [("near_dup_settings()", "near_dup_settings()"),
                                  ("near_dup_settings(threshold => 0.7, ngram => 3)",
                                   "near_dup_settings(threshold := 0.7, ngram := 3)")]:
        got = spark.sql(f"SELECT {spark_call}").collect()[0][0]
        assert got == con.execute(f"SELECT {duck_call}").fetchall()[0][0]



def test_memory_budget_is_a_spark_session_variable(both):
    """near_dup_candidates checks its pair count against corpusql_memory_budget on Spark as on
    DuckDB (a session variable that register() declares; NULL: no limit). The test failed
    before this change: the expansion referred to DuckDB's getvariable(), unknown to Spark."""
    spark, con = both
    call = CALLS["near_dup_candidates"]
    spark.sql("SET VAR corpusql_memory_budget = 10")
    try:
        with pytest.raises(Exception, match=r"near_dup_candidates needs more than .*budget"):
            library.sql(spark, f"SELECT * FROM {call}").collect()
    finally:
        spark.sql("SET VAR corpusql_memory_budget = NULL")
    assert library.sql(spark, f"SELECT count(*) FROM {call}").collect()[0][0] == \
        con.execute(f"SELECT count(*) FROM {call}").fetchall()[0][0]


def test_near_dup_clusters_runs_distributed_and_expanded_with_duckdbs_rows(both):
    """On a session the call runs as corpusql.spark.dedup's DataFrame (a temp view replaces it);
    the pure expansion (corpusql.spark.expand) still gives the same rows. (Without keep_by, the
    native form runs in test_spark_gives_duckdbs_rows.)"""
    spark, con = both
    call = CALLS["near_dup_clusters keep_by"]
    expected = _sorted(con.execute(f"SELECT * FROM {call}").fetchall())
    native = library.sql(spark, f"SELECT * FROM {call}")
    assert library.NATIVE_VIEW_PREFIX in native._jdf.queryExecution().logical().toString()
    assert _sorted(native.collect()) == expected
    assert _sorted(spark.sql(library.expand(f"SELECT * FROM {call}")).collect()) == expected


def test_native_near_dup_clusters_checks_ids_as_the_macro_does(both):
    spark, con = both
    rows = [("a", "one two three four five six"), ("a", "one two three four five six"),
            ("b", "seven eight nine ten eleven twelve")]
    spark.createDataFrame(rows, "id STRING, text STRING").createOrReplaceTempView("dup_ids")
    con.execute("CREATE OR REPLACE TEMP TABLE dup_ids AS SELECT * FROM (VALUES "
                + ", ".join(f"('{i}', '{t}')" for i, t in rows) + ") AS t(id, text)")
    call = "SELECT * FROM near_dup_clusters('dup_ids', 'text', 'id')"
    message = "near_dup_candidates: dup_ids.id is not unique: 1 repeated ids, e.g. a"
    with pytest.raises(Exception, match=message):
        con.execute(call)
    with pytest.raises(Exception, match=message):
        library.sql(spark, call).collect()


def test_declaring_the_budget_logs_no_error_and_keeps_a_set_value(spark):
    """register() probes for corpusql_memory_budget before declaring it; pyspark logs every
    AnalysisException at ERROR with its stack trace (its SQLQueryContextLogger), so every
    session start printed "cannot be resolved" (the test failed before this change: one record
    logged). A value the user set survives a second register(); later errors are still logged."""
    import logging

    from pyspark.logger import PySparkLogger

    from corpusql.spark.binder import declare_budget

    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = PySparkLogger.getLogger("SQLQueryContextLogger")
    logger.addHandler(handler)
    try:
        spark.sql("DROP TEMPORARY VARIABLE IF EXISTS corpusql_memory_budget")
        declare_budget(spark)
        assert [r.getMessage() for r in seen] == []
        with pytest.raises(Exception, match="cannot be resolved"):
            spark.sql("SELECT no_such_column_here").collect()
        assert len(seen) == 1
    finally:
        logger.removeHandler(handler)
    assert spark.sql("SELECT corpusql_memory_budget").collect()[0][0] is None
    spark.sql("SET VAR corpusql_memory_budget = 7")
    try:
        declare_budget(spark)
        assert spark.sql("SELECT corpusql_memory_budget").collect()[0][0] == 7
    finally:
        spark.sql("SET VAR corpusql_memory_budget = NULL")
