"""Library macros expanded by corpusql (corpusql.spark.render) give DuckDB's own answers.

The expansion is what Spark runs; here it runs on DuckDB beside the macro itself, so a wrong
substitution, a lost default or a CTE that hides the user's table shows up without Spark.
"""

from __future__ import annotations

import math

import pytest
import sqlglot
from sql_library_data import CALLS, TABLES

from corpusql.spark import render
from corpusql.sqllib import library


@pytest.fixture(scope="module")
def dcon(mcon):
    for name, make in TABLES.items():
        mcon.register(name, make())
    return mcon


def _rows(con, sql):
    return sorted((tuple(_norm(v) for v in row) for row in con.execute(sql).fetchall()),
                  key=repr)


def _norm(v):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 9)
    if isinstance(v, list):
        return tuple(_norm(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _norm(x)) for k, x in v.items())
    return v


@pytest.mark.parametrize("case", sorted(CALLS))
def test_expansion_gives_the_macros_rows_on_duckdb(dcon, case):
    call = CALLS[case]
    expected = _rows(dcon, f"SELECT * FROM {call}")
    expanded = render.expand_duckdb(f"SELECT * FROM {call}")
    assert "query_table" not in expanded.lower()
    assert _rows(dcon, expanded) == expected
    assert expected, f"{case}: the data gives the macro no rows, so the test proves nothing"


def test_scalar_macro_is_inlined(dcon):
    sql = "SELECT near_dup_settings(threshold := 0.7, ngram := 3) AS s"
    expanded = render.expand_duckdb(sql)
    assert "near_dup_settings(" not in expanded.lower()
    assert dcon.execute(expanded).fetchall() == dcon.execute(sql).fetchall()


def test_headers_name_the_table_and_column_parameters():
    """`tables:` and `columns:` in each header list exactly the parameters the body uses as a
    table name (query_table) or a column name (row[col]), directly or through a nested macro."""
    for obj in library():
        if obj.kind != "macro":
            continue
        s = render.spec(obj.name)
        tables, columns = render.used_identifiers(obj.name)
        assert (set(s.tables), set(s.columns)) == (tables, columns), obj.path


def test_every_macro_body_parses_and_every_table_macro_expands_with_defaults():
    for name, is_table in render.library_macros().items():
        s = render.spec(name)
        args = [sqlglot.exp.Literal.string("t") if p.name in s.tables | s.columns
                else sqlglot.exp.Literal.number(1) for p in s.params if p.default is None]
        tree = render.expand_call(name, args)
        assert isinstance(tree, sqlglot.exp.Query) == is_table, name


def test_a_user_table_named_like_an_internal_cte_is_read():
    """split_stratified has a CTE `docs`; the user's table `docs` must still be the one read."""
    sql = render.expand_duckdb("SELECT * FROM split_stratified('docs', 'id', 'source')")
    assert "FROM docs AS r" in sql
    assert "WITH docs" not in sql and "split_stratified_1__docs" in sql


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT * FROM exact_dup_group('docs', 'text', 'id')", None),  # not a macro: left alone
    ("SELECT * FROM exact_dup_groups('docs', 'text', 'id', keep := 'x')",
     "exact_dup_groups() has no parameter 'keep'; did you mean 'keep_by'?"),
    ("SELECT * FROM exact_dup_groups('docs', 'text')", "exact_dup_groups() needs 'id_col'"),
    ("SELECT * FROM exact_dup_groups(docs, 'text', 'id')",
     "exact_dup_groups(): tbl names a table and must be a quoted name such as 'docs', got docs"),
    ("SELECT * FROM split_summary('docs', 'split', 'text', 1)",
     "split_summary() takes at most 3 arguments"),
    ("SELECT * FROM split_summary('docs', split_col := 'a', split_col := 'b')",
     "parameter 'split_col' is given twice"),
    ("SELECT near_dup_clusters('docs', 'text', 'id')", "is a table macro: call it in FROM"),
])
def test_bad_calls_fail_naming_the_macro_and_parameter(sql, message):
    if message is None:
        assert "exact_dup_group(" in render.expand_duckdb(sql).lower()
        return
    with pytest.raises(render.MacroCallError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render.expand_duckdb(sql)


def test_duckdb_only_constructs_are_refused_for_spark_naming_macro_and_fix():
    """Without its Spark variants quality_report's body would be refused, naming the file, the
    constructs and the fix; with them (its header) it expands."""
    from corpusql.spark import library

    with pytest.raises(render.NotPortable, match=r"sql/reports/quality_report.sql: "
                       r"quality_report\(\) does not run on Spark yet: it uses UNION ALL BY NAME "
                       r"\(an optional column\), generate_subscripts\(\); a '-- spark: <cte>' "
                       r"variant"):
        render._check_portable("quality_report", render.spec("quality_report").body())
    assert "GET_JSON_OBJECT" in library.expand("SELECT * FROM quality_report('docs', 'text')")
    # mix's row_number() OVER () has a Spark variant in its header; a named window is ordered
    assert "MONOTONICALLY_INCREASING_ID()" in library.expand("SELECT * FROM mix('d', 'w', 10)")
    assert "ROW_NUMBER() OVER ()" in render.expand_duckdb("SELECT * FROM mix('d', 'w', 10)")
    with pytest.raises(render.NotPortable, match=r"row_number\(\) OVER \(\) without ORDER BY"):
        render._check_portable("mix", render.spec("mix").body())


def test_keyed_recursion_is_refused_for_spark_and_edge_components_has_a_spark_form(dcon):
    """edge_components labels components by keyed recursion (USING KEY), which Spark lacks: the
    body alone is refused naming the construct; its Spark variant numbers the nodes and calls
    the connected_components kernel, and (run on DuckDB) gives the macro's own rows. The
    expansion failed on DuckDB before this change (Catalog Error: recurring.ec_labels, the
    recursive CTE's last rows, was left under its unrenamed name)."""
    from corpusql.spark import library

    with pytest.raises(render.NotPortable, match=r"edge_components\(\) does not run on Spark yet: "
                       r"it uses a keyed recursive CTE \(USING KEY\)"):
        render._check_portable("edge_components", render.spec("edge_components").body())
    dcon.execute("CREATE OR REPLACE TEMP TABLE ec_edges AS SELECT * FROM (VALUES "
                 "('d', 'c'), ('c', 'b'), ('b', 'a'), ('x', 'y'), ('y', NULL), ('z', 'z'))"
                 " AS t(src, dst)")
    expected = [("a", "a"), ("b", "a"), ("c", "a"), ("d", "a"), ("x", "x"), ("y", "x"),
                ("z", "z")]
    call = "SELECT * FROM edge_components('ec_edges')"
    assert _rows(dcon, call) == expected
    assert _rows(dcon, render.expand_duckdb(call)) == expected
    spark_sql = library.expand(call)
    assert "USING KEY" not in spark_sql.upper() and "CONNECTED_COMPONENTS" in spark_sql.upper()
    assert "recurring.ec_labels" not in render.expand_duckdb(call)


def test_variants_replace_only_their_cte_and_only_for_spark():
    assert set(render.variants("mix", "spark")) == {"docs", "(select)"}
    assert render.variants("mix", "duckdb") == {}
    assert set(render.variants("quality_report", "spark")) == {"rows_with_source", "failures"}


@pytest.mark.parametrize(("duckdb_sql", "spark_sql"), [
    # DuckDB's fold takes (list, lambda, initial); Spark's aggregate takes (list, initial, lambda)
    ("SELECT list_reduce(l, lambda acc, x: acc + x, 0) FROM t",
     "SELECT AGGREGATE(l, 0, (acc, x) -> acc + x) FROM t"),
    # a 1-based DuckDB index is 0-based in Spark; len() of a list is size()
    ("SELECT l[len(l)] FROM t", "SELECT l[SIZE(l) + -1] FROM t"),
    ("SELECT x / y FROM t", "SELECT TRY_DIVIDE(x, y) FROM t"),
    # inside a rewritten node, divisions are rewritten too (NULL for a zero divisor, as DuckDB)
    ("SELECT x / (y / z) FROM t", "SELECT TRY_DIVIDE(x, (TRY_DIVIDE(y, z))) FROM t"),
    ("SELECT error('n ' || (a / b)) FROM t", "SELECT RAISE_ERROR('n ' || (TRY_DIVIDE(a, b))) FROM t"),
    # a list(x ORDER BY k) inside list_reduce keeps its order (the sum of floats depends on it)
    ("SELECT list_reduce(list(w ORDER BY g), lambda acc, x: acc + x, 0) FROM t",
     "SELECT AGGREGATE(TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(g AS k0, w AS v))), s -> s.v), "
     "0, (acc, x) -> acc + x) FROM t"),
])
def test_spark_dialect_rewrites(duckdb_sql, spark_sql):
    from corpusql.spark.dialect import spark_sql as render_spark
    from corpusql.sqlparse import LibraryDuckDB

    assert render_spark(sqlglot.parse_one(duckdb_sql, read=LibraryDuckDB)) == spark_sql


def test_list_reduce_without_initial_value_has_no_spark_form():
    from corpusql.spark.dialect import spark_sql as render_spark
    from corpusql.sqlparse import LibraryDuckDB

    tree = sqlglot.parse_one("SELECT list_reduce(l, lambda acc, x: acc + x) FROM t",
                             read=LibraryDuckDB)
    with pytest.raises(ValueError, match="list_reduce.*without an initial value"):
        render_spark(tree)


def test_list_position_is_null_when_absent_on_spark_as_on_duckdb(dcon):
    """DuckDB's list_position gives NULL for a value not in the list, Spark's array_position 0:
    the Spark rendering keeps DuckDB's answer (the demo recipe orders by it)."""
    from corpusql.spark.dialect import spark_sql
    from corpusql.sqlparse import LibraryDuckDB

    sql = "SELECT list_position(['a', 'b'], 'b') AS hit, list_position(['a', 'b'], 'z') AS miss"
    assert dcon.execute(sql).fetchall() == [(2, None)]
    assert spark_sql(sqlglot.parse_one(sql, read=LibraryDuckDB)) == (
        "SELECT NULLIF(ARRAY_POSITION(ARRAY('a', 'b'), 'b'), 0) AS hit, "
        "NULLIF(ARRAY_POSITION(ARRAY('a', 'b'), 'z'), 0) AS miss")
