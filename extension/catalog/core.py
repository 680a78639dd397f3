"""The source catalog: datasets, their files, cached copies and quarantined input.

``cat = corpusql.catalog(con)``; ``cat.add("web", "s3://bucket/web/*.parquet", secret="lake")``
lists the files, records them in ``corpusql.files`` and creates the view ``web`` (data columns plus
``_file`` and ``_row``). Text formats are parsed into cached Parquet at add/sync time, with bad
lines in ``corpusql.quarantine``; Parquet is read where it lies until ``prewarm`` copies it.
"""

from __future__ import annotations

import difflib
import getpass
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .. import licences
from ..errors import CatalogError
from ..files import sha256_file as _sha256
from . import formats, schema, schemas, secrets
from .roles import PRIVILEGES
from .sources import Source, SourceError, routes
from .views import ident, relative, resolve, view_sql

log = logging.getLogger("corpusql.catalog")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class DatasetStatus:
    name: str
    uri: str
    format: str
    status: str
    error: str | None
    files: int
    bytes: int
    cached_files: int
    quarantined_files: int
    quarantined_lines: int
    last_sync: datetime | None
    notes: list[str] = field(default_factory=list)  # "file: values kept in another type"
    licence: str = "unknown"  # SPDX id or expression, or 'unknown' (corpusql.licences)
    terms_url: str | None = None
    attribution: str | None = None
    redistributable: str = "unknown"  # true, false or unknown

    @property
    def summary(self) -> str:
        """The status with what was left out or converted: ``ready, 1 file quarantined``."""
        parts = [self.status]
        if self.quarantined_files:
            parts.append(f"{_count(self.quarantined_files, 'file')} quarantined")
        if self.notes:
            parts.append(_count(len(self.notes), "note"))
        return ", ".join(parts)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


@dataclass
class SyncReport:
    """Source paths (absolute) that a sync staged or forgot.

    ``changed``: a different size, content hash (local files) or ETag (remote, git);
    ``recached``: unchanged files whose cached copy had gone missing and was made again.
    """

    dataset: str
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    recached: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    dataset: str
    checked: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    source_changed: list[str] = field(default_factory=list)
    source_new: list[str] = field(default_factory=list)
    source_vanished: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.missing or self.source_changed or self.source_new
                    or self.source_vanished)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def content_hash(path: str) -> str:
    """blake2b (32-byte digest, hex) of a local file's bytes: what ``sync`` and ``verify``
    compare for local sources, so an edit that keeps the size and the mtime is still seen."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=32)).hexdigest()


def catalog_dir(con: duckdb.DuckDBPyConnection) -> str | None:
    """The directory of ``con``'s current database file (None in memory): the base of the
    relative paths the catalog stores."""
    (path,), = con.execute("SELECT path FROM duckdb_databases() "
                           "WHERE database_name = current_database()").fetchall()
    return os.path.dirname(os.path.abspath(path)) if path else None


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


def _differs(now: dict, old: dict) -> bool:
    """A listed file differs from the catalog's record: by size, else by content hash when
    both are known (local files), else by ETag/mtime."""
    if now["size"] != old["size"]:
        return True
    if now["hash"] and old["hash"]:
        return now["hash"] != old["hash"]
    return now["etag"] != old["etag"]


class Catalog:
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

    # -- helpers -----------------------------------------------------------------------------

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

    def _write_cache(self, name: str, f: dict, table: pa.Table) -> tuple[str, str, int]:
        d = self.cache_dir / name
        d.mkdir(parents=True, exist_ok=True)
        key = f"{f['path']}\0{f['size']}\0{f['etag']}"  # a changed file gets a new copy
        path = d / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".parquet")
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
        return str(path), _sha256(str(path)), table.num_rows

    _COLUMNS = {
        "files": [("dataset", pa.string()), ("path", pa.string()), ("size", pa.int64()),
                  ("etag_or_mtime", pa.string()), ("sha256", pa.string()),
                  ("cache_path", pa.string()), ("rows", pa.int64()), ("quarantined", pa.bool_()),
                  ("content_hash", pa.string())],
        "quarantine": [("dataset", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                       ("reason", pa.string()), ("recorded", pa.timestamp("us"))],
        "notes": [("dataset", pa.string()), ("file", pa.string()), ("note", pa.string()),
                  ("recorded", pa.timestamp("us"))],
    }

    def _insert(self, table: str, rows: list[list]) -> None:
        """Bulk insert through Arrow (one statement, not one per row)."""
        if not rows:
            return
        cols = self._COLUMNS[table]
        data = pa.table({c: pa.array([r[i] for r in rows], t) for i, (c, t) in enumerate(cols)})
        view = f"__corpusql_insert_{table}"
        self.con.register(view, data)
        try:
            self.con.execute(f"INSERT INTO corpusql.{table} BY NAME SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def _quarantine(self, name: str, uri: str, problems: list, notes: list | None = None) -> None:
        now = _now()
        for line, reason in problems:
            log.warning("dataset %s: quarantined %s line %s: %s", name, uri, line, reason)
        self._insert("quarantine", [[name, uri, line, reason, now] for line, reason in problems])
        self._insert("notes", [[name, uri, note, now] for note in notes or []])

    def _stage(self, name: str, fmt: str, backend, f: dict,
               lineage: tuple[str, str] | None = None) -> dict:
        """Read and parse one file into the cache; returns the files-row fields."""
        if lineage is None:
            lineage = schemas.lineage_of(self._source(self._row(name)).options)
        raw = backend.cat(f["path"])
        table, problems, notes, clash = formats.parse(fmt, raw, f["path"], lineage)
        out = {"sha256": None, "cache_path": None, "rows": None, "quarantined": table is None,
               "problems": problems, "notes": notes, "clash": clash,
               "schema": None if table is None else table.schema}
        if table is not None:
            out["cache_path"], out["sha256"], out["rows"] = self._write_cache(name, f, table)
        return out

    def _live(self, backend, f: dict, lineage: tuple[str, str]) -> dict:
        """The files-row fields of a Parquet file the view reads where it lies (footer checked)."""
        out = {"sha256": None, "cache_path": None, "rows": None, "quarantined": True,
               "problems": [(None, "zero-byte file")], "notes": [], "schema": None,
               "clash": False}
        if f["size"]:
            schema, why = schemas.parquet_footer(lambda: backend.open(f["path"], f["size"]))
            clash = False
            if schema is not None:
                why, clash = schemas.reserved(schema.names, live=True, lineage=lineage)
            out.update(quarantined=why is not None, schema=None if why else schema, clash=clash,
                       problems=[(None, why)] if why else [])
        return out

    def _type_conflicts(self, name: str, backend, staged: dict, kept: list[tuple]) -> None:
        """Quarantine staged files whose column types the view cannot union with the others.

        ``kept`` holds (path, cache_path) of the files already in the view, which come first.
        """
        if not any(st["schema"] is not None for st in staged.values()):
            return
        before = []
        for path, cache in sorted(kept):
            if cache:
                if os.path.exists(cache):  # a missing copy is verify's to report
                    before.append((path, pq.read_schema(cache)))
            else:
                schema, _ = schemas.parquet_footer(lambda p=path: backend.open(p))
                if schema is not None:
                    before.append((path, schema))
        new = [(p, st["schema"]) for p, st in sorted(staged.items()) if st["schema"] is not None]
        bad, notes = schemas.conflicts(before + new)
        for path, noted in notes.items():
            if path in staged:
                staged[path]["notes"] = staged[path]["notes"] + noted
        for path, why in bad.items():
            st = staged.get(path)
            if st is None:
                continue
            if st["cache_path"]:
                Path(st["cache_path"]).unlink(missing_ok=True)
            st.update(quarantined=True, cache_path=None, sha256=None, rows=None, schema=None,
                      notes=[], problems=[(None, why)])

    def _stage_all(self, name: str, fmt: str, backend, now: dict, report: SyncReport,
                   stage: bool, lineage: tuple[str, str]) -> dict:
        """Stage (or footer-check) the new and changed files; a file gone meanwhile is dropped
        from ``now``. Returns the files-row fields by path."""
        staged = {}
        for p in report.new + report.changed + report.recached:
            if p not in now:
                continue
            f = now[p]
            if stage or p in report.recached:
                try:
                    staged[p] = self._stage(name, fmt, backend, f, lineage)
                except FileNotFoundError:  # listed, then gone before it could be read
                    log.warning("dataset %s: %s vanished during sync", name, p)
                    del now[p]
                    continue
            else:
                staged[p] = self._live(backend, f, lineage)
        return staged

    def _view_exists(self, name: str) -> bool:
        return bool(self._q("SELECT 1 FROM duckdb_views() WHERE view_name = ? "
                            "AND schema_name = 'main' AND database_name = current_database()",
                            [name]))

    def _refresh_view(self, name: str, temp: bool = False) -> None:
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
        self.con.execute(view_sql(name, cached, live, src.remote, schemas.lineage_of(src.options),
                                  temp=temp, moves=moves))

    def _moved_from(self) -> list[str]:
        """Directories the catalog was at before it moved here (settings key
        ``catalog_dirs_before``, a JSON list), most recent first."""
        if self._before is not None:
            return [d for d in self._before if d != self.base]
        row = self._q("SELECT value FROM corpusql.settings WHERE key = 'catalog_dirs_before'")
        return [d for d in (json.loads(row[0][0]) if row else []) if d != self.base]

    # -- public API --------------------------------------------------------------------------

    def add(self, name: str, uri: str, *, format: str = "auto", secret: str | None = None,
            options: dict | None = None, replace: bool = False, licence: str | None = None,
            terms_url: str | None = None, attribution: str | None = None,
            redistributable: bool | str | None = None) -> DatasetStatus:
        """Record dataset ``name`` at ``uri``, list its files and create the view ``name``.

        ``licence`` (an SPDX id or ``'unknown'``; None records ``'unknown'``), ``terms_url``,
        ``attribution`` and ``redistributable`` (True, False or ``'unknown'``) are recorded
        with it and copied into the manifest of every output that reads it (see
        :mod:`corpusql.licences`).

        A name whose dataset is ``failed`` is added again (a retry, with this ``uri``); any
        other existing name only with ``replace=True``, which forgets its files, quarantine and
        cached copies (its grants and masks stay) before adding.
        """
        if not _NAME.match(name):
            raise CatalogError(f"dataset name {name!r} must be a SQL identifier "
                               "(letters, digits, underscore; not starting with a digit)")
        prior = None
        if name in self._names():
            prior = self._row(name)
            if prior["status"] != "failed" and not replace:
                raise CatalogError(
                    f"dataset {name!r} already exists ({prior['status']}, "
                    f"{self._abs(prior['uri'])}); pass replace=True (--replace) to redefine it, "
                    "run sync to re-read its source, or remove it first")
        taken = prior is None and self._q(
            "SELECT 1 FROM duckdb_views() WHERE view_name = ? AND NOT internal "
            "UNION ALL SELECT 1 FROM duckdb_tables() WHERE table_name = ? "
            "AND schema_name = 'main'", [name, name])
        if taken:
            raise CatalogError(f"dataset {name!r}: a table or view named {name} already exists")
        if format != "auto" and format not in formats.FORMATS:
            raise CatalogError(f"dataset {name!r}: format {format!r} is not one of "
                               f"auto, {', '.join(formats.FORMATS)}")
        if secret is not None and not self._q(
                "SELECT 1 FROM corpusql.secrets WHERE name = ?", [secret]):
            raise CatalogError(f"dataset {name!r}: secret {secret!r} is not in the catalog "
                               "(add it with catalog.add_secret)")
        try:
            src = Source(uri, options or {}, secret)
            src.check()
            options, credentials = secrets.split_options(src.scheme, options or {})
            secrets.check_uri(src.scheme, uri)
        except (SourceError, secrets.SecretError) as exc:
            raise CatalogError(f"dataset {name!r}: {exc}") from exc
        try:
            terms = licences.normalized(name, licence=licence, terms_url=terms_url,
                                        attribution=attribution, redistributable=redistributable)
        except licences.LicenceError as exc:
            raise CatalogError(str(exc)) from None
        if credentials:
            secret = self._options_secret(name, src.scheme, secret, credentials)
        if src.scheme == "file":
            # absolute, so sync works from any working directory; stored relative to the
            # catalog directory when under it, so the lake can be moved
            uri = self._rel(src.pattern())
        if prior is not None:
            self._drop_files(name)
        self._q("INSERT INTO corpusql.datasets (name, uri, format, options, secret, owner, "
                "created, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'syncing')",
                [name, uri, format, json.dumps(options), secret, getpass.getuser(), _now()])
        self._q("UPDATE corpusql.datasets SET licence = ?, terms_url = ?, attribution = ?, "
                "redistributable = ? WHERE name = ?", [*terms.values(), name])
        try:
            self.sync(name)
        except CatalogError as exc:
            raise CatalogError(f"{exc} (the dataset is recorded as failed: fix the source and "
                               "add it again to retry, or pass replace=True (--replace) to "
                               "change its URI)") from exc
        return self.status(name)

    def _drop_files(self, name: str) -> None:
        """Forget ``name``'s record, files, quarantine, view and cached copies (not its grants
        and masks): what a retried or replacing ``add`` starts from."""
        caches = [self._abs(c) for (c,) in self._q(
            "SELECT cache_path FROM corpusql.files WHERE dataset = ? AND cache_path IS NOT NULL",
            [name])]
        self._delete(name, access=False)
        for c in caches:
            Path(c).unlink(missing_ok=True)

    #: What the catalog records of a dataset, and (``access``) who may read it and how.
    _RECORDS = ("files", "quarantine", "notes")
    _ACCESS = ("grants", "masks")

    def _delete(self, name: str, *, access: bool) -> None:
        """Drop ``name``'s view, routes and catalog rows in one transaction; its grants and
        masks too when ``access`` (``remove``), not when an ``add`` retries or replaces it."""
        tables = self._RECORDS + (self._ACCESS if access else ())
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"DROP VIEW IF EXISTS main.{ident(name)}")
            for table in tables:
                self._q(f"DELETE FROM corpusql.{table} WHERE dataset = ?", [name])
            self._q("DELETE FROM corpusql.datasets WHERE name = ?", [name])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        routes(self.con).drop(name)

    def _options_secret(self, name: str, scheme: str, secret: str | None,
                        credentials: dict) -> str:
        """Store the credential ``options`` of dataset ``name`` as the secret
        ``<name>_options``; the catalog keeps only its name (never the values)."""
        if secret is not None:
            raise CatalogError(
                f"dataset {name!r}: credential option(s) {', '.join(sorted(credentials))} "
                f"given with secret {secret!r}; put them in that secret instead "
                "(corpusql secret add, or catalog.add_secret) and leave them out of options")
        auto = f"{name}_options"
        users = [r[0] for r in self._q("SELECT name FROM corpusql.datasets WHERE secret = ?",
                                       [auto])]
        if users:
            raise CatalogError(f"dataset {name!r}: its credential options would be stored as "
                               f"secret {auto!r}, which dataset(s) {', '.join(users)} use")
        self.add_secret(auto, secrets.SCHEME_KINDS[scheme], **credentials)
        log.info("dataset %s: credential option(s) %s stored as secret %s, outside the "
                 "database", name, ", ".join(sorted(credentials)), auto)
        return auto

    def sync(self, name: str, *, quick: bool = False) -> SyncReport:
        """Re-list the source: stage new and changed files, forget vanished ones, and make the
        cached copies that went missing again.

        A local file is compared by size and the blake2b hash of its bytes (read in full at
        every sync); ``quick=True`` re-hashes only files whose size or mtime changed, and so
        misses an edit that keeps both. Remote files are compared by size and ETag (or version
        id), git files by blob id: nothing is downloaded to compare them.
        """
        row = self._row(name)
        src = self._source(row)
        report = SyncReport(name)
        self._set_status(name, "syncing", row["error"])
        try:
            backend = self._backend(name, src)
            listing = backend.list(src.pattern())
            if not listing and row["format"] == "auto":
                raise CatalogError(f"dataset {name!r}: no files match {self._abs(row['uri'])}")
            fmt = row["format"]
            if fmt == "auto":
                fmt = formats.detect_all(f["path"] for f in listing)
            old = self._known(name)
            now = self._hashed(src, listing, old if quick else {})
            report.new = sorted(p for p in now if p not in old)
            report.changed = sorted(p for p in now if p in old and _differs(now[p], old[p]))
            report.recached = sorted(
                p for p in now if p in old and p not in report.changed
                and old[p]["cache_path"] and not os.path.exists(old[p]["cache_path"]))
            touched = [p for p in now if p in old and p not in report.changed + report.recached
                       and (now[p]["etag"], now[p]["hash"]) != (old[p]["etag"], old[p]["hash"])]
            stage = fmt != "parquet" or src.scheme == "git" or row["prewarmed"]
            lineage = schemas.lineage_of(src.options)
            staged = self._stage_all(name, fmt, backend, now, report, stage, lineage)
            renamed = None
            if not old and "lineage_prefix" not in src.options and \
                    any(st["clash"] for st in staged.values()):
                # Files with their own _file/_row columns at add: rename the lineage instead.
                lineage = schemas.RENAMED
                for st in staged.values():  # copies written with the default names
                    if st["cache_path"]:
                        Path(st["cache_path"]).unlink(missing_ok=True)
                staged = self._stage_all(name, fmt, backend, now, report, stage, lineage)
                renamed = dict(src.options, lineage_prefix=lineage[0].removesuffix("file"))
            report.new = [p for p in report.new if p in now]
            report.changed = [p for p in report.changed if p in now]
            report.recached = [p for p in report.recached if p in now]
            report.vanished = sorted(p for p in old if p not in now)
            kept = [(self._abs(p), self._abs(c)) for p, c in self._q(
                "SELECT path, cache_path FROM corpusql.files WHERE dataset = ? AND NOT quarantined",
                [name])]
            self._type_conflicts(name, backend, staged,
                                 [(p, c) for p, c in kept if p in now and p not in staged])
            revision = backend.commit() if src.scheme == "git" else None
            self.con.execute("BEGIN TRANSACTION")
            try:
                if renamed is not None:
                    self._q("UPDATE corpusql.datasets SET options = ? WHERE name = ?",
                            [json.dumps(renamed), name])
                    self._quarantine(name, self._abs(row["uri"]), [], [
                        f"lineage columns are {lineage[0]} and {lineage[1]}: files have their "
                        "own _file or _row columns, kept as they are (options lineage_prefix)"])
                self._forget(name, report.changed + report.vanished + report.recached)
                self._insert("files", [
                    [name, self._rel(p), now[p]["size"], now[p]["etag"], st["sha256"],
                     self._rel(st["cache_path"]), st["rows"], st["quarantined"], now[p]["hash"]]
                    for p, st in staged.items()])
                self._touch(name, {p: now[p] for p in touched})
                for p, st in staged.items():
                    self._quarantine(name, p, st["problems"], st["notes"])
                self._q("UPDATE corpusql.datasets SET format = ?, status = 'ready', error = NULL, "
                        "last_sync = ?, revision = ? WHERE name = ?",
                        [fmt, _now(), revision, name])
                if staged or report.vanished or not self._view_exists(name):
                    self._refresh_view(name)
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            for p in report.changed + report.vanished:
                cache = old[p]["cache_path"]
                if cache and cache not in {s["cache_path"] for s in staged.values()}:
                    Path(cache).unlink(missing_ok=True)
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self._set_status(name, "failed", msg)
            log.error("dataset %s: sync failed: %s", name, msg)
            if isinstance(exc, CatalogError):
                raise
            raise CatalogError(f"dataset {name!r}: sync of {self._abs(row['uri'])} failed: "
                               f"{msg}") from exc
        log.info("dataset %s: synced (%d new, %d changed, %d vanished, %d re-cached)", name,
                 len(report.new), len(report.changed), len(report.vanished),
                 len(report.recached))
        return report

    def _touch(self, name: str, files: dict[str, dict]) -> None:
        """Record new ETag/mtime and hash of files whose bytes did not change (a touched file,
        or a hash an older catalog lacked), in one statement."""
        if not files:
            return
        upd = pa.table({"path": pa.array([self._rel(p) for p in files], pa.string()),
                        "etag": pa.array([f["etag"] for f in files.values()], pa.string()),
                        "hash": pa.array([f["hash"] for f in files.values()], pa.string())})
        self.con.register("__corpusql_touch", upd)
        try:
            self._q("UPDATE corpusql.files f SET etag_or_mtime = u.etag, content_hash = u.hash "
                    "FROM __corpusql_touch u WHERE f.dataset = ? AND f.path = u.path", [name])
        finally:
            self.con.unregister("__corpusql_touch")

    def _known(self, name: str) -> dict[str, dict]:
        """The catalog's files of ``name`` by absolute source path."""
        return {self._abs(p): {"size": s, "etag": e, "hash": h, "sha256": sha,
                               "cache_path": self._abs(c)}
                for p, s, e, h, sha, c in self._q(
                    "SELECT path, size, etag_or_mtime, content_hash, sha256, cache_path "
                    "FROM corpusql.files WHERE dataset = ?", [name])}

    def _hashed(self, src: Source, listing: list[dict], reuse: dict[str, dict]) -> dict[str, dict]:
        """``listing`` by path, each with ``hash``: the content hash of a local file (reused
        from ``reuse`` when size and mtime match it), None for remote and git files."""
        out = {}
        for f in listing:
            f = dict(f, hash=None)
            if src.scheme == "file":
                known = reuse.get(f["path"])
                if known and known["hash"] and (known["size"], known["etag"]) == (
                        f["size"], f["etag"]):
                    f["hash"] = known["hash"]
                else:
                    try:
                        f["hash"] = content_hash(f["path"])
                    except FileNotFoundError:  # listed, then gone
                        continue
            out[f["path"]] = f
        return out

    def _forget(self, name: str, paths: list[str]) -> None:
        """Delete the files rows (stored relative) and quarantine rows of absolute ``paths``."""
        if paths:
            self._q("DELETE FROM corpusql.files WHERE dataset = ? AND list_contains(?, path)",
                    [name, [self._rel(p) for p in paths]])
            self._q("DELETE FROM corpusql.quarantine WHERE dataset = ? "
                    "AND list_contains(?, file)", [name, paths])
            self._q("DELETE FROM corpusql.notes WHERE dataset = ? AND list_contains(?, file)",
                    [name, paths])

    def prewarm(self, name: str) -> int:
        """Copy every uncached file to the local cache as Parquet; the view then reads the cache."""
        row = self._row(name)
        src = self._source(row)
        backend = self._backend(name, src)
        todo = self._q("SELECT path, size, etag_or_mtime FROM corpusql.files WHERE dataset = ? "
                       "AND cache_path IS NULL AND NOT quarantined ORDER BY path", [name])
        done = {}
        try:
            for path, size, etag in todo:  # done is keyed by the stored (maybe relative) path
                done[path] = self._stage(name, row["format"], backend,
                                         {"path": self._abs(path), "size": size, "etag": etag})
        except Exception as exc:
            self._set_status(name, "failed", f"prewarm: {type(exc).__name__}: {exc}")
            raise CatalogError(f"dataset {name!r}: prewarm failed: {exc}") from exc
        self.con.execute("BEGIN TRANSACTION")
        try:
            if done:
                upd = pa.table({
                    "path": pa.array(list(done), pa.string()),
                    "sha256": pa.array([st["sha256"] for st in done.values()], pa.string()),
                    "cache_path": pa.array([self._rel(st["cache_path"])
                                            for st in done.values()], pa.string()),
                    "rows": pa.array([st["rows"] for st in done.values()], pa.int64()),
                    "quarantined": pa.array([st["quarantined"] for st in done.values()])})
                self.con.register("__corpusql_prewarm", upd)
                try:
                    self._q("UPDATE corpusql.files f SET sha256 = u.sha256, "
                            "cache_path = u.cache_path, rows = u.rows, quarantined = u.quarantined "
                            "FROM __corpusql_prewarm u WHERE f.dataset = ? AND f.path = u.path",
                            [name])
                finally:
                    self.con.unregister("__corpusql_prewarm")
            for path, st in done.items():
                self._quarantine(name, self._abs(path), st["problems"], st["notes"])
            self._q("UPDATE corpusql.datasets SET prewarmed = true WHERE name = ?", [name])
            self._refresh_view(name)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return len(done)

    def verify(self, name: str) -> VerifyReport:
        """Recompute cached copies' sha256 and compare the source listing with the catalog.

        Local source files are always hashed (blake2b of their bytes) and compared with the
        recorded hash; remote files by size and ETag, git files by blob id. Sets the status to
        ``failed`` when a cached copy is missing or altered, and to ``stale`` when the source
        has new, changed or vanished files (``sync`` brings both back to ready: it re-stages
        changed files and makes missing cached copies again).
        """
        row = self._row(name)
        src = self._source(row)
        rep = VerifyReport(name)
        known = self._known(name)
        for path in sorted(known):
            cache = known[path]["cache_path"]
            if not cache:
                continue
            rep.checked += 1
            if not os.path.exists(cache):
                rep.missing.append(path)
            elif _sha256(cache) != known[path]["sha256"]:
                rep.mismatched.append(path)
        listing = self._hashed(src, self._backend(name, src).list(src.pattern()), {})
        rep.source_new = sorted(p for p in listing if p not in known)
        rep.source_vanished = sorted(p for p in known if p not in listing)
        rep.source_changed = sorted(p for p in listing if p in known and
                                    _differs(listing[p], known[p]))
        if rep.mismatched or rep.missing:
            parts = []
            for what, paths in (("missing", rep.missing), ("altered", rep.mismatched)):
                if paths:
                    caches = ", ".join(f"{p} (cache {known[p]['cache_path']})" for p in paths)
                    parts.append(f"cached copies {what}: {caches}")
            self._set_status(name, "failed", "; ".join(parts) + " (run sync to re-fetch missing "
                             "copies; remove altered ones and run sync, or re-run prewarm)")
        elif rep.source_new or rep.source_changed or rep.source_vanished:
            self._set_status(name, "stale", f"source changed: {len(rep.source_new)} new, "
                             f"{len(rep.source_changed)} changed, {len(rep.source_vanished)} "
                             "vanished (run sync)")
        return rep

    def clone(self, src: str, new_name: str) -> DatasetStatus:
        """A new dataset with ``src``'s source, files, quarantine and its own cache copies."""
        self._row(src)  # fails, naming the catalog, when src is not in it
        if new_name in self._names() or not _NAME.match(new_name):
            raise CatalogError(f"clone {src!r}: {new_name!r} exists or is not an identifier")
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._q("INSERT INTO corpusql.datasets SELECT * REPLACE (? AS name, ? AS owner, "
                    "? AS created) FROM corpusql.datasets WHERE name = ?",
                    [new_name, getpass.getuser(), _now(), src])
            for path, cache in self._q("SELECT path, cache_path FROM corpusql.files "
                                       "WHERE dataset = ?", [src]):
                new_cache = None
                if cache:
                    d = self.cache_dir / new_name
                    d.mkdir(parents=True, exist_ok=True)
                    new_cache = str(d / os.path.basename(cache))
                    shutil.copy2(self._abs(cache), new_cache)
                    new_cache = self._rel(new_cache)
                self._q("INSERT INTO corpusql.files SELECT * REPLACE (? AS dataset, "
                        "? AS cache_path) FROM corpusql.files WHERE dataset = ? AND path = ?",
                        [new_name, new_cache, src, path])
            self._q("INSERT INTO corpusql.quarantine SELECT * REPLACE (? AS dataset) "
                    "FROM corpusql.quarantine WHERE dataset = ?", [new_name, src])
            self._q("INSERT INTO corpusql.notes SELECT * REPLACE (? AS dataset) "
                    "FROM corpusql.notes WHERE dataset = ?", [new_name, src])
            self._refresh_view(new_name)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return self.status(new_name)

    def remove(self, name: str, *, drop_cache: bool = False) -> None:
        """Forget ``name``: its view, files, quarantine and grants (and its cache if asked)."""
        self._row(name)
        self._delete(name, access=True)
        if drop_cache:
            shutil.rmtree(self.cache_dir / name, ignore_errors=True)

    def status(self, name: str) -> DatasetStatus:
        row = self._row(name)
        files, nbytes, cached, qfiles = self._q(
            "SELECT count(*), coalesce(sum(size), 0)::BIGINT, count(cache_path), "
            "count(*) FILTER (quarantined) FROM corpusql.files WHERE dataset = ?", [name])[0]
        qlines = self._q("SELECT count(*) FROM corpusql.quarantine WHERE dataset = ? "
                         "AND line IS NOT NULL", [name])[0][0]
        notes = [f"{f}: {n}" for f, n in self._q(
            "SELECT file, note FROM corpusql.notes WHERE dataset = ? ORDER BY file, note", [name])]
        return DatasetStatus(name, self._abs(row["uri"]), row["format"], row["status"],
                             row["error"], files, nbytes, cached, qfiles, qlines,
                             row["last_sync"], notes, **licences.of_row(row))

    def set_licence(self, name: str, *, licence: str | None = None,
                    terms_url: str | None = None, attribution: str | None = None,
                    redistributable: bool | str | None = None) -> DatasetStatus:
        """Record the licence fields of an existing dataset (all four: an omitted one becomes
        ``unknown``/NULL). Outputs made before keep the fields their manifests recorded; the
        next materialization sees the change."""
        self._row(name)
        try:
            terms = licences.normalized(name, licence=licence, terms_url=terms_url,
                                        attribution=attribution, redistributable=redistributable)
        except licences.LicenceError as exc:
            raise CatalogError(str(exc)) from None
        self._q("UPDATE corpusql.datasets SET licence = ?, terms_url = ?, attribution = ?, "
                "redistributable = ? WHERE name = ?", [*terms.values(), name])
        return self.status(name)

    def list(self) -> list[DatasetStatus]:
        return [self.status(n) for n in self._names()]

    def add_role(self, name: str) -> None:
        """A role that role connections (``corpusql.connect(db, role=...)``) can take."""
        if not _NAME.match(name):
            raise CatalogError(f"role name {name!r} must be an identifier")
        if not self._q("SELECT 1 FROM corpusql.roles WHERE name = ?", [name]):
            self._q("INSERT INTO corpusql.roles VALUES (?, ?)", [name, _now()])

    def grant(self, role: str, dataset: str, privilege: str = "read") -> None:
        """Let ``role`` read ``dataset`` (the only privilege so far)."""
        self._row(dataset)
        if privilege not in PRIVILEGES:
            raise CatalogError(f"privilege {privilege!r} is not one of {', '.join(PRIVILEGES)}")
        if not self._q("SELECT 1 FROM corpusql.roles WHERE name = ?", [role]):
            raise CatalogError(f"role {role!r} is not in the catalog (add it with add_role)")
        self.revoke(role, dataset, privilege)
        self._q("INSERT INTO corpusql.grants VALUES (?, ?, ?)", [role, dataset, privilege])

    def revoke(self, role: str, dataset: str, privilege: str = "read") -> None:
        self._q("DELETE FROM corpusql.grants WHERE role = ? AND dataset = ? AND privilege = ?",
                [role, dataset, privilege])

    def _role(self, role: str) -> None:
        if not self._q("SELECT 1 FROM corpusql.roles WHERE name = ?", [role]):
            names = [r[0] for r in self._q("SELECT name FROM corpusql.roles ORDER BY name")]
            hint = difflib.get_close_matches(role, names, n=1)
            more = f"; did you mean {hint[0]!r}?" if hint else " (add it with add_role)"
            raise CatalogError(f"role {role!r} is not in the catalog{more}")

    def mask(self, role: str, dataset: str, column: str, kind: str = "redact") -> None:
        """On ``role``'s connections, ``dataset``'s view shows ``column`` masked by ``kind``:
        ``'redact'`` (``pii_redact`` of its text: best effort, for free text), ``'hash'`` (a
        keyed HMAC-SHA256, hex: joinable, for structured values) or ``'null'``. A column has
        one mask per role; masking it again replaces the kind (see corpusql.catalog.masks)."""
        from .masks import MaskError, check_kind, ensure_key

        try:
            check_kind(kind)
        except MaskError as exc:
            raise CatalogError(f"mask {role}/{dataset}.{column}: {exc}") from None
        self._role(role)
        self._row(dataset)
        cols = [r[0] for r in self._q(f"DESCRIBE main.{ident(dataset)}")]
        if column not in cols:
            hint = difflib.get_close_matches(column, cols, n=1)
            more = f"; did you mean {hint[0]!r}?" if hint else f"; its columns are {cols}"
            raise CatalogError(f"dataset {dataset!r} has no column {column!r}{more}")
        if kind == "hash":
            ensure_key()  # made once, in the secrets store, never in the catalog
        self.unmask(role, dataset, column)
        self._q('INSERT INTO corpusql.masks (role, dataset, "column", kind) VALUES (?, ?, ?, ?)',
                [role, dataset, column, kind])

    def unmask(self, role: str, dataset: str, column: str) -> None:
        self._q('DELETE FROM corpusql.masks WHERE role = ? AND dataset = ? AND "column" = ?',
                [role, dataset, column])

    def allow_path(self, role: str, path: str | os.PathLike) -> None:
        """Let corpusql functions open files under ``path`` (models, tokenizers) on ``role``'s
        connections. DuckDB's own file access (read_csv, COPY) is not widened by this."""
        self._role(role)
        real = os.path.realpath(os.path.expanduser(os.fspath(path)))
        self._q("DELETE FROM corpusql.role_paths WHERE role = ? AND path = ?", [role, real])
        self._q("INSERT INTO corpusql.role_paths VALUES (?, ?)", [role, real])

    def add_secret(self, name: str, kind: str = "s3", **values) -> None:
        """Store credential ``values`` outside the database; the catalog keeps name and kind."""
        if not _NAME.match(name):
            raise CatalogError(f"secret name {name!r} must be an identifier")
        secrets.put(name, kind, values)
        self._q("DELETE FROM corpusql.secrets WHERE name = ?", [name])
        self._q("INSERT INTO corpusql.secrets VALUES (?, ?, ?)", [name, kind, _now()])

    def remove_secret(self, name: str) -> None:
        users = [r[0] for r in self._q("SELECT name FROM corpusql.datasets WHERE secret = ?",
                                       [name])]
        if users:
            raise CatalogError(f"secret {name!r} is used by dataset(s) {', '.join(users)}")
        secrets.delete(name)
        self._q("DELETE FROM corpusql.secrets WHERE name = ?", [name])


def catalog(con: duckdb.DuckDBPyConnection, cache_dir: str | os.PathLike | None = None) -> Catalog:
    """The catalog of ``con``'s database, creating its tables on first use."""
    return Catalog(con, cache_dir)
