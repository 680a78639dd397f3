"""Every registry function exists in Spark SQL with the same parameter names, types and
defaults, and fails like it does in DuckDB."""

from __future__ import annotations

import re

import pytest

from corpusql.functions import REGISTRY
from corpusql.registry import Param, Registry, fn
from corpusql.spark import SparkRegistrationError, register
from corpusql.spark.types import spark_type
from corpusql.udfs import text as text_kernels

pytestmark = pytest.mark.spark

_INPUT = re.compile(r"^(?:Input:)?\s*(\w+)\s+(\S+)(?:\s+DEFAULT\s+(.*?))?\s*$")


def _describe(spark, name: str) -> tuple[list[tuple[str, str, str | None]], str, str]:
    """(parameters as (name, type, default SQL), return type, comment) as Spark reports them."""
    lines = [r[0] for r in spark.sql(f"DESCRIBE FUNCTION EXTENDED `{name}`").collect()]
    params, returns, comment, section = [], None, None, None
    for line in lines:
        head = line.split(":", 1)[0] if re.match(r"^[A-Z][a-zA-Z ]*:", line) else None
        if head:
            section = head
        if section == "Input":
            m = _INPUT.match(line)
            assert m, f"{name}: cannot read DESCRIBE line {line!r}"
            params.append(m.groups())
        elif head == "Returns":
            returns = line.split(":", 1)[1].strip()
        elif head == "Comment":
            comment = line.split(":", 1)[1].strip()
    return params, returns, comment


def _dtype(spark, ddl: str):
    """Spark's DataType for a type written in Spark SQL."""
    return spark.sql(f"SELECT CAST(NULL AS {ddl}) AS v").schema["v"].dataType


def _as_registry_value(value, p: Param):
    """A default as Spark returns it, in the registry's Python spelling."""
    if isinstance(value, list):
        return [_as_registry_value(v, p) for v in value]
    if p.sql_type.startswith("UBIGINT") or p.sql_type.startswith("UINTEGER"):
        return int(value)
    return value


@pytest.mark.parametrize("f", list(REGISTRY), ids=[f.name for f in REGISTRY])
def test_registry_function_on_spark_has_same_parameters_and_defaults(spark, f):
    params, returns, comment = _describe(spark, f.name)
    assert [p[0] for p in params] == [p.name for p in f.params]
    assert [_dtype(spark, p[1]) for p in params] == [_dtype(spark, spark_type(p.sql_type).ddl)
                                                     for p in f.params]
    assert _dtype(spark, returns) == _dtype(spark, spark_type(f.returns).ddl)
    assert comment and comment.startswith(f.summary)
    for (name, _, default_sql), p in zip(params, f.params):
        if p.required:
            assert default_sql is None, f"{f.name}.{name} has a default in Spark only"
            continue
        assert default_sql is not None, f"{f.name}.{name} has no default in Spark"
        value = spark.sql(f"SELECT {default_sql} AS v").collect()[0]["v"]
        want = [list(x) for x in p.default] if isinstance(p.default, tuple) else p.default
        assert _as_registry_value(value, p) == want, f"{f.name}.{name}"


def test_named_arguments_and_defaults(spark):
    row = spark.sql(
        "SELECT minhash_signature('one two three four five six seven', num_perm => 16) AS a, "
        "minhash_signature('one two three four five six seven', 16) AS b, "
        "minhash_signature('one two three four five six seven') AS c").collect()[0]
    assert row["a"] == row["b"] and len(row["a"]) == 16 and len(row["c"]) == 128
    assert all(0 <= v < 2**32 for v in row["c"])


def test_kernel_errors_reach_spark_users_word_for_word(spark):
    with pytest.raises(Exception, match=r"minhash_signature: parameter num_perm = 1 is out of "
                                        r"range \[2, 1024\]"):
        spark.sql("SELECT minhash_signature('a b c', num_perm => 1)").collect()
    with pytest.raises(Exception, match="parameter unit = 'sentence' is not one of"):
        spark.sql("SELECT minhash_signature('a b c', unit => 'sentence')").collect()
    with pytest.raises(Exception, match="parameter num_perm must be a constant, but it varies"):
        spark.sql("SELECT minhash_signature(CAST(id AS STRING), "
                  "num_perm => CAST(id % 2 + 2 AS INT)) FROM range(10)").collect()


def test_null_policy_matches_duckdb(spark, con):
    """NULL gives NULL for ``null="null"`` rows and the kernel's value for ``null="kernel"``."""
    query = ("SELECT minhash_signature(NULL) AS s, word_count(NULL) AS w, char_count(NULL) AS c, "
             "text_normalize(NULL) AS t, minhash_signature('') AS e")
    assert tuple(spark.sql(query).collect()[0]) == con.execute(query).fetchone()


def test_a_row_that_cannot_run_fails_at_registration_and_registers_nothing(spark):
    bad = Registry([
        fn("spark_probe_ok", text_kernels.word_count, [Param("text", "VARCHAR")], "INTEGER"),
        fn("spark_probe_wide", text_kernels.word_count, [Param("text", "VARCHAR")], "HUGEINT"),
    ])
    with pytest.raises(SparkRegistrationError, match=r"spark_probe_wide .*return type.*HUGEINT"):
        register(spark, bad)
    names = {f.name for f in spark.catalog.listFunctions() if f.name.startswith("spark_probe")}
    assert names == set()
