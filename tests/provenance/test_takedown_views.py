"""Takedowns in the catalog: the dataset views leave matched documents out, a rebuild from the
catalog with the same recipe does not bring them back, the stock DuckDB engine reads the view
without corpusql, and a role cannot read them back by defining its own view."""

from __future__ import annotations

import duckdb
import pytest
from prov_helpers import ALL, ids, write_docs

import corpusql
from corpusql.catalog.routefs import route_path
from corpusql.materializer import read_manifest, verify
from corpusql.releases import materialize


def _view_ids(con, name: str) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT id FROM {name} ORDER BY id").fetchall()]


def _near_copy(text: str) -> str:
    words = text.split()
    words[-1] = "changedword"
    return " ".join(words)


@pytest.mark.parametrize("kind", ["url", "domain", "id", "text", "doc_hash", "near_text"])
def test_the_catalog_view_leaves_out_what_each_match_kind_finds(lake, tmp_path, kind):
    from corpusql.takedown_match import normalize

    con, _ = lake
    text = con.execute("SELECT text FROM web WHERE id = 'web-5'").fetchall()[0][0]
    match, gone = {
        "url": ({"url": "https://WWW.example.com/web/5#x"}, {"web-5"}),
        "domain": ({"domain": "books.example.org"}, {f"books-{i}" for i in range(20)}),
        "id": ({"id": "web-5"}, {"web-5"}),
        "text": ({"text": text.upper()}, {"web-5"}),
        "doc_hash": ({"doc_hash": normalize({"text": text})["key"]}, {"web-5"}),
        "near_text": ({"near_text": _near_copy(text), "threshold": 0.8}, {"web-5"}),
    }[kind]
    before = _view_ids(con, "web") + _view_ids(con, "books")
    rep = corpusql.takedown(con, match, "opt-out", "REQ-V")  # no release named: views only
    assert rep.recorded and rep.rows == []
    assert sorted((r.release, r.found, r.action) for r in rep.datasets) == sorted(
        (f"dataset {d}", n, "hidden in its view") for d, n in
        {"web": len(gone & {f"web-{i}" for i in range(40)}),
         "books": len(gone & {f"books-{i}" for i in range(20)})}.items() if n)
    after = _view_ids(con, "web") + _view_ids(con, "books")
    assert sorted(set(before) - set(after)) == sorted(gone) and len(after) == len(before) - len(gone)


def test_a_dry_run_hides_nothing_and_a_match_that_finds_nothing_records_nothing(lake):
    con, _ = lake
    rep = corpusql.takedown(con, {"id": "web-3"}, "opt-out", "R", dry_run=True)
    assert [(r.release, r.found, r.action) for r in rep.datasets] == [
        ("dataset web", 1, "would hide in its view")]
    assert "web-3" in _view_ids(con, "web") and not rep.recorded
    rep = corpusql.takedown(con, {"url": "https://nowhere.example.net/"}, "opt-out", "R")
    assert rep.datasets == [] and not rep.recorded
    assert con.execute("SELECT count(*) FROM corpusql.takedown_rows").fetchall() == [(0,)]
    assert len(_view_ids(con, "web")) == 40


def test_a_rebuild_from_the_catalog_with_the_same_recipe_does_not_bring_it_back(lake, tmp_path):
    con, cat = lake
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True)
    rep = corpusql.takedown(con, {"url": "https://www.example.com/web/9"}, "opt-out", "REQ-9",
                            [out])
    assert [(r.action, r.found) for r in rep.rows] == [("removed", 1)]
    assert [(r.release, r.found) for r in rep.datasets] == [("dataset web", 1)]
    assert "web-9" not in _view_ids(con, "web")
    write_docs(con, tmp_path / "web.parquet", 45, source="web")  # the source still holds it
    cat.sync("web")
    assert "web-9" not in _view_ids(con, "web") and "web-44" in _view_ids(con, "web")
    r = materialize(con, ALL, out, versioned=True)
    assert r.status == "written" and "web-9" not in ids(out / "current")
    assert "web-44" in ids(out / "current") and verify(out / "current").ok
    rec = read_manifest(out / "current")["takedowns"]
    assert [(t["request_id"], t["removed"], t.get("hidden_in_inputs")) for t in rec] == [
        ("REQ-9", 0, {"web": 1})]


def test_the_stock_engine_reads_the_view_without_corpusql(lake, tmp_path):
    con, _ = lake
    corpusql.takedown(con, {"id": "web-7"}, "opt-out", "R7")
    con.execute("CHECKPOINT")
    db = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                     "current_database()").fetchall()[0][0]
    con.close()
    bare = duckdb.connect(db, read_only=True)
    try:
        got = _view_ids(bare, "web")
        assert len(got) == 39 and "web-7" not in got
    finally:
        bare.close()


def test_a_role_cannot_read_a_taken_down_document_back(lake, tmp_path):
    con, cat = lake
    cat.add_role("team")
    cat.grant("team", "web")
    corpusql.takedown(con, {"id": "web-11"}, "erasure", "DSR-1")
    con.execute("CHECKPOINT")
    db = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                     "current_database()").fetchall()[0][0]
    con.close()
    role = corpusql.connect(db, role="team")
    try:
        got = _view_ids(role, "web")
        assert len(got) == 39 and "web-11" not in got
        paths = [p for p in role.execute("SELECT current_setting('allowed_paths')"
                                         ).fetchall()[0][0] if p.startswith("corpusql://web/")]
        assert paths
        for p in paths:  # its own view over every file it may read
            role.execute(f"CREATE OR REPLACE TEMP VIEW web AS SELECT * FROM "
                         f"system.main.read_parquet('{p}')")
            assert "web-11" not in _view_ids(role, "web")
        raw = str(tmp_path / "web.parquet")
        for p in (raw, route_path("web", raw), f"corpusql://web/file/{raw.lstrip('/')}"):
            with pytest.raises(duckdb.Error):
                role.execute(f"SELECT * FROM read_parquet('{p}')").fetchall()
    finally:
        role.close()


def test_erasure_deletes_a_roles_masked_copy_that_holds_the_document(lake, tmp_path):
    import pyarrow.parquet as pq

    con, cat = lake
    cat.add_role("team")
    cat.grant("team", "web")
    cat.mask("team", "web", "url", kind="null")
    con.execute("CHECKPOINT")
    db = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                     "current_database()").fetchall()[0][0]
    role = corpusql.connect(db, role="team")  # makes the masked copy in the shared cache
    role.close()
    masked = sorted((cat.cache_dir / "web" / "masked").glob("*.parquet"))
    assert len(masked) == 1 and "web-6" in pq.read_table(masked[0]).column("id").to_pylist()
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True)
    rep = corpusql.takedown(con, {"id": "web-6"}, "GDPR art. 17", "DSR-6", [out], purge=True)
    assert (str(masked[0]), 1, "deleted a role's masked copy of dataset web") in [
        (r.release, r.found, r.action) for r in rep.rows]
    assert not masked[0].exists()
    role = corpusql.connect(db, role="team")  # a new copy, without the document
    try:
        assert "web-6" not in _view_ids(role, "web") and len(_view_ids(role, "web")) == 39
    finally:
        role.close()
    for p in (cat.cache_dir / "web" / "masked").glob("*.parquet"):
        assert "web-6" not in pq.read_table(p).column("id").to_pylist()


@pytest.mark.parametrize("read_only", [True, False])
def test_a_moved_lake_keeps_the_document_hidden(tmp_path, read_only):
    """Views hold absolute paths and are rebuilt when the lake moves; the hidden rows are found
    again under the new paths (a read-only connection keeps them in a TEMP table)."""
    import shutil

    lake = tmp_path / "lake"
    lake.mkdir()
    con = duckdb.connect(str(lake / "lake.duckdb"))
    try:
        write_docs(con, lake / "web.parquet", 12, source="web")
        corpusql.catalog(con, cache_dir=lake / "cache").add("web", str(lake / "web.parquet"))
        corpusql.takedown(con, {"id": "web-4"}, "opt-out", "R4")
        assert "web-4" not in _view_ids(con, "web")
    finally:
        con.close()
    shutil.move(lake, tmp_path / "moved")
    con = corpusql.connect(tmp_path / "moved" / "lake.duckdb", read_only=read_only)
    try:
        got = _view_ids(con, "web")
        assert len(got) == 11 and "web-4" not in got
        (f,) = con.execute("SELECT DISTINCT _file FROM web").fetchone()
        assert f.startswith(str(tmp_path / "moved"))
    finally:
        con.close()


def test_a_recipe_run_over_its_own_tables_records_what_the_view_hid(lake, tmp_path):
    """The query reads the recipe's table, not the dataset: the recipe names the dataset, so the
    manifest still says how many rows its view hid for each request."""
    con, _ = lake
    corpusql.takedown(con, {"id": "web-3"}, "opt-out", "R3")
    recipe = "CREATE OR REPLACE TEMP TABLE kept AS SELECT id, text, url FROM web"
    con.execute(recipe)
    r = materialize(con, "SELECT * FROM kept", tmp_path / "out", order_by="id", recipe=recipe)
    assert "web-3" not in ids(tmp_path / "out")
    assert [(t["request_id"], t["removed"], t.get("hidden_in_inputs"))
            for t in r.manifest["takedowns"]] == [("R3", 0, {"web": 1})]
