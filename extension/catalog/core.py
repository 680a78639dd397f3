"""The source catalog: datasets, their files, cached copies and quarantined input.

``cat = corpusql.catalog(con)``; ``cat.add("web", "s3://bucket/web/*.parquet", secret="lake")``
lists the files, records them in ``corpusql.files`` and creates the view ``web`` (data columns plus
``_file`` and ``_row``). Text formats are parsed into cached Parquet at add/sync time, with bad
lines in ``corpusql.quarantine``; Parquet is read where it lies until ``prewarm`` copies it.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from pathlib import Path

import duckdb

from ..errors import CatalogError
from . import schema, schemas
from .access import AccessMixin
from .common import DatasetStatus, SyncReport, VerifyReport, catalog_dir, log  # noqa: F401 - re-exported
from .credentials import SecretsMixin
from .datasets import DatasetsMixin
from .sources import Source, routes
from .staging import StagingMixin
from .sync import SyncMixin
from .verify import VerifyMixin
from .views import relative, resolve, view_body, wrap_view


def relocate(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild ``con``'s catalog views if its database file moved (``corpusql.connect`` calls
    this); cheap when it did not."""
    base = catalog_dir(con)
    row = con.execute("SELECT value FROM corpusql.settings WHERE key = 'catalog_dir'").fetchall()
    if base is not None and row and row[0][0] != base:
        Catalog(con)


def attach(con: duckdb.DuckDBPyConnection) -> None:
    """Register the remote datasets of ``con``'s catalog and rebuild its views if the database
    file moved (called by ``corpusql.connect``)."""
    rows = con.execute("SELECT name, uri, options, secret FROM corpusql.datasets").fetchall()
    remote = [(n, Source(u, json.loads(o) if o else {}, s)) for n, u, o, s in rows]
    remote = [(n, s) for n, s in remote if s.remote]
    if remote:
        r = routes(con)
        for name, src in remote:
            r.set(name, src)
    if rows:
        relocate(con)  # a moved or copied lake: rebuild the views' absolute paths


class Catalog(StagingMixin, SyncMixin, VerifyMixin, DatasetsMixin, AccessMixin, SecretsMixin):
    """Datasets of one DuckDB database; see the module docstring."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cache_dir: str | os.PathLike | None = None):
        self.con = con
        (db, path), = con.execute("SELECT database_name, path FROM duckdb_databases() "
                                  "WHERE database_name = current_database()").fetchall()
        if db == "corpusql":
            raise CatalogError(
                f"the database {path or db!r} is named 'corpusql', like the catalog's schema, so "
                "'corpusql.datasets' would be ambiguous; give the file another name (for example "
                "lake.duckdb) or ATTACH it under another alias and USE it")
        if not schema.exists(con) or schema.missing(con):
            schema.create(con)
        self.base = catalog_dir(con)
        self._before: list[str] | None = None  # set by _relocate (read-only connections)
        self.cache_dir = Path(self._cache_dir(cache_dir))
        self._relocate()

    def _relocate(self) -> None:
        """Rebuild the views when the catalog directory moved since they were built.

        Views hold absolute paths (the stock shell reads them from any working directory); the
        tables hold paths relative to the catalog directory. A read-only connection cannot
        rewrite the stored views, so it gets TEMP views of the same names instead.
        """
        if self.base is None:
            return
        row = self._q("SELECT value FROM corpusql.settings WHERE key = 'catalog_dir'")
        built = row[0][0] if row else None
        if built == self.base:
            return
        readonly = self._q("SELECT readonly FROM duckdb_databases() "
                           "WHERE database_name = current_database()")[0][0]
        if built is not None:
            log.info("catalog moved from %s to %s: rebuilding views", built, self.base)
            before = [built] + [d for d in self._moved_from() if d != built]
            self._before = before
            if not readonly:
                self._q("DELETE FROM corpusql.settings WHERE key = 'catalog_dirs_before'")
                self._q("INSERT INTO corpusql.settings VALUES ('catalog_dirs_before', ?)",
                        [json.dumps(before)])
                # quarantine.file holds absolute source paths
                self._q("UPDATE corpusql.quarantine SET file = ? || file[?:] "
                        "WHERE starts_with(file, ?)", [self.base, len(built) + 1, built + "/"])
            for name in self._names():
                if not self._view_exists(name):  # an add that failed before making one
                    continue
                try:
                    self._refresh_view(name, temp=readonly)
                except duckdb.Error as exc:  # a file outside the moved directory is gone
                    log.warning("dataset %s: view not rebuilt after the catalog moved: %s",
                                name, exc)
                    if not readonly:
                        self._set_status(name, "failed", f"view not rebuilt after the catalog "
                                         f"moved to {self.base}: {exc} (run sync)")
        if not readonly:
            self._q("DELETE FROM corpusql.settings WHERE key = 'catalog_dir'")
            self._q("INSERT INTO corpusql.settings VALUES ('catalog_dir', ?)", [self.base])

    def _q(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def _rel(self, path: str | None) -> str | None:
        return relative(path, self.base)

    def _abs(self, path: str | None) -> str | None:
        return resolve(path, self.base)

    def _cache_dir(self, given) -> str:
        if given is not None:
            path = os.path.abspath(os.fspath(given))
        else:
            row = self._q("SELECT value FROM corpusql.settings WHERE key = 'cache_dir'")
            if row:
                return self._abs(row[0][0])
            db = self._q("SELECT path FROM duckdb_databases() "
                         "WHERE database_name = current_database()")[0][0]
            if os.environ.get("CORPUSQL_CACHE"):
                path = os.path.abspath(os.environ["CORPUSQL_CACHE"])
            elif db:
                path = os.path.abspath(db) + ".corpusql-cache"
            else:
                path = tempfile.mkdtemp(prefix="corpusql-cache-")
        self._q("DELETE FROM corpusql.settings WHERE key = 'cache_dir'")
        self._q("INSERT INTO corpusql.settings VALUES ('cache_dir', ?)", [self._rel(path)])
        return path

    def _names(self) -> list[str]:
        return [r[0] for r in self._q("SELECT name FROM corpusql.datasets ORDER BY name")]

    def _row(self, name: str) -> dict:
        rows = self.con.execute("SELECT * FROM corpusql.datasets WHERE name = ?", [name])
        cols = [d[0] for d in rows.description]
        found = rows.fetchall()
        if not found:
            hint = difflib.get_close_matches(name, self._names(), n=1)
            more = f"; did you mean {hint[0]!r}?" if hint else ""
            raise CatalogError(f"dataset {name!r} is not in the catalog{more}")
        return dict(zip(cols, found[0]))

    def _source(self, row: dict) -> Source:
        return Source(self._abs(row["uri"]), json.loads(row["options"]) if row["options"] else {},
                      row["secret"])

    def _backend(self, name: str, src: Source):
        if src.remote:
            r = routes(self.con)
            r.set(name, src)
            return r.resolve(name)
        return src.backend()

    def _set_status(self, name: str, status: str, error: str | None = None) -> None:
        self._q("UPDATE corpusql.datasets SET status = ?, error = ? WHERE name = ?",
                [status, error, name])

    def _view_exists(self, name: str) -> bool:
        return bool(self._q("SELECT 1 FROM duckdb_views() WHERE view_name = ? "
                            "AND schema_name = 'main' AND database_name = current_database()",
                            [name]))

    def _view_body(self, name: str) -> tuple[str, tuple[str, str]]:
        """The SELECT of dataset ``name``'s view before takedowns are applied, and its
        lineage columns."""
        row = self._row(name)
        src = self._source(row)
        files = self._q("SELECT path, cache_path FROM corpusql.files WHERE dataset = ? "
                        "AND NOT quarantined ORDER BY path", [name])
        cached = [self._abs(c) for _, c in files if c]
        live = [self._abs(p) for p, c in files if not c]
        if src.remote and live:
            routes(self.con).set(name, src)
        moves = None
        if cached and src.scheme == "file" and self.base is not None:
            moves = [(old, self.base) for old in self._moved_from()]
        lineage = schemas.lineage_of(src.options)
        return view_body(name, cached, live, src.remote, lineage, moves), lineage

    def _refresh_view(self, name: str, temp: bool = False, rescan: bool = True) -> None:
        """(Re)create dataset ``name``'s view. Rows a recorded takedown matches are left out
        (corpusql.takedown_views): found again over the dataset's files unless ``rescan`` is
        false (the rows listed in corpusql.takedown_rows are used as they are)."""
        from .. import takedown_views
        from ..takedown_apply import recorded_in_db

        body, lineage = self._view_body(name)
        if rescan:
            hidden = takedown_views.refresh(self.con, name, body, lineage, readonly=temp,
                                            takedowns=recorded_in_db(self.con))
        else:
            hidden = takedown_views.TABLE if takedown_views.hidden_count(self.con, name) else None
        self.con.execute(wrap_view(name, body, lineage, temp=temp, hidden=hidden))

    def _moved_from(self) -> list[str]:
        """Directories the catalog was at before it moved here (settings key
        ``catalog_dirs_before``, a JSON list), most recent first."""
        if self._before is not None:
            return [d for d in self._before if d != self.base]
        row = self._q("SELECT value FROM corpusql.settings WHERE key = 'catalog_dirs_before'")
        return [d for d in (json.loads(row[0][0]) if row else []) if d != self.base]


def catalog(con: duckdb.DuckDBPyConnection, cache_dir: str | os.PathLike | None = None) -> Catalog:
    """The catalog of ``con``'s database, creating its tables on first use."""
    return Catalog(con, cache_dir)
