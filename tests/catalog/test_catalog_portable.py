"""A lake (catalog file, local data and cache under one directory) still works when copied or
moved: paths under the catalog file's directory are stored relative to it."""

from __future__ import annotations

import shutil

import duckdb
from catalog_helpers import write_jsonl, write_parquet

import corpusql


def _build(root, outside):
    """A lake under ``root``: live Parquet, parsed JSON lines, and a dataset outside it."""
    write_parquet(root / "data" / "pq" / "a.parquet", 7)
    write_parquet(root / "data" / "pq" / "b.parquet", 5, start=7)
    write_jsonl(root / "data" / "j" / "a.jsonl", [{"x": 1}, {"x": 2}, {"x": 3}])
    write_parquet(outside / "o.parquet", 4)
    con = duckdb.connect(str(root / "lake.duckdb"))
    try:
        cat = corpusql.catalog(con)
        cat.add("pq", str(root / "data" / "pq" / "*.parquet"))
        cat.add("j", str(root / "data" / "j" / "*.jsonl"))
        cat.add("out", str(outside / "o.parquet"))
        cat.add("warm", str(root / "data" / "pq" / "a.parquet"))
        cat.prewarm("warm")
        stored = con.execute("SELECT path, cache_path FROM corpusql.files "
                             "WHERE dataset IN ('pq', 'j', 'warm') ORDER BY ALL").fetchall()
        uris = dict(con.execute("SELECT name, uri FROM corpusql.datasets").fetchall())
    finally:
        con.close()
    return stored, uris


QUERIES = {"pq": "SELECT count(*), sum(id) FROM pq", "j": "SELECT count(*), sum(x) FROM j",
           "out": "SELECT count(*), sum(id) FROM out", "warm": "SELECT count(*) FROM warm"}
WANT = {"pq": [(12, sum(range(12)))], "j": [(3, 6)], "out": [(4, 6)], "warm": [(7,)]}


def test_paths_under_the_lake_are_stored_relative(tmp_path):
    stored, uris = _build(tmp_path / "A", tmp_path / "elsewhere")
    assert uris["pq"] == "data/pq/*.parquet" and uris["j"] == "data/j/*.jsonl"
    assert uris["out"] == str(tmp_path / "elsewhere" / "o.parquet")  # not under the lake
    for path, cache in stored:
        assert not path.startswith("/"), path
        assert cache is None or cache.startswith("lake.duckdb.corpusql-cache/"), cache


def test_copied_lake_reads_the_same_rows_after_the_original_is_deleted(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    _build(a, tmp_path / "elsewhere")
    shutil.copytree(a, b)
    shutil.rmtree(a)

    con = corpusql.connect(b / "lake.duckdb")
    try:
        for name, sql in QUERIES.items():
            assert con.execute(sql).fetchall() == WANT[name], name
        assert con.execute("SELECT DISTINCT _file FROM pq ORDER BY 1").fetchall() == [
            (str(b / "data" / "pq" / "a.parquet"),), (str(b / "data" / "pq" / "b.parquet"),)]
        cat = corpusql.catalog(con)
        assert cat.cache_dir == b / "lake.duckdb.corpusql-cache"
        for name in QUERIES:
            rep = cat.sync(name)
            assert rep.new == rep.changed == rep.vanished == rep.recached == [], name
            assert cat.verify(name).ok, name
    finally:
        con.close()


def test_moved_lake_opens_read_only_and_with_a_plain_connection(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    _build(a, tmp_path / "elsewhere")
    shutil.move(a, b)

    con = corpusql.connect(b / "lake.duckdb", read_only=True)  # views cannot be rewritten
    try:
        for name, sql in QUERIES.items():
            assert con.execute(sql).fetchall() == WANT[name], name
    finally:
        con.close()
    con = duckdb.connect(str(b / "lake.duckdb"))  # corpusql.catalog(con) brings views along
    try:
        corpusql.catalog(con)
        for name, sql in QUERIES.items():
            assert con.execute(sql).fetchall() == WANT[name], name
    finally:
        con.close()
    con = duckdb.connect(str(b / "lake.duckdb"), read_only=True)  # and now without corpusql
    try:
        assert con.execute(QUERIES["j"]).fetchall() == WANT["j"]
    finally:
        con.close()


def test_moved_lake_role_connection(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    _build(a, tmp_path / "elsewhere")
    con = duckdb.connect(str(a / "lake.duckdb"))
    try:
        cat = corpusql.catalog(con)
        cat.add_role("reader")
        for name in QUERIES:
            cat.grant("reader", name)
    finally:
        con.close()
    shutil.move(a, b)
    con = corpusql.connect(b / "lake.duckdb", role="reader")
    try:
        for name, sql in QUERIES.items():
            assert con.execute(sql).fetchall() == WANT[name], name
    finally:
        con.close()


def test_moved_lake_moves_quarantine_paths_and_reports_lost_outside_files(tmp_path):
    a, b, outside = tmp_path / "A", tmp_path / "B", tmp_path / "elsewhere"
    _build(a, outside)
    (a / "data" / "bad").mkdir()
    (a / "data" / "bad" / "x.jsonl").write_text('{"x": 1}\nnot json\n')
    con = duckdb.connect(str(a / "lake.duckdb"))
    try:
        corpusql.catalog(con).add("bad", str(a / "data" / "bad" / "*.jsonl"))
    finally:
        con.close()
    shutil.move(a, b)
    (outside / "o.parquet").unlink()

    con = duckdb.connect(str(b / "lake.duckdb"))
    try:
        cat = corpusql.catalog(con)
        assert con.execute("SELECT file, line FROM corpusql.quarantine").fetchall() == [
            (str(b / "data" / "bad" / "x.jsonl"), 2)]
        st = cat.status("out")
        assert st.status == "failed" and "view not rebuilt" in st.error
        assert "o.parquet" in st.error and "run sync" in st.error
        for name in ("pq", "j", "warm"):
            assert con.execute(QUERIES[name]).fetchall() == WANT[name], name
        (b / "data" / "bad" / "x.jsonl").write_text('{"x": 1}\n{"x": 2}\n')
        assert cat.sync("bad").changed == [str(b / "data" / "bad" / "x.jsonl")]
        assert con.execute("SELECT count(*) FROM corpusql.quarantine").fetchall() == [(0,)]
    finally:
        con.close()


def test_file_column_of_cached_rows_follows_the_lake(tmp_path):
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    _build(a, tmp_path / "elsewhere")
    shutil.move(a, b)
    con = corpusql.connect(b / "lake.duckdb")
    try:
        assert con.execute("SELECT DISTINCT _file FROM j").fetchall() == [
            (str(b / "data" / "j" / "a.jsonl"),)]
        write_jsonl(b / "data" / "j" / "b.jsonl", [{"x": 4}])  # parsed here, at B
        assert corpusql.catalog(con).sync("j").new == [str(b / "data" / "j" / "b.jsonl")]
    finally:
        con.close()
    shutil.move(b, c)
    con = corpusql.connect(c / "lake.duckdb", read_only=True)
    try:
        assert con.execute("SELECT DISTINCT _file FROM j ORDER BY 1").fetchall() == [
            (str(c / "data" / "j" / "a.jsonl"),), (str(c / "data" / "j" / "b.jsonl"),)]
        assert con.execute("SELECT DISTINCT _file FROM warm").fetchall() == [
            (str(c / "data" / "pq" / "a.parquet"),)]
    finally:
        con.close()
