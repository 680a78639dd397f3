"""Staging a dataset's files: listing entries parsed into cached Parquet, quarantine, type checks.

A part of :class:`corpusql.catalog.core.Catalog` (a mixin: its methods use the catalog's
connection and helpers through ``self``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..files import sha256_file as _sha256
from . import formats, schemas
from .common import SyncReport, _now, log


class StagingMixin:
    """Staging a dataset's files: listing entries parsed into cached Parquet, quarantine, type checks."""

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

    def _write_cache(self, name: str, f: dict, table: pa.Table) -> tuple[str, str, int]:
        d = self.cache_dir / name
        d.mkdir(parents=True, exist_ok=True)
        key = f"{f['path']}\0{f['size']}\0{f['etag']}"  # a changed file gets a new copy
        path = d / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".parquet")
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
        return str(path), _sha256(str(path)), table.num_rows

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
