"""Catalog datasets as Spark temp views: the same columns and ``_file``/``_row`` values as the
DuckDB views, for local, S3 (moto server), HTTP (Range server) and git datasets; secrets out of
plans and logs; a role's grants and masks kept.

Reuses the catalog tests' fixtures (isolated secrets store, moto S3, HTTP server) from
tests/catalog/conftest.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import corpusql
import corpusql.spark
from corpusql.catalog.roles import RoleError
from corpusql.spark import CatalogViewError

_CATALOG_TESTS = Path(__file__).resolve().parent.parent / "catalog"
sys.path.insert(0, str(_CATALOG_TESTS))
from catalog_helpers import write_jsonl, write_parquet  # noqa: E402

_spec = importlib.util.spec_from_file_location("catalog_fixtures", _CATALOG_TESTS / "conftest.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
isolated, db, http_root, http_server = (_fixtures.isolated, _fixtures.db, _fixtures.http_root,
                                        _fixtures.http_server)
moto_server, s3 = _fixtures.moto_server, _fixtures.s3

pytestmark = pytest.mark.spark


def _norm(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _norm(x)) for k, x in v.items()))
    if isinstance(v, list | tuple):
        return tuple(_norm(x) for x in v)
    return v


def _rows(rows) -> list[tuple]:
    return sorted((_norm(tuple(r)) for r in rows), key=repr)


def assert_same_view(con, spark, name: str) -> int:
    """The Spark view ``name`` has the DuckDB view's columns and rows (``_file``/``_row``
    included); returns the row count."""
    want = con.execute(f"SELECT * FROM {name}")
    cols = [d[0] for d in want.description]
    want = _rows(want.fetchall())
    df = spark.table(name)
    assert df.columns == cols
    got = _rows(df.collect())
    assert got == want
    assert want, f"{name}: no rows to compare"
    return len(want)


@contextlib.contextmanager
def jvm_log(spark):
    """Spark's own (log4j) log at INFO while the block runs, as a list holding its text after.

    The JVM writes its console log to the stderr it was started with, which pytest cannot
    capture later: a log4j appender writing to a string is added to the root logger instead.
    """
    jvm = spark._jvm
    writer = jvm.java.io.StringWriter()
    ctx = jvm.org.apache.logging.log4j.LogManager.getContext(False)
    config = ctx.getConfiguration()
    layout = jvm.org.apache.logging.log4j.core.layout.PatternLayout.createDefaultLayout()
    appender = jvm.org.apache.logging.log4j.core.appender.WriterAppender.createAppender(
        layout, None, writer, "corpusql-test-capture", False, True)
    appender.start()
    config.addAppender(appender)
    config.getRootLogger().addAppender(appender, None, None)
    ctx.updateLoggers()
    spark.sparkContext.setLogLevel("INFO")
    text: list[str] = []
    try:
        yield text
    finally:
        spark.sparkContext.setLogLevel("ERROR")
        config.getRootLogger().removeAppender("corpusql-test-capture")
        ctx.updateLoggers()
        appender.stop()
        text.append(writer.toString())


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


# -- local ---------------------------------------------------------------------------------------


def test_local_parquet_and_jsonl_same_rows_and_lineage(spark, db, tmp_path):
    data = tmp_path / "data"
    write_parquet(data / "a.parquet", 300, row_group_size=64)
    write_parquet(data / "b.parquet", 200, start=300, row_group_size=64)
    # a third file with one more column and another type for id: the views union by name
    pq.write_table(pa.table({"id": [f"s{i}" for i in range(7)], "text": ["x"] * 7,
                             "extra": pa.array(range(7), pa.uint32())}), data / "c.parquet")
    write_jsonl(tmp_path / "notes" / "n.jsonl", [{"t": "one", "k": 1}, {"t": "two"}, {"k": 3}])
    pq_name, js_name = _unique("pq"), _unique("js")
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add(pq_name, str(data / "*.parquet"))
        cat.add(js_name, str(tmp_path / "notes" / "*.jsonl"))
        frames = corpusql.spark.catalog_views(spark, con)
        assert {pq_name, js_name} <= set(frames)
        assert assert_same_view(con, spark, pq_name) == 507
        assert assert_same_view(con, spark, js_name) == 3
        lineage = spark.sql(f"SELECT _file, max(_row) FROM {pq_name} GROUP BY _file "
                            "ORDER BY _file").collect()
        assert [tuple(r) for r in lineage] == [(str(data / "a.parquet"), 300),
                                               (str(data / "b.parquet"), 200),
                                               (str(data / "c.parquet"), 7)]
        assert dict(frames[pq_name].dtypes)["extra"] == "bigint"  # UINTEGER, widened
        assert cat.prewarm(pq_name) == 3  # now read from cached copies, same lineage
        corpusql.spark.catalog_views(spark, con, [pq_name])
        assert assert_same_view(con, spark, pq_name) == 507
    finally:
        con.close()


def test_database_path_and_unknown_dataset(spark, db, tmp_path):
    write_parquet(tmp_path / "d" / "x.parquet", 10)
    name = _unique("bypath")
    con = duckdb.connect(str(db))
    try:
        corpusql.catalog(con).add(name, str(tmp_path / "d" / "*.parquet"))
    finally:
        con.close()
    corpusql.spark.catalog_views(spark, str(db), [name])
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert assert_same_view(con, spark, name) == 10
    finally:
        con.close()
    with pytest.raises(CatalogViewError, match=rf"dataset '{name}x' is not in the catalog.*"
                                               rf"did you mean '{name}'"):
        corpusql.spark.catalog_views(spark, str(db), [name + "x"])


# -- S3, HTTP, git -------------------------------------------------------------------------------


def test_s3_dataset_with_secret_same_rows_secret_not_in_plan_or_logs(
        spark, db, tmp_path, s3, moto_server, capfd, caplog):
    url, key, secret = moto_server
    prefix = uuid.uuid4().hex[:8]
    for i in range(2):
        local = tmp_path / "up" / f"p{i}.parquet"
        write_parquet(local, 700, start=i * 700, row_group_size=100)
        s3.upload_file(str(local), "lake", f"{prefix}/part-{i}.parquet")
    name = _unique("s3web")
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add_secret("lake", kind="s3", key=key, secret=secret)
        cat.add(name, f"s3://lake/{prefix}/*.parquet", secret="lake",
                options={"region": "us-east-1", "endpoint_url": url})
        caplog.set_level("DEBUG", logger="corpusql")
        caplog.set_level("INFO")
        capfd.readouterr()
        with jvm_log(spark) as jvm_text:
            frames = corpusql.spark.catalog_views(spark, con, [name])
            assert assert_same_view(con, spark, name) == 1400
            assert spark.sql(f"SELECT min(_file) FROM {name}").collect()[0][0] == \
                f"s3://lake/{prefix}/part-0.parquet"
            explain = "\n".join(r[0] for r in spark.sql(
                f"EXPLAIN EXTENDED SELECT * FROM {name} WHERE id > 3").collect())
            frames[name].explain(extended=True)
            plan = frames[name]._jdf.queryExecution().toString()
        out = capfd.readouterr()
    finally:
        con.close()
    assert f"corpusql_catalog_{name}" in explain  # the plan is the one that read the data
    assert f"BatchScan corpusql_catalog_{name}" in out.out  # explain() printed it
    # Spark logged at INFO while it planned and ran the queries (tasks of the scan included)
    assert "Finished task" in jvm_text[0] and "DAGScheduler" in jvm_text[0]
    logs = out.out + out.err + caplog.text + jvm_text[0]
    for text in (explain, plan, logs):
        assert secret not in text
        assert key not in text


def test_http_dataset_same_rows(spark, db, http_server, http_root):
    files = [f"h{uuid.uuid4().hex[:8]}.parquet" for _ in range(2)]
    for i, f in enumerate(files):
        write_parquet(http_root / f, 400, start=i * 400, row_group_size=50)
    names = [_unique("web"), _unique("webj")]
    write_jsonl(http_root / f"{names[1]}.jsonl", [{"a": i, "b": str(i)} for i in range(25)])
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add(names[0], f"{http_server.url}/{files[0]}")
        cat.add(names[1], f"{http_server.url}/{names[1]}.jsonl")
        corpusql.spark.catalog_views(spark, con, names)
        assert assert_same_view(con, spark, names[0]) == 400
        assert assert_same_view(con, spark, names[1]) == 25
        assert spark.sql(f"SELECT DISTINCT _file FROM {names[0]}").collect()[0][0] == \
            f"{http_server.url}/{files[0]}"
    finally:
        con.close()


def _git(repo, *args):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def test_git_dataset_same_rows(spark, db, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    write_jsonl(repo / "data" / "a.jsonl", [{"t": "one"}, {"t": "two"}])
    write_parquet(repo / "data" / "x.parquet", 30)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    names = [_unique("gj"), _unique("gp")]
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add(names[0], f"git+file://{repo}@main:data/*.jsonl")
        cat.add(names[1], f"git+file://{repo}@main:data/*.parquet")
        corpusql.spark.catalog_views(spark, con, names)
        assert assert_same_view(con, spark, names[0]) == 2
        assert assert_same_view(con, spark, names[1]) == 30
        assert spark.sql(f"SELECT DISTINCT _file FROM {names[0]}").collect()[0][0] == \
            f"git+file://{repo}@main:data/a.jsonl"
    finally:
        con.close()


# -- roles ---------------------------------------------------------------------------------------


def test_role_sees_granted_datasets_only_and_masked_values(spark, db, tmp_path):
    open_, closed, masked = _unique("open"), _unique("closed"), _unique("masked")
    write_parquet(tmp_path / "o" / "o.parquet", 20)
    write_parquet(tmp_path / "c" / "c.parquet", 20)
    write_jsonl(tmp_path / "m" / "m.jsonl",
                [{"id": i, "email": f"user{i}@example.com"} for i in range(5)])
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add(open_, str(tmp_path / "o" / "*.parquet"))
        cat.add(closed, str(tmp_path / "c" / "*.parquet"))
        cat.add(masked, str(tmp_path / "m" / "*.jsonl"))
        cat.add_role("reader")
        cat.grant("reader", open_)
        cat.grant("reader", masked)
        cat.mask("reader", masked, "email", kind="null")
    finally:
        con.close()

    with pytest.raises(RoleError, match=rf"dataset '{closed}' is not granted to role 'reader'"):
        corpusql.spark.catalog_views(spark, str(db), [open_, closed], role="reader")
    assert not spark.catalog.tableExists(closed)
    assert not spark.catalog.tableExists(open_)  # nothing made when one is refused

    frames = corpusql.spark.catalog_views(spark, str(db), role="reader")
    assert sorted(frames) == sorted([open_, masked])
    assert not spark.catalog.tableExists(closed)
    role_con = corpusql.connect(db, role="reader")
    try:
        assert assert_same_view(role_con, spark, open_) == 20
        assert assert_same_view(role_con, spark, masked) == 5
        assert spark.sql(f"SELECT count(email) FROM {masked}").collect()[0][0] == 0
        # a role connection itself gives the same views, and no more
        again = corpusql.spark.catalog_views(spark, role_con)
        assert sorted(again) == sorted([open_, masked])
        with pytest.raises(RoleError, match="not granted"):
            corpusql.spark.catalog_views(spark, role_con, [closed])
    finally:
        role_con.close()
