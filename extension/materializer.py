"""Atomic Parquet materialization with a manifest, and its verification.

``materialize`` writes a query's result into a hidden staging directory beside the target,
checksums every file, writes ``_manifest.json`` last and only then renames the staging directory
into place. A crash, a failing UDF or a SIGKILL leaves the previous complete output (or nothing)
at the target, never a half-written directory: DuckDB's own ``COPY ... TO`` is not atomic.

Parquet bytes are identical whatever the thread count only when the rows come in a total order,
so the query is always wrapped in ``ORDER BY <order_by>`` (``ALL`` by default: every column).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

MANIFEST = "_manifest.json"
MANIFEST_FORMAT = 1
COMPRESSIONS = ("zstd", "snappy", "gzip", "lz4", "brotli", "uncompressed")
_FILE_LITERAL = re.compile(r"'([^']+\.(?:parquet|csv|json|jsonl|ndjson|tsv|txt)(?:\.gz|\.zst)?)'",
                           re.IGNORECASE)


class MaterializeError(RuntimeError):
    """Materialization refused or failed; the target is untouched."""


@dataclass
class Result:
    """What ``materialize`` did: ``status`` is 'written' or 'up to date'."""

    status: str
    out_dir: Path
    manifest: dict[str, Any]

    @property
    def rows(self) -> int:
        return int(self.manifest["total_rows"])

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.manifest["files"])


@dataclass
class VerifyReport:
    """Outcome of ``verify``: ``ok`` is true when every file matches the manifest."""

    out_dir: Path
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, as 64 hex digits (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every user view's lower-cased name and SQL."""
    return {r[0].lower(): r[1] for r in con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()}


def _input_files(con: duckdb.DuckDBPyConnection, query: str,
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


def _functions_used(query: str, views: dict[str, str]) -> dict[str, str]:
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


def _models_used(sql: str) -> dict[str, str]:
    """{path: sha256} of the model files read by ``onnx_score``/``quality_score``/``lang_id``."""
    from .udfs.onnx_score import models_in_sql

    return models_in_sql(sql)


def _versions() -> dict[str, str]:
    import pyarrow

    from . import __version__

    return {"corpusql": __version__, "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}


def _clean_stale(target: Path) -> None:
    """Remove staging directories left by processes that no longer run."""
    for d in target.parent.glob(f".{target.name}.staging-*"):
        try:
            pid = int(d.name.rsplit("-", 2)[-2])
        except (ValueError, IndexError):
            continue
        try:
            os.kill(pid, 0)
            alive = pid != os.getpid()
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if not alive:
            shutil.rmtree(d, ignore_errors=True)


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _copy(con, query: str, staging: Path, *, order_by: str, partition_by, max_rows, compression):
    ordered = f"SELECT * FROM ({query}) AS __q ORDER BY {order_by}"
    opts = [f"FORMAT parquet, COMPRESSION {compression}"]
    if partition_by:
        cols = [partition_by] if isinstance(partition_by, str) else list(partition_by)
        opts.append(f"PARTITION_BY ({', '.join(cols)}), FILENAME_PATTERN 'part-{{i}}'")
        con.execute(f"COPY ({ordered}) TO {_sql_str(str(staging))} ({', '.join(opts)})")
        return
    if not max_rows:
        con.execute(f"COPY ({ordered}) TO {_sql_str(str(staging / 'part-0.parquet'))} "
                    f"({', '.join(opts)})")
        return
    tmp = f"__corpusql_mat_{uuid.uuid4().hex[:8]}"
    con.execute(f"CREATE TEMP TABLE {tmp} AS SELECT row_number() OVER () - 1 AS __rn, * "
                f"FROM ({ordered})")
    try:
        (n,) = con.execute(f"SELECT count(*) FROM {tmp}").fetchone()
        for part in range(max(1, -(-n // max_rows))):
            lo, hi = part * max_rows, (part + 1) * max_rows
            con.execute(
                f"COPY (SELECT * EXCLUDE (__rn) FROM {tmp} WHERE __rn >= {lo} AND __rn < {hi} "
                f"ORDER BY __rn) TO {_sql_str(str(staging / f'part-{part}.parquet'))} "
                f"({', '.join(opts)})"
            )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {tmp}")


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(out_dir) / MANIFEST
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def materialize(
    con: duckdb.DuckDBPyConnection,
    query: str,
    out_dir: str | os.PathLike,
    *,
    partition_by: str | list[str] | None = None,
    max_rows_per_file: int | None = None,
    compression: str = "zstd",
    overwrite: bool = False,
    order_by: str = "ALL",
    force: bool = False,
    recipe: str | None = None,
) -> Result:
    """Write ``query``'s rows as Parquet under ``out_dir``, atomically, with ``_manifest.json``.

    Rows are written in ``ORDER BY order_by`` (default ``ALL``), which makes the files
    byte-identical whatever the thread count; pass a unique key (``order_by="id"``) to sort less.
    If ``out_dir`` already holds a manifest for the same query, functions and unchanged input
    files, nothing is written and the status is ``'up to date'`` (``force=True`` rewrites).
    Otherwise an existing ``out_dir`` is replaced only with ``overwrite=True``.
    ``recipe`` is the SQL that built the tables the query reads: it is recorded in the manifest
    and the functions it calls count as used.
    """
    query = query.strip().rstrip(";").strip()
    target = Path(out_dir).absolute()
    if compression.lower() not in COMPRESSIONS:
        raise MaterializeError(f"compression {compression!r} is not one of {COMPRESSIONS}")
    if max_rows_per_file is not None and max_rows_per_file < 1:
        raise MaterializeError(f"max_rows_per_file = {max_rows_per_file} must be at least 1")
    if max_rows_per_file and partition_by:
        raise MaterializeError("use either partition_by or max_rows_per_file, not both")
    views = _views(con)
    inputs, tables = _input_files(con, query, views)
    plan = {
        "query": query,
        "order_by": order_by,
        "partition_by": partition_by,
        "max_rows_per_file": max_rows_per_file,
        "compression": compression.lower(),
        "recipe": recipe,
        "functions": _functions_used(query + "\n" + (recipe or ""), views),
        "inputs": inputs,
        "tables": tables,
        # Base tables of the database have no cheap, trustworthy version: a query that reads
        # one is never reported up to date.
        "inputs_complete": not tables,
    }
    models = _models_used(query + "\n" + (recipe or ""))
    if models:  # only when the query scores with a model, so older manifests stay up to date
        plan["models"] = models
    if target.exists():
        try:
            old = read_manifest(target)
        except (OSError, ValueError):
            old = None
        if (old is not None and not force and plan["inputs_complete"]
                and all(old.get(k) == v for k, v in plan.items())
                and verify(target).ok):
            return Result("up to date", target, old)
        if not overwrite:
            raise MaterializeError(
                f"{target} already exists and differs from this query's output; "
                "pass overwrite=True (--overwrite) to replace it"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(target)
    staging = target.parent / f".{target.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        _copy(con, query, staging, order_by=order_by, partition_by=partition_by,
              max_rows=max_rows_per_file, compression=compression.lower())
        files = []
        for path in sorted(staging.rglob("*.parquet")):
            files.append({
                "path": path.relative_to(staging).as_posix(),
                "rows": _parquet_rows(path),
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            })
        manifest = {
            "format": MANIFEST_FORMAT,
            "versions": _versions(),
            **plan,
            "files": files,
            "total_rows": sum(f["rows"] for f in files),
            "total_bytes": sum(f["bytes"] for f in files),
        }
        with open(staging / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Result("written", target, manifest)


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` at ``target``; the old output is removed only after the new is in place."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(target, old)
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def verify(out_dir: str | os.PathLike) -> VerifyReport:
    """Re-check every file under ``out_dir`` against its manifest (size, rows, sha256).

    Files missing, changed, or present but not in the manifest are reported as problems.
    """
    target = Path(out_dir)
    report = VerifyReport(target)
    try:
        manifest = read_manifest(target)
    except FileNotFoundError:
        report.problems.append(f"{target / MANIFEST}: missing (not a corpusql output?)")
        return report
    except ValueError as exc:
        report.problems.append(f"{target / MANIFEST}: unreadable JSON ({exc})")
        return report
    listed = set()
    for entry in manifest.get("files", []):
        path = target / entry["path"]
        listed.add(entry["path"])
        report.checked += 1
        if not path.exists():
            report.problems.append(f"{path}: missing")
            continue
        if path.stat().st_size != entry["bytes"]:
            report.problems.append(
                f"{path}: size {path.stat().st_size} != manifest {entry['bytes']}")
            continue
        if sha256_file(path) != entry["sha256"]:
            report.problems.append(f"{path}: sha256 differs from the manifest")
            continue
        try:
            rows = _parquet_rows(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a problem to report
            report.problems.append(f"{path}: unreadable Parquet ({exc})")
            continue
        if rows != entry["rows"]:
            report.problems.append(f"{path}: {rows} rows != manifest {entry['rows']}")
    for path in sorted(target.rglob("*.parquet")):
        rel = path.relative_to(target).as_posix()
        if rel not in listed:
            report.problems.append(f"{path}: not in the manifest")
    return report
