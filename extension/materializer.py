"""Atomic Parquet materialization with a manifest, and its verification.

``materialize`` writes a query's result into a hidden staging directory beside the target,
checksums every file, writes ``_manifest.json`` last and only then renames the staging directory
into place. A crash, a failing UDF or a SIGKILL leaves the previous complete output (or nothing)
at the target, never a half-written directory: DuckDB's own ``COPY ... TO`` is not atomic.

Parquet bytes are identical whatever the thread count only when the rows come in a total order,
so the query is always wrapped in ``ORDER BY <order_by>`` (``ALL`` by default: every column).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from . import faults, licences, parquet_copy, provenance, swap, takedown_apply
from .errors import MaterializeError
from .files import sha256_file
from .output_diff import Foreign, differences, existing, some
from .outputs_lock import LockBusy, OutputLock, holder, lock_path, try_lock

MANIFEST = "_manifest.json"
MANIFEST_FORMAT = 1
COMPRESSIONS = ("zstd", "snappy", "gzip", "lz4", "brotli", "uncompressed")


@dataclass
class Result:
    """What ``materialize`` did: ``status`` is 'written' or 'up to date'."""

    status: str
    out_dir: Path
    manifest: dict[str, Any]
    recovered: list[str] = field(default_factory=list)  # what was repaired first (swap.recover)

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
    recovered: list[str] = field(default_factory=list)  # what was repaired first (swap.recover)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(out_dir) / MANIFEST
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _plan(con, query: str, *, order_by, partition_by, max_rows_per_file, compression,
          recipe, removal_log: str | None = None) -> dict[str, Any]:
    views = provenance.views(con)
    found = provenance.input_files(con, query, views)
    inputs, tables = found.files, found.tables
    plan = {
        "query": query,
        "order_by": order_by,
        "partition_by": partition_by,
        "max_rows_per_file": max_rows_per_file,
        "compression": compression,
        "recipe": recipe,
        "functions": provenance.functions_used(query, views, recipe),
        "inputs": inputs,
        "tables": tables,
        # Base tables of the database and files read directly from remote URIs have no cheap,
        # trustworthy version: a query that reads one is never reported up to date.
        "inputs_complete": not tables and not found.unversioned,
    }
    if found.datasets:  # only for queries over catalog datasets, so older manifests stay valid
        from .dataset_inputs import drift

        for name, record in found.datasets.items():
            why = drift(name, record)
            if why:
                raise MaterializeError(why)
        plan["datasets"] = found.datasets
    if found.unversioned:
        plan["unversioned_inputs"] = found.unversioned
    requests = sorted({t["request_id"] for t in takedown_apply.recorded_in_db(con)})
    if requests:  # only once takedowns are recorded, so older manifests stay up to date
        plan["takedown_requests"] = requests
    if removal_log:  # only when given, so older manifests stay up to date
        from .removal_log import check

        check(con, removal_log)
        plan["removal_log"] = removal_log
    models = provenance.models_used(query, recipe)
    if models:  # only when the query scores with a model, so older manifests stay up to date
        plan["models"] = models
    return plan


def _lock_timeout(given: float | None) -> float:
    if given is not None:
        return float(given)
    env = os.environ.get("CORPUSQL_LOCK_TIMEOUT")
    try:
        return float(env) if env else 0.0
    except ValueError:
        raise MaterializeError(f"CORPUSQL_LOCK_TIMEOUT={env!r} is not a number of seconds") from None


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
    lock_timeout: float | None = None,
    public: bool = False,
    removal_log: str | None = None,
) -> Result:
    """Write ``query``'s rows as Parquet under ``out_dir``, atomically, with ``_manifest.json``.

    Rows are written in ``ORDER BY order_by`` (default ``ALL``), which makes the files
    byte-identical whatever the thread count; pass a unique key (``order_by="id"``) to sort less.
    If ``out_dir`` already holds a manifest for the same query, functions and unchanged input
    files, nothing is written and the status is ``'up to date'`` (``force=True`` rewrites).
    Otherwise an existing corpusql output is replaced only with ``overwrite=True``; a directory
    corpusql did not write (no manifest, or files the manifest does not list) is never replaced.
    An empty directory counts as absent.
    ``recipe`` is the SQL that built the tables the query reads: it is recorded in the manifest
    and the functions it calls count as used.
    One writer per target: a second one waits up to ``lock_timeout`` seconds (default 0, or
    ``$CORPUSQL_LOCK_TIMEOUT``) for the first, then fails naming it. Leftovers of a writer that
    was killed are repaired first; ``Result.recovered`` says how.
    ``public=True`` refuses to write when an input is not redistributable (corpusql.licences).
    ``removal_log`` names the recipe's log of removed documents (id, step, reason), kept beside
    the data so ``release_diff`` can say why a document left (corpusql.release_removals).
    Versioned releases (``versioned=True``): ``corpusql.materialize``, i.e.
    :func:`corpusql.releases.materialize`.
    """
    query = query.strip().rstrip(";").strip()
    if public:
        from .public import refuse_public

        refuse_public(con, query, f"materialize to {out_dir}")
    target = Path(out_dir).absolute()
    compression = compression.lower()
    if compression not in COMPRESSIONS:
        raise MaterializeError(f"compression {compression!r} is not one of {COMPRESSIONS}")
    if max_rows_per_file is not None and max_rows_per_file < 1:
        raise MaterializeError(f"max_rows_per_file = {max_rows_per_file} must be at least 1")
    if max_rows_per_file and partition_by:
        raise MaterializeError("use either partition_by or max_rows_per_file, not both")
    timeout = _lock_timeout(lock_timeout)

    def plan() -> dict[str, Any]:
        return _worded(query, con, _plan, con, query, order_by=order_by,
                       partition_by=partition_by, max_rows_per_file=max_rows_per_file,
                       compression=compression, recipe=recipe, removal_log=removal_log)

    def fill(staging: Path, plan: dict[str, Any]) -> None:
        _worded(query, con, parquet_copy.copy, con, query, staging, order_by=plan["order_by"],
                partition_by=plan["partition_by"], max_rows=plan["max_rows_per_file"],
                compression=plan["compression"])

    def finish(staging: Path, target: Path, files: list[dict], plan: dict[str, Any]):
        return takedown_apply.finish(con, staging, target, files, plan)

    return guarded(target, plan, fill, overwrite=overwrite, force=force, timeout=timeout,
                   finish=finish)


def guarded(target: Path, make_plan, fill, *, overwrite: bool, force: bool, timeout: float,
            versions: dict[str, str] | None = None, finish=None) -> Result:
    """Under ``target``'s lock: repair leftovers, refuse foreign or differently made outputs,
    return 'up to date' when nothing changed, else write with ``fill`` and swap into place.

    ``make_plan()`` gives the manifest's description of the call; ``fill(staging, plan)``
    writes its ``*.parquet.partial`` files (parquet_copy's names) into the staging directory.
    ``finish(staging, target, files, plan)`` writes the fingerprint index and applies recorded
    takedowns (takedown_apply.finish; default: without a catalog connection).
    Shared by the DuckDB materializer and ``corpusql.spark.materialize``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = OutputLock(target, timeout).acquire()
    except LockBusy as exc:
        raise MaterializeError(str(exc)) from None
    try:
        faults.point("lock:acquired")
        recovered = swap.recover(target, _complete)
        if lock.stale:
            recovered.insert(0, f"recovered {target}: took over the lock left by pid "
                                f"{lock.stale}, which is no longer running")
        plan = make_plan()
        try:
            old, extra = existing(target)
        except Foreign as exc:
            raise MaterializeError(str(exc)) from None
        if old is not None:
            said = differences(old, plan)
            if "engine" not in plan and old.get("engine", "duckdb") != "duckdb":
                said.append(f"it was written by {old['engine']}, this call runs on duckdb")
            if not said and not force:
                _, problems = _check(target)
                if not problems:
                    return Result("up to date", target, old, recovered)
                said.append(f"its files no longer match its manifest ({some(problems, 1)})")
            why = "; ".join(said) if said else "force=True asks for a rewrite"
            if extra:  # a rewrite would delete them, with or without overwrite
                raise MaterializeError(
                    f"{target} must be rewritten ({why}) but holds files that are not in its "
                    f"{MANIFEST}: {some(extra)}; corpusql did not write them and never deletes "
                    "them: move them away")
            if not overwrite:
                raise MaterializeError(
                    f"{target} holds an earlier corpusql output made differently: {why}; pass "
                    "overwrite=True (--overwrite) to replace it")
        manifest = _write(target, plan, fill, versions, finish or _finish_standalone)
    finally:
        lock.release()
    return Result("written", target, manifest, recovered)


def _worded(query: str, con, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; a mistake in a corpusql function's arguments in ``query`` is
    raised as :class:`corpusql.errors.FunctionArgumentError` in the user's words (other errors
    as they are)."""
    try:
        return fn(*args, **kwargs)
    except duckdb.Error as exc:
        from .explain import translated

        ours = translated(exc, query, con)
        if ours is None:
            raise
        raise ours from exc


def _finish_standalone(staging: Path, target: Path, files: list[dict], plan: dict[str, Any]):
    """takedown_apply.finish for a writer with no DuckDB connection of its own (Spark): the
    fingerprint index, and the takedowns recorded in the previous version's manifest."""
    con = duckdb.connect()
    try:
        return takedown_apply.finish(con, staging, target, files, plan)
    finally:
        con.close()


def _write(target: Path, plan: dict[str, Any], fill, versions, finish) -> dict[str, Any]:
    """Stage the output under a name private to this call, then swap it into place."""
    tok = swap.token()
    staging = swap.staging_path(target, tok)
    staging.mkdir()
    try:
        fill(staging, plan)
        faults.point("write:copied")
        files = []
        for path, rel in parquet_copy.written(staging):
            files.append({"path": rel, "rows": _parquet_rows(path), "bytes": path.stat().st_size,
                          "sha256": sha256_file(path)})
        # fingerprint index, then every recorded takedown applied (takedown_apply.py)
        files, index, taken = finish(staging, target, files, plan)
        manifest = {
            "format": MANIFEST_FORMAT,
            "engine": "duckdb",
            "versions": versions or provenance.versions(),
            **plan,
            "files": files,
            "total_rows": sum(f["rows"] for f in files),
            "total_bytes": sum(f["bytes"] for f in files),
            "licences": licences.release_status(plan),
            "index": index,
            **({"takedowns": taken} if taken else {}),
        }
        with open(staging / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        parquet_copy.finish_names(staging)
        swap.publish(staging, target, tok)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _check(target: Path) -> tuple[int, list[str]]:
    """Files checked and problems found comparing ``target`` with its manifest."""
    problems: list[str] = []
    try:
        manifest = read_manifest(target)
    except FileNotFoundError:
        return 0, [f"{target / MANIFEST}: missing (not a corpusql output?)"]
    except ValueError as exc:
        return 0, [f"{target / MANIFEST}: unreadable JSON ({exc})"]
    listed = set()
    checked = 0
    for entry in manifest.get("files", []):
        path = target / entry["path"]
        listed.add(entry["path"])
        checked += 1
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        if path.stat().st_size != entry["bytes"]:
            problems.append(f"{path}: size {path.stat().st_size} != manifest {entry['bytes']}")
            continue
        if sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: sha256 differs from the manifest")
            continue
        if "rows" not in entry:  # token shards of export_tokens: size and sha256 only
            continue
        try:
            rows = _parquet_rows(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a problem to report
            problems.append(f"{path}: unreadable Parquet ({exc})")
            continue
        if rows != entry["rows"]:
            problems.append(f"{path}: {rows} rows != manifest {entry['rows']}")
    for entry in (manifest.get("index") or {}).values():  # side files (fingerprints.py)
        listed.add(entry["path"])
        path = target / entry["path"]
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: sha256 differs from the manifest")
    for path in sorted(target.rglob("*.parquet")):
        rel = path.relative_to(target).as_posix()
        if rel not in listed:
            problems.append(f"{path}: not in the manifest")
    return checked, problems


def _complete(staging: Path) -> bool:
    """A staging directory holds a finished output: manifest written, every file matching."""
    return (staging / MANIFEST).is_file() and not _check(staging)[1]


def _recover_unlocked(target: Path) -> tuple[list[str], str | None]:
    """Repair a killed writer's leftovers when no writer holds the target's lock.

    Returns what was done, and the pid of the live writer when one holds the lock.
    """
    found = swap.leftovers(target)
    if not found["staging"] and not found["old"]:
        return [], None
    lock = try_lock(target)
    if lock is None:
        return [], holder(target)
    try:
        return swap.recover(target, _complete), None
    finally:
        lock.release()


def verify(out_dir: str | os.PathLike) -> VerifyReport:
    """Re-check every file under ``out_dir`` against its manifest (size, rows, sha256).

    Files missing, changed, or present but not in the manifest are reported as problems.
    Leftovers of a materialization that was killed are repaired first (``recovered``).
    """
    from .release_paths import resolve

    target = resolve(out_dir)  # a versioned release's root: its current version
    report = VerifyReport(target)
    report.recovered, _ = _recover_unlocked(target.absolute())
    report.checked, report.problems = _check(target)
    return report


@dataclass
class OutputStatus:
    """What ``status`` found at an output directory."""

    out_dir: Path
    manifest: dict[str, Any] | None
    report: VerifyReport
    writer: str | None = None  # pid of a materialization in progress

    @property
    def recovered(self) -> list[str]:
        return self.report.recovered


def status(out_dir: str | os.PathLike) -> OutputStatus:
    """Repair a killed writer's leftovers, then describe and verify the output at ``out_dir``."""
    from .release_paths import resolve

    target = resolve(out_dir)  # a versioned release's root: its current version
    recovered, writer = _recover_unlocked(target.absolute())
    if writer is None and lock_path(target.absolute()).exists():
        lock = try_lock(target.absolute())
        if lock is None:
            writer = holder(target.absolute())
        else:
            lock.release()
    checked, problems = _check(target)
    report = VerifyReport(target, checked, problems, recovered)
    try:
        manifest = read_manifest(target)
    except (OSError, ValueError):
        manifest = None
    return OutputStatus(target, manifest, report, writer)
