"""What the catalog's parts share: report types, the clock, content hashes, the catalog directory."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

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


def _differs(now: dict, old: dict) -> bool:
    """A listed file differs from the catalog's record: by size, else by content hash when
    both are known (local files), else by ETag/mtime."""
    if now["size"] != old["size"]:
        return True
    if now["hash"] and old["hash"]:
        return now["hash"] != old["hash"]
    return now["etag"] != old["etag"]
