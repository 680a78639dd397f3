"""The catalog over local files: tables, views, sync, prewarm, verify, clone, remove, reopen."""

from __future__ import annotations

import gzip
import json
import os

import duckdb
import pytest
import zstandard
from catalog_helpers import write_jsonl, write_parquet

import corpusql
from corpusql.catalog import CatalogError


def test_tables_exist_in_schema_corpusql(lake):
    con, _ = lake
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'corpusql'").fetchall()}
    assert {"datasets", "files", "secrets", "roles", "grants", "quarantine"} <= tables


def test_add_parquet_glob_creates_view_with_provenance(lake, tmp_path):
    con, cat = lake
    for i in range(3):
        write_parquet(tmp_path / "src" / f"part-{i}.parquet", 10, start=i * 10)
    st = cat.add("web", str(tmp_path / "src" / "*.parquet"))
    assert (st.status, st.format, st.files) == ("ready", "parquet", 3)
    rows = con.execute("SELECT id, _file, _row FROM web ORDER BY id").fetchall()
    assert len(rows) == 30
    assert rows[0] == (0, str(tmp_path / "src" / "part-0.parquet"), 1)
    assert rows[-1] == (29, str(tmp_path / "src" / "part-2.parquet"), 10)
    cols = [r[0] for r in con.execute("DESCRIBE web").fetchall()]
    assert cols == ["id", "text", "_file", "_row"]
    files = con.execute("SELECT path, size, etag_or_mtime FROM corpusql.files "
                        "WHERE dataset = 'web' ORDER BY path").fetchall()
    assert [os.path.basename(p) for p, _, _ in files] == [f"part-{i}.parquet" for i in range(3)]
    assert all(s > 0 and e for _, s, e in files)
    assert [d.name for d in cat.list()] == ["web"]


def test_jsonl_plain_gz_zst_and_text_and_csv(lake, tmp_path):
    con, cat = lake
    rows = [{"id": i, "text": f"t{i}"} for i in range(4)]
    write_jsonl(tmp_path / "j" / "a.jsonl", rows[:2])
    (tmp_path / "j" / "b.jsonl.gz").write_bytes(
        gzip.compress("".join(json.dumps(r) + "\n" for r in rows[2:3]).encode()))
    (tmp_path / "j" / "c.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress((json.dumps(rows[3]) + "\n").encode()))
    cat.add("j", str(tmp_path / "j" / "*"))
    got = con.execute("SELECT id, text, _row FROM j ORDER BY id").fetchall()
    assert got == [(0, "t0", 1), (1, "t1", 2), (2, "t2", 1), (3, "t3", 1)]

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.txt").write_text("first doc")
    (tmp_path / "docs" / "two.txt").write_text("second\ndoc")
    cat.add("docs", str(tmp_path / "docs" / "*.txt"))
    assert con.execute("SELECT id, text FROM docs ORDER BY id").fetchall() == [
        (str(tmp_path / "docs" / "one.txt"), "first doc"),
        (str(tmp_path / "docs" / "two.txt"), "second\ndoc")]

    (tmp_path / "t.csv").write_text("id,name\n1,a\n2,b\n")
    cat.add("tab", str(tmp_path / "t.csv"))
    assert con.execute("SELECT id, name, _row FROM tab ORDER BY id").fetchall() == [
        (1, "a", 2), (2, "b", 3)]


def test_sync_reports_new_changed_vanished(lake, tmp_path):
    con, cat = lake
    write_parquet(tmp_path / "s" / "a.parquet", 5)
    write_parquet(tmp_path / "s" / "b.parquet", 5, start=5)
    cat.add("s", str(tmp_path / "s" / "*.parquet"))
    write_parquet(tmp_path / "s" / "a.parquet", 7, start=100)  # changed
    os.unlink(tmp_path / "s" / "b.parquet")  # vanished
    write_parquet(tmp_path / "s" / "c.parquet", 2, start=200)  # new
    rep = cat.verify("s")
    assert not rep.ok and rep.source_vanished == [str(tmp_path / "s" / "b.parquet")]
    assert cat.status("s").status == "stale"
    with pytest.raises(duckdb.Error):
        con.execute("SELECT count(*) FROM s").fetchall()  # b.parquet is gone
    rep = cat.sync("s")
    assert [os.path.basename(p) for p in rep.new] == ["c.parquet"]
    assert [os.path.basename(p) for p in rep.changed] == ["a.parquet"]
    assert [os.path.basename(p) for p in rep.vanished] == ["b.parquet"]
    assert cat.status("s").status == "ready"
    assert con.execute("SELECT count(*) FROM s").fetchall() == [(9,)]


def test_prewarm_verify_and_corrupted_cache(lake, tmp_path):
    con, cat = lake
    write_parquet(tmp_path / "p" / "a.parquet", 50)
    cat.add("p", str(tmp_path / "p" / "*.parquet"))
    before = con.execute("SELECT * FROM p ORDER BY id").fetchall()
    assert cat.prewarm("p") == 1
    st = cat.status("p")
    assert st.cached_files == 1
    sha, cache = con.execute("SELECT sha256, cache_path FROM corpusql.files").fetchall()[0]
    cache = os.path.join(tmp_path, cache)  # stored relative to the catalog file's directory
    assert len(sha) == 64 and cache.startswith(str(cat.cache_dir))
    os.unlink(tmp_path / "p" / "a.parquet")  # the view now reads the cache
    assert con.execute("SELECT * FROM p ORDER BY id").fetchall() == before
    write_parquet(tmp_path / "p" / "a.parquet", 50)
    with open(cache, "r+b") as f:
        f.seek(10)
        f.write(b"XXXX")
    rep = cat.verify("p")
    assert rep.checked == 1 and rep.mismatched == [str(tmp_path / "p" / "a.parquet")]
    assert cat.status("p").status == "failed"


def test_clone_and_remove(lake, tmp_path):
    con, cat = lake
    write_jsonl(tmp_path / "c" / "a.jsonl", [{"x": 1}, {"x": 2}])
    cat.add("orig", str(tmp_path / "c" / "*.jsonl"))
    cat.clone("orig", "copy")
    cat.remove("orig", drop_cache=True)
    assert not (cat.cache_dir / "orig").exists()
    assert con.execute("SELECT x FROM copy ORDER BY x").fetchall() == [(1,), (2,)]
    assert [d.name for d in cat.list()] == ["copy"]
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'orig'"
                       ).fetchall() == [(0,)]
    with pytest.raises(CatalogError, match="did you mean 'copy'"):
        cat.status("copu")


def test_errors_name_the_problem(lake, tmp_path):
    _, cat = lake
    with pytest.raises(CatalogError, match="SQL identifier"):
        cat.add("bad-name", str(tmp_path))
    with pytest.raises(CatalogError, match="unsupported scheme ftp://"):
        cat.add("ftp", "ftp://example.invalid/x.parquet")
    assert [d.name for d in cat.list()] == []
    with pytest.raises(CatalogError, match="no files match"):
        cat.add("none", str(tmp_path / "nothing" / "*.parquet"))
    assert cat.status("none").status == "failed"
    write_parquet(tmp_path / "m" / "a.parquet", 1)
    write_jsonl(tmp_path / "m" / "b.jsonl", [{"a": 1}])
    with pytest.raises(CatalogError, match="mixed formats"):
        cat.add("mixed", str(tmp_path / "m" / "*"))


def test_view_survives_reopen_and_stock_shell_reads_tables(db, tmp_path):
    write_parquet(tmp_path / "r" / "a.parquet", 3)
    con = corpusql.connect(db)
    corpusql.catalog(con).add("r", str(tmp_path / "r" / "*.parquet"))
    con.close()
    con = corpusql.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM r").fetchall() == [(3,)]
    finally:
        con.close()
    import subprocess
    import sys
    from pathlib import Path

    shell = Path(sys.executable).parent / "duckdb"
    if not shell.exists():
        pytest.skip("duckdb-cli is not installed in the venv")
    out = subprocess.run([str(shell), "-readonly", str(db), "-csv", "-c",
                          "SELECT name, status FROM corpusql.datasets; SELECT count(*) FROM r"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "r,ready" in out.stdout and "3" in out.stdout.splitlines()[-1]


def test_file_vanishing_between_listing_and_reading(lake, tmp_path, monkeypatch):
    from corpusql.catalog import remote

    con, cat = lake
    for n in ("a", "b"):
        write_jsonl(tmp_path / "race" / f"{n}.jsonl", [{"n": n}])
    real_cat = remote.Backend.cat

    def vanishing_cat(self, path):
        if path.endswith("b.jsonl"):
            os.unlink(path)
        return real_cat(self, path)

    monkeypatch.setattr(remote.Backend, "cat", vanishing_cat)
    st = cat.add("race", str(tmp_path / "race" / "*.jsonl"))
    assert (st.status, st.files) == ("ready", 1)
    assert con.execute("SELECT n FROM race").fetchall() == [("a",)]


def test_a_database_named_like_the_catalog_schema_is_refused_clearly(tmp_path):
    import corpusql
    from corpusql.catalog import CatalogError

    con = duckdb.connect(str(tmp_path / "corpusql.duckdb"))
    try:
        with pytest.raises(CatalogError, match=r"named 'corpusql', like the catalog's "
                                                        r"schema.*lake\.duckdb"):
            corpusql.catalog(con)
    finally:
        con.close()
    con = duckdb.connect()
    try:  # attached under another alias it works
        con.execute(f"ATTACH '{tmp_path / 'corpusql.duckdb'}' AS lake")
        con.execute("USE lake")
        corpusql.catalog(con)
        assert con.execute("SELECT count(*) FROM corpusql.datasets").fetchall() == [(0,)]
    finally:
        con.close()
