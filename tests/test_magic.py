"""The ``%%sql`` magic keeps its connection per IPython shell: a second shell in the same
process (a test runner, an embedding application) starts with none and uses its own ``con``."""

from __future__ import annotations

import contextlib
import io

import duckdb
import pytest

import corpusql


@contextlib.contextmanager
def shell(con=None, unload: bool = True):
    """An IPython shell with the magic loaded (and ``con`` in its namespace when given), unloaded
    at the end unless ``unload`` is false (a shell just dropped); also used by
    tests/errors/test_user_errors.py."""
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance(user_ns={} if con is None else {"con": con})
    try:
        sh.run_line_magic("load_ext", "corpusql.magic")
        yield sh
    finally:
        if unload:
            sh.run_line_magic("unload_ext", "corpusql.magic")  # closes what the magic opened
        sh.cleanup()
        InteractiveShell.clear_instance()


def cell(sh, sql: str):
    """Run a ``%%sql`` cell: (its result, what it printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = sh.run_cell_magic("sql", "", sql)
    return result, printed.getvalue().strip()


def test_a_new_shell_does_not_inherit_the_previous_shells_connection():
    with shell(unload=False) as first:
        first.run_line_magic("sql_connect", "")
        result, _ = cell(first, "CREATE TABLE only_in_first AS SELECT 1 AS x; SELECT x FROM only_in_first")
        assert result["x"].tolist() == [1]
    con = corpusql.connect()
    try:
        con.execute("CREATE TABLE mine AS SELECT 42 AS answer")
        with shell(con) as second:
            result, printed = cell(second, "SELECT answer FROM mine")
            assert printed == "" and result["answer"].tolist() == [42]
            _, printed = cell(second, "SELECT * FROM only_in_first")
            assert printed.startswith("SQL error: ") and "only_in_first" in printed
    finally:
        con.close()


def test_sql_connect_switches_and_closes_the_shells_previous_connection(tmp_path):
    with shell() as sh:
        sh.run_line_magic("sql_connect", str(tmp_path / "a.duckdb"))
        cell(sh, "CREATE TABLE t AS SELECT 'a' AS db")
        from corpusql import magic

        old = magic.connection_of(sh)
        sh.run_line_magic("sql_connect", str(tmp_path / "b.duckdb"))
        with pytest.raises(duckdb.ConnectionException):
            old.execute("SELECT 1")
        _, printed = cell(sh, "SELECT * FROM t")
        assert "SQL error: " in printed  # b.duckdb has no table t
