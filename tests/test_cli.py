"""The corpusql command: shell through stdin, run, materialize, verify, functions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import corpusql

CLI = [sys.executable, "-m", "corpusql.cli"]


def run(args, stdin="", cwd=None, check=True):
    proc = subprocess.run(CLI + args, input=stdin, capture_output=True, text=True, cwd=cwd,
                          timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_shell_statements_span_lines_and_errors_keep_it_up(tmp_path):
    script = (
        "CREATE TABLE t AS\n  SELECT range AS id FROM range(3);\n"
        "SELECT * FROM nosuch;\n"
        "SELECT count(*) AS n,\n word_count('a b') AS w FROM t;\n"
        ".mode csv\n"
        "SELECT id FROM t ORDER BY id;\n"
        ".mode markdown\nSELECT 1 AS one;\n"
        ".mode json\nSELECT 'x' AS s;\n"
        ".tables\n.schema t\n.functions\n.timer on\nSELECT 2 AS two;\n.bogus\n.quit\n"
        "SELECT 'never run';\n"
    )
    proc = run(["shell", str(tmp_path / "s.duckdb")], stdin=script)
    out, err = proc.stdout, proc.stderr
    assert "Table with name nosuch does not exist" in err
    assert "| n | w |" in out.replace("  ", " ") or "n" in out
    assert "| 3 | 2 |" in out.replace("  ", " ")
    assert "id\n0\n1\n2\n" in out
    assert "| one |" in out
    assert '{"s": "x"}' in out
    assert "column_name" in out and "split_assign" in out
    assert "Run Time:" in out
    assert "unknown command .bogus" in err
    assert "never run" not in out


def test_shell_read_runs_a_file(tmp_path):
    sql = tmp_path / "q.sql"
    sql.write_text("CREATE TABLE a AS SELECT 41 AS x;\nSELECT x + 1 AS answer FROM a;\n")
    proc = run(["shell"], stdin=f".read {sql}\n.read {tmp_path / 'missing.sql'}\n")
    assert "42" in proc.stdout
    assert "missing.sql: no such SQL file" in proc.stderr


def test_shell_ctrl_c_cancels_the_query_not_the_shell(tmp_path):
    """SIGINT while a long query runs: the query is cancelled and the shell keeps reading."""
    proc = subprocess.Popen(CLI + ["shell"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # wait until the shell answers, so the signal cannot arrive before it is up
        proc.stdin.write(".mode csv\nSELECT 'ready' AS r;\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "r"
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write("SELECT count(*) FROM range(100000000000) a;\n")
        proc.stdin.flush()
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        proc.stdin.write("SELECT 'still here' AS s;\n.quit\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "query cancelled" in err
    assert "still here" in out
    assert proc.returncode == 0


def test_run_materialize_verify(tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("SELECT text_normalize('Hello, World!') AS t;\n")
    assert "hello world" in run(["run", str(script)]).stdout
    out = tmp_path / "out"
    q = "SELECT range AS id, split_assign(range) AS split FROM range(100)"
    proc = run(["materialize", q, str(out), "--order-by", "id"])
    assert "written, 100 rows in 1 files" in proc.stdout
    assert "ok, 1 files match" in run(["verify", str(out)]).stdout
    # refuses to replace without --overwrite, with a clear message and exit 1
    proc = run(["materialize", q + " LIMIT 5", str(out)], check=False)
    assert proc.returncode == 1 and "pass overwrite=True (--overwrite)" in proc.stderr
    (out / "part-0.parquet").write_bytes(b"garbage")
    proc = run(["verify", str(out)], check=False)
    assert proc.returncode == 1 and "part-0.parquet" in proc.stderr


def test_bad_sql_exits_non_zero_with_the_place(tmp_path):
    script = tmp_path / "bad.sql"
    script.write_text("SELECT 1;\n\nSELECT * FROM nowhere;\n")
    proc = run(["run", str(script)], check=False)
    assert proc.returncode == 1
    assert f"{script}:3: statement 2" in proc.stderr and "nowhere" in proc.stderr


def test_functions_lists_the_registry_as_json():
    rows = json.loads(run(["functions", "--format", "json"]).stdout)
    names = {r["name"] for r in rows}
    from corpusql.functions import REGISTRY

    assert {f.name for f in REGISTRY} <= names
    assert "exact_dup_groups" in names


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "corpusql"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == f"corpusql {corpusql.__version__}"
    assert os.access(exe, os.X_OK)
