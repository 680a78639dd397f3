"""A Spark recipe's Parquet inputs without the rows the catalog's takedowns find.

On DuckDB a recipe reads its documents through the catalog's views, which leave out the rows a
recorded takedown matches (corpusql.takedown_views), so every stage (dedup keep choices,
splits, the mix) runs as if those documents never existed. A Spark run reads its ``-- input``
Parquet directly; with a catalog (``--db``), each input is read the same way: the rows the
recorded matches find are listed by :func:`corpusql.takedown_views.matched_rows` (the same
kernels, over DuckDB's ``filename`` and ``file_row_number``) and left out of the Spark view by
an anti-join on Spark's ``_metadata.file_path`` and ``_metadata.row_index`` (both count rows
from 0 in each file).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlparse

from ..materializer import MaterializeError


def _local(uri: str) -> str:
    """The real local path of a Spark file URI (``file:/a%20b.parquet`` -> ``/a b.parquet``)."""
    return os.path.realpath(unquote(urlparse(uri).path) if uri.startswith("file:") else uri)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def without_taken_down(spark, df, takedowns: list[dict[str, Any]]):
    """``(df without the matched rows, rows left out)``; ``df`` as is without takedowns."""
    if not takedowns:
        return df, 0
    import duckdb
    from pyspark.sql import functions as F

    from ..takedown_views import matched_rows

    meta = df.select("*", F.col("_metadata.file_path").alias("__corpusql_file"),
                     F.col("_metadata.row_index").alias("__corpusql_row"))
    spark_names = {_local(r[0]): r[0] for r in
                   meta.select("__corpusql_file").distinct().collect()}
    if not spark_names:
        return df, 0
    files = ", ".join(_lit(p) for p in sorted(spark_names))
    con = duckdb.connect()
    try:
        rows = matched_rows(con, f"SELECT * FROM read_parquet([{files}], filename = true, "
                                 "file_row_number = true)", ("filename", "file_row_number"),
                            takedowns)
    finally:
        con.close()
    if not rows:
        return df, 0
    missing = sorted({f for f, _, _ in rows if os.path.realpath(f) not in spark_names})
    if missing:  # never leave a match in silently
        raise MaterializeError(f"cannot tell Spark's name of input file {missing[0]} to leave "
                               "out the rows the catalog's takedowns find")
    hidden = spark.createDataFrame(
        [(spark_names[os.path.realpath(f)], r) for f, r, _ in rows],
        "__corpusql_file string, __corpusql_row long")
    kept = meta.join(hidden, ["__corpusql_file", "__corpusql_row"], "left_anti")
    return kept.drop("__corpusql_file", "__corpusql_row"), len(rows)
