"""``%%sql`` for Jupyter: run SQL cells on a corpusql connection, results as DataFrames.

    %load_ext corpusql.magic
    %sql_connect lake.duckdb          # or: it uses a variable `con` holding a duckdb connection
    %%sql
    SELECT source, count(*) AS n FROM docs GROUP BY ALL ORDER BY n DESC

``%%sql NAME`` also stores the DataFrame in the notebook variable ``NAME``; ``%sql SELECT ...``
runs one line. A cell may hold several statements: all run, the last result is returned.
Errors show a message without a traceback (corpusql.explain words mistakes in corpusql
function arguments in the user's terms).
"""

from __future__ import annotations

import weakref

import duckdb

from .errors import QueryError

#: The connection each IPython shell opened (``%sql_connect``, or the one made for a shell with no
#: ``con``), per shell: a second shell in the same process starts with none.
_OPENED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def connection_of(shell) -> duckdb.DuckDBPyConnection | None:
    """The connection the magic opened in this shell, if any."""
    return _OPENED.get(shell)


def _connection(shell):
    con = _OPENED.get(shell)
    if con is None:
        candidate = shell.user_ns.get("con")
        if isinstance(candidate, duckdb.DuckDBPyConnection):
            return candidate
        import corpusql

        con = corpusql.connect()
        _OPENED[shell] = con
    return con


def _run(shell, sql: str):
    con = _connection(shell)
    statements = duckdb.extract_statements(sql)
    if not statements:
        return None
    for stmt in statements[:-1]:
        con.execute(stmt.query)
    cur = con.execute(statements[-1].query)
    if cur.description is None:
        return None
    return cur.df()


class SqlError(QueryError):
    """A SQL cell failed: the message is DuckDB's."""


def load_ipython_extension(ipython) -> None:
    from IPython.core.magic import register_cell_magic, register_line_magic

    def show_error(exc: Exception, sql: str = "") -> None:
        from .explain import explain

        print(f"SQL error: {explain(exc, sql, _OPENED.get(ipython) or ipython.user_ns.get('con'))}")

    @register_line_magic("sql_connect")
    def sql_connect(line: str):
        """Open (or switch to) a corpusql connection: %sql_connect [DATABASE]."""
        import corpusql

        old = _OPENED.get(ipython)
        _OPENED[ipython] = corpusql.connect(line.strip() or ":memory:")
        if old is not None:
            old.close()

    @register_line_magic("sql")
    def sql_line(line: str):
        try:
            return _run(ipython, line)
        except duckdb.Error as exc:
            show_error(exc, line)
            return None

    @register_cell_magic("sql")
    def sql_cell(line: str, cell: str):
        name = line.strip()
        if name and not name.isidentifier():
            show_error(ValueError(f"%%sql takes an optional variable name, got {name!r}"))
            return None
        try:
            result = _run(ipython, cell)
        except duckdb.Error as exc:
            show_error(exc, cell)
            return None
        if name:
            ipython.user_ns[name] = result
        return result

    del sql_connect, sql_line, sql_cell


def unload_ipython_extension(ipython) -> None:
    con = _OPENED.pop(ipython, None)
    if con is not None:
        con.close()
