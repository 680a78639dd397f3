"""Materialization never destroys what it did not write: refusals, swap recovery after kill -9 at
every step, the per-target lock between real processes, staging private to each call, and globs
that never see staging."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import duckdb
import pyarrow.parquet as pq
import pytest

from corpusql.materializer import MaterializeError, materialize, read_manifest, verify

CLI = [sys.executable, "-m", "corpusql.cli"]


@pytest.fixture
def dcon():
    """A plain DuckDB connection (the queries here call no corpusql function)."""
    c = duckdb.connect()
    yield c
    c.close()


def q(n: int, tag: str = "a") -> str:
    return f"SELECT range AS id, '{tag}' || range AS text FROM range({n})"


def _ids(out) -> list[int]:
    files = sorted(out.rglob("*.parquet"))
    return [i for f in files for i in pq.read_table(f).column("id").to_pylist()]


def _hidden(parent) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# -- 1. refusals -------------------------------------------------------------------------------


def test_overwrite_refuses_a_directory_corpusql_did_not_write(dcon, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "data.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(MaterializeError) as exc:
        materialize(dcon, q(10), out, overwrite=True)
    msg = str(exc.value)
    assert str(out) in msg and "notes.txt" in msg and "data.parquet" in msg
    assert "_manifest.json" in msg and "differs" not in msg and "\n" not in msg
    assert (out / "notes.txt").read_text() == "my notes"
    with pytest.raises(MaterializeError) as exc:
        materialize(dcon, q(10), out)
    assert "differs" not in str(exc.value) and "notes.txt" in str(exc.value)
    assert sorted(p.name for p in out.iterdir()) == ["data.parquet", "notes.txt"]
    assert _hidden(tmp_path) == []


def test_cli_overwrite_refuses_a_foreign_directory(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    proc = subprocess.run(CLI + ["materialize", q(5), str(out), "--overwrite"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "thesis.tex" in proc.stderr and str(out) in proc.stderr
    assert (out / "thesis.tex").read_text() == "years of work"


def test_an_empty_directory_is_written_without_overwrite(dcon, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert materialize(dcon, q(10), out).status == "written"
    assert _ids(out) == list(range(10)) and verify(out).ok


def test_overwrite_refuses_files_added_to_an_output(dcon, tmp_path):
    out = tmp_path / "out"
    materialize(dcon, q(10), out)
    (out / "README.md").write_text("added by hand")
    with pytest.raises(MaterializeError, match=r"README\.md") as exc:
        materialize(dcon, q(20), out, overwrite=True)
    assert "_manifest.json" in str(exc.value)  # says they are not in the manifest
    assert (out / "README.md").exists() and _ids(out) == list(range(10))
    with pytest.raises(MaterializeError, match=r"README\.md.*move them away"):
        materialize(dcon, q(20), out)  # without overwrite: not "pass overwrite=True"
    assert materialize(dcon, q(10), out).status == "up to date"  # a README changes no rows


def test_refusal_says_in_one_line_what_differs(dcon, tmp_path):
    out = tmp_path / "out"
    src = tmp_path / "in.parquet"
    dcon.execute(f"COPY ({q(10)}) TO '{src}'")
    query = f"SELECT * FROM read_parquet('{src}')"
    materialize(dcon, query, out)
    with pytest.raises(MaterializeError) as exc:
        materialize(dcon, query + " WHERE id > 2", out)
    msg = str(exc.value)
    assert "\n" not in msg and "query" in msg and "inputs" not in msg
    assert "overwrite=True" in msg
    dcon.execute(f"COPY ({q(11)}) TO '{src}'")
    with pytest.raises(MaterializeError) as exc:
        materialize(dcon, query, out)
    msg = str(exc.value)
    assert "\n" not in msg and "inputs" in msg and str(src) in msg and "query" not in msg
    # an older function version recorded in the manifest
    materialize(dcon, query, out, overwrite=True)
    m = read_manifest(out)
    m["functions"] = {"word_count": "0" * 12}
    (out / "_manifest.json").write_text(__import__("json").dumps(m))
    with pytest.raises(MaterializeError) as exc:
        materialize(dcon, query, out)
    assert "functions" in str(exc.value) and "word_count" in str(exc.value)


# -- 2. kill -9 inside the swap, then recovery -----------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    import duckdb
    from corpusql.materializer import materialize
    con = duckdb.connect()
    r = materialize(con, sys.argv[2], sys.argv[1], overwrite=True, force=True)
    for line in r.recovered:
        print(line)
    print(r.status)
""")


def _child(out, query, env=None, wait=True):
    full = {**os.environ, **(env or {})}
    cmd = [sys.executable, "-c", CHILD, str(out), query]
    if wait:
        return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=120)
    return subprocess.Popen(cmd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _killed_at(out, point, exchange=True):
    env = {"CORPUSQL_FAULT": point}
    if not exchange:
        env["CORPUSQL_RENAMEAT2"] = "0"
    proc = _child(out, q(30, "new"), env)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


# (fault point, renameat2 used, content after recovery: "old" or "new", target absent on disk)
SWAP_CASES = [
    ("write:copied", True, "old", False),
    ("swap:staged", True, "old", False),
    ("swap:exchanged", True, "new", False),
    ("swap:removing-old", True, "new", False),
    ("swap:staged", False, "old", False),
    ("swap:renamed-old", False, "new", True),
    ("swap:renamed-new", False, "new", False),
    ("swap:removing-old", False, "new", False),
]


@pytest.mark.parametrize("point, exchange, after, absent", SWAP_CASES,
                         ids=[f"{p}-{'exchange' if e else 'renames'}" for p, e, _, _ in SWAP_CASES])
@pytest.mark.parametrize("by", ["verify", "materialize"])
def test_kill_inside_the_swap_is_recovered(dcon, tmp_path, point, exchange, after, absent, by):
    out = tmp_path / "out"
    materialize(dcon, q(20, "old"), out)
    _killed_at(out, point, exchange)
    assert _hidden(tmp_path), "the kill left nothing behind: the fault point did not fire"
    assert out.exists() != absent
    if by == "verify":
        report = verify(out)
        assert report.ok, report.problems
        said = " ".join(report.recovered)
    else:
        r = materialize(dcon, q(20, "old"), out, overwrite=True)
        said = " ".join(r.recovered)
        assert r.status == ("up to date" if after == "old" else "written")
        after = "old"
    assert said, "recovery did not say what it did"
    assert _hidden(tmp_path) == []
    assert _ids(out) == list(range(20 if after == "old" else 30))
    assert verify(out).ok and verify(out).recovered == []


def test_kill_before_a_first_publish_leaves_nothing(dcon, tmp_path):
    out = tmp_path / "out"
    _killed_at(out, "swap:staged")
    assert not out.exists() and _hidden(tmp_path)
    report = verify(out)
    assert not report.ok and "removed" in " ".join(report.recovered)
    assert _hidden(tmp_path) == [] and not out.exists()


def test_status_command_recovers_and_says_so(dcon, tmp_path):
    out = tmp_path / "out"
    materialize(dcon, q(20, "old"), out)
    _killed_at(out, "swap:renamed-old", exchange=False)
    assert not out.exists()
    proc = subprocess.run(CLI + ["status", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "recovered" in proc.stdout and "30 rows" in proc.stdout
    assert _hidden(tmp_path) == [] and _ids(out) == list(range(30))


def test_a_leftover_old_copy_from_an_older_crash_is_removed(dcon, tmp_path):
    """The state a kill between the old code's two renames left: target gone, previous output
    only in a hidden ``.out.old-*`` copy, and nothing to put in its place."""
    out = tmp_path / "out"
    materialize(dcon, q(20, "old"), out)
    os.rename(out, tmp_path / ".out.old-1234abcd")
    report = verify(out)
    assert report.ok and "restored" in " ".join(report.recovered)
    assert _ids(out) == list(range(20)) and _hidden(tmp_path) == []


# -- 3. one writer per target ----------------------------------------------------------------


def test_second_writer_fails_naming_the_holder_then_succeeds_after_it_dies(tmp_path):
    out = tmp_path / "out"
    holder = _child(out, q(10), {"CORPUSQL_FAULT": "lock:acquired",
                                 "CORPUSQL_FAULT_SIGNAL": "STOP"}, wait=False)
    try:
        lock = tmp_path / ".out.lock"
        _, st = os.waitpid(holder.pid, os.WSTOPPED)  # stopped while holding the lock
        assert os.WIFSTOPPED(st)
        assert lock.read_text().split()[0] == str(holder.pid)
        second = _child(out, q(10, "b"))
        assert second.returncode != 0
        err = second.stderr
        assert str(out) in err and f"pid {holder.pid}" in err and "lock_timeout" in err
        assert not out.exists()
    finally:
        holder.kill()
        holder.communicate()
    third = _child(out, q(10, "b"))
    assert third.returncode == 0, third.stderr
    assert "written" in third.stdout and _ids(out) == list(range(10))
    assert f"took over the lock left by pid {holder.pid}" in third.stdout
    assert _hidden(tmp_path) == []


def test_a_waiting_writer_sees_the_first_writers_output(tmp_path):
    out = tmp_path / "out"
    first = _child(out, q(10), {"CORPUSQL_FAULT": "lock:acquired",
                                "CORPUSQL_FAULT_SIGNAL": "STOP"}, wait=False)
    _, st = os.waitpid(first.pid, os.WSTOPPED)
    assert os.WIFSTOPPED(st)
    env = {**os.environ, "CORPUSQL_LOCK_TIMEOUT": "600"}
    code = textwrap.dedent("""
        import sys
        import duckdb
        from corpusql.materializer import materialize, MaterializeError
        con = duckdb.connect()
        print("waiting", flush=True)
        try:
            print(materialize(con, sys.argv[2], sys.argv[1]).status)
        except MaterializeError as exc:
            print("refused:", exc)
    """)
    second = subprocess.Popen([sys.executable, "-c", code, str(out), q(10, "b")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert second.stdout.readline().strip() == "waiting"
    os.kill(first.pid, signal.SIGCONT)
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and out1.strip() == "written", err1
    assert second.returncode == 0, err2
    assert out2.splitlines()[-1].startswith("refused:")  # not a second silent "written"
    assert "query" in out2 and _ids(out) == list(range(10))


# -- 4. staging private to each call ---------------------------------------------------------


@pytest.mark.parametrize("same_target", [False, True], ids=["two-targets", "one-target"])
def test_threads_of_one_process_never_touch_each_others_staging(tmp_path, same_target):
    con = duckdb.connect()
    errors: list[str] = []
    statuses: list[str] = []

    def work(name):
        c = con.cursor()
        try:
            for i in range(6):
                r = materialize(c, q(20000 + i, name), tmp_path / ("same" if same_target else name),
                                overwrite=True, force=True, lock_timeout=600)
                statuses.append(r.status)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(exc))
        finally:
            c.close()

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        con.close()
    assert errors == []
    assert statuses == ["written"] * 12
    for name in (["same"] if same_target else ["a", "b"]):
        assert verify(tmp_path / name).ok
    assert _hidden(tmp_path) == []


# -- 5. readers never see staging -------------------------------------------------------------


def test_a_glob_over_the_parent_never_sees_a_write_in_progress(dcon, tmp_path):
    parent = tmp_path / "lake"
    out = parent / "out"
    materialize(dcon, q(20, "old"), out)
    writer = _child(out, q(30, "new"), {"CORPUSQL_FAULT": "write:copied",
                                        "CORPUSQL_FAULT_SIGNAL": "STOP"}, wait=False)
    try:
        _, st = os.waitpid(writer.pid, os.WSTOPPED)  # every file written, not yet published
        assert os.WIFSTOPPED(st)
        staged = [p for p in parent.rglob("*") if p.is_file() and ".staging-" in str(p)]
        assert staged, "the writer stopped before writing anything"
        for pattern in (f"{parent}/**/*.parquet", f"{parent}/*/*.parquet", f"{out}/*.parquet"):
            got = dcon.execute(f"SELECT count(*), min(text) FROM read_parquet('{pattern}')")
            assert got.fetchall() == [(20, "old0")], pattern
    finally:
        os.kill(writer.pid, signal.SIGCONT)
        stdout, stderr = writer.communicate(timeout=120)
    assert writer.returncode == 0, stderr
    got = dcon.execute(f"SELECT count(*), min(text) FROM read_parquet('{parent}/**/*.parquet')")
    assert got.fetchall() == [(30, "new0")]


# -- 6. partitioned output is deterministic ---------------------------------------------------


def test_partitioned_output_is_byte_identical_and_in_order_whatever_the_threads(tmp_path):
    src = tmp_path / "in.parquet"
    c = duckdb.connect()
    c.execute(f"COPY (SELECT range AS id, range % 3 AS grp, 'doc ' || range AS text "
              f"FROM range(300000)) TO '{src}'")
    c.close()
    listings = []
    for threads in (1, 2, 4, 2):
        con = duckdb.connect(config={"threads": threads})
        try:
            r = materialize(con, f"SELECT * FROM read_parquet('{src}')", tmp_path / f"t{len(listings)}",
                            partition_by="grp", order_by="id")
            assert con.execute("SELECT current_setting('threads')").fetchall() == [(threads,)]
        finally:
            con.close()
        listings.append([(f["path"], f["sha256"]) for f in r.files])
        for f in r.files:
            ids = pq.read_table(r.out_dir / f["path"]).column("id").to_pylist()
            assert ids == sorted(ids), f["path"]
    assert listings[0] == listings[1] == listings[2] == listings[3]
    assert [p for p, _ in listings[0]] == [f"grp={g}/part-0.parquet" for g in range(3)]


# -- CORPUSQL_DB ------------------------------------------------------------------------------


def test_run_shell_and_materialize_honour_corpusql_db(tmp_path):
    db = tmp_path / "lake.duckdb"
    c = duckdb.connect(str(db))
    c.execute("CREATE TABLE docs AS SELECT range AS id, 'only in lake' AS text FROM range(7)")
    c.close()
    env = {**os.environ, "CORPUSQL_DB": str(db)}
    script = tmp_path / "q.sql"
    script.write_text("SELECT count(*) AS n, min(text) AS t FROM docs;\n")

    def cli(*args, stdin=""):
        proc = subprocess.run(CLI + ["-q", *args], input=stdin, env=env, capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "only in lake" in cli("run", str(script), "--mode", "csv")
    assert "only in lake" in cli("shell", stdin="SELECT min(text) FROM docs;\n")
    assert "7 rows" in cli("materialize", "SELECT * FROM docs", str(tmp_path / "out"))
    assert _ids(tmp_path / "out") == list(range(7))


def test_verify_and_status_never_touch_a_live_writers_staging(dcon, tmp_path):
    out = tmp_path / "out"
    materialize(dcon, q(20, "old"), out)
    writer = _child(out, q(30, "new"), {"CORPUSQL_FAULT": "write:copied",
                                        "CORPUSQL_FAULT_SIGNAL": "STOP"}, wait=False)
    try:
        _, st = os.waitpid(writer.pid, os.WSTOPPED)
        assert os.WIFSTOPPED(st)
        staging = [n for n in _hidden(tmp_path) if ".staging-" in n]
        assert len(staging) == 1
        report = verify(out)
        assert report.ok and report.recovered == []
        proc = subprocess.run(CLI + ["status", str(out)], capture_output=True, text=True,
                              timeout=120)
        assert f"being materialized by pid {writer.pid}" in proc.stdout, proc.stderr
        assert "20 rows" in proc.stdout
        assert [n for n in _hidden(tmp_path) if ".staging-" in n] == staging
    finally:
        os.kill(writer.pid, signal.SIGCONT)
        stdout, stderr = writer.communicate(timeout=120)
    assert writer.returncode == 0 and stdout.strip() == "written", stderr
    assert _ids(out) == list(range(30)) and _hidden(tmp_path) == []


def test_partitioned_writes_on_two_threads_restore_the_thread_setting(tmp_path):
    con = duckdb.connect(config={"threads": 3})
    errors: list[str] = []

    def work(name):
        c = con.cursor()
        try:
            for i in range(4):
                materialize(c, f"SELECT range AS id, range % 4 AS grp FROM range({5000 + i})",
                            tmp_path / f"{name}{i}", partition_by="grp", order_by="id")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(exc))
        finally:
            c.close()

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert con.execute("SELECT current_setting('threads')").fetchall() == [(3,)]
    finally:
        con.close()
