"""``corpusql.connect``: a DuckDB connection with every corpusql function and macro."""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Any

import duckdb

#: Database files are written so that the stock DuckDB 1.5 shell (duckdb-cli) can open them.
STORAGE_VERSION = "v1.5.0"

_OPEN: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def connect(
    database: str | os.PathLike = ":memory:",
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
    role: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open ``database`` and bind every corpusql function (TEMP) and SQL macro on it.

    New database files are created with ``storage_compatibility_version='v1.5.0'`` so the stock
    DuckDB 1.5 shell opens them. Nothing corpusql defines is written into the file: functions and
    macros are TEMP objects of this connection.

    ``role``: a locked-down, read-only connection that sees only the catalog datasets granted
    to that role (see :mod:`corpusql.catalog.roles` and docs/access-control.md).
    """
    from .binder import bind
    from .functions import REGISTRY
    from .sqllib import load_library

    cfg = dict(config or {})
    database = os.fspath(database)
    setup = None
    if role is not None:
        from .catalog.roles import prepare

        setup = prepare(database, role)  # the role's own read-only database, in a temp dir
        database, read_only = setup.path, True
    if not read_only and database != ":memory:":
        # new files open in the stock 1.5 shell; on existing files the setting is harmless and
        # keeps a second connect() to the same file in this process on the same configuration
        cfg.setdefault("storage_compatibility_version", STORAGE_VERSION)
    try:
        con = duckdb.connect(database, read_only=read_only, config=cfg)
    except BaseException:
        if setup is not None:
            setup.cleanup()
        raise
    try:
        bind(con, REGISTRY, guard=setup.guard if setup else None)
        load_library(con)
        if setup is None:  # role connections read no files but their granted datasets
            from .web import bind_web

            bind_web(con)
        if setup is not None:
            setup.enter(con)
            # The open file stays readable; its name goes, so nothing can write to it by path.
            # The directory stays for DuckDB's spill files until the connection is collected.
            os.unlink(setup.path)
            weakref.finalize(con, setup.cleanup)
        else:
            _attach_catalog(con)
    except BaseException:
        con.close()
        if setup is not None:
            setup.cleanup()
        raise
    _OPEN.add(con)
    return con


def _attach_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """Re-register the filesystems that catalog views over remote sources read through."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'corpusql' AND table_name = 'datasets'"
    ).fetchall()[0][0]
    if found:
        from .catalog import attach  # imported only for databases that have a catalog

        attach(con)


@atexit.register
def _close_all() -> None:
    """Close connections still open at exit, so DuckDB prints no leak noise."""
    for con in list(_OPEN):
        try:
            con.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
