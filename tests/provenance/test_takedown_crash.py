"""A takedown killed with kill -9 at each step leaves every release untouched or fully
replaced; running it again finishes the job and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pytest
from prov_helpers import ids

from corpusql.materializer import verify
from corpusql.releases import current, materialize, versions

Q = ("SELECT 'd' || i AS id, 'text of document ' || i || ' ' || md5(i::VARCHAR) AS text, "
     "'https://site.example/p/' || i AS url FROM range(30) t(i)")
ALL_IDS = sorted(f"d{i}" for i in range(30))


def _run(db, releases, fault=None, purge=False, exchange=True):
    code = textwrap.dedent(f"""
        import duckdb, corpusql
        con = duckdb.connect({str(db)!r})
        corpusql.takedown(con, {{"id": "d7"}}, "erasure", "E-1", {[str(r) for r in releases]!r},
                          purge={purge!r})
        con.close()
    """)
    env = dict(os.environ)
    env.pop("CORPUSQL_FAULT", None)
    if fault:
        env["CORPUSQL_FAULT"] = fault
    if not exchange:
        env["CORPUSQL_RENAMEAT2"] = "0"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def releases(tmp_path):
    con = duckdb.connect()
    try:
        materialize(con, Q, tmp_path / "v", versioned=True, max_rows_per_file=10)
        materialize(con, Q + " WHERE i < 25", tmp_path / "v", versioned=True, max_rows_per_file=10)
        materialize(con, Q, tmp_path / "u", max_rows_per_file=10)
    finally:
        con.close()
    return tmp_path / "v", tmp_path / "u"


def _state(root) -> str:
    got = ids(root / "current" if (root / "current").exists() else root)
    full = ALL_IDS if root.name == "u" else sorted(f"d{i}" for i in range(25))
    if got == full:
        return "untouched"
    assert got == sorted(set(full) - {"d7"}), got
    return "replaced"


POINTS = [("takedown:files-written", True), ("swap:staged", True), ("swap:exchanged", True),
          ("swap:removing-old", True), ("takedown:version-written", True),
          ("releases:pointer-staged", True), ("swap:renamed-old", False),
          ("swap:renamed-new", False)]


@pytest.mark.parametrize("point, exchange", POINTS,
                         ids=[f"{p}-{'exchange' if e else 'renames'}" for p, e in POINTS])
def test_kill_9_at_each_step_leaves_each_release_whole(releases, tmp_path, point, exchange):
    v, u = releases
    proc = _run(tmp_path / "lake.duckdb", [v, u], point, exchange=exchange)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    for root in (v, u):
        report = verify(root)  # repairs what the kill left, like every reader
        assert report.ok, report.problems
        assert _state(root) in ("untouched", "replaced")
    done = _run(tmp_path / "lake.duckdb", [v, u])
    assert done.returncode == 0, done.stderr
    assert _state(v) == _state(u) == "replaced"
    assert verify(v).ok and verify(u).ok
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert [p.name for p in v.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("point", ["takedown:purge-staged", "swap:exchanged",
                                   "swap:removing-old"])
def test_kill_9_inside_a_purge_leaves_each_version_whole(releases, tmp_path, point):
    v, _ = releases
    first = _run(tmp_path / "lake.duckdb", [v], "takedown:version-written")
    assert first.returncode == -signal.SIGKILL
    assert current(v) == "v0002"  # killed before the pointer moved
    proc = _run(tmp_path / "lake.duckdb", [v], point, purge=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    for name in versions(v):
        assert verify(v / name).ok, verify(v / name).problems
    done = _run(tmp_path / "lake.duckdb", [v], purge=True)
    assert done.returncode == 0, done.stderr
    for name in versions(v):
        assert verify(v / name).ok and "d7" not in ids(v / name)
    assert [p.name for p in v.iterdir() if p.name.startswith(".")] == []


def test_kill_9_while_recording_leaves_the_catalog_as_it_was(tmp_path):
    """The record, the hidden rows and the rebuilt views are one transaction: a kill before
    its commit leaves the catalog's view, its hidden rows and corpusql.takedowns unchanged;
    running the takedown again hides the document."""
    import corpusql

    db = tmp_path / "lake.duckdb"
    con = duckdb.connect(str(db))
    try:
        con.execute(f"COPY ({Q}) TO '{tmp_path / 'docs.parquet'}'")
        corpusql.catalog(con).add("docs", str(tmp_path / "docs.parquet"))
    finally:
        con.close()
    proc = _run(db, [], "takedown:recorded")
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    def state():
        c = duckdb.connect(str(db), read_only=True)
        try:
            docs = [r[0] for r in c.execute("SELECT id FROM docs ORDER BY id").fetchall()]
            hidden = c.execute("SELECT count(*) FROM corpusql.takedown_rows").fetchall()[0][0]
            recorded = c.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                                 "'takedowns'").fetchall()[0][0]
            if recorded:
                recorded = c.execute("SELECT count(*) FROM corpusql.takedowns").fetchall()[0][0]
            return docs, hidden, recorded
        finally:
            c.close()

    assert state() == (ALL_IDS, 0, 0)
    done = _run(db, [])
    assert done.returncode == 0, done.stderr
    assert state() == (sorted(set(ALL_IDS) - {"d7"}), 1, 1)
