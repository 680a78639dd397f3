"""Licences and terms on datasets: recorded, shown, copied into manifests, counted per
release, and enforced when writing somewhere public."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
from prov_helpers import ALL

import corpusql
from corpusql.catalog import CatalogError
from corpusql.export_tokens import ExportError, export_tokens
from corpusql.materializer import MaterializeError, read_manifest
from corpusql.releases import materialize


def test_add_records_the_terms_and_status_shows_them(lake):
    _, cat = lake
    web = cat.status("web")
    assert (web.licence, web.redistributable, web.terms_url, web.attribution) == (
        "CC-BY-4.0", "false", "https://example.com/terms", "Example Web")
    books = cat.status("books")
    assert (books.licence, books.redistributable, books.terms_url) == ("unknown", "unknown", None)


@pytest.mark.parametrize("kw, said", [
    ({"licence": "cc-by-4.0"}, "did you mean 'CC-BY-4.0'"),
    ({"licence": "MIT OR"}, "not a complete SPDX expression"),
    ({"licence": "free for all"}, "not an SPDX licence id"),
    ({"redistributable": "yes"}, "not one of true, false, unknown"),
])
def test_a_malformed_licence_is_refused_naming_the_dataset(lake, tmp_path, kw, said):
    _, cat = lake
    with pytest.raises(CatalogError, match=said) as exc:
        cat.add("more", str(tmp_path / "web.parquet"), **kw)
    assert "'more'" in str(exc.value)
    assert "more" not in [s.name for s in cat.list()]


def test_set_licence_changes_the_terms_and_the_next_manifest(lake, tmp_path):
    con, cat = lake
    cat.set_licence("books", licence="CC0-1.0", redistributable=True)
    assert cat.status("books").licence == "CC0-1.0"
    r = materialize(con, "SELECT id, text FROM books", tmp_path / "out")
    assert r.manifest["datasets"]["books"]["licence"] == {
        "licence": "CC0-1.0", "terms_url": None, "attribution": None, "redistributable": "true"}
    assert r.manifest["licences"]["redistributable"] == "true"


def test_every_manifest_lists_the_licence_of_each_input_dataset(lake, tmp_path):
    con, _ = lake
    m = materialize(con, ALL, tmp_path / "out").manifest
    assert m["datasets"]["web"]["licence"] == {
        "licence": "CC-BY-4.0", "terms_url": "https://example.com/terms",
        "attribution": "Example Web", "redistributable": "false"}
    assert m["datasets"]["books"]["licence"]["licence"] == "unknown"
    assert m["licences"]["redistributable"] == "false"
    assert "dataset web is not redistributable" in m["licences"]["why"][0]
    assert read_manifest(tmp_path / "out") == m


def test_unknown_stays_unknown_and_a_plain_file_input_is_not_guessed(lake, tmp_path):
    con, _ = lake
    m = materialize(con, "SELECT id, text FROM books", tmp_path / "a").manifest
    assert m["licences"]["redistributable"] == "unknown"
    m = materialize(con, f"SELECT id, text FROM read_parquet('{tmp_path}/web.parquet')",
                    tmp_path / "b").manifest
    assert m["licences"]["redistributable"] == "unknown"
    assert any("not a catalog dataset" in w for w in m["licences"]["why"])


def test_public_writes_refuse_a_release_that_is_not_redistributable(lake, tmp_path):
    con, _ = lake
    with pytest.raises(MaterializeError, match="public=True refused: dataset web is not "
                                               "redistributable"):
        materialize(con, ALL, tmp_path / "pub", public=True)
    assert not (tmp_path / "pub").exists()
    materialize(con, ALL, tmp_path / "private")
    materialize(con, "SELECT id, text FROM books", tmp_path / "books_pub", public=True)
    tok = duckdb.connect()
    try:
        with pytest.raises(ExportError, match="belongs to a release marked not redistributable"):
            export_tokens(tok, f"SELECT text FROM read_parquet('{tmp_path}/private/*.parquet')",
                          tmp_path / "tokens", public=True)
    finally:
        tok.close()
    assert not (tmp_path / "tokens").exists()


def test_release_licences_counts_documents_and_characters_per_licence(lake, tmp_path, mcon):
    con, _ = lake
    materialize(con, ALL, tmp_path / "out")
    rows = mcon.execute(f"SELECT licence, redistributable, datasets, documents, characters "
                        f"FROM release_licences('{tmp_path}/out')").fetchall()
    chars = dict(con.execute("SELECT source, sum(length(text)) FROM (" + ALL + ") GROUP BY 1")
                 .fetchall())
    assert rows == [("CC-BY-4.0", "false", ["web"], 40, chars["web"]),
                    ("unknown", "unknown", ["books"], 20, chars["books"])]


def test_a_catalog_made_before_licences_opens_and_reads_unknown(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        con.execute(f"COPY (SELECT 1 AS id, 'a' AS text) TO '{tmp_path}/a.parquet'")
        corpusql.catalog(con).add("a", str(tmp_path / "a.parquet"))
        for col in ("licence", "terms_url", "attribution", "redistributable"):
            con.execute(f"ALTER TABLE corpusql.datasets DROP COLUMN {col}")
    finally:
        con.close()
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        st = corpusql.catalog(con).status("a")
        assert (st.licence, st.redistributable) == ("unknown", "unknown")
    finally:
        con.close()


def test_cli_dataset_add_and_status_show_the_licence(tmp_path):
    db = tmp_path / "lake.duckdb"
    c = duckdb.connect()
    c.execute(f"COPY (SELECT 1 AS id, 'a' AS text) TO '{tmp_path}/a.parquet'")
    c.close()
    cli = [sys.executable, "-m", "corpusql.cli"]
    run = subprocess.run([*cli, "dataset", "add", "--db", str(db), "a", str(tmp_path / "a.parquet"),
                          "--licence", "ODC-By-1.0", "--redistributable", "true",
                          "--attribution", "A corp"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([*cli, "dataset", "status", "--db", str(db), "a"],
                         capture_output=True, text=True, timeout=300)
    assert "licence: ODC-By-1.0\tredistributable: true\tterms: -\tattribution: A corp" in run.stdout
    bad = subprocess.run([*cli, "dataset", "licence", "--db", str(db), "a", "--licence", "mit"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "did you mean 'MIT'" in bad.stderr


def test_a_licence_change_is_named_when_an_output_must_be_rewritten(lake, tmp_path):
    con, cat = lake
    materialize(con, "SELECT id, text FROM books", tmp_path / "out")
    cat.set_licence("books", licence="CC0-1.0", redistributable=True)
    with pytest.raises(MaterializeError, match="dataset books differs: licence changed \\("
                                               "licence 'unknown' then, 'CC0-1.0' now, "
                                               "redistributable 'unknown' then, 'true' now\\)"):
        materialize(con, "SELECT id, text FROM books", tmp_path / "out")
