"""Keeping a dataset in step with its source: sync, the file records, prewarm.

A part of :class:`corpusql.catalog.core.Catalog` (a mixin: its methods use the catalog's
connection and helpers through ``self``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa

from ..errors import CatalogError
from . import formats, schemas
from .common import SyncReport, _differs, _now, content_hash, log
from .sources import Source


class SyncMixin:
    """Keeping a dataset in step with its source: sync, the file records, prewarm."""

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
