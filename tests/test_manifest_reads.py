"""The manifest records what a query really reads and calls, whatever its comments and strings say.

Each case is SQL that a text scanner gets wrong: a quoted table name with a space, a CTE that
shadows a table, a comment that mentions a file, a string that mentions a function. The manifest
must name exactly the tables, files and functions the query uses.
"""

from __future__ import annotations

import json
import shutil

import pytest

import corpusql


@pytest.fixture
def con(tmp_path):
    c = corpusql.connect()
    c.execute('CREATE TABLE "My Docs" AS SELECT 1 AS id, \'a b c\' AS text')
    c.execute("CREATE TABLE docs AS SELECT 2 AS id, 'x y z' AS text")
    (tmp_path / "old.parquet").write_bytes(b"")
    c.execute(f"COPY (SELECT 3 AS id) TO '{tmp_path / 'old.parquet'}' (FORMAT parquet)")
    yield c
    c.close()


def _manifest(con, query, out):
    corpusql.materialize(con, query, out)
    return json.loads((out / "_manifest.json").read_text())


CASES = [
    # (case, query, tables, functions, files read)
    ("quoted name with a space", 'SELECT id FROM "My Docs"', ["my docs"], [], []),
    ("CTE shadows a table", "WITH docs AS (SELECT 7 AS id) SELECT id FROM docs", [], [], []),
    ("comment mentions a file", "SELECT 1 AS id -- was: FROM read_parquet('{dir}/old.parquet')",
     [], [], []),
    ("string mentions a function", "SELECT 'see quality_score(text)' AS note", [], [], []),
    ("string compared, not read", "SELECT id FROM docs WHERE text <> '{dir}/old.parquet'",
     ["docs"], [], []),
    ("file read, function called", "SELECT text_normalize(CAST(id AS VARCHAR)) AS t "
     "FROM read_parquet('{dir}/old.parquet')", [], ["text_normalize"], ["old.parquet"]),
]


@pytest.mark.parametrize("case, query, tables, functions, files", CASES,
                         ids=[c[0] for c in CASES])
def test_manifest_names_what_the_query_reads(con, tmp_path, case, query, tables, functions,
                                             files):
    m = _manifest(con, query.format(dir=tmp_path), tmp_path / "out")
    assert m["tables"] == tables
    assert sorted(m["functions"]) == functions
    assert sorted(f["path"].rsplit("/", 1)[-1] for f in m["inputs"]) == files
    assert m["inputs_complete"] is (not tables)


MODEL_CASES = [
    # (case, query, model file names recorded)
    ("comment mentions a scorer", "SELECT lang_id(text).lang AS l FROM docs -- quality_score(text)",
     ["langid.npz"]),
    ("model given by position", "SELECT onnx_score(text, '{dir}/copy.onnx') AS s FROM docs",
     ["copy.onnx"]),
    ("model given by name", "SELECT onnx_score(text, model := '{dir}/copy.onnx') AS s FROM docs",
     ["copy.onnx"]),
    ("default model", "SELECT onnx_score(text) AS s, quality_score(text) AS q FROM docs",
     ["quality.onnx"]),
]


@pytest.mark.parametrize("case, query, models", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_manifest_names_the_models_the_query_reads(con, tmp_path, case, query, models):
    from corpusql.udfs.onnx_score import resolve

    shutil.copy(resolve("quality"), tmp_path / "copy.onnx")
    m = _manifest(con, query.format(dir=tmp_path), tmp_path / "out")
    assert sorted(p.rsplit("/", 1)[-1] for p in m.get("models", {})) == models
