"""Roles, grants, masks and locked-down role connections.

``corpusql.connect(db, role="annotators")`` does not open ``db`` itself. It reads the catalog
once (read-only), writes a small *role database* in a private temporary directory holding only
that role's part of the catalog (its granted datasets, their files and quarantine, its grants,
masks and allowed paths), and opens that file read-only. On the connection:

* each granted dataset is a TEMP view; other datasets have no view, no catalog row and no file
  path anywhere on the connection, and the shared database file is not attached;
* every file a view reads goes through the read-only ``corpusql://`` filesystem (cached copies
  and local files included), and only those routed paths are in ``allowed_paths``: no local
  path is allowed at all, so ``COPY ... TO`` cannot overwrite a cached copy;
* a dataset with masked columns is read from *masked copies* only (see :mod:`.masks`): its
  files, with the masks applied in Python, written before the connection is locked down. Its
  raw files are not routed, so no path the role can name returns a raw value, and its view
  calls no function a role could redefine (only ``system.main.read_parquet``: measured, a role
  can ``CREATE OR REPLACE TEMP MACRO`` every unqualified name, ``pii_redact`` included);
* ``allowed_paths``, ``enable_external_access = false`` and ``lock_configuration = true`` are
  set in that order (DuckDB rejects them in the connect config);
* kernels that open files (ONNX models, tokenizers) run under a :class:`PathGuard` allowing only
  the bundled data and the role's ``allow_path`` entries.

This is a guard rail inside one trusted process, not a sandbox: see docs/access-control.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from ..udfs.paths import PathGuard
from ..version import STORAGE_VERSION
from . import schema
from .remote import Backend, FsspecBackend
from .role_views import RoleError, _local_route, _view_sql, _views  # noqa: F401 - RoleError re-exported
from .routefs import route_path
from .sources import Source, routes
from .views import lit, resolve

PRIVILEGES = ("read",)
#: Catalog tables copied into the role database, with the filter that keeps the role's rows.
_COPIED = {
    "datasets": "name IN (SELECT * FROM __granted)",
    "files": "dataset IN (SELECT * FROM __granted)",
    "quarantine": "dataset IN (SELECT * FROM __granted)",
    "roles": "name = $role",
    "grants": "role = $role AND dataset IN (SELECT * FROM __granted)",
    "masks": "role = $role AND dataset IN (SELECT * FROM __granted)",
    "role_paths": "role = $role",
    "takedown_rows": "dataset IN (SELECT * FROM __granted)",
    "secrets": "name IN (SELECT secret FROM corpusql.datasets "
               "WHERE name IN (SELECT * FROM __granted))",
}


#: Role connections and the setup they were entered with (see :func:`entered`).
_ENTERED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def entered(con: duckdb.DuckDBPyConnection) -> RoleSetup | None:
    """The :class:`RoleSetup` of role connection ``con``, None for any other connection."""
    return _ENTERED.get(con)


def granted(con: duckdb.DuckDBPyConnection, role: str) -> list[str]:
    if not con.execute("SELECT 1 FROM corpusql.roles WHERE name = ?", [role]).fetchall():
        names = [r[0] for r in con.execute("SELECT name FROM corpusql.roles ORDER BY name")
                 .fetchall()]
        raise RoleError(f"role {role!r} is not in the catalog (corpusql.roles has: "
                        f"{', '.join(names) or 'no roles'})")
    return [r[0] for r in con.execute(
        "SELECT DISTINCT dataset FROM corpusql.grants WHERE role = ? AND privilege = 'read' "
        "AND dataset IN (SELECT name FROM corpusql.datasets) ORDER BY dataset", [role]).fetchall()]




class _Granted(Backend):
    """One granted dataset's files for a role connection: exactly its listed files, read-only."""

    def __init__(self, source: Source, files: set[str]) -> None:
        from fsspec.implementations.local import LocalFileSystem

        self.scheme = source.scheme
        self.source = source
        self.files = files
        self.local = FsspecBackend("file", LocalFileSystem())
        self.remote: Backend | None = None

    def _pick(self, uri: str) -> tuple[Backend, str]:
        if uri not in self.files:
            raise PermissionError(f"{uri}: not a file of a dataset granted to this connection")
        if uri.startswith("file://"):
            return self.local, "/" + uri[len("file://"):]
        if self.remote is None:
            self.remote = self.source.backend()
        return self.remote, uri

    def list(self, pattern: str) -> list[dict]:
        raise PermissionError("a role connection does not list sources")

    def info(self, path: str) -> dict:
        backend, real = self._pick(path)
        return backend.info(real)

    def open(self, path: str, size: int | None = None):
        backend, real = self._pick(path)
        return backend.open(real, size)


@dataclass
class RoleSetup:
    """A prepared role database: open :attr:`path` read-only, bind, then call :meth:`enter`."""

    role: str
    path: str
    tmpdir: str
    guard: PathGuard
    views: dict[str, dict] = field(default_factory=dict)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def enter(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the TEMP views, route their files and lock the connection down."""
        r = routes(con)
        allowed: list[str] = []
        for name, v in self.views.items():
            r.put(name, v["source"], _Granted(v["source"], set(v["routed"])))
            allowed += [route_path(name, u) for u in v["routed"]]
            con.execute(_view_sql(name, v))
        con.execute("SET allowed_paths = [" + ", ".join(lit(p) for p in allowed) + "]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        _ENTERED[con] = self










def _open_shared(database: str) -> duckdb.DuckDBPyConnection:
    """``database`` to read the catalog from: read-only, or through the instance this process
    already has open on it (DuckDB refuses a second configuration of one file in a process)."""

    try:
        return duckdb.connect(database, read_only=True)
    except duckdb.ConnectionException:
        for cfg in ({"storage_compatibility_version": STORAGE_VERSION}, {}):
            try:
                return duckdb.connect(database, config=cfg)
            except duckdb.ConnectionException:
                pass
        raise


def prepare(database: str, role: str) -> RoleSetup:
    """Read ``role``'s part of ``database``'s catalog into a private read-only role database."""
    src = _open_shared(database)
    try:
        if not schema.exists(src):
            raise RoleError(f"role {role!r}: {database} has no catalog (corpusql.roles)")
        names = granted(src, role)
        have = {r[0] for r in src.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'corpusql'").fetchall()}
        src.register("__granted", pa.table({"name": pa.array(names, pa.string())}))
        tables = {t: src.sql(f"SELECT * FROM corpusql.{t} WHERE {where}",
                             params={"role": role} if "$role" in where else None).to_arrow_table()
                  for t, where in _COPIED.items() if t in have}
        src.unregister("__granted")
        setting = src.execute("SELECT value FROM corpusql.settings WHERE key = 'cache_dir'"
                              ).fetchall() if "settings" in have else []
        cache_dir = setting[0][0] if setting else None
    finally:
        src.close()

    tmpdir = tempfile.mkdtemp(prefix="corpusql-role-")
    try:
        base = os.path.dirname(os.path.abspath(database))  # stored paths are relative
        views = _views(tables, resolve(cache_dir, base), tmpdir, base)
        path = os.path.join(tmpdir, f"{role}.duckdb")
        out = duckdb.connect(path)
        try:
            schema.create(out)
            for t, data in tables.items():
                out.register("__rows", data)  # BY NAME: an older catalog's masks lack kind
                out.execute(f"INSERT INTO corpusql.{t} BY NAME SELECT * FROM __rows")
                out.unregister("__rows")
        finally:
            out.close()
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    allowed = [p["path"] for p in tables.get("role_paths", pa.table({"path": []})).to_pylist()]
    return RoleSetup(role, path, tmpdir, PathGuard(allowed, f"role {role!r}"),
                     views)
