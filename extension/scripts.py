"""Run SQL scripts statement by statement (DuckDB's own splitter), naming the failing line."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from .errors import QueryError


class ScriptError(QueryError):
    """A statement of a script failed; the message names the file and line."""


def run_script(con: duckdb.DuckDBPyConnection, sql: str, *, path: str = "<script>",
               on_result=None) -> int:
    """Execute every statement of ``sql`` in order; return how many ran.

    ``on_result(statement, columns, rows)`` is called for statements that return rows.
    """
    statements = duckdb.extract_statements(sql)
    offset = 0
    for n, stmt in enumerate(statements, 1):
        text = stmt.query
        start = sql.find(text.strip()[:40], offset)
        line = sql.count("\n", 0, start) + 1 if start >= 0 else 0
        offset = max(offset, start)
        try:
            cur = con.execute(text)
            if on_result is not None and cur.description:
                on_result(text, [d[0] for d in cur.description], cur.fetchall())
        except duckdb.Error as exc:
            from .explain import explain

            raise ScriptError(f"{path}:{line}: statement {n}: {explain(exc, text, con)}") from exc
    return len(statements)


def run_file(con: duckdb.DuckDBPyConnection, path: str | os.PathLike, **kw) -> int:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScriptError(f"{p}: no such SQL file") from None
    return run_script(con, text, path=str(p), **kw)
