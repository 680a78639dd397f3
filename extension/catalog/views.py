"""The SQL of a dataset's view: cached Parquet copies plus live Parquet files, by name."""

from __future__ import annotations

from .remote import route_path, route_sql


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _list(paths: list[str]) -> str:
    return "[" + ", ".join(lit(p) for p in paths) + "]"


def view_sql(name: str, cached: list[str], live: list[str], remote: bool,
             lineage: tuple[str, str] = ("_file", "_row")) -> str:
    """``CREATE OR REPLACE VIEW name`` reading ``cached`` copies and ``live`` Parquet sources.

    Cached copies already hold the ``lineage`` columns (``_file`` and ``_row`` unless the
    dataset's files have their own); live files get them from DuckDB's ``filename`` and
    ``file_row_number`` (made 1-based, like the line numbers of text formats).
    """
    lin_file, lin_row = (ident(c) for c in lineage)
    parts = []
    if cached:
        parts.append(f"SELECT * FROM read_parquet({_list(cached)}, union_by_name = true)")
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
    return f"CREATE OR REPLACE VIEW main.{ident(name)} AS\n{body}"
