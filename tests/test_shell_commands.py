"""The shell's listing commands on an 80-column terminal: .tables, .functions, .help."""

from __future__ import annotations

import io

import pytest

from corpusql.shell import Shell


@pytest.fixture
def shell(mcon):
    sh = Shell(mcon, out=io.StringIO(), err=io.StringIO(), restricted=False)
    yield sh
    for stmt in ("DROP TABLE IF EXISTS t", "DROP VIEW IF EXISTS v", "DROP SCHEMA IF EXISTS s CASCADE",
                 "DROP TABLE IF EXISTS temp.scratch", "DETACH DATABASE IF EXISTS other"):
        mcon.execute(stmt)


def _run(shell, command: str) -> str:
    shell.out.seek(0)
    shell.out.truncate()
    shell.dot(command)
    assert shell.err.getvalue() == ""
    return shell.out.getvalue()


def test_tables_are_schema_qualified_and_grouped_by_schema(shell, mcon):
    mcon.execute("CREATE TABLE t (a INT); CREATE VIEW v AS SELECT 1 AS one; CREATE SCHEMA s; "
                 "CREATE TABLE s.x (b INT); CREATE TEMP TABLE scratch (c INT); "
                 "ATTACH ':memory:' AS other; CREATE TABLE other.main.y (d INT)")
    assert _run(shell, ".tables").splitlines() == [
        "main (no schema needed):", "  t  v (view)",
        "other.main:", "  other.main.y",
        "s:", "  s.x",
        "temp:", "  temp.scratch",
    ]


def test_functions_fit_80_columns_one_line_each(shell, mcon):
    text = _run(shell, ".functions")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    names = [r[0] for r in mcon.execute("SELECT name FROM corpusql_functions() ORDER BY name")
             .fetchall()]
    assert [line.split()[0] for line in lines[:-1]] == names
    assert any(line.startswith("split_assign ") and "'train', 'val' or 'test'" in line
               for line in lines)
    assert ".functions NAME" in lines[-1]


def test_functions_name_gives_the_full_signature(shell, mcon):
    (signature,) = mcon.execute(
        "SELECT signature FROM corpusql_functions() WHERE name = 'mix'").fetchone()
    text = _run(shell, ".functions mix")
    assert text.splitlines()[0] == signature
    assert "returns: every column of tbl, mix_group, epoch, mix_rank" in text
    assert "budget_tokens" in text
    assert _run(shell, ".functions mixx").strip() == "no corpusql function 'mixx'; did you mean mix?"


def test_help_lists_corpusql_commands_beside_duckdbs(shell):
    text = _run(shell, ".help")
    ours, duckdbs = text.split("DuckDB shell commands this shell has")
    assert ours.startswith("corpusql commands") and ".functions NAME" in ours
    for cmd in (".tables", ".schema", ".read", ".mode", ".timer", ".quit"):
        assert f"  {cmd} " in duckdbs
    assert "has not: .open" in duckdbs
    assert max(len(line) for line in text.splitlines()) <= 80
