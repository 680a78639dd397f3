"""A role's views: the SQL of each granted dataset's view in the role's own database, over masked
copies where a column is masked.
"""

from __future__ import annotations

import hashlib
import json
import os

import pyarrow as pa

from ..errors import AccessError
from .routefs import route_path, route_sql
from .schemas import lineage_of
from .sources import Source
from .views import ident, lit, resolve


class RoleError(AccessError):
    """A role is unknown, or a dataset is not granted to it."""


def _local_route(path: str) -> str:
    """The ``file://`` form a local file is routed under (no empty path segment)."""
    return "file://" + os.path.abspath(path).lstrip("/")


def _view_sql(name: str, v: dict) -> str:
    """The role's view of dataset ``name``. Function calls are qualified (``system.main.``):
    a TEMP macro the role creates cannot shadow them."""
    def listed(uris: list[str]) -> str:  # not [...]: DuckDB stores that as list_value(...)
        return "system.main.list_value(" + ", ".join(lit(route_path(name, u)) for u in uris) + ")"

    parts = []
    lin_file, lin_row = (ident(c) for c in lineage_of(v["source"].options))
    if v["cached"]:
        parts.append(f"SELECT * FROM system.main.read_parquet({listed(v['cached'])}, "
                     "union_by_name = true)")
    if v["live"]:
        if v["source"].remote:
            file_expr = route_sql("__corpusql_file", name)
        else:  # corpusql://name/file/<path without its leading slash>
            file_expr = f"'/' || __corpusql_file[{len(route_path(name, 'file://')) + 1}:]"
        parts.append(
            "SELECT * EXCLUDE (file_row_number, __corpusql_file), "
            f"{file_expr} AS {lin_file}, file_row_number + 1 AS {lin_row} "
            f"FROM system.main.read_parquet({listed(v['live'])}, filename = '__corpusql_file', "
            "file_row_number = true, union_by_name = true)")
    body = ("\nUNION ALL BY NAME\n".join(parts) if parts else
            f"SELECT NULL::VARCHAR AS {lin_file}, NULL::BIGINT AS {lin_row} WHERE false")
    return f"CREATE TEMP VIEW {ident(name)} AS\n{body}"


def _masked_copies(name: str, v: dict, files: list[dict], cache_dir: str | None,
                   tmpdir: str) -> None:
    """Point view ``v`` of masked dataset ``name`` at masked copies of its ``files``, making
    the copies that do not exist yet (in the shared cache, else in the role's own directory)."""
    from . import masks as m

    kinds = v["masked"]
    key = m.load_key(f"dataset {name!r}") if "hash" in kinds.values() else None
    dirs = [os.path.join(cache_dir, name, "masked")] if cache_dir else []
    dirs.append(os.path.join(tmpdir, "masked", name))
    remote = None
    drop = v["dropped"]
    dropped = (hashlib.sha256(json.dumps(sorted(drop)).encode()).hexdigest()[:24]
               if drop else None)
    lineage = lineage_of(v["source"].options)
    for f in files:
        fname = m.copy_key(f, kinds, key, dropped) + ".parquet"
        found = next((os.path.join(d, fname) for d in dirs
                      if os.path.exists(os.path.join(d, fname))), None)
        if found is None:
            found = os.path.join(_writable(dirs), fname)
            try:
                if f["cache_path"]:
                    with open(f["cache_path"], "rb") as src:
                        m.write_copy(src, found, kinds, key, drop=drop, lineage=lineage)
                elif v["source"].remote:
                    remote = remote or v["source"].backend()
                    with remote.open(f["path"], f["size"]) as src:
                        m.write_copy(src, found, kinds, key, live_uri=f["path"],
                                     drop=drop, lineage=lineage)
                else:
                    with open(f["path"], "rb") as src:
                        m.write_copy(src, found, kinds, key, live_uri=f["path"],
                                     drop=drop, lineage=lineage)
            except Exception as exc:
                raise RoleError(f"dataset {name!r}: cannot make the masked copy of {f['path']} "
                                f"in {os.path.dirname(found)}: {type(exc).__name__}: {exc} "
                                "(run the catalog's sync or verify on it)") from exc
        uri = _local_route(found)
        v["cached"].append(uri)
        v["routed"].append(uri)


def _writable(dirs: list[str]) -> str:
    """The first of ``dirs`` this process can create files in (the last is always private)."""
    for d in dirs[:-1]:
        try:
            os.makedirs(d, exist_ok=True)
        except OSError:
            continue
        if os.access(d, os.W_OK):
            return d
    os.makedirs(dirs[-1], exist_ok=True)
    return dirs[-1]


def _views(tables: dict[str, pa.Table], cache_dir: str | None, tmpdir: str,
           base: str) -> dict[str, dict]:
    """Per granted dataset: its source, the files its view reads (routed) and its masks.
    Local paths stored relative to the catalog's directory ``base`` are resolved against it."""
    views: dict[str, dict] = {}
    for row in tables["datasets"].to_pylist():
        source = Source(resolve(row["uri"], base),
                        json.loads(row["options"]) if row["options"] else {}, row["secret"])
        views[row["name"]] = {"source": source, "cached": [], "live": [], "routed": [],
                              "masked": {}, "files": [], "dropped": set()}
    for t in tables.get("takedown_rows", pa.table({"dataset": []})).to_pylist():
        views[t["dataset"]]["dropped"].add((t["file"], t["row"]))
    for m in tables.get("masks", pa.table({"dataset": [], "column": []})).to_pylist():
        views[m["dataset"]]["masked"][m["column"]] = m.get("kind") or "redact"
    for f in sorted(tables["files"].to_pylist(), key=lambda f: f["path"]):
        if not f["quarantined"]:
            views[f["dataset"]]["files"].append(
                dict(f, path=resolve(f["path"], base), cache_path=resolve(f["cache_path"], base)))
    for name, v in views.items():
        if v["masked"] or v["dropped"]:  # the role reads copies: masked, taken-down rows out
            _masked_copies(name, v, v["files"], cache_dir, tmpdir)
            continue
        for f in v["files"]:
            if f["cache_path"]:
                uri = _local_route(f["cache_path"])
                v["cached"].append(uri)
            else:
                uri = f["path"] if v["source"].remote else _local_route(f["path"])
                v["live"].append(uri)
            v["routed"].append(uri)
    return views
