"""Writing a query's rows into a staging directory as Parquet, in a total order.

Files are written as ``part-<i>.parquet.partial`` (partitioned: ``col=value/part-0.parquet
.partial``), names a ``*.parquet`` glob does not match, so a reader globbing the parent directory
(``parent/**/*.parquet``; DuckDB's ``**`` enters hidden folders) never picks up a half-written
output. ``finish_names`` gives them their final names just before the staging directory is
swapped into place.

The bytes are identical whatever the thread count: the rows are numbered in ``ORDER BY
order_by`` once; plain and ``max_rows_per_file`` outputs are copied in that numbering, and a
partitioned copy runs on one DuckDB thread (measured: with 2 threads DuckDB's partitioned
writer interleaves rows differently from run to run).
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import duckdb

PARTIAL = ".partial"
_ONE_THREAD = threading.Lock()


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def copy(con: duckdb.DuckDBPyConnection, query: str, staging: Path, *, order_by: str,
         partition_by, max_rows, compression: str) -> None:
    """Write ``query``'s rows under ``staging`` (see the module docstring)."""
    ordered = f"SELECT * FROM ({query}\n) AS __q ORDER BY {order_by}"
    opts = f"FORMAT parquet, COMPRESSION {compression}"
    if not partition_by and not max_rows:
        name = staging / f"part-0.parquet{PARTIAL}"
        con.execute(f"COPY ({ordered}) TO {sql_str(str(name))} ({opts})")
        return
    tmp = f"__corpusql_mat_{uuid.uuid4().hex[:8]}"
    con.execute(f"CREATE TEMP TABLE {tmp} AS SELECT row_number() OVER () - 1 AS __rn, * "
                f"FROM ({ordered})")
    try:
        if partition_by:
            cols = [partition_by] if isinstance(partition_by, str) else list(partition_by)
            # `threads` is global to the database: one such copy at a time in this process, so
            # two of them on cursors of one database cannot restore each other's value.
            with _ONE_THREAD:
                (threads,) = con.execute("SELECT current_setting('threads')").fetchone()
                con.execute("SET threads = 1")
                try:
                    con.execute(
                        f"COPY (SELECT * EXCLUDE (__rn) FROM {tmp} ORDER BY __rn) "
                        f"TO {sql_str(str(staging))} ({opts}, PARTITION_BY ({', '.join(cols)}), "
                        f"FILENAME_PATTERN 'part-{{i}}', FILE_EXTENSION 'parquet{PARTIAL}')")
                finally:
                    con.execute(f"SET threads = {int(threads)}")
            return
        (n,) = con.execute(f"SELECT count(*) FROM {tmp}").fetchone()
        for part in range(max(1, -(-n // max_rows))):
            lo, hi = part * max_rows, (part + 1) * max_rows
            name = staging / f"part-{part}.parquet{PARTIAL}"
            con.execute(
                f"COPY (SELECT * EXCLUDE (__rn) FROM {tmp} WHERE __rn >= {lo} AND __rn < {hi} "
                f"ORDER BY __rn) TO {sql_str(str(name))} ({opts})")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {tmp}")


def written(staging: Path) -> list[tuple[Path, str]]:
    """Each written file and its final path relative to ``staging``, sorted by that path."""
    out = []
    for path in staging.rglob(f"*.parquet{PARTIAL}"):
        out.append((path, path.relative_to(staging).as_posix()[:-len(PARTIAL)]))
    return sorted(out, key=lambda pf: pf[1])


def finish_names(staging: Path) -> None:
    """Rename every ``*.parquet.partial`` under ``staging`` to its final ``*.parquet`` name."""
    for path, rel in written(staging):
        os.rename(path, staging / rel)
