"""``corpusql.connect``: a DuckDB connection with every corpusql function and macro."""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Any

import duckdb

#: Database files are written so that the stock DuckDB 1.5 shell (duckdb-cli) can open them.
STORAGE_VERSION = "v1.5.0"

_OPEN: "weakref.WeakSet[duckdb.DuckDBPyConnection]" = weakref.WeakSet()


def connect(
    database: str | os.PathLike = ":memory:",
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open ``database`` and bind every corpusql function (TEMP) and SQL macro on it.

    New database files are created with ``storage_compatibility_version='v1.5.0'`` so the stock
    DuckDB 1.5 shell opens them. Nothing corpusql defines is written into the file: functions and
    macros are TEMP objects of this connection.
    """
    from .functions import REGISTRY
    from .binder import bind
    from .sqllib import load_library

    cfg = dict(config or {})
    database = os.fspath(database)
    if not read_only and database != ":memory:":
        # new files open in the stock 1.5 shell; on existing files the setting is harmless and
        # keeps a second connect() to the same file in this process on the same configuration
        cfg.setdefault("storage_compatibility_version", STORAGE_VERSION)
    con = duckdb.connect(database, read_only=read_only, config=cfg)
    try:
        bind(con, REGISTRY)
        load_library(con)
    except BaseException:
        con.close()
        raise
    _OPEN.add(con)
    return con


@atexit.register
def _close_all() -> None:
    """Close connections still open at exit, so DuckDB prints no leak noise."""
    for con in list(_OPEN):
        try:
            con.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
