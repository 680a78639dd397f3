"""What a manifest records about what made an output: input files, tables, functions, versions.

``input_files`` finds the files, catalog datasets and tables a query reads, in its SQL and in the
views it reads (transitively); ``functions_used`` the corpusql functions and macros it calls, with
their versions. Both read SQL text with sqlglot (``sqlparse``), so they see through views but not
through tables, and never mistake a comment or a string for SQL.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import duckdb

from . import sqlparse
from .files import sha256_file
from .version import __version__


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
        read = sqlparse.reads(sql)
        for lit in read.files:
            paths = [p for p in sorted(glob.glob(lit, recursive=True)) if os.path.isfile(p)]
            if not paths and not os.path.isfile(lit):
                unversioned.add(lit)
            for path in paths or [lit]:
                if os.path.isfile(path):
                    files[path] = local_file(path)
        for name in _short_names(read.tables | read.names):
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


def _short_names(names: frozenset[str]) -> set[str]:
    """``main.docs`` -> ``docs`` (views and catalog datasets are looked up by name)."""
    return {n.rsplit(".", 1)[-1] for n in names}


def functions_used(query: str, views: dict[str, str], recipe: str | None = None
                   ) -> dict[str, str]:
    """corpusql functions and macros the query (and the recipe that built its tables) calls,
    with their versions (transitively)."""
    from .functions import REGISTRY
    from .sqllib import library_by_name

    lib = library_by_name()
    used: dict[str, str] = {}
    todo = [query] + ([recipe] if recipe else [])
    seen_views: set[str] = set()
    while todo:
        sql = todo.pop()
        for name in sqlparse.calls(sql):
            if name in used:
                continue
            if name in REGISTRY:
                used[name] = REGISTRY[name].version
            elif name in lib:
                used[name] = lib[name].version
                todo.append(sqlparse.macro_body(lib[name].body) if lib[name].kind == "macro"
                            else lib[name].body)
        for w in _short_names(sqlparse.reads(sql).tables):
            if w in views and w not in seen_views:
                seen_views.add(w)
                todo.append(views[w])
    return dict(sorted(used.items()))


def models_used(query: str, recipe: str | None = None) -> dict[str, str]:
    """{model file path: sha256} of the model files the query's (and recipe's) calls read.

    A registry function reads its ``model_files`` (bundled: ``lang_id``'s langid.npz,
    ``quality_score``'s quality.onnx) and, when it has a ``model`` parameter (``onnx_score``;
    ``embed``, whose model is an ONNX file and a tokenizer), the model a call names, by name (``model := '...'``) or position, else the default. Files
    that do not exist are left out (the query itself reports them); a model given as an
    expression, not a literal, cannot be known from the text and is not recorded.
    """
    from .functions import REGISTRY
    from .udfs import embed_models
    from .udfs.onnx_score import model_sha256, resolve
    from .udfs.paths import bundled_file

    #: How a function's ``model`` argument names its files (default: onnx_score's resolve).
    model_files = {"embed": embed_models.model_paths}

    readers = {f.name: f for f in REGISTRY
               if f.model_files or any(p.name == "model" for p in f.params)}
    sites = []
    for sql in [query] + ([recipe] if recipe else []):
        try:
            sites += sqlparse.call_sites(sql, set(readers))
        except ValueError:  # sqlglot cannot read it: every reader the tokens call, defaults
            sites += [sqlparse.Call(n, (), {}) for n in sqlparse.calls(sql) if n in readers]
    paths = set()
    for call in sites:
        f = readers[call.name]
        paths.update(bundled_file(name) for name in f.model_files)
        params = [p.name for p in f.params]
        if "model" not in params:
            continue
        at = params.index("model")
        if "model" in call.named:
            model = call.named["model"]
        elif len(call.positional) > at:
            model = call.positional[at]
        else:
            model = f.params[at].default
        if model is not None:
            paths.update(model_files.get(call.name, lambda m: [resolve(m)])(model))
    return {p: model_sha256(p) for p in sorted(paths) if os.path.isfile(p)}


def versions() -> dict[str, str]:
    import pyarrow


    return {"corpusql": __version__, "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}

