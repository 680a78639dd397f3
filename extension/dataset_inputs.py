"""The identity of a catalog dataset as a materialization's input, recorded in its manifest.

A dataset's view reads cached Parquet copies (prewarmed datasets, non-Parquet formats, git) and
reads the other Parquet files live from their source. The record holds the dataset's URI, the
git commit of its last sync (``revision``), and per file the catalog's row in
``corpusql.files`` (size, ETag or mtime, sha256 of the cached copy, and any hash column a newer
catalog adds). For a file read live it also holds ``source``: the size and ETag (or mtime, and
a sha256 of the bytes for local files) listed from the source now, so a remote change is seen
without a sync. A cached copy changes only through ``corpusql dataset sync``.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from typing import Any

import duckdb

from .errors import MaterializeError
from .files import sha256_file

_SKIP = ("dataset", "cache_path")  # the row's owner, and where the cache happens to live


def catalog_datasets(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Rows of ``corpusql.datasets`` by lower-cased name; empty without a readable catalog."""
    try:
        cur = con.execute("SELECT * FROM corpusql.datasets")
        cols = [d[0] for d in cur.description]
        return {r[0].lower(): dict(zip(cols, r)) for r in cur.fetchall()}
    except duckdb.Error:
        return {}


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (datetime, date)) else v


def _live_listing(row: dict[str, Any], base: str | None) -> dict[str, dict]:
    """{path: {size, etag[, sha256]}} of the dataset's source as listed now (local paths
    absolute; ``base`` resolves the URI the catalog stores relative to its directory)."""
    from .catalog.sources import Source
    from .catalog.views import resolve

    src = Source(resolve(row["uri"], base),
                 json.loads(row["options"]) if row.get("options") else {}, row.get("secret"))
    try:
        listing = src.backend().list(src.pattern())
    except Exception as exc:  # noqa: BLE001 - any listing failure stops the materialization
        raise MaterializeError(
            f"dataset {row['name']}: listing {row['uri']} to record the files this query reads "
            f"failed: {type(exc).__name__}: {exc}") from exc
    out = {}
    for f in listing:
        entry = {"size": f["size"], "etag": f["etag"]}
        if src.scheme == "file" and os.path.isfile(f["path"]):
            entry["sha256"] = sha256_file(f["path"])
        out[f["path"]] = entry
    return out


def dataset_inputs(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> dict[str, Any]:
    """The manifest record of dataset ``row`` (see the module docstring)."""
    cur = con.execute("SELECT * FROM corpusql.files WHERE dataset = ? ORDER BY path",
                      [row["name"]])
    cols = [d[0] for d in cur.description]
    files, live = [], []
    for r in cur.fetchall():
        rec = dict(zip(cols, r))
        entry = {k: _plain(v) for k, v in rec.items() if k not in _SKIP}
        files.append(entry)
        if not rec.get("cache_path") and not rec.get("quarantined"):
            live.append(entry)
    if live:
        from .catalog.core import catalog_dir
        from .catalog.views import resolve

        base = catalog_dir(con)
        now = _live_listing(row, base)
        for entry in live:  # stored paths (relative under the lake) stay as they are
            entry["source"] = now.get(resolve(entry["path"], base), "missing")
    from .licences import of_row

    return {"uri": row["uri"], "revision": row.get("revision"), "files": files,
            "licence": of_row(row)}


def drift(name: str, record: dict[str, Any]) -> str | None:
    """Why dataset ``name``'s live files no longer match its catalog listing, or None."""
    changed = []
    for f in record["files"]:
        now = f.get("source")
        if now is None:
            continue
        if now == "missing":
            changed.append(f"{f['path']} is gone")
        elif (now["size"], now["etag"]) != (f.get("size"), f.get("etag_or_mtime")):
            changed.append(f"{f['path']} changed (size {f.get('size')}, etag "
                           f"{f.get('etag_or_mtime')} at the last sync; size {now['size']}, etag "
                           f"{now['etag']} now)")
    if not changed:
        return None
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    return (f"dataset {name}: {changed[0]}{more} since the catalog listed it; run "
            f"`corpusql dataset sync {name}` (catalog.sync('{name}')) first")
