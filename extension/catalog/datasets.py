"""Datasets as tables: add, clone, remove, status, licence fields, list.

A part of :class:`corpusql.catalog.core.Catalog` (a mixin: its methods use the catalog's
connection and helpers through ``self``).
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
from pathlib import Path

from .. import licences
from ..errors import CatalogError
from . import formats, secrets
from .common import _NAME, DatasetStatus, _now, log
from .sources import Source, SourceError, routes
from .views import ident


class DatasetsMixin:
    """Datasets as tables: add, clone, remove, status, licence fields, list."""

    #: What the catalog records of a dataset, and (``access``) who may read it and how.
    _RECORDS = ("files", "quarantine", "notes")

    _ACCESS = ("grants", "masks")

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
