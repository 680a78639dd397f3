"""``corpusql shell``: a role shell refuses file and process escapes; no shell error quotes a
file. Each test runs the real CLI in a subprocess and feeds its standard input."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
from catalog_helpers import write_parquet

import corpusql

CLI = [sys.executable, "-m", "corpusql.cli"]
PLANTED = "planted-7f3a-token"


def _shell(args: list[str], lines: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + ["shell", *args], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ),
                          timeout=300)


def test_role_shell_refuses_escapes_and_reads_nothing(db, tmp_path):
    from corpusql.catalog import secrets

    secrets.put("lake", "http", {"password": PLANTED})  # the secrets file the role could name
    outside = tmp_path / "outside.sql"
    outside.write_text(f"SELECT '{PLANTED}' AS leaked;\n")
    write_parquet(tmp_path / "a" / "x.parquet", 3)
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add("docs", str(tmp_path / "a" / "*.parquet"))
        cat.add_role("team")
        cat.grant("team", "docs")
    finally:
        con.close()
    work = tmp_path / "work"
    work.mkdir()
    escapes = [f".read {secrets.store_path()}", f".read {outside}", ".read /etc/passwd",
               ".open /tmp/other.duckdb", ".shell id", ".system id", ".output out.txt",
               ".once out.txt", ".import data.csv t", ".load x.duckdb_extension", ".cd /",
               ".log out.txt", ".save out.duckdb", ".backup out.duckdb", ".restore x",
               ".excel", ".dump", ".nonsense"]
    proc = _shell([str(db), "--role", "team"],
                  escapes + ["SELECT count(*) AS n FROM docs;", ".tables", ".quit"], work)
    assert proc.returncode == 0, proc.stderr
    for cmd in escapes:
        name = cmd.split()[0]
        assert f"Error: {name} is not allowed in a role shell" in proc.stderr, (cmd, proc.stderr)
    assert PLANTED not in proc.stdout + proc.stderr
    assert "root:" not in proc.stdout + proc.stderr
    assert "3" in proc.stdout and "docs" in proc.stdout  # the allowed commands still work
    assert os.listdir(work) == []


def test_read_errors_never_quote_the_file(tmp_path):
    """The test failed before the change: '.read' of a file that is not SQL ended the shell
    with DuckDB's parser error, which quoted the file's first line."""
    work = tmp_path / "work"
    work.mkdir()
    notsql = tmp_path / "notes.txt"
    notsql.write_text(f"{PLANTED}: not sql at all\nsecond {PLANTED}\n")
    half = tmp_path / "half.sql"
    half.write_text(f"SELECT 1 AS one;\nSELECT * FROM missing_table WHERE x = '{PLANTED}';\n")
    good = work / "good.sql"
    good.write_text("SELECT 41 + 1 AS answer;\n")
    proc = _shell([], [f".read {notsql}", f".read {half}", ".read good.sql",
                       ".read no_such.sql", "SELECT 'still here' AS s;"], work)
    assert proc.returncode == 0, proc.stderr
    assert PLANTED not in proc.stdout + proc.stderr
    assert f"Error: {notsql}:1: not a SQL script (parser error); nothing was run" in proc.stderr
    assert f"Error: {half}:2: statement 2:" in proc.stderr
    assert "42" in proc.stdout and "still here" in proc.stdout
    assert "no_such.sql: no such SQL file" in proc.stderr
