"""Remote sources against real local services: HTTP with Range/ETag, moto S3, a git repository."""

from __future__ import annotations

import os
import subprocess
import uuid

import duckdb
import pytest
from catalog_helpers import write_jsonl, write_parquet

import corpusql
from corpusql.catalog import CatalogError
from corpusql.catalog.remote import ATTEMPTS

S3_OPTIONS = {"region": "us-east-1"}


def _opts(moto_server):
    return {**S3_OPTIONS, "endpoint_url": moto_server[0]}


def _put(s3, tmp_path, key, n, start=0):
    local = tmp_path / "upload" / key.replace("/", "_")
    write_parquet(local, n, start=start, row_group_size=max(1, n // 8))
    s3.upload_file(str(local), "lake", key)
    return local


# -- HTTP --------------------------------------------------------------------------------------


def test_http_parquet_view_matches_local_and_survives_reopen(db, http_server, http_root):
    name = f"h{uuid.uuid4().hex[:8]}.parquet"
    write_parquet(http_root / name, 4000, row_group_size=500)
    con = duckdb.connect(str(db))  # writer; readers below use corpusql.connect
    try:
        cat = corpusql.catalog(con)
        st = cat.add("web", f"{http_server.url}/{name}")
        assert (st.status, st.files) == ("ready", 1)
        etag = con.execute("SELECT etag_or_mtime FROM corpusql.files").fetchall()[0][0]
        assert len(etag) == 32  # the server's md5 ETag
        want = con.execute(f"SELECT id, text FROM read_parquet('{http_root / name}') "
                           "ORDER BY id").fetchall()
        con.execute("SET threads = 4")
        for _ in range(3):
            got = con.execute("SELECT id, text FROM web ORDER BY id").fetchall()
            assert got == want
        assert con.execute("SELECT DISTINCT _file FROM web").fetchall() == [
            (f"{http_server.url}/{name}",)]
    finally:
        con.close()
    con = corpusql.connect(db)
    try:
        assert con.execute("SELECT count(*), max(_row) FROM web").fetchall() == [(4000, 4000)]
    finally:
        con.close()


def test_http_500_fails_with_bounded_retries(lake, http_server):
    con, cat = lake
    path = f"/fail500/{uuid.uuid4().hex}.parquet"
    with pytest.raises(CatalogError, match="HTTP 500"):
        cat.add("broken", http_server.url + path)
    st = cat.status("broken")
    assert st.status == "failed" and "HTTP 500" in st.error
    assert 1 < http_server.hits[path] <= 2 * ATTEMPTS  # fsspec tries HEAD then GET per attempt


def test_http_file_vanishing(lake, http_server, http_root):
    con, cat = lake
    name = f"v{uuid.uuid4().hex[:8]}.jsonl"
    write_jsonl(http_root / name, [{"a": 1}, {"a": 2}])
    cat.add("gone", f"{http_server.url}/{name}")
    os.unlink(http_root / name)
    rep = cat.verify("gone")
    assert rep.source_vanished == [f"{http_server.url}/{name}"]
    assert cat.status("gone").status == "stale"
    # Staged copies keep the view readable until sync forgets the file.
    assert con.execute("SELECT count(*) FROM gone").fetchall() == [(2,)]
    assert cat.sync("gone").vanished == [f"{http_server.url}/{name}"]
    assert con.execute("SELECT count(*) FROM gone").fetchall() == [(0,)]
    assert cat.status("gone").status == "ready"


# -- S3 ----------------------------------------------------------------------------------------


def test_s3_with_stored_secret_threads_prewarm_reopen(db, tmp_path, s3, moto_server):
    prefix = uuid.uuid4().hex[:8]
    for i in range(3):
        _put(s3, tmp_path, f"{prefix}/part-{i}.parquet", 3000, start=i * 3000)
    con = duckdb.connect(str(db))  # writer; readers below use corpusql.connect
    try:
        cat = corpusql.catalog(con)
        cat.add_secret("lake", kind="s3", key=moto_server[1], secret=moto_server[2])
        st = cat.add("s3web", f"s3://lake/{prefix}/*.parquet", secret="lake",
                     options=_opts(moto_server))
        assert (st.status, st.files) == ("ready", 3)
        want = [(9000, sum(range(9000)))]
        con.execute("SET threads = 8")
        for _ in range(4):  # DuckDB shares one handle across threads: must not race
            assert con.execute("SELECT count(*), sum(id) FROM s3web").fetchall() == want
        assert con.execute("SELECT min(_file) FROM s3web").fetchall() == [
            (f"s3://lake/{prefix}/part-0.parquet",)]
        assert cat.prewarm("s3web") == 3
        assert cat.verify("s3web").ok
    finally:
        con.close()
    con = corpusql.connect(db)
    try:
        assert con.execute("SELECT count(*), sum(id) FROM s3web").fetchall() == want
        assert corpusql.catalog(con).status("s3web").cached_files == 3
    finally:
        con.close()


def test_s3_wrong_credentials_fail(lake, s3, moto_server):
    con, cat = lake
    cat.add_secret("bad", kind="s3", key="AKIAWRONGWRONGWRONG0", secret="not-the-secret")
    with pytest.raises(CatalogError):
        cat.add("nope", "s3://lake/*.parquet", secret="bad", options=_opts(moto_server))
    st = cat.status("nope")
    assert st.status == "failed"
    assert st.error.startswith("PermissionError") and "Access Key" in st.error


def test_s3_env_and_profile_credentials(lake, tmp_path, s3, moto_server, monkeypatch):
    con, cat = lake
    prefix = uuid.uuid4().hex[:8]
    _put(s3, tmp_path, f"{prefix}/a.parquet", 10)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server[1])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server[2])
    cat.add("from_env", f"s3://lake/{prefix}/*.parquet", options=_opts(moto_server))
    assert con.execute("SELECT count(*) FROM from_env").fetchall() == [(10,)]
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[lakeprofile]\naws_access_key_id = {moto_server[1]}\n"
                     f"aws_secret_access_key = {moto_server[2]}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    cat.add_secret("prof", kind="s3", profile="lakeprofile")
    cat.add("from_profile", f"s3://lake/{prefix}/*.parquet", secret="prof",
            options=_opts(moto_server))
    assert con.execute("SELECT count(*) FROM from_profile").fetchall() == [(10,)]


def test_s3_object_vanishing(lake, tmp_path, s3, moto_server):
    con, cat = lake
    prefix = uuid.uuid4().hex[:8]
    _put(s3, tmp_path, f"{prefix}/a.parquet", 5)
    _put(s3, tmp_path, f"{prefix}/b.parquet", 5, start=5)
    cat.add_secret("lake", kind="s3", key=moto_server[1], secret=moto_server[2])
    cat.add("vanish", f"s3://lake/{prefix}/*.parquet", secret="lake", options=_opts(moto_server))
    s3.delete_object(Bucket="lake", Key=f"{prefix}/b.parquet")
    assert cat.verify("vanish").source_vanished == [f"s3://lake/{prefix}/b.parquet"]
    assert cat.status("vanish").status == "stale"
    assert cat.sync("vanish").vanished == [f"s3://lake/{prefix}/b.parquet"]
    assert con.execute("SELECT count(*) FROM vanish").fetchall() == [(5,)]


def test_secret_values_never_reach_database_cache_or_logs(db, tmp_path, s3, moto_server, caplog):
    # Every logger at DEBUG: botocore's own debug log shows the access key *id* in the signed
    # Authorization header (its behaviour, not ours), but never the secret key.
    caplog.set_level("DEBUG")
    prefix = uuid.uuid4().hex[:8]
    _put(s3, tmp_path, f"{prefix}/a.parquet", 20)
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add_secret("lake", kind="s3", key=moto_server[1], secret=moto_server[2])
        cat.add("sec", f"s3://lake/{prefix}/*.parquet", secret="lake", options=_opts(moto_server))
        cat.prewarm("sec")
        cat.verify("sec")
        cache = cat.cache_dir
        assert con.execute("SELECT * FROM corpusql.secrets").fetchall()[0][:2] == ("lake", "s3")
    finally:
        con.close()
    store = tmp_path / "config" / "secrets.json"
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    assert moto_server[2] in store.read_text()
    blobs = [p.read_bytes() for p in tmp_path.iterdir()
             if p.is_file() and p.name.startswith("lake")]  # lake.duckdb and any .wal
    blobs += [p.read_bytes() for p in cache.rglob("*") if p.is_file()]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("corpusql"))
    assert "dataset sec: synced" in ours
    blobs.append(ours.encode())
    assert len(blobs) >= 3  # database file, cached copy, our log
    for value in (moto_server[1], moto_server[2]):
        assert all(value.encode() not in b for b in blobs)
    assert moto_server[2] not in caplog.text


# -- git ---------------------------------------------------------------------------------------


def _git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def test_git_revision_dataset(lake, tmp_path):
    con, cat = lake
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    write_jsonl(repo / "data" / "a.jsonl", [{"t": "one"}, {"t": "two"}])
    write_parquet(repo / "other" / "x.parquet", 3)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    first = _git(repo, "rev-parse", "HEAD")
    write_jsonl(repo / "data" / "b.jsonl", [{"t": "three"}])
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "second")

    cat.add("pinned", f"git+file://{repo}@{first}:data/*.jsonl")
    cat.add("head", f"git+file://{repo}@main:data/*.jsonl")
    cat.add("gpq", f"git+file://{repo}@main:other/*.parquet")
    assert con.execute("SELECT t FROM pinned ORDER BY _row").fetchall() == [("one",), ("two",)]
    assert con.execute("SELECT count(*) FROM head").fetchall() == [(3,)]
    assert con.execute("SELECT count(*) FROM gpq").fetchall() == [(3,)]
    assert con.execute("SELECT DISTINCT _file FROM pinned").fetchall() == [
        (f"git+file://{repo}@{first}:data/a.jsonl",)]
    rev = con.execute("SELECT revision FROM corpusql.datasets WHERE name = 'pinned'").fetchall()
    assert rev == [(first,)]

    os.unlink(repo / "data" / "a.jsonl")
    _git(repo, "commit", "-q", "-am", "third")
    assert cat.sync("pinned").vanished == []
    rep = cat.sync("head")
    assert [p.rsplit(":", 1)[1] for p in rep.vanished] == ["data/a.jsonl"]
    assert con.execute("SELECT t FROM head").fetchall() == [("three",)]


def test_http_object_changed_then_synced(lake, http_server, http_root):
    con, cat = lake
    name = f"c{uuid.uuid4().hex[:8]}.parquet"
    write_parquet(http_root / name, 5)
    cat.add("changing", f"{http_server.url}/{name}")
    assert con.execute("SELECT count(*) FROM changing").fetchall() == [(5,)]
    write_parquet(http_root / name, 8, start=100)
    assert cat.verify("changing").source_changed == [f"{http_server.url}/{name}"]
    assert cat.status("changing").status == "stale"
    assert cat.sync("changing").changed == [f"{http_server.url}/{name}"]
    assert con.execute("SELECT count(*), min(id) FROM changing").fetchall() == [(8, 100)]
