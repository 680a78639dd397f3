"""Generic tests over every registry row: naming, docs, types, NULL contract, determinism,
batch independence and a column of nasty strings."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

import corpusql
from corpusql.binder import arrow_type, make_udf
from corpusql.functions import REGISTRY
from corpusql.registry import Param, Registry, RegistryError, fn
from corpusql.udfs import text as text_kernels

ROWS = list(REGISTRY)
IDS = [f.name for f in ROWS]

NASTY = [
    "",
    "   \t\n ",
    "日本語の文章には空白がありません。中文也没有空格。",
    "emoji 👩‍👩‍👧 party 🎉🎉",
    "combining: e\u0301 a\u0308 n\u0303 — cafe\u0301",
    "plain English text with several words in it.",
    "x" * 5_000_000,
    None,
]


def _args(f, column_sql: str) -> str:
    parts = []
    for p in f.params:
        if not p.column:
            continue
        if p.sql_type.upper() == "VARCHAR":
            parts.append(column_sql)
        elif p.name in f.examples:
            parts.append(f.examples[p.name].replace("text", column_sql))
        else:
            pytest.fail(f"{f.name}: column parameter {p.name} ({p.sql_type}) needs an "
                        "example expression in the registry row (examples=...)")
    return ", ".join(parts)


@pytest.fixture(scope="module")
def mcon():
    c = corpusql.connect()
    c.execute("CREATE TABLE nasty AS SELECT unnest(?::VARCHAR[]) AS text", [NASTY])
    yield c
    c.close()


@pytest.mark.parametrize("f", ROWS, ids=IDS)
def test_named_and_documented(f):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", f.name)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", p.name) for p in f.params)
    assert f.summary and len(f.doc) > len(f.summary), f"{f.name}: docstring must define it"


@pytest.mark.parametrize("f", ROWS, ids=IDS)
def test_listed_in_corpusql_functions(con, f):
    rows = con.execute(
        "SELECT signature, return_type, version FROM corpusql_functions() WHERE name = ?",
        [f.name]).fetchall()
    assert rows == [(f.signature, f.returns, f.version)]
    comment = con.execute(
        "SELECT comment FROM duckdb_functions() WHERE function_name = ? AND function_type = "
        "'macro'", [f.name]).fetchall()
    assert comment and comment[0][0] == f.doc


@pytest.mark.parametrize("f", ROWS, ids=IDS)
def test_nasty_column_type_null_contract_and_determinism(mcon, f):
    call = f"{f.name}({_args(f, 'text')})"
    want_type = mcon.execute(f"SELECT typeof(NULL::{f.returns})").fetchone()[0]
    rows = mcon.execute(f"SELECT text IS NULL, typeof({call}), {call} FROM nasty").fetchall()
    assert len(rows) == len(NASTY)
    for is_null, typ, value in rows:
        assert typ == want_type
        if is_null and f.null == "null":
            assert value is None, f"{f.name}(NULL) must be NULL"
    again = mcon.execute(f"SELECT {call} FROM nasty").fetchall()
    assert again == [(r[2],) for r in rows], "not deterministic"


@pytest.mark.parametrize("f", ROWS, ids=IDS)
def test_one_batch_equals_2048_row_slices(f):
    """Kernels are row-local: a batch gives the same rows as its 2048-row slices."""
    base = NASTY[:6] + [None]
    texts = pa.array([base[i % len(base)] + str(i) if base[i % len(base)] is not None else None
                      for i in range(5000)], pa.string())
    con = corpusql.connect()
    try:
        out_type = arrow_type(con, f.returns)
        udf = make_udf(f, out_type)
        columns = []
        for p in f.params:
            if not p.column:
                continue
            if p.sql_type.upper() == "VARCHAR":
                columns.append(texts)
            else:
                con.register("sample_text", pa.table({"text": texts}))
                expr = f.examples[p.name]
                columns.append(con.sql(f"SELECT {expr} AS v FROM sample_text").to_arrow_table()
                               .column("v").combine_chunks())
    finally:
        con.close()
    defaults = [p.default for p in f.params if not p.column]

    def run(lo, hi):
        n = hi - lo
        cols = [pa.chunked_array([c.slice(lo, n)]) for c in columns]
        consts = [pa.chunked_array([pa.array([d] * n)]) for d in defaults]
        return udf(*cols, *consts)

    whole = run(0, len(texts))
    parts = pa.concat_arrays([run(lo, min(lo + 2048, len(texts)))
                              for lo in range(0, len(texts), 2048)])
    assert whole.equals(parts)


def test_duplicate_names_are_refused_naming_both_places():
    a = fn("twice", text_kernels.word_count, [Param("text", "VARCHAR")], "INTEGER")
    b = fn("twice", text_kernels.char_count, [Param("text", "VARCHAR")], "BIGINT")
    with pytest.raises(RegistryError) as err:
        Registry([a, b])
    assert a.where in str(err.value) and b.where in str(err.value)
    assert a.where != b.where


@pytest.mark.parametrize("params, message", [
    ([Param("a", "VARCHAR", "x"), Param("b", "VARCHAR")], "follows one with a default"),
    ([Param("a", "VARCHAR"), Param("k", "INTEGER", column=False)], "needs a default"),
])
def test_malformed_rows_are_refused(params, message):
    with pytest.raises(RegistryError, match=message):
        fn("bad", text_kernels.word_count, params, "INTEGER")


def test_constant_parameters_must_be_constant(con):
    con.execute("CREATE TABLE t AS SELECT range::VARCHAR AS k, range AS s FROM range(10)")
    with pytest.raises(Exception, match="parameter seed must be a constant"):
        con.execute("SELECT split_assign(k, seed := s) FROM t").fetchall()


@pytest.mark.parametrize("sql, message", [
    ("SELECT split_assign('a', train := 1.5)", "train = 1.5 is out of range [0.0, 1.0]"),
    ("SELECT split_assign('a', seed := NULL)", "seed must not be NULL"),
])
def test_invalid_constants_name_parameter_value_and_range(con, sql, message):
    with pytest.raises(Exception) as err:
        con.execute(sql).fetchall()
    assert message in str(err.value)


def test_nothing_is_written_to_the_database_file(tmp_path):
    db = tmp_path / "lake.duckdb"
    c = corpusql.connect(db)
    c.execute("CREATE TABLE t AS SELECT 1 AS x")
    c.close()
    import duckdb

    plain = duckdb.connect(str(db))
    try:
        names = {r[0] for r in plain.execute(
            "SELECT function_name FROM duckdb_functions() WHERE NOT internal").fetchall()}
        assert not names & {f.name for f in ROWS}
        assert plain.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        plain.close()


def test_no_noise_at_interpreter_exit():
    """A connection left open still closes quietly at exit (no nanobind leak report)."""
    import subprocess
    import sys

    code = ("import corpusql\ncon = corpusql.connect()\n"
            "con.sql(\"SELECT word_count('a b')\").fetchall()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_versions_are_stable_across_processes():
    """Versions go into manifests: they must not depend on the process (e.g. object ids)."""
    import subprocess
    import sys

    code = ("from corpusql.functions import REGISTRY\n"
            "print(sorted((f.name, f.version) for f in REGISTRY))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60).stdout for _ in range(2)}
    assert len(runs) == 1 and "text_normalize" in runs.pop()


def test_two_connections_to_one_file_in_one_process(tmp_path):
    """DuckDB shares the database instance: the second connect reuses the UDFs."""
    db = tmp_path / "shared.duckdb"
    a = corpusql.connect(db)
    b = corpusql.connect(db)
    try:
        assert b.execute("SELECT word_count('a b c')").fetchone() == (3,)
        a.close()
        assert b.execute("SELECT text_normalize('X!')").fetchone() == ("x",)
    finally:
        a.close()
        b.close()
