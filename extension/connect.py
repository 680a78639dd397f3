"""``corpusql.connect``: a DuckDB connection with every corpusql function and macro."""

from __future__ import annotations

import atexit
import os
import re
import weakref
from typing import Any

import duckdb

from .version import STORAGE_VERSION

_OPEN: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
#: Open connections without a role: functions registered later are bound onto these too.
UNGUARDED: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()

#: The connection variable that holds the corpusql memory budget in bytes.
BUDGET_VARIABLE = "corpusql_memory_budget"
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def connect(
    database: str | os.PathLike = ":memory:",
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
    role: str | None = None,
    memory_budget: int | str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open ``database`` and bind every corpusql function (TEMP) and SQL macro on it.

    New database files are created with ``storage_compatibility_version='v1.5.0'`` so the stock
    DuckDB 1.5 shell opens them. Nothing corpusql defines is written into the file: functions and
    macros are TEMP objects of this connection.

    ``role``: a locked-down, read-only connection that sees only the catalog datasets granted
    to that role (see :mod:`corpusql.catalog.roles` and docs/access-control.md).

    ``memory_budget``: how much memory corpusql's buffering steps may use (bytes, or a size such
    as ``"4GB"`` or ``"512MiB"``; default half of what the process can still get: the least of
    physical RAM, the headroom under ``ulimit -v`` and under a cgroup's ``memory.max``, see
    :mod:`corpusql.udfs.memory`). DuckDB's ``memory_limit`` bounds DuckDB, not the Python kernels;
    near-dup candidate expansion, clustering, Jaccard verification and whole-text token encodes
    check this budget and fail with an error naming it instead of being killed.
    Change it later with :func:`set_memory_budget`.
    """
    from .binder import bind
    from .functions import REGISTRY
    from .introspect import create_listing
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
        create_listing(con)  # corpusql_functions(): the registry and the library, one row each
        if memory_budget is None:
            from .udfs.memory import default_memory_budget

            memory_budget = default_memory_budget()
        set_memory_budget(con, memory_budget)
        if setup is None:  # role connections read no files but their granted datasets
            from .web import bind_web

            bind_web(con)
            from .provenance_sql import bind_releases

            bind_releases(con)
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
    if setup is None:
        UNGUARDED.add(con)
    return con


def set_memory_budget(con: duckdb.DuckDBPyConnection, budget: int | str) -> int:
    """Set the corpusql memory budget of connection ``con``; returns it in bytes.

    ``budget`` is a number of bytes or a size such as ``"4GB"`` (powers of 1000) or ``"4GiB"``
    (powers of 1024). It is kept in the connection variable ``corpusql_memory_budget`` (bytes),
    which the binder passes to the kernels that buffer and the near-dup macros read: SQL users
    can also ``SET VARIABLE corpusql_memory_budget = 4e9``. Per connection: a ``cursor()`` or
    another connection has its own (unset means no budget).
    """
    size = parse_size(budget)
    con.execute(f"SET VARIABLE {BUDGET_VARIABLE} = {size}::BIGINT")
    return size


def parse_size(value: int | str) -> int:
    """Bytes from an int or a size text like ``'4GB'``, ``'1.5 GiB'``, ``'300MB'``."""
    size = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([a-zA-Z]*)\s*", value)
        if m and m.group(2).lower() in _UNITS:
            size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size is None or size <= 0:
        raise ValueError(f"memory_budget = {value!r} is not a size; give bytes (a positive "
                         "integer) or a text such as '4GB', '512MB' or '2GiB'")
    return size




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
