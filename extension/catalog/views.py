"""The SQL of a dataset's view (cached Parquet copies plus live Parquet files, by name), and
the relative form of the paths the catalog stores.

A local path under the *catalog directory* (the directory of the database file) is stored
relative to it, so a lake copied or moved as a whole (database, data and cache) still finds its
files; views are built with the absolute paths of where the catalog is now.
"""

from __future__ import annotations

import os

from .routefs import route_path, route_sql


def _local(p: str) -> bool:
    return "://" not in p and not p.startswith("git+")


def relative(path: str | None, base: str | None) -> str | None:
    """``path`` as stored: relative to ``base`` when it is a local path under ``base``."""
    if path is None or base is None or not _local(path) or not os.path.isabs(path):
        return path
    try:
        if os.path.commonpath([path, base]) != base:
            return path
    except ValueError:  # different drives
        return path
    return os.path.relpath(path, base)


def resolve(path: str | None, base: str | None) -> str | None:
    """Inverse of :func:`relative`: the absolute path of a stored ``path``."""
    if path is None or base is None or not _local(path) or os.path.isabs(path):
        return path
    return os.path.join(base, path)


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _list(paths: list[str]) -> str:
    return "[" + ", ".join(lit(p) for p in paths) + "]"


def _moved(column: str, moves: list[tuple[str, str]]) -> str:
    """SQL giving ``column`` (an absolute path) with each ``(old, new)`` directory prefix
    replaced: the source path a cached copy recorded before its lake was moved."""
    cases = " ".join(f"WHEN starts_with({column}, {lit(old + '/')}) "
                     f"THEN {lit(new)} || {column}[{len(old) + 1}:]" for old, new in moves)
    return f"CASE {cases} ELSE {column} END"


def view_sql(name: str, cached: list[str], live: list[str], remote: bool,
             lineage: tuple[str, str] = ("_file", "_row"), temp: bool = False,
             moves: list[tuple[str, str]] | None = None, hidden: str | None = None) -> str:
    """``CREATE OR REPLACE VIEW name`` over :func:`view_body` (see :func:`wrap_view`)."""
    return wrap_view(name, view_body(name, cached, live, remote, lineage, moves), lineage,
                     temp=temp, hidden=hidden)


def wrap_view(name: str, body: str, lineage: tuple[str, str] = ("_file", "_row"), *,
              temp: bool = False, hidden: str | None = None) -> str:
    """``CREATE OR REPLACE VIEW name AS body``. ``temp``: a TEMP view of this connection, which
    hides the stored view of the same name (a read-only connection on a moved lake cannot
    rewrite the stored one). ``hidden``: a table of taken-down rows (``dataset``, ``file``,
    ``row``: the lineage values of rows a recorded takedown matches, see
    corpusql.takedown_views); the view leaves those rows out."""
    if hidden:
        lin_file, lin_row = (ident(c) for c in lineage)
        body = (f"SELECT * FROM (\n{body}\n) AS __corpusql_d WHERE NOT EXISTS (SELECT 1 FROM "
                f"{hidden} AS __corpusql_t WHERE __corpusql_t.dataset = {lit(name)} AND "
                f"__corpusql_t.file = __corpusql_d.{lin_file} AND "
                f'__corpusql_t."row" = __corpusql_d.{lin_row})')
    target = f"TEMP VIEW {ident(name)}" if temp else f"VIEW main.{ident(name)}"
    return f"CREATE OR REPLACE {target} AS\n{body}"


def view_body(name: str, cached: list[str], live: list[str], remote: bool,
              lineage: tuple[str, str] = ("_file", "_row"),
              moves: list[tuple[str, str]] | None = None) -> str:
    """The SELECT of dataset ``name``'s view, reading ``cached`` copies and ``live`` Parquet
    sources (absolute paths).

    Cached copies already hold the ``lineage`` columns (``_file`` and ``_row`` unless the
    dataset's files have their own); live files get them from DuckDB's ``filename`` and
    ``file_row_number`` (made 1-based, like the line numbers of text formats).
    ``moves``: ``(old, new)`` catalog directories; a cached lineage file under ``old`` (written
    before the lake moved) is shown under ``new``.
    """
    lin_file, lin_row = (ident(c) for c in lineage)
    parts = []
    if cached:
        star = f"* REPLACE ({_moved(lin_file, moves)} AS {lin_file})" if moves else "*"
        parts.append(f"SELECT {star} FROM read_parquet({_list(cached)}, union_by_name = true)")
    if live:
        paths = [route_path(name, p) for p in live] if remote else live
        file_expr = route_sql("__corpusql_file", name) if remote else "__corpusql_file"
        parts.append(
            "SELECT * EXCLUDE (file_row_number, __corpusql_file), "
            f"{file_expr} AS {lin_file}, file_row_number + 1 AS {lin_row} "
            f"FROM read_parquet({_list(paths)}, filename = '__corpusql_file', "
            "file_row_number = true, union_by_name = true)"
        )
    if not parts:
        body = f"SELECT NULL::VARCHAR AS {lin_file}, NULL::BIGINT AS {lin_row} WHERE false"
    else:
        body = "\nUNION ALL BY NAME\n".join(parts)
    return body
