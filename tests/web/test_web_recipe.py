"""sql/recipes/web.sql end to end on the tests' WARC: `corpusql run`, then a materialized release."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import corpusql
from corpusql.materializer import materialize
from corpusql.scripts import run_file

RECIPE = Path(__file__).resolve().parents[2] / "sql" / "recipes" / "web.sql"
CLI = [sys.executable, "-m", "corpusql.cli"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, web_warc):
    path, corpus = web_warc
    work = tmp_path_factory.mktemp("webrun")
    (work / "crawl").mkdir()
    (work / "crawl" / path.name).write_bytes(path.read_bytes())
    db = duckdb.connect(str(work / "lake.duckdb"),
                        config={"storage_compatibility_version": "v1.5.0"})
    db.execute("CREATE TABLE web_blocklist AS SELECT 'spam.example.com' AS domain")
    db.close()
    return work, corpus


def test_corpusql_run_prints_what_each_step_removed(workdir):
    work, corpus = workdir
    env = dict(os.environ, CORPUSQL_PROGRESS="0")
    proc = subprocess.run([*CLI, "run", str(RECIPE), "--db", "lake.duckdb", "--mode", "csv"],
                          cwd=work, capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    steps = dict(line.split(",") for line in lines[lines.index("step,records") + 1:]
                 if line.count(",") == 1 and not line.startswith("released"))
    assert steps["read"] == "2"  # the corrupt and the truncated record
    assert steps["extract"] == "3"  # PNG, PDF, JSON
    assert steps["url_blocklist"] == "1"
    assert steps["url_dedup"] == "1" and steps["exact_dedup"] == "1"
    assert steps["near_dedup"] == "1"


def test_release_is_deduplicated_and_traceable(workdir, tmp_path):
    work, corpus = workdir
    con = corpusql.connect()
    cwd = os.getcwd()
    try:
        os.chdir(work)
        con.execute("CREATE TABLE web_blocklist AS SELECT 'spam.example.com' AS domain")
        run_file(con, RECIPE, on_result=lambda *a: None)
        result = materialize(con, "SELECT * FROM web_release", tmp_path / "release",
                             order_by="id", recipe=str(RECIPE))
        removed = con.execute("SELECT count(*) FROM web_removed").fetchone()[0]
        pages = con.execute("SELECT count(*) FROM web_pages").fetchone()[0]
        errors = con.execute("SELECT count(*) FROM web_removed WHERE step = 'read'").fetchone()[0]
    finally:
        os.chdir(cwd)
        con.close()
    rows = duckdb.sql(f"SELECT url, text, _file, _offset FROM "
                      f"read_parquet('{tmp_path}/release/*.parquet')").fetchall()
    assert result.rows == len(rows) > 30
    # every record is either released or removed with a reason
    assert len(rows) + removed == pages + errors
    urls = {r[0] for r in rows}
    assert "https://ads.spam.example.com/x" not in urls
    # of a page and its exact or near copy elsewhere, exactly one is released
    for copy_url in ("https://mirror.example.net/copy/1", "https://mirror.example.net/near/2"):
        copy = [p for p in corpus.pages if p.url == copy_url][0]
        twins = [p.url for p in corpus.pages if p.body and copy.body.startswith(p.body)
                 and "?" not in p.url]
        assert len(twins) == 2 and sum(u in urls for u in twins) == 1
    texts = [r[1] for r in rows]
    assert len(set(texts)) == len(texts)
    assert not any("We value your privacy" in t for t in texts)
