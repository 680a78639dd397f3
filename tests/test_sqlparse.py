"""sqlparse: what a statement reads and calls, read by sqlglot (comments and strings are not SQL)."""

from __future__ import annotations

import pytest

from corpusql import sqlparse
from corpusql.sqllib import library

READS = [
    # (sql, tables, files, names)
    ("SELECT * FROM docs", {"docs"}, (), set()),
    ('SELECT * FROM "My Docs" AS d', {"my docs"}, (), set()),
    ("SELECT * FROM main.docs", {"main.docs"}, (), set()),
    ("WITH docs AS (SELECT * FROM raw) SELECT * FROM docs", {"raw"}, (), set()),
    ("SELECT * FROM a WHERE id IN (SELECT id FROM b)", {"a", "b"}, (), set()),
    ("SELECT 1 -- FROM hidden, read_parquet('x.parquet')", set(), (), set()),
    ("SELECT * FROM 'data/*.parquet'", set(), ("data/*.parquet",), set()),
    ("SELECT * FROM read_parquet(['a.parquet', 'b.parquet'])", set(), ("a.parquet", "b.parquet"),
     set()),
    ("SELECT * FROM near_dup_clusters('docs', 'text', threshold := 0.8) WHERE s = 'other'",
     set(), (), {"docs", "text"}),
    ("SELECT * FROM t WHERE f = 'a.parquet'", {"t"}, (), set()),
    ("COPY (SELECT * FROM t) TO 'out.parquet' (FORMAT parquet)", {"t"}, (), set()),
    ("CREATE TABLE t2 AS WITH x AS (SELECT 1) SELECT * FROM x, y", {"y"}, (), set()),
]


@pytest.mark.parametrize("sql, tables, files, names", READS, ids=[r[0][:40] for r in READS])
def test_reads(sql, tables, files, names):
    r = sqlparse.reads(sql)
    assert (set(r.tables), r.files, set(r.names)) == (tables, files, names)
    assert r.parsed


CALLS = [
    ("SELECT minhash_signature(text, num_perm := 64) FROM docs", {"minhash_signature"}),
    ("SELECT 'quality_score(text)' AS note", set()),
    ("SELECT 1 -- token_count(text)\n", set()),
    ("SELECT * FROM near_dup_clusters('docs', 'text')", {"near_dup_clusters"}),
    ("SELECT text_normalize(lower(t)) FROM x", {"text_normalize", "lower"}),
]


@pytest.mark.parametrize("sql, called", CALLS, ids=[c[0][:40] for c in CALLS])
def test_calls(sql, called):
    assert sqlparse.calls(sql) == called


def test_unparseable_sql_falls_back_to_tokens():
    # text sqlglot cannot parse: the tokenizer answers, still keeping strings and comments out
    sql = "SELECT * FROM docs, other -- quality_score(x)\n WHERE 'f(x)' <> g(y) ))"
    r = sqlparse.reads(sql)
    assert not r.parsed
    assert {"docs", "other"} <= r.tables
    assert sqlparse.calls(sql) == {"g"}


@pytest.mark.parametrize("create, body", [
    ("CREATE MACRO f(a, b := 'x)') AS a || b", "a || b"),
    ("CREATE OR REPLACE TEMP MACRO g(t, n := 3) -- AS not this\nAS TABLE SELECT * FROM t LIMIT n;",
     "TABLE SELECT * FROM t LIMIT n"),
    ("CREATE MACRO h(x) AS x -- trailing comment\n + 1", "x\n+ 1"),
])
def test_macro_body(create, body):
    assert sqlparse.macro_body(create) == body


def test_macro_body_refuses_other_statements():
    with pytest.raises(ValueError, match="not a CREATE MACRO"):
        sqlparse.macro_body("CREATE VIEW v AS SELECT 1")


def test_every_library_macro_body_parses():
    for obj in library():
        if obj.kind == "macro":
            body = sqlparse.macro_body(obj.body)
            if body.upper().startswith("TABLE"):
                body = body[5:]
            assert sqlparse.reads(body).parsed, obj.path
