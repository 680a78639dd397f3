"""What a manifest records about what made an output: input files, tables, functions, versions.

``input_files`` finds the files a query reads from the file literals in its SQL and in the views
it reads (transitively); ``functions_used`` the corpusql functions and macros it calls, with
their versions. Both work on SQL text, so they see through views but not through tables.
"""

from __future__ import annotations

import glob
import os
import re

import duckdb

_FILE_LITERAL = re.compile(r"'([^']+\.(?:parquet|csv|json|jsonl|ndjson|tsv|txt)(?:\.gz|\.zst)?)'",
                           re.IGNORECASE)


def views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every user view's lower-cased name and SQL."""
    return {r[0].lower(): r[1] for r in con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()}


def input_files(con: duckdb.DuckDBPyConnection, query: str,
                 views: dict[str, str]) -> tuple[list[dict], list[str]]:
    """Files the query reads (file literals, also through views) and base tables it reads."""
    seen_views: set[str] = set()
    files: dict[str, dict] = {}
    tables: set[str] = set()
    base = {r[0].lower() for r in con.execute(
        "SELECT table_name FROM duckdb_tables()").fetchall()}

    def scan(sql: str) -> None:
        for lit in _FILE_LITERAL.findall(sql):
            for path in sorted(glob.glob(lit, recursive=True)) or [lit]:
                if os.path.exists(path):
                    st = os.stat(path)
                    files[path] = {"path": os.path.abspath(path), "size": st.st_size,
                                   "mtime_ns": st.st_mtime_ns}
        words = {w.lower() for w in re.findall(r"[A-Za-z_]\w*", re.sub(r"'[^']*'", "", sql))}
        quoted = {w.lower() for w in re.findall(r"'([A-Za-z_]\w*)'", sql)}
        for name in words | quoted:
            if name in views and name not in seen_views:
                seen_views.add(name)
                scan(views[name])
            elif name in base:
                tables.add(name)

    scan(query)
    return sorted(files.values(), key=lambda f: f["path"]), sorted(tables)


def functions_used(query: str, views: dict[str, str]) -> dict[str, str]:
    """corpusql functions and macros the query calls, with their versions (transitively)."""
    from .functions import REGISTRY
    from .sqllib import library_by_name

    lib = library_by_name()
    used: dict[str, str] = {}
    todo = [query]
    seen_views: set[str] = set()
    while todo:
        sql = todo.pop()
        for name in set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", sql)):
            if name in used:
                continue
            if name in REGISTRY:
                used[name] = REGISTRY[name].version
            elif name in lib:
                used[name] = lib[name].version
                todo.append(lib[name].body)
        for word in set(re.findall(r"[A-Za-z_]\w*", sql)):
            w = word.lower()
            if w in views and w not in seen_views:
                seen_views.add(w)
                todo.append(views[w])
    return dict(sorted(used.items()))


def models_used(sql: str) -> dict[str, str]:
    """{path: sha256} of the model files read by ``onnx_score``/``quality_score``/``lang_id``."""
    from .udfs.onnx_score import models_in_sql

    return models_in_sql(sql)


def versions() -> dict[str, str]:
    import pyarrow

    from . import __version__

    return {"corpusql": __version__, "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}

