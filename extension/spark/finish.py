"""What a Spark output gets besides its rows: the catalog's takedowns and the recipe's removal log.

``corpusql.spark.materialize`` publishes through the DuckDB materializer's code, whose finish
step (``corpusql.takedown_apply.finish``) writes the fingerprint index, applies the recorded
takedowns to the staged files and keeps the removal log, all on a DuckDB connection: the
catalog's (``lake=``, opened read-only from a path), else an in-memory one (then only the
takedowns of the previous version's manifest apply). The removal log is a Spark table: its rows
are collected to the driver and registered on that connection under the table's name.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..materializer import MaterializeError


@contextmanager
def catalog_connection(lake):
    """A DuckDB connection on the catalog ``lake`` (a path: opened read-only, closed after),
    or None."""
    if lake is None or not isinstance(lake, (str, os.PathLike)):
        yield lake
        return
    import duckdb

    path = Path(lake)
    if not path.is_file():
        raise MaterializeError(f"{path}: no such catalog database (the lake whose takedowns "
                               "apply: lake=, --db or $CORPUSQL_DB)")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def removal_rows(spark, name: str | None):
    """``(name, DataFrame of id, step, reason as text)`` of the removal log, or None; refused as
    on DuckDB (removal_log.check) when Spark cannot read it or a column is missing."""
    if not name:
        return None
    from ..removal_log import NEED

    try:
        df = spark.table(name)
    except Exception as exc:  # noqa: BLE001 - Spark's analysis error, named with the knob
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise MaterializeError(f"removal_log {name!r} cannot be read ({first}); name a table or "
                               "view with columns id, step, reason") from None
    lack = [c for c in NEED if c not in df.columns]
    if lack:
        raise MaterializeError(f"removal_log {name!r} has no column {', '.join(lack)} (it has "
                               f"{', '.join(df.columns)}); a removal log has id, step, reason "
                               "(one row per removed document and stage)")
    return name, df.selectExpr(*(f"CAST(`{c}` AS STRING) AS {c}" for c in NEED))


def finish_step(catalog, removals):
    """takedown_apply.finish on the catalog's connection (else an in-memory one), with the
    removal log's rows (collected from Spark) registered there under its name."""
    import duckdb

    from .. import takedown_apply

    def finish(staging: Path, target: Path, files: list[dict], plan: dict[str, Any]):
        con = catalog if catalog is not None else duckdb.connect()
        try:
            if removals:
                con.register(removals[0], removals[1].toArrow())
            return takedown_apply.finish(con, staging, target, files, plan)
        finally:
            if removals:
                con.unregister(removals[0])
            if con is not catalog:
                con.close()
    return finish
