"""What a manifest records about what made an output: input files, tables, functions, versions.

``input_files`` finds the files a query reads from the file literals in its SQL and in the views
it reads (transitively); ``functions_used`` the corpusql functions and macros it calls, with
their versions. Both work on SQL text, so they see through views but not through tables.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

import duckdb

_FILE_LITERAL = re.compile(r"'([^']+\.(?:parquet|csv|json|jsonl|ndjson|tsv|txt)(?:\.gz|\.zst)?)'",
                           re.IGNORECASE)


def views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every user view's lower-cased name and SQL."""
    return {r[0].lower(): r[1] for r in con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()}


@dataclass
class Inputs:
    """What a query reads: local files, catalog datasets, base tables, unversioned sources."""

    files: list[dict] = field(default_factory=list)
    datasets: dict[str, dict] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    unversioned: list[str] = field(default_factory=list)


def local_file(path: str) -> dict:
    """A local input file's identity: absolute path, size, mtime and sha256 of its bytes."""
    from .materializer import sha256_file

    st = os.stat(path)
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256": sha256_file(path)}


def input_files(con: duckdb.DuckDBPyConnection, query: str, views: dict[str, str]) -> Inputs:
    """Files, catalog datasets and base tables the query reads (also through views).

    File literals that name no local file (``s3://...`` read directly) have no recorded
    version: they are returned as ``unversioned``. A catalog dataset's view is not scanned
    for literals; its files are recorded by ``dataset_inputs.dataset_inputs``.
    """
    from .dataset_inputs import catalog_datasets, dataset_inputs

    seen_views: set[str] = set()
    files: dict[str, dict] = {}
    tables: set[str] = set()
    unversioned: set[str] = set()
    found: dict[str, dict] = {}
    base = {r[0].lower() for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name <> 'corpusql'").fetchall()}
    catalog = catalog_datasets(con)

    def scan(sql: str) -> None:
        for lit in _FILE_LITERAL.findall(sql):
            paths = [p for p in sorted(glob.glob(lit, recursive=True)) if os.path.isfile(p)]
            if not paths and not os.path.isfile(lit):
                unversioned.add(lit)
            for path in paths or [lit]:
                if os.path.isfile(path):
                    files[path] = local_file(path)
        words = {w.lower() for w in re.findall(r"[A-Za-z_]\w*", re.sub(r"'[^']*'", "", sql))}
        quoted = {w.lower() for w in re.findall(r"'([A-Za-z_]\w*)'", sql)}
        for name in words | quoted:
            if name in catalog and name in views:
                if name not in found:
                    found[name] = dataset_inputs(con, catalog[name])
            elif name in views and name not in seen_views:
                seen_views.add(name)
                scan(views[name])
            elif name in base:
                tables.add(name)

    scan(query)
    return Inputs(sorted(files.values(), key=lambda f: f["path"]), dict(sorted(found.items())),
                  sorted(tables), sorted(unversioned))


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
    """{path: sha256} of the model files read by ``onnx_score``/``quality_score``/``lang_id``
    and ``embed`` (its model and tokenizer files)."""
    from .udfs.embed_models import models_in_sql as embed_models_in_sql
    from .udfs.onnx_score import models_in_sql

    return dict(sorted({**models_in_sql(sql), **embed_models_in_sql(sql)}.items()))


def versions() -> dict[str, str]:
    import pyarrow

    from . import __version__

    return {"corpusql": __version__, "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}

