"""Removing matched documents from a release's files, and applying recorded takedowns.

Used by ``takedown`` (a new version of a published release without the documents) and by
every materialization (``finish``: the takedowns recorded in the database's
``corpusql.takedowns`` table and in the previous release's manifest are applied to the rows
just written, so a rebuild never brings a taken-down document back).

Files without a matching row are hard-linked (copied where links fail); a file with one is
rewritten without those rows, in row order, with the release's compression. The fingerprint
index is filtered and its ``row`` numbers renumbered to match.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import fingerprints
from .takedown_match import applies, near_mask

TABLE = "corpusql.takedowns"
DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    request_id VARCHAR NOT NULL, reason VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    match JSON NOT NULL, recorded TIMESTAMP)"""


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def recorded_in_db(con) -> list[dict[str, Any]]:
    """Takedowns recorded in ``con``'s database (none without a takedowns table)."""
    there = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                        "current_database() AND schema_name = 'corpusql' AND table_name = "
                        "'takedowns'").fetchall()[0][0]
    if not there:
        return []
    rows = con.execute(f"SELECT request_id, reason, match FROM {TABLE} "
                       "ORDER BY recorded, request_id").fetchall()
    return [{"request_id": r, "reason": why, "match": json.loads(m)} for r, why, m in rows]


def record(con, request_id: str, reason: str, match: dict[str, Any]) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS corpusql")
    con.execute(DDL)
    con.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)",
                [request_id, reason, match["kind"], json.dumps(match, sort_keys=True),
                 datetime.now(UTC).replace(tzinfo=None)])


def read_index(release: Path, manifest: dict[str, Any]) -> pa.Table | None:
    entry = (manifest.get("index") or {}).get("fingerprints")
    return fingerprints.load(release / entry["path"]) if entry else None


def _texts(path: Path) -> pa.Array | None:
    pf = pq.ParquetFile(path)
    col = next((c for c in fingerprints.TEXT_COLUMNS if c in pf.schema_arrow.names), None)
    if col is None:
        return None
    return pf.read(columns=[col]).column(col).combine_chunks().cast(pa.string())


def hits(release: Path, index: pa.Table, matches: list[dict[str, Any]],
         suffix: str = "") -> np.ndarray:
    """Rows of ``index`` that any match finds; near_text reads the texts of the files
    (``suffix``: ``.partial`` while the files are staged)."""
    mask = applies(index, [m for m in matches if m["kind"] != "near_text"])
    near = [m for m in matches if m["kind"] == "near_text"]
    if near and index.num_rows:
        counts = pc.value_counts(index.column("file")).to_pylist()
        start = 0
        for rel, n in ((c["values"], c["counts"]) for c in counts):  # in file, row order
            texts = _texts(release / (rel + suffix))
            if texts is not None:
                for m in near:
                    mask[start:start + n] |= near_mask(texts, m)
            start += n
    return mask


def _rewrite(src: Path, dst: Path, drop: list[int], compression: str) -> None:
    import duckdb

    tmp = dst.with_name(dst.name + ".tmp")
    con = duckdb.connect()
    try:
        cols = [r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_lit(str(src))}, hive_partitioning = false)"
        ).fetchall()]
        sel = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
        con.execute(
            f"COPY (SELECT {sel} FROM read_parquet({_lit(str(src))}, hive_partitioning = false, "
            f"file_row_number = true) WHERE file_row_number NOT IN (SELECT unnest($drop)) "
            f"ORDER BY file_row_number) TO {_lit(str(tmp))} (FORMAT parquet, "
            f"COMPRESSION {compression})", {"drop": drop or [-1]})
    finally:
        con.close()
    os.replace(tmp, dst)


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def filter_files(src: Path, dst: Path, files: list[dict], index: pa.Table, mask: np.ndarray,
                 compression: str, suffix: str = "") -> tuple[list[dict], pa.Table]:
    """Write ``files`` of release ``src`` to ``dst`` without the index rows in ``mask``.

    ``src == dst`` rewrites in place. Returns the new file entries and the new index.
    """
    from .files import sha256_file

    names = index.column("file")
    rows = index.column("row").to_numpy()
    hit_files = set(pc.filter(names, pa.array(mask)).to_pylist()) if mask.any() else set()
    out = []
    for f in files:
        rel = f["path"]
        drop: list[int] = []
        if rel in hit_files:
            here = np.asarray(pc.equal(names, rel).to_numpy(zero_copy_only=False), dtype=bool)
            drop = sorted(int(r) for r in rows[here & mask])
        a, b = src / (rel + suffix), dst / (rel + suffix)
        if drop:
            b.parent.mkdir(parents=True, exist_ok=True)
            _rewrite(a, b, drop, compression)
        elif a != b:
            _place(a, b)
        entry = dict(f)
        if drop:
            entry.update(rows=pq.ParquetFile(b).metadata.num_rows, bytes=b.stat().st_size,
                         sha256=sha256_file(b))
        out.append(entry)
    kept = index.filter(pa.array(~mask))
    return out, renumber(kept)


def renumber(index: pa.Table) -> pa.Table:
    """``row`` = position within its file again, after rows were dropped."""
    if not index.num_rows:
        return index
    files = index.column("file").to_pylist()
    new, last, n = [], None, 0
    for f in files:
        n = n + 1 if f == last else 0
        last = f
        new.append(n)
    return index.set_column(index.schema.get_field_index("row"), "row",
                            pa.array(new, type=pa.int64()))


def write_index(table: pa.Table, path: Path) -> None:
    fingerprints.save(table, path)


def side_name(request_id: str) -> str:
    return "_takedown-" + re.sub(r"[^A-Za-z0-9._-]", "_", request_id)[:80] + ".pq"


def removed_table(index: pa.Table, mask: np.ndarray) -> pa.Table:
    """What a takedown keeps of the documents it removed: id and doc_hash (no URL, no text)."""
    gone = index.filter(pa.array(mask))
    return pa.table({"id": gone.column("id"), "doc_hash": gone.column("doc_hash")})


def _previous(target: Path) -> dict[str, Any] | None:
    """The manifest of the release this write replaces (unversioned) or follows (a version)."""
    from .release_paths import _VERSION, resolve

    where = resolve(target.parent) if _VERSION.match(target.name) else target
    try:
        return json.loads((where / "_manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _read_names(plan: dict[str, Any]) -> set[str]:
    """Catalog datasets the output read: those of the query, and the tables and table-name
    arguments of its recipe (a recipe reads the dataset into its own tables)."""
    names = {n.lower() for n in plan.get("datasets") or {}}
    if plan.get("recipe"):
        from .sqlparse import reads

        found = reads(plan["recipe"])
        names |= set(found.tables) | set(found.names)
    return names


def finish(con, staging: Path, target: Path, files: list[dict], plan: dict[str, Any]):
    """Write the fingerprint index of a staged output and apply every recorded takedown.

    Returns ``(files, index entries, takedown records)`` for the manifest.
    """
    from .parquet_copy import PARTIAL

    fingerprints.write(con, staging, files, plan)
    known = {t["request_id"]: t for t in recorded_in_db(con)}
    prev = _previous(target) or {}
    for t in prev.get("takedowns") or []:
        known.setdefault(t["request_id"], t)
    index_file = staging / fingerprints.INDEX
    records = []
    if known:
        from .takedown_views import hidden_in_inputs

        hidden = hidden_in_inputs(con, _read_names(plan)) if con is not None else {}
        index = fingerprints.load(index_file)
        total = np.zeros(index.num_rows, dtype=bool)
        for rid, t in sorted(known.items()):
            mask = hits(staging, index, [t["match"]], suffix=PARTIAL) & ~total
            total |= mask
            records.append({"request_id": rid, "reason": t["reason"], "match": t["match"],
                            "removed": int(mask.sum()), "applied": "when written"})
            if hidden.get(rid):  # rows the input datasets' views left out (takedown_views)
                records[-1]["hidden_in_inputs"] = hidden[rid]
        if total.any():
            files, index = filter_files(staging, staging, files, index, total,
                                        plan.get("compression") or "zstd", suffix=PARTIAL)
            write_index(index, index_file)
    entries = {"fingerprints": fingerprints.entry(index_file, fingerprints.INDEX)}
    if plan.get("removal_log") and con is not None:  # the recipe's log (release_removals)
        from .removal_log import KEY, REMOVALS, write

        entries[KEY] = fingerprints.entry(write(con, staging, plan["removal_log"]), REMOVALS)
    return files, entries, records

