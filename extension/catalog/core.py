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

from ..materializer import sha256_file as _sha256
from . import formats, schema, secrets
from .sources import Source, SourceError, routes
from .views import ident, view_sql

log = logging.getLogger("corpusql.catalog")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CatalogError(RuntimeError):
    """A catalog operation failed; the message names the dataset and the file."""


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


@dataclass
class SyncReport:
    dataset: str
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)


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
        self.cache_dir = Path(self._cache_dir(cache_dir))

    # -- helpers -----------------------------------------------------------------------------

    def _q(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def _cache_dir(self, given) -> str:
        if given is not None:
            path = os.path.abspath(os.fspath(given))
        else:
            row = self._q("SELECT value FROM corpusql.settings WHERE key = 'cache_dir'")
            if row:
                return row[0][0]
            db = self._q("SELECT path FROM duckdb_databases() "
                         "WHERE database_name = current_database()")[0][0]
            if os.environ.get("CORPUSQL_CACHE"):
                path = os.path.abspath(os.environ["CORPUSQL_CACHE"])
            elif db:
                path = os.path.abspath(db) + ".corpusql-cache"
            else:
                path = tempfile.mkdtemp(prefix="corpusql-cache-")
        self._q("DELETE FROM corpusql.settings WHERE key = 'cache_dir'")
        self._q("INSERT INTO corpusql.settings VALUES ('cache_dir', ?)", [path])
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
        return Source(row["uri"], json.loads(row["options"]) if row["options"] else {},
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
                  ("cache_path", pa.string()), ("rows", pa.int64()), ("quarantined", pa.bool_())],
        "quarantine": [("dataset", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                       ("reason", pa.string()), ("recorded", pa.timestamp("us"))],
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
            self.con.execute(f"INSERT INTO corpusql.{table} SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def _quarantine(self, name: str, uri: str, problems: list) -> None:
        now = _now()
        for line, reason in problems:
            log.warning("dataset %s: quarantined %s line %s: %s", name, uri, line, reason)
        self._insert("quarantine", [[name, uri, line, reason, now] for line, reason in problems])

    def _stage(self, name: str, fmt: str, backend, f: dict) -> dict:
        """Read and parse one file into the cache; returns the files-row fields."""
        raw = backend.cat(f["path"])
        table, problems = formats.parse(fmt, raw, f["path"])
        out = {"sha256": None, "cache_path": None, "rows": None, "quarantined": table is None,
               "problems": problems}
        if table is not None:
            out["cache_path"], out["sha256"], out["rows"] = self._write_cache(name, f, table)
        return out

    def _view_exists(self, name: str) -> bool:
        return bool(self._q("SELECT 1 FROM duckdb_views() WHERE view_name = ? "
                            "AND schema_name = 'main' AND database_name = current_database()",
                            [name]))

    def _refresh_view(self, name: str) -> None:
        row = self._row(name)
        src = self._source(row)
        files = self._q("SELECT path, cache_path FROM corpusql.files WHERE dataset = ? "
                        "AND NOT quarantined ORDER BY path", [name])
        cached = [c for _, c in files if c]
        live = [p for p, c in files if not c]
        if src.remote and live:
            routes(self.con).set(name, src)
        self.con.execute(view_sql(name, cached, live, src.remote))

    # -- public API --------------------------------------------------------------------------

    def add(self, name: str, uri: str, *, format: str = "auto", secret: str | None = None,
            options: dict | None = None) -> DatasetStatus:
        """Record dataset ``name`` at ``uri``, list its files and create the view ``name``."""
        if not _NAME.match(name):
            raise CatalogError(f"dataset name {name!r} must be a SQL identifier "
                               "(letters, digits, underscore; not starting with a digit)")
        if name in self._names():
            raise CatalogError(f"dataset {name!r} already exists (remove it first, or clone it)")
        taken = self._q("SELECT 1 FROM duckdb_views() WHERE view_name = ? AND NOT internal "
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
        if credentials:
            secret = self._options_secret(name, src.scheme, secret, credentials)
        if src.scheme == "file":
            uri = src.pattern()  # absolute, so sync works from any working directory
        self._q("INSERT INTO corpusql.datasets (name, uri, format, options, secret, owner, "
                "created, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'syncing')",
                [name, uri, format, json.dumps(options), secret, getpass.getuser(), _now()])
        self.sync(name)
        return self.status(name)

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

    def sync(self, name: str) -> SyncReport:
        """Re-list the source: stage new and changed files, forget vanished ones."""
        row = self._row(name)
        src = self._source(row)
        report = SyncReport(name)
        self._set_status(name, "syncing", row["error"])
        try:
            backend = self._backend(name, src)
            listing = backend.list(src.pattern())
            if not listing and row["format"] == "auto":
                raise CatalogError(f"dataset {name!r}: no files match {row['uri']}")
            fmt = row["format"]
            if fmt == "auto":
                fmt = formats.detect_all(f["path"] for f in listing)
            old = {p: (s, e, c) for p, s, e, c in self._q(
                "SELECT path, size, etag_or_mtime, cache_path FROM corpusql.files "
                "WHERE dataset = ?", [name])}
            now = {f["path"]: f for f in listing}
            report.new = sorted(p for p in now if p not in old)
            report.changed = sorted(p for p in now if p in old and
                                    (now[p]["size"], now[p]["etag"]) != old[p][:2])
            report.vanished = sorted(p for p in old if p not in now)
            stage = fmt != "parquet" or src.scheme == "git" or row["prewarmed"]
            staged = {}
            for p in report.new + report.changed:
                f = now[p]
                if stage:
                    try:
                        staged[p] = self._stage(name, fmt, backend, f)
                    except FileNotFoundError:  # listed, then gone before it could be read
                        log.warning("dataset %s: %s vanished during sync", name, p)
                        del now[p]
                        continue
                elif not f["size"]:
                    staged[p] = {"sha256": None, "cache_path": None, "rows": None,
                                 "quarantined": True, "problems": [(None, "zero-byte file")]}
                else:
                    staged[p] = {"sha256": None, "cache_path": None, "rows": None,
                                 "quarantined": False, "problems": []}
            report.new = [p for p in report.new if p in now]
            report.changed = [p for p in report.changed if p in now]
            report.vanished = sorted(p for p in old if p not in now)
            revision = backend.commit() if src.scheme == "git" else None
            self.con.execute("BEGIN TRANSACTION")
            try:
                self._forget(name, report.changed + report.vanished)
                self._insert("files", [
                    [name, p, now[p]["size"], now[p]["etag"], st["sha256"], st["cache_path"],
                     st["rows"], st["quarantined"]] for p, st in staged.items()])
                for p, st in staged.items():
                    self._quarantine(name, p, st["problems"])
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
                if old[p][2] and old[p][2] not in {s["cache_path"] for s in staged.values()}:
                    Path(old[p][2]).unlink(missing_ok=True)
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self._set_status(name, "failed", msg)
            log.error("dataset %s: sync failed: %s", name, msg)
            if isinstance(exc, CatalogError):
                raise
            raise CatalogError(f"dataset {name!r}: sync of {row['uri']} failed: {msg}") from exc
        log.info("dataset %s: synced (%d new, %d changed, %d vanished)", name,
                 len(report.new), len(report.changed), len(report.vanished))
        return report

    def _forget(self, name: str, paths: list[str]) -> None:
        if paths:
            self._q("DELETE FROM corpusql.files WHERE dataset = ? AND list_contains(?, path)",
                    [name, paths])
            self._q("DELETE FROM corpusql.quarantine WHERE dataset = ? "
                    "AND list_contains(?, file)", [name, paths])

    def prewarm(self, name: str) -> int:
        """Copy every uncached file to the local cache as Parquet; the view then reads the cache."""
        row = self._row(name)
        src = self._source(row)
        backend = self._backend(name, src)
        todo = self._q("SELECT path, size, etag_or_mtime FROM corpusql.files WHERE dataset = ? "
                       "AND cache_path IS NULL AND NOT quarantined ORDER BY path", [name])
        done = {}
        try:
            for path, size, etag in todo:
                done[path] = self._stage(name, row["format"], backend,
                                         {"path": path, "size": size, "etag": etag})
        except Exception as exc:
            self._set_status(name, "failed", f"prewarm: {type(exc).__name__}: {exc}")
            raise CatalogError(f"dataset {name!r}: prewarm failed: {exc}") from exc
        self.con.execute("BEGIN TRANSACTION")
        try:
            if done:
                upd = pa.table({
                    "path": pa.array(list(done), pa.string()),
                    "sha256": pa.array([st["sha256"] for st in done.values()], pa.string()),
                    "cache_path": pa.array([st["cache_path"] for st in done.values()],
                                           pa.string()),
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
                self._quarantine(name, path, st["problems"])
            self._q("UPDATE corpusql.datasets SET prewarmed = true WHERE name = ?", [name])
            self._refresh_view(name)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return len(done)

    def verify(self, name: str) -> VerifyReport:
        """Recompute cached copies' sha256 and compare the source listing with the catalog.

        Sets the status to ``failed`` when a cached copy is missing or altered, and to ``stale``
        when the source has new, changed or vanished files (``sync`` brings it back to ready).
        """
        row = self._row(name)
        src = self._source(row)
        rep = VerifyReport(name)
        files = self._q("SELECT path, size, etag_or_mtime, sha256, cache_path FROM corpusql.files "
                        "WHERE dataset = ? ORDER BY path", [name])
        for path, _size, _etag, sha, cache in files:
            if not cache:
                continue
            rep.checked += 1
            if not os.path.exists(cache):
                rep.missing.append(path)
            elif _sha256(cache) != sha:
                rep.mismatched.append(path)
        listing = {f["path"]: f for f in self._backend(name, src).list(src.pattern())}
        known = {p: (s, e) for p, s, e, _, _ in files}
        rep.source_new = sorted(p for p in listing if p not in known)
        rep.source_vanished = sorted(p for p in known if p not in listing)
        rep.source_changed = sorted(p for p in listing if p in known and
                                    (listing[p]["size"], listing[p]["etag"]) != known[p])
        if rep.mismatched or rep.missing:
            bad = rep.mismatched + rep.missing
            self._set_status(name, "failed", f"cached copies missing or altered: {', '.join(bad)}"
                             " (drop them with sync after remove(drop_cache) or re-run prewarm)")
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
                    shutil.copy2(cache, new_cache)
                self._q("INSERT INTO corpusql.files SELECT * REPLACE (? AS dataset, "
                        "? AS cache_path) FROM corpusql.files WHERE dataset = ? AND path = ?",
                        [new_name, new_cache, src, path])
            self._q("INSERT INTO corpusql.quarantine SELECT * REPLACE (? AS dataset) "
                    "FROM corpusql.quarantine WHERE dataset = ?", [new_name, src])
            self._refresh_view(new_name)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return self.status(new_name)

    def remove(self, name: str, *, drop_cache: bool = False) -> None:
        """Forget ``name``: its view, files, quarantine and grants (and its cache if asked)."""
        self._row(name)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"DROP VIEW IF EXISTS main.{ident(name)}")
            for table, col in (("files", "dataset"), ("quarantine", "dataset"),
                               ("grants", "dataset"), ("masks", "dataset"),
                               ("datasets", "name")):
                self._q(f"DELETE FROM corpusql.{table} WHERE {col} = ?", [name])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        routes(self.con).drop(name)
        if drop_cache:
            shutil.rmtree(self.cache_dir / name, ignore_errors=True)

    def status(self, name: str) -> DatasetStatus:
        row = self._row(name)
        files, nbytes, cached, qfiles = self._q(
            "SELECT count(*), coalesce(sum(size), 0)::BIGINT, count(cache_path), "
            "count(*) FILTER (quarantined) FROM corpusql.files WHERE dataset = ?", [name])[0]
        qlines = self._q("SELECT count(*) FROM corpusql.quarantine WHERE dataset = ? "
                         "AND line IS NOT NULL", [name])[0][0]
        return DatasetStatus(name, row["uri"], row["format"], row["status"], row["error"], files,
                             nbytes, cached, qfiles, qlines, row["last_sync"])

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
        from .roles import PRIVILEGES

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
