"""The SQL library on Spark: each table macro, expanded by corpusql, gives DuckDB's rows.

Pure-SQL macros need only a SparkSession; the others need corpusql's functions registered on it
(``corpusql.spark.register``): without them those cases are skipped, saying so.
"""

from __future__ import annotations

import math

import pytest
from sql_library_data import CALLS, TABLES

from corpusql.spark import library

pytestmark = pytest.mark.spark

#: Calls that need no corpusql kernel: they run on any SparkSession.
PURE_SQL = {"split_summary", "split_summary named", "mix_weights_temperature",
            "near_dup_ids_checked"}
#: Calls with no Spark form yet (the expansion refuses them, see test_not_yet_on_spark).
NOT_ON_SPARK = {"quality_report"}


@pytest.fixture(scope="module")
def spark_session(request):
    """The shared session with corpusql's functions when tests/spark/conftest.py offers one
    (fixture ``spark``), else a plain local[2] session for this module."""
    try:
        yield request.getfixturevalue("spark")
        return
    except pytest.FixtureLookupError:
        pass
    import os
    import shutil
    import sys

    pyspark = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java 17+: apt-get install -y openjdk-17-jdk-headless")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (pyspark.SparkSession.builder.master("local[2]").appName("corpusql-sql-library")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def both(spark_session, mcon):
    """(spark, duckdb connection) holding the same tables."""
    for name, make in TABLES.items():
        table = make()
        mcon.register(name, table)
        spark_session.createDataFrame(table).createOrReplaceTempView(name)
    return spark_session, mcon


def _has_kernels(spark) -> bool:
    return spark.catalog.functionExists("hash_unit")


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
    if case not in PURE_SQL and not _has_kernels(spark):
        pytest.skip("needs corpusql's functions on the session (corpusql.spark.register)")
    call = CALLS[case]
    expected = _sorted(con.execute(f"SELECT * FROM {call}").fetchall())
    got = _sorted(library.sql(spark, f"SELECT * FROM {call}").collect())
    assert got == expected
    assert expected


def test_python_function_form_is_the_sql_form(both):
    spark, _ = both
    by_sql = library.sql(spark, "SELECT * FROM split_summary('docs', split_col => 'source')")
    by_python = library.call(spark, "split_summary", "docs", split_col="source")
    assert by_python.columns == ["split", "n_rows", "n_chars", "row_share"]
    assert _sorted(by_python.collect()) == _sorted(by_sql.collect())
    assert library.table_function("split_summary").__name__ == "split_summary"


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
    if not _has_kernels(spark):
        pytest.skip("needs corpusql's functions on the session (corpusql.spark.register)")
    spark.sql(library.scalar_function_sql("near_dup_settings"))
    for spark_call, duck_call in [("near_dup_settings()", "near_dup_settings()"),
                                  ("near_dup_settings(threshold => 0.7, ngram => 3)",
                                   "near_dup_settings(threshold := 0.7, ngram := 3)")]:
        got = spark.sql(f"SELECT {spark_call}").collect()[0][0]
        assert got == con.execute(f"SELECT {duck_call}").fetchall()[0][0]

