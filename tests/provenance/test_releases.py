"""Versioned releases: vNNNN directories, an atomic current pointer, keep N, rollback, and
every existing reader working on the root or on current."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pytest
from prov_helpers import ids

from corpusql.materializer import status, verify
from corpusql.releases import ReleaseError, current, list_versions, materialize, rollback, versions


def q(n: int) -> str:
    return f"SELECT 'd' || range AS id, 'text ' || range AS text FROM range({n})"


@pytest.fixture
def dcon():
    c = duckdb.connect()
    yield c
    c.close()


def test_each_write_is_a_new_version_and_current_moves(dcon, tmp_path):
    root = tmp_path / "train"
    r1 = materialize(dcon, q(3), root, versioned=True)
    assert (r1.status, r1.out_dir.name, current(root)) == ("written", "v0001", "v0001")
    again = materialize(dcon, q(3), root, versioned=True)
    assert again.status == "up to date" and versions(root) == ["v0001"]
    r2 = materialize(dcon, q(5), root, versioned=True)
    assert (r2.out_dir.name, current(root)) == ("v0002", "v0002")
    assert ids(root / "current") == sorted(f"d{i}" for i in range(5))
    assert ids(root / "v0001") == ["d0", "d1", "d2"]
    assert verify(root).ok and verify(root / "current").ok
    assert status(root).manifest["total_rows"] == 5
    n = dcon.execute(f"SELECT count(*) FROM read_parquet('{root}/current/*.parquet')").fetchall()
    assert n == [(5,)]


def test_keep_n_versions_never_the_current_one(dcon, tmp_path, monkeypatch):
    root = tmp_path / "train"
    for n in range(1, 5):
        materialize(dcon, q(n), root, versioned=True, keep=2)
    assert versions(root) == ["v0003", "v0004"]
    rollback(root, "v0003")
    monkeypatch.setenv("CORPUSQL_KEEP_VERSIONS", "1")
    materialize(dcon, q(9), root, versioned=True)
    assert versions(root) == ["v0005"] and current(root) == "v0005"
    with pytest.raises(ReleaseError, match="keep = 0"):
        materialize(dcon, q(9), root, versioned=True, keep=0)


def test_rollback_goes_back_and_refuses_a_version_that_fails_verify(dcon, tmp_path, mcon):
    root = tmp_path / "train"
    for n in (2, 3, 4):
        materialize(dcon, q(n), root, versioned=True)
    assert rollback(root) == "v0002" and ids(root / "current") == ["d0", "d1", "d2"]
    rows = mcon.execute(f"SELECT version, rows, is_current FROM release_versions('{root}')"
                        ).fetchall()
    assert rows == [("v0001", 2, False), ("v0002", 3, True), ("v0003", 4, False)]
    next(iter((root / "v0001").glob("*.parquet"))).write_bytes(b"garbage")
    with pytest.raises(ReleaseError, match="v0001 fails verify"):
        rollback(root, "v0001")
    with pytest.raises(ReleaseError, match="no version 'v0009'; versions kept: v0001, v0002"):
        rollback(root, "v0009")
    assert current(root) == "v0002"


def test_a_rewrite_after_rollback_is_a_new_version_not_an_overwrite(dcon, tmp_path):
    root = tmp_path / "train"
    materialize(dcon, q(2), root, versioned=True)
    materialize(dcon, q(3), root, versioned=True)
    rollback(root)
    r = materialize(dcon, q(3), root, versioned=True)
    assert r.out_dir.name == "v0003" and [v.version for v in list_versions(root)] == [
        "v0001", "v0002", "v0003"]


def test_an_unversioned_release_is_not_turned_into_versions_silently(dcon, tmp_path):
    materialize(dcon, q(2), tmp_path / "plain")
    with pytest.raises(ReleaseError, match="holds an unversioned release"):
        materialize(dcon, q(2), tmp_path / "plain", versioned=True)


def _child(root, n, fault):
    code = textwrap.dedent(f"""
        import duckdb
        from corpusql.releases import materialize
        con = duckdb.connect()
        materialize(con, {q(n)!r}, {str(root)!r}, versioned=True)
    """)
    env = {**os.environ, "CORPUSQL_FAULT": fault}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("point, after", [
    ("write:copied", "v0001"), ("swap:staged", "v0001"),
    ("releases:version-written", "v0001"), ("releases:pointer-staged", "v0001")])
def test_kill_9_at_each_step_leaves_current_on_a_complete_version(dcon, tmp_path, point, after):
    root = tmp_path / "train"
    materialize(dcon, q(2), root, versioned=True)
    proc = _child(root, 7, point)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert current(root) == after and verify(root).ok
    assert ids(root / "current") == ["d0", "d1"]
    r = materialize(dcon, q(7), root, versioned=True)
    assert r.status == "written" and verify(root).ok and ids(root / "current") == sorted(
        f"d{i}" for i in range(7))
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []


def test_cli_releases_list_show_and_rollback(dcon, tmp_path):
    root = tmp_path / "train"
    materialize(dcon, q(2), root, versioned=True)
    materialize(dcon, q(3), root, versioned=True)
    cli = [sys.executable, "-m", "corpusql.cli", "releases"]
    out = subprocess.run([*cli, "list", str(root)], capture_output=True, text=True, timeout=300)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("  v0001\t2 rows") and lines[1].startswith("* v0002\t3 rows")
    back = subprocess.run([*cli, "rollback", str(root)], capture_output=True, text=True,
                          timeout=300)
    assert back.returncode == 0 and "current -> v0001" in back.stdout
    bad = subprocess.run([*cli, "rollback", str(root)], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 1 and "v0001 is the oldest version kept" in bad.stderr


def _adopt_child(root, fault, exchange=True):
    code = textwrap.dedent(f"""
        from corpusql.releases import adopt
        adopt({str(root)!r})
    """)
    env = {**os.environ, "CORPUSQL_FAULT": fault}
    if not exchange:
        env["CORPUSQL_RENAMEAT2"] = "0"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("point, exchange", [
    ("swap:staged", True), ("swap:exchanged", True), ("swap:removing-old", True),
    ("swap:renamed-old", False), ("swap:renamed-new", False)])
def test_adopting_an_unversioned_release_is_one_swap_even_under_kill_9(dcon, tmp_path, point,
                                                                       exchange):
    """An older unversioned output becomes v0001 of a versioned release (what the demo does to
    an older demo's output); a kill at each step of the swap leaves the old layout or the new,
    with every file verified, and a second adopt (or materialize) finishes."""
    from corpusql.releases import adopt, is_versioned

    root = tmp_path / "train"
    materialize(dcon, q(4), root)
    proc = _adopt_child(root, point, exchange)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert verify(root).ok, verify(root).problems  # repairs a cut-short swap, like every reader
    assert ids(root / "current" if is_versioned(root) else root) == [f"d{i}" for i in range(4)]
    if not is_versioned(root):
        assert adopt(root) == "v0001"
    with pytest.raises(ReleaseError, match="versioned already"):
        adopt(root)
    assert versions(root) == ["v0001"] and current(root) == "v0001" and verify(root).ok
    r = materialize(dcon, q(5), root, versioned=True)
    assert r.status == "written" and current(root) == "v0002"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".train.")
            and "lock" not in p.name] == []
