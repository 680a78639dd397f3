"""Change detection: local files by a blake2b hash of their bytes, remote ones by ETag and size,
and cached copies that vanished from the cache directory."""

from __future__ import annotations

import os
import uuid

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from catalog_helpers import write_jsonl, write_parquet

from corpusql.catalog import schema


def _same_size_edit(path, data: bytes) -> None:
    """Overwrite ``path`` with ``data`` (same length) and put its old mtime back."""
    st = os.stat(path)
    assert len(data) == st.st_size, "the edit must keep the size"
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns


def test_same_size_edit_with_restored_mtime_is_seen_by_verify_and_sync(lake, tmp_path):
    con, cat = lake
    path = tmp_path / "src" / "a.jsonl"
    write_jsonl(path, [{"x": 1}, {"x": 2}])
    cat.add("docs", str(tmp_path / "src" / "*.jsonl"))
    _same_size_edit(path, b'{"x": 7}\n{"x": 9}\n')

    rep = cat.verify("docs")
    assert rep.source_changed == [str(path)] and not rep.ok
    st = cat.status("docs")
    assert st.status == "stale" and "1 changed" in st.error

    rep = cat.sync("docs")
    assert rep.changed == [str(path)] and rep.new == rep.vanished == []
    assert cat.status("docs").status == "ready"
    assert con.execute("SELECT x FROM docs ORDER BY x").fetchall() == [(7,), (9,)]
    assert cat.verify("docs").ok
    (digest,) = con.execute("SELECT content_hash FROM corpusql.files").fetchall()[0]
    assert len(digest) == 64  # blake2b, 32 bytes, hex


def test_live_parquet_same_size_edit_reaches_the_status(lake, tmp_path):
    con, cat = lake
    path = tmp_path / "pq" / "a.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"id": [1, 2, 3]}), path)
    cat.add("live", str(path))
    assert cat.status("live").cached_files == 0  # read where it lies
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"id": [4, 5, 6]}), other)
    _same_size_edit(path, other.read_bytes())

    assert cat.verify("live").source_changed == [str(path)]
    assert cat.status("live").status == "stale"
    assert cat.sync("live").changed == [str(path)]
    assert cat.status("live").status == "ready"
    assert con.execute("SELECT sum(id) FROM live").fetchall() == [(15,)]
    (digest,) = con.execute("SELECT content_hash FROM corpusql.files").fetchall()[0]
    import hashlib

    assert digest == hashlib.blake2b(path.read_bytes(), digest_size=32).hexdigest()


def test_touch_without_edit_is_not_a_change(lake, tmp_path):
    _, cat = lake
    path = tmp_path / "t" / "a.jsonl"
    write_jsonl(path, [{"x": 1}])
    cat.add("t", str(path))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert cat.verify("t").ok
    rep = cat.sync("t")
    assert rep.changed == rep.new == rep.vanished == []


def test_quick_sync_trusts_size_and_mtime(lake, tmp_path):
    con, cat = lake
    path = tmp_path / "q" / "a.jsonl"
    write_jsonl(path, [{"x": 1}])
    cat.add("q", str(path))
    _same_size_edit(path, b'{"x": 5}\n')
    assert cat.sync("q", quick=True).changed == []  # the documented blind spot of quick
    assert con.execute("SELECT x FROM q").fetchall() == [(1,)]
    write_jsonl(path, [{"x": 6}, {"x": 7}])
    assert cat.sync("q", quick=True).changed == [str(path)]
    assert con.execute("SELECT x FROM q ORDER BY x").fetchall() == [(6,), (7,)]


def test_deleted_cache_is_refetched_by_sync(lake, tmp_path):
    con, cat = lake
    write_jsonl(tmp_path / "c" / "a.jsonl", [{"x": 1}, {"x": 2}])
    write_jsonl(tmp_path / "c" / "b.jsonl", [{"x": 3}])
    cat.add("c", str(tmp_path / "c" / "*.jsonl"))
    caches = [r[0] for r in con.execute(
        "SELECT cache_path FROM corpusql.files ORDER BY path").fetchall()]
    os.unlink(cat.cache_dir / "c" / os.path.basename(caches[0]))
    with pytest.raises(duckdb.Error):
        con.execute("SELECT count(*) FROM c").fetchall()

    rep = cat.verify("c")
    assert rep.missing == [str(tmp_path / "c" / "a.jsonl")]
    assert cat.status("c").status == "failed"
    assert "a.jsonl" in cat.status("c").error and "run sync" in cat.status("c").error

    rep = cat.sync("c")
    assert rep.recached == [str(tmp_path / "c" / "a.jsonl")]
    assert cat.status("c").status == "ready"
    assert con.execute("SELECT x FROM c ORDER BY x").fetchall() == [(1,), (2,), (3,)]


def test_whole_cache_directory_deleted_then_synced(lake, tmp_path):
    import shutil

    con, cat = lake
    write_parquet(tmp_path / "w" / "a.parquet", 20)
    cat.add("w", str(tmp_path / "w" / "*.parquet"))
    cat.prewarm("w")
    shutil.rmtree(cat.cache_dir)
    rep = cat.sync("w")
    assert cat.status("w").status == "ready"
    assert con.execute("SELECT count(*) FROM w").fetchall() == [(20,)]  # ready means readable
    assert rep.recached == [str(tmp_path / "w" / "a.parquet")]


def test_deleted_cache_and_deleted_source_are_forgotten_not_ready(lake, tmp_path):
    con, cat = lake
    write_jsonl(tmp_path / "g" / "a.jsonl", [{"x": 1}])
    write_jsonl(tmp_path / "g" / "b.jsonl", [{"x": 2}])
    cat.add("g", str(tmp_path / "g" / "*.jsonl"))
    (cache,) = con.execute("SELECT cache_path FROM corpusql.files "
                           "WHERE path LIKE '%a.jsonl'").fetchall()[0]
    os.unlink(cat.cache_dir / "g" / os.path.basename(cache))
    os.unlink(tmp_path / "g" / "a.jsonl")
    rep = cat.sync("g")
    assert rep.vanished == [str(tmp_path / "g" / "a.jsonl")]
    assert cat.status("g").status == "ready"
    assert con.execute("SELECT x FROM g").fetchall() == [(2,)]


def test_an_older_catalog_gains_the_hash_column(db, tmp_path):
    write_jsonl(tmp_path / "o" / "a.jsonl", [{"x": 1}])
    con = duckdb.connect(str(db))
    try:
        schema.create(con)  # a catalog as written before content_hash existed
        con.execute("ALTER TABLE corpusql.files DROP COLUMN content_hash")
        assert schema.missing(con)
        import corpusql

        cat = corpusql.catalog(con)
        cols = [r[0] for r in con.execute("DESCRIBE corpusql.files").fetchall()]
        assert "content_hash" in cols
        cat.add("o", str(tmp_path / "o" / "a.jsonl"))
        assert con.execute("SELECT x FROM o").fetchall() == [(1,)]
        assert cat.verify("o").ok
    finally:
        con.close()


# -- remote: ETag and size, never a download to hash -------------------------------------------


def test_s3_same_size_overwrite_is_seen_by_etag(lake, tmp_path, s3, moto_server):
    con, cat = lake
    key = f"{uuid.uuid4().hex[:8]}/a.parquet"
    local = tmp_path / "up.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3]}), local)
    s3.upload_file(str(local), "lake", key)
    cat.add_secret("lk", kind="s3", key=moto_server[1], secret=moto_server[2])
    cat.add("s3c", f"s3://lake/{key}", secret="lk",
            options={"region": "us-east-1", "endpoint_url": moto_server[0]})
    size = os.path.getsize(local)
    pq.write_table(pa.table({"id": [4, 5, 6]}), local)
    assert os.path.getsize(local) == size
    s3.upload_file(str(local), "lake", key)
    assert cat.verify("s3c").source_changed == [f"s3://lake/{key}"]
    assert cat.sync("s3c").changed == [f"s3://lake/{key}"]
    assert con.execute("SELECT sum(id) FROM s3c").fetchall() == [(15,)]
    # remote files are compared by ETag and size: nothing is downloaded to hash them
    assert con.execute("SELECT content_hash FROM corpusql.files").fetchall() == [(None,)]



def test_http_same_size_overwrite_is_seen_by_etag(lake, http_server, http_root):
    con, cat = lake
    name = f"s{uuid.uuid4().hex[:8]}.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3]}), http_root / name)
    cat.add("hs", f"{http_server.url}/{name}")
    other = http_root / f"other-{name}"
    pq.write_table(pa.table({"id": [4, 5, 6]}), other)
    _same_size_edit(http_root / name, other.read_bytes())
    assert cat.sync("hs").changed == [f"{http_server.url}/{name}"]
    assert con.execute("SELECT sum(id) FROM hs").fetchall() == [(15,)]


def test_hashes_missing_from_an_older_catalog_are_filled_without_a_change(lake, tmp_path):
    con, cat = lake
    for n in range(3):
        write_jsonl(tmp_path / "h" / f"{n}.jsonl", [{"x": n}])
    cat.add("h", str(tmp_path / "h" / "*.jsonl"))
    want = con.execute("SELECT path, content_hash FROM corpusql.files ORDER BY path").fetchall()
    con.execute("UPDATE corpusql.files SET content_hash = NULL")  # as an older catalog has them
    rep = cat.sync("h")
    assert rep.changed == rep.new == rep.vanished == rep.recached == []
    assert con.execute("SELECT path, content_hash FROM corpusql.files ORDER BY path"
                       ).fetchall() == want
