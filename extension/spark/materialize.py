"""``corpusql.spark.materialize``: a Spark query or DataFrame to Parquet, atomically, with a manifest.

The same output as the DuckDB materializer (``corpusql.materialize``): Parquet files and a
``_manifest.json`` (query, recipe, functions and their versions, models, input files, every file
with rows, bytes and sha256) published by the same atomic swap under the same lock, with the
same refusals (a directory corpusql did not write, an output made differently without
``overwrite``). Only the writing differs: Spark's tasks write the files into the hidden staging
directory beside the target (``.out.staging-<token>``), then the driver renames them to
``part-<i>.parquet.partial``, and ``corpusql.materializer.guarded`` checksums them, writes the
manifest and swaps the directory into place. A task or executor that fails, or a driver that is
killed, leaves the target as it was: the staging directory is removed at once, or by the next
writer's recovery.

The target must be a path that the driver and every executor see at the same place (local disk
for ``local[N]``, a shared POSIX mount for a cluster): the lock and the swap are POSIX renames.
The manifest's ``engine`` is ``"spark"`` and its ``versions`` name Spark's.

``versioned=True`` publishes a new version ``OUT/vNNNN/`` and moves ``OUT/current``, keeping
``keep`` versions, by the DuckDB path's own code (corpusql.releases.publish_version). The
fingerprint index is written and recorded takedowns are applied to the staged files by
``corpusql.takedown_apply.finish``, as on DuckDB: those of the previous version's manifest
always, and with ``lake=`` (the catalog's database) those recorded in its
``corpusql.takedowns`` table too, listed in the manifest's ``takedown_requests``.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

from .. import provenance
from ..materializer import COMPRESSIONS, MaterializeError, Result, _lock_timeout, guarded
from ..parquet_copy import PARTIAL
from .finish import catalog_connection, finish_step, removal_rows

#: Files Spark's committer leaves beside the data; corpusql lists only the Parquet files.
_SPARK_MARKERS = re.compile(r"(^_SUCCESS$|\.crc$)")
#: Leaf nodes of an analyzed plan that read nothing that can change between runs.
_CONSTANT_LEAVES = {"OneRowRelation", "Range"}
_SCHEMES_LOCAL = ("file:",)


def _is_remote(out_dir: str | os.PathLike) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", os.fspath(out_dir))) and not \
        os.fspath(out_dir).startswith("file://")


def _local(uri: str) -> str | None:
    """The local path of a ``file:`` URI (or of a plain path), else None."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("file:"):
        return uri[len("file:"):]
    return None if "://" in uri else uri


def _plan_text(df) -> str:
    """The analyzed plan as text, expression ids removed (``text#12`` -> ``text``).

    Empty on Spark Connect, where the driver has no JVM plan to read.
    """
    try:
        text = df._jdf.queryExecution().analyzed().treeString()
    except Exception:  # noqa: BLE001 - Spark Connect DataFrames have no _jdf
        return ""
    return re.sub(r"#\d+L?", "", text)


def _leaves(df) -> list[str]:
    """Node names of the analyzed plan's leaves (``Relation``, ``LocalRelation``...)."""
    try:
        leaves = df._jdf.queryExecution().analyzed().collectLeaves()
    except Exception:  # noqa: BLE001 - Spark Connect: unknown, so never counted complete
        return ["unknown (Spark Connect)"]
    return [leaves.apply(i).nodeName() for i in range(leaves.size())]


def _versions(spark) -> dict[str, str]:
    import pyspark

    found = provenance.versions()
    found.pop("duckdb", None)
    return {**found, "pyspark": pyspark.__version__, "spark": spark.version}


def _plan(df, query: str, *, order_by, partition_by, max_rows_per_file, compression,
          recipe, catalog=None) -> dict[str, Any]:
    """The manifest's description of this call (the DuckDB materializer's keys, engine spark)."""
    plan_sql = _plan_text(df).replace("__corpusql_", "")
    text = "\n".join([query, recipe or "", plan_sql])
    inputs, unversioned = [], []
    for uri in sorted(set(df.inputFiles())):
        path = _local(uri)
        if path is not None and os.path.isfile(path):
            inputs.append(provenance.local_file(path))
        else:
            unversioned.append(uri)
    # Rows that come from no file (createDataFrame, an RDD, a checkpoint) have no version.
    tables = sorted({name for name in _leaves(df)
                     if name not in _CONSTANT_LEAVES and name != "LogicalRelation"})
    plan: dict[str, Any] = {
        "engine": "spark",
        "query": query,
        "order_by": order_by,
        "partition_by": partition_by,
        "max_rows_per_file": max_rows_per_file,
        "compression": compression,
        "recipe": recipe,
        "functions": provenance.functions_used(text, {}),
        "inputs": inputs,
        "tables": tables,
        "inputs_complete": not tables and not unversioned,
    }
    if unversioned:
        plan["unversioned_inputs"] = unversioned
    if catalog is not None:  # as materializer._plan: only once takedowns are recorded
        from ..takedown_apply import recorded_in_db

        requests = sorted({t["request_id"] for t in recorded_in_db(catalog)})
        if requests:
            plan["takedown_requests"] = requests
    models = provenance.models_used(text)
    if models:
        plan["models"] = models
    return plan


def _order_columns(df, order_by: str, partition_by: list[str]) -> str:
    """The ORDER BY list: partition columns first (Spark's writer groups by them), then
    ``order_by`` (``ALL``: every column, in order)."""
    keys = [f"`{c}`" for c in partition_by]
    if order_by.strip().upper() == "ALL":
        keys += [f"`{c}`" for c in df.columns if c not in partition_by]
    else:
        keys.append(order_by)
    return ", ".join(keys)


def _finish_spark_files(staging: Path) -> None:
    """Remove Spark's markers and name each Parquet file ``part-<i>.parquet.partial`` in the
    order of Spark's names (``part-<task>-<job uuid>...``: task order, so row order)."""
    for path in sorted(staging.rglob("*")):
        if path.is_file() and _SPARK_MARKERS.search(path.name):
            path.unlink()
    folders: dict[Path, list[Path]] = {}
    for path in staging.rglob("*.parquet"):
        folders.setdefault(path.parent, []).append(path)
    for folder, paths in folders.items():
        for i, path in enumerate(sorted(paths, key=lambda p: p.name)):
            os.rename(path, folder / f"part-{i}.parquet{PARTIAL}")
    left = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                  if p.is_file() and not p.name.endswith(PARTIAL))
    if left:
        raise MaterializeError(f"Spark left files corpusql does not know in {staging}: "
                               f"{', '.join(left[:5])}; nothing was published")


def materialize(
    spark,
    query_or_dataframe,
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
    versioned: bool = False,
    keep: int | None = None,
    lake=None,
    removal_log: str | None = None,
) -> Result:
    """Write a Spark query's (or DataFrame's) rows as Parquet under ``out_dir``, atomically.

    The options, the manifest and the rules are those of ``corpusql.materialize`` (DuckDB):
    rows sorted by ``order_by`` (``ALL``: every column), ``partition_by`` folders,
    ``max_rows_per_file`` (per Spark task: a file never holds more), ``overwrite``, ``force``,
    ``recipe`` and ``lock_timeout``; an output with the same query, functions and unchanged
    input files is ``'up to date'``. A query is Spark SQL and may call the SQL library's
    macros (expanded by ``corpusql.spark.expand``). A DataFrame is recorded by its analyzed
    plan (``query`` is ``<DataFrame>`` plus the plan's text). Works with any master:
    ``out_dir`` must be a path every executor sees at the same place.
    ``versioned=True``: a new version under ``out_dir`` keeping ``keep`` versions, as
    ``corpusql.materialize(..., versioned=True)``. ``lake``: the catalog's database (a path,
    or a DuckDB connection on it) whose recorded takedowns are applied to the rows written.
    ``removal_log``: a table or view Spark knows with columns id, step, reason (the recipe's
    log of removed documents), kept in the output as on DuckDB (corpusql.removal_log).
    """
    if _is_remote(out_dir):
        raise MaterializeError(
            f"{out_dir}: corpusql.spark.materialize writes to a POSIX path that the driver and "
            "every executor see (its lock and swap are renames); object stores have no atomic "
            "rename: materialize to a shared disk and copy (docs/scale-out.md)")
    target = Path(_local(os.fspath(out_dir)) or out_dir).absolute()
    compression = compression.lower()
    if compression not in COMPRESSIONS:
        raise MaterializeError(f"compression {compression!r} is not one of {COMPRESSIONS}")
    if max_rows_per_file is not None and max_rows_per_file < 1:
        raise MaterializeError(f"max_rows_per_file = {max_rows_per_file} must be at least 1")
    if max_rows_per_file and partition_by:
        raise MaterializeError("use either partition_by or max_rows_per_file, not both")
    if keep is not None and not versioned:
        raise MaterializeError(f"keep={keep} applies to versioned releases: add versioned=True")
    parts = [partition_by] if isinstance(partition_by, str) else list(partition_by or [])
    if isinstance(query_or_dataframe, str):
        from .library import expand

        query = query_or_dataframe.strip().rstrip(";").strip()
        try:
            df = spark.sql(expand(query))
        except Exception as exc:  # noqa: BLE001 - Spark's analysis errors, re-raised named
            raise MaterializeError(f"Spark cannot run the query for {target} (nothing was "
                                   f"written): {_first_lines(exc, 2)}") from exc
    else:
        df = query_or_dataframe
        query = "<DataFrame>\n" + _plan_text(df)
    missing = [c for c in parts if c not in df.columns]
    if missing:
        raise MaterializeError(f"partition_by column {missing[0]!r} is not a column of the "
                               f"result ({', '.join(df.columns)})")
    removals = removal_rows(spark, removal_log)
    with catalog_connection(lake) as catalog:
        return _publish(spark, df, query, target, parts, catalog, removals,
                        partition_by=partition_by,
                        max_rows_per_file=max_rows_per_file, compression=compression,
                        overwrite=overwrite, order_by=order_by, force=force, recipe=recipe,
                        lock_timeout=lock_timeout, versioned=versioned, keep=keep)


def _publish(spark, df, query: str, target: Path, parts: list[str], catalog, removals, *,
             partition_by, max_rows_per_file, compression, overwrite, order_by, force, recipe,
             lock_timeout, versioned, keep) -> Result:
    """Plan, fill and finish of the output, published in place (``guarded``) or as a new
    version (``publish_version``)."""
    from ..releases import publish_version

    timeout = _lock_timeout(lock_timeout)

    def make_plan() -> dict[str, Any]:
        plan = _plan(df, query, order_by=order_by, partition_by=partition_by,
                     max_rows_per_file=max_rows_per_file, compression=compression,
                     recipe=recipe, catalog=catalog)
        if removals:  # as materializer._plan: only when given
            plan["removal_log"] = removals[0]
        return plan

    def fill(staging: Path, plan: dict[str, Any]) -> None:
        view = f"__corpusql_mat_{uuid.uuid4().hex[:8]}"
        df.createOrReplaceTempView(view)
        try:
            ordered = spark.sql(f"SELECT * FROM {view} ORDER BY "
                                f"{_order_columns(df, order_by, parts)}")
            writer = ordered.write.mode("append").option(
                "compression", "none" if compression == "uncompressed" else compression)
            if max_rows_per_file:
                writer = writer.option("maxRecordsPerFile", int(max_rows_per_file))
            if parts:
                writer = writer.partitionBy(*parts)
            try:
                writer.parquet(staging.as_uri())
            except Exception as exc:  # noqa: BLE001 - py4j and Spark errors, re-raised named
                raise MaterializeError(
                    f"Spark failed writing {target} (nothing was published; {target} is as it "
                    f"was): {_first_lines(exc)}") from exc
        finally:
            spark.catalog.dropTempView(view)
        _finish_spark_files(staging)

    finish = finish_step(catalog, removals)
    if versioned:
        return publish_version(target, make_plan, fill, finish, keep=keep, lock_timeout=timeout,
                               force=force, versions=_versions(spark))
    return guarded(target, make_plan, fill, overwrite=overwrite, force=force, timeout=timeout,
                   versions=_versions(spark), finish=finish)


def _first_lines(exc: BaseException, n: int = 6) -> str:
    """The informative head of a Spark error (the Python worker's error when a UDF raised)."""
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    worker = [ln for ln in lines if re.match(r"^\w+(Error|Exception): ", ln)
              and not ln.startswith(("py4j", "org.apache"))]
    head = lines[:n]
    return " | ".join(head + [ln for ln in worker[-1:] if ln not in head])
