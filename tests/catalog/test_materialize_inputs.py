"""Materialize records every input it read (catalog datasets read live from HTTP or S3, local
files with a byte hash) and is not "up to date" once one of them changed."""

from __future__ import annotations

import os
import uuid

import duckdb
import pytest
from catalog_helpers import write_parquet

import corpusql
from corpusql.materializer import MaterializeError, materialize, read_manifest


def _rows(con, out):
    return con.execute(f"SELECT count(*), max(id) FROM read_parquet('{out}/*.parquet')").fetchall()


def test_live_http_dataset_is_recorded_and_a_remote_change_is_seen(db, tmp_path, http_server,
                                                                   http_root):
    name = f"m{uuid.uuid4().hex[:8]}.parquet"
    write_parquet(http_root / name, 500)
    url = f"{http_server.url}/{name}"
    out = tmp_path / "out"
    con = duckdb.connect(str(db))
    try:
        corpusql.catalog(con).add("web", url)
        query = "SELECT id, text FROM web"
        assert materialize(con, query, out, order_by="id").status == "written"
        files = read_manifest(out)["datasets"]["web"]["files"]
        assert [f["path"] for f in files] == [url]
        assert files[0]["source"]["etag"] == files[0]["etag_or_mtime"]
        assert files[0]["source"]["size"] == (http_root / name).stat().st_size
        assert materialize(con, query, out, order_by="id").status == "up to date"
        write_parquet(http_root / name, 700)  # the remote changes; no sync
        with pytest.raises(MaterializeError, match=r"corpusql dataset sync web") as exc:
            materialize(con, query, out, order_by="id", overwrite=True)
        assert url in str(exc.value) and "changed" in str(exc.value)
        corpusql.catalog(con).sync("web")
        with pytest.raises(MaterializeError, match=r"dataset web differs") as exc:
            materialize(con, query, out, order_by="id")
        assert url in str(exc.value)
        assert materialize(con, query, out, order_by="id", overwrite=True).status == "written"
        assert _rows(con, out) == [(700, 699)]
    finally:
        con.close()


def test_live_s3_dataset_change_is_seen(db, tmp_path, s3, moto_server):
    prefix = uuid.uuid4().hex[:8]
    local = tmp_path / "upload.parquet"
    write_parquet(local, 300)
    s3.upload_file(str(local), "lake", f"{prefix}/a.parquet")
    out = tmp_path / "out"
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add_secret("lake", kind="s3", key=moto_server[1], secret=moto_server[2])
        cat.add("s3web", f"s3://lake/{prefix}/*.parquet", secret="lake",
                options={"region": "us-east-1", "endpoint_url": moto_server[0]})
        query = "SELECT id FROM s3web"
        materialize(con, query, out, order_by="id")
        (f,) = read_manifest(out)["datasets"]["s3web"]["files"]
        assert f["source"]["etag"] and f["source"]["size"] == local.stat().st_size
        assert materialize(con, query, out, order_by="id").status == "up to date"
        write_parquet(local, 400)
        s3.upload_file(str(local), "lake", f"{prefix}/a.parquet")
        with pytest.raises(MaterializeError, match=f"s3://lake/{prefix}/a.parquet changed"):
            materialize(con, query, out, order_by="id")
        cat.sync("s3web")
        with pytest.raises(MaterializeError, match="dataset s3web differs"):
            materialize(con, query, out, order_by="id")
        assert materialize(con, query, out, order_by="id", overwrite=True).status == "written"
        assert _rows(con, out) == [(400, 399)]
    finally:
        con.close()


def test_a_local_file_changed_with_its_size_and_mtime_kept_is_seen(tmp_path):
    src = tmp_path / "in.parquet"
    out = tmp_path / "out"
    con = duckdb.connect()
    try:
        copy = ("COPY (SELECT range AS id, '{c}' || range AS text FROM range(100)) TO '{p}' "
                "(FORMAT parquet, COMPRESSION uncompressed)")
        con.execute(copy.format(c="a", p=src))
        query = f"SELECT * FROM read_parquet('{src}')"
        materialize(con, query, out)
        (entry,) = read_manifest(out)["inputs"]
        assert len(entry["sha256"]) == 64
        st = src.stat()
        con.execute(copy.format(c="b", p=src))
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert (src.stat().st_size, src.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
        with pytest.raises(MaterializeError, match=r"sha256"):
            materialize(con, query, out)
    finally:
        con.close()


def test_git_dataset_records_its_commit(lake, tmp_path):
    import subprocess

    from catalog_helpers import write_jsonl

    def git(*args):
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                              text=True, env=env).stdout.strip()

    con, cat = lake
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main")
    write_jsonl(repo / "data" / "a.jsonl", [{"t": "one"}, {"t": "two"}])
    git("add", ".")
    git("commit", "-q", "-m", "first")
    cat.add("head", f"git+file://{repo}@main:data/*.jsonl")
    out = tmp_path / "out"
    materialize(con, "SELECT t FROM head", out)
    assert read_manifest(out)["datasets"]["head"]["revision"] == git("rev-parse", "HEAD")
    assert materialize(con, "SELECT t FROM head", out).status == "up to date"
    write_jsonl(repo / "data" / "a.jsonl", [{"t": "one"}, {"t": "2"}])
    git("commit", "-q", "-am", "second")
    cat.sync("head")
    with pytest.raises(MaterializeError, match="dataset head differs: revision changed"):
        materialize(con, "SELECT t FROM head", out)


def test_a_live_local_dataset_inside_the_lake_is_recorded_from_any_working_directory(
        tmp_path, monkeypatch):
    """The catalog stores paths under the lake relative to its directory. The test failed
    before the change: materialize listed the relative URI against the working directory and
    stopped with 'data/a.parquet is gone'."""
    lake = tmp_path / "lake"
    (lake / "data").mkdir(parents=True)
    write_parquet(lake / "data" / "a.parquet", 200)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "out"
    con = corpusql.connect(str(lake / "lake.duckdb"))
    try:
        corpusql.catalog(con).add("docs", str(lake / "data" / "*.parquet"))
        query = "SELECT id FROM docs"
        assert materialize(con, query, out, order_by="id").status == "written"
        (f,) = read_manifest(out)["datasets"]["docs"]["files"]
        assert f["source"]["size"] == (lake / "data" / "a.parquet").stat().st_size
        assert materialize(con, query, out, order_by="id").status == "up to date"
        write_parquet(lake / "data" / "a.parquet", 300)
        with pytest.raises(MaterializeError, match=r"corpusql dataset sync docs"):
            materialize(con, query, out, order_by="id", overwrite=True)
    finally:
        con.close()
