"""The fingerprint index of every release: listed in the manifest, verified, one row per
document with doc_hash = text_fingerprint(text), and enough to find a document across
releases without reading them."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from prov_helpers import ALL, ids, index_rows

from corpusql.materializer import read_manifest, verify
from corpusql.releases import materialize
from corpusql.udfs.hashing import text_fingerprint
from corpusql.udfs.url import url_normalize


def test_the_index_is_listed_verified_and_matches_the_release(lake, tmp_path):
    con, _ = lake
    out = tmp_path / "out"
    materialize(con, ALL, out, max_rows_per_file=25)
    entry = read_manifest(out)["index"]["fingerprints"]
    assert entry["path"] == "_fingerprints.pq" and entry["rows"] == 60
    rows = index_rows(out)
    texts = dict(con.execute("SELECT id, text FROM (" + ALL + ")").fetchall())
    urls = dict(con.execute("SELECT id, url FROM (" + ALL + ")").fetchall())
    assert sorted(r["id"] for r in rows) == ids(out)
    for r in rows:
        assert r["doc_hash"] == text_fingerprint(pa.array([texts[r["id"]]]))[0].as_py()
        assert r["url_key"] == url_normalize(pa.array([urls[r["id"]]]))[0].as_py()
        assert "utm_source" not in r["url_key"]
        assert r["licence"] == ("CC-BY-4.0" if r["source"] == "web" else "unknown")
    # file and row point at the document
    import pyarrow.parquet as pq

    r = rows[31]
    assert pq.read_table(out / r["file"]).column("id")[r["row"]].as_py() == r["id"]
    assert verify(out).ok


def test_a_glob_over_the_release_never_reads_the_index(lake, tmp_path):
    con, _ = lake
    materialize(con, ALL, tmp_path / "out")
    n = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path}/out/**/*.parquet')").fetchall()
    assert n == [(60,)]


def test_a_changed_or_missing_index_fails_verify(lake, tmp_path):
    con, _ = lake
    out = tmp_path / "out"
    materialize(con, ALL, out)
    idx = out / "_fingerprints.pq"
    idx.write_bytes(idx.read_bytes()[:-10] + b"0123456789")
    assert any("_fingerprints.pq: sha256 differs" in p for p in verify(out).problems)
    idx.unlink()
    assert any("_fingerprints.pq: missing" in p for p in verify(out).problems)


def test_without_id_or_text_columns_the_index_still_locates_rows(tmp_path):
    con = duckdb.connect()
    try:
        materialize(con, "SELECT range % 2 AS part, range AS n FROM range(6)", tmp_path / "o",
                    partition_by="part")
    finally:
        con.close()
    rows = index_rows(tmp_path / "o")
    assert [r["id"] for r in rows][:3] == ["part=0/part-0.parquet:0", "part=0/part-0.parquet:1",
                                           "part=0/part-0.parquet:2"]
    assert {r["doc_hash"] for r in rows} == {None}
    assert {r["licence"] for r in rows} == {"unknown"}


def test_finding_a_url_across_releases_reads_only_the_indexes(lake, tmp_path, mcon):
    con, _ = lake
    for i in range(3):  # r0 has no web document, r1 web-0..9, r2 web-0..19
        materialize(con, f"SELECT * FROM ({ALL}) WHERE source = 'books' OR "
                         f"CAST(split_part(id, '-', 2) AS INT) < {10 * i}", tmp_path / f"r{i}")
    for f in tmp_path.glob("r*/*.parquet"):  # the data files are not read at all
        f.write_bytes(b"not parquet any more")
    target = "HTTPS://www.example.com/web/7?utm_source=other#frag"
    found = mcon.execute(
        "SELECT regexp_extract(filename, '/(r[0-9])/', 1) AS release, id FROM read_parquet("
        "[release_index(p) FOR p IN $paths], filename = true) WHERE url_key = url_normalize($u) "
        "ORDER BY release", {"paths": [str(tmp_path / f"r{i}") for i in range(3)],
                              "u": target}).fetchall()
    assert found == [("r1", "web-7"), ("r2", "web-7")]


def test_release_index_names_a_release_without_an_index(tmp_path, mcon):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "_manifest.json").write_text('{"files": []}')
    with pytest.raises(duckdb.Error, match="release .*old: no fingerprint index.*written before "
                                           "fingerprint indexes"):
        mcon.execute(f"SELECT * FROM read_parquet(release_index('{tmp_path}/old'))").fetchall()
