"""``corpusql.takedown``: remove documents from published releases, for good.

``takedown(con, match, reason, request_id, releases=[...])`` looks for the documents ``match``
finds (see :mod:`corpusql.takedown_match`) in each release's fingerprint index (and, for
``near_text``, its text). For each release holding one it publishes a new version without
them: a versioned release gets ``vNNNN+1`` and its ``current`` pointer moves; an unversioned
one is replaced by the same staged swap ``materialize`` uses. Either way the manifest is the
old one plus a takedown record (request id, reason, match, documents removed) and a side file
``_takedown-<request>.pq`` listing the removed documents' ``id`` and ``doc_hash`` (never their
text or URL). A kill -9 at any step leaves each release untouched or fully replaced.

The match is recorded in the database's ``corpusql.takedowns`` table; every later
materialization applies it (takedown_apply.finish), so a rebuild never brings the document
back. ``purge=True`` (an erasure) also deletes, in every other version of a versioned release,
the data files that held a matching document and the index rows that name it, leaving a
tombstone (path, rows, request id, reason) in that version's manifest; ``verify`` passes on
what remains. A release whose files fail ``verify`` is reported and left alone;
``dry_run=True`` reports what would be done and changes nothing, and so does a match that
finds nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import faults, swap
from .errors import MaterializeError
from .takedown_apply import (
    filter_files,
    hits,
    read_index,
    record,
    removed_table,
    side_name,
    write_index,
)
from .takedown_exports import export_again, is_export
from .takedown_match import normalize, recorded


class TakedownError(MaterializeError):
    """A takedown was refused before changing anything; the message says why."""


@dataclass
class Row:
    """One line of the takedown report: a release (or an older version) and what happened."""

    release: str
    version: str | None
    found: int
    action: str  # removed, would remove, no match, skipped: ..., purged, would purge
    new_version: str | None = None
    files: list[str] = field(default_factory=list)  # files rewritten or purged


@dataclass
class Report:
    request_id: str
    match: dict[str, Any]
    rows: list[Row]
    dry_run: bool
    recorded: bool
    datasets: list[Row] = field(default_factory=list)  # catalog datasets whose views hide it

    @property
    def found(self) -> int:
        return sum(r.found for r in self.rows if r.action in ("removed", "would remove"))

    def table(self):
        """The report as a pyarrow Table (one row per release or version, then one per
        catalog dataset whose view hides a matched document)."""
        import pyarrow as pa

        schema = pa.schema([("release", pa.string()), ("version", pa.string()),
                            ("found", pa.int64()), ("action", pa.string()),
                            ("new_version", pa.string()), ("files", pa.list_(pa.string()))])
        return pa.Table.from_pylist([asdict(r) for r in [*self.rows, *self.datasets]],
                                    schema=schema)


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _publish(root: Path, versioned: bool, old_dir: Path, manifest: dict, index, mask,
             request_id: str, reason: str, match: dict,
             known: list[str]) -> tuple[str | None, list[str]]:
    """Stage the release without the matched rows and put it in place (``known``: request
    ids already recorded in the database, so a rebuild of the same plan is up to date)."""
    import pyarrow.parquet as pq

    from .fingerprints import INDEX, entry
    from .materializer import MANIFEST
    from .releases import next_version, set_current

    tok = swap.token()
    version = next_version(root) if versioned else None
    target = root / version if versioned else root
    staging = swap.staging_path(target, tok)
    staging.mkdir()
    try:
        files, new_index = filter_files(old_dir, staging, manifest["files"], index, mask,
                                        manifest.get("compression") or "zstd")
        faults.point("takedown:files-written")
        write_index(new_index, staging / INDEX)
        side = side_name(request_id)
        pq.write_table(removed_table(index, mask), staging / side, compression="zstd")
        entries = {"fingerprints": entry(staging / INDEX, INDEX)}
        for key, e in (manifest.get("index") or {}).items():  # earlier takedowns' side files
            if key != "fingerprints":
                shutil.copy2(old_dir / e["path"], staging / e["path"])
                entries[key] = e
        entries[f"takedown:{request_id}"] = entry(staging / side, side)
        new = dict(manifest, files=files, index=entries,
                   total_rows=sum(f["rows"] for f in files),
                   total_bytes=sum(f["bytes"] for f in files))
        new["takedown_requests"] = sorted({*(manifest.get("takedown_requests") or []),
                                           *known, request_id})
        new["takedowns"] = [*(manifest.get("takedowns") or []), {
            "request_id": request_id, "reason": reason, "match": match,
            "removed": int(mask.sum()), "removed_file": side, "at": _now(),
            "from": old_dir.name if versioned else None, "applied": "takedown"}]
        _write_json(staging / MANIFEST, new)
        swap.publish(staging, target, tok)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if versioned:
        faults.point("takedown:version-written")
        set_current(root, version)
    return version, [f["path"] for f, g in zip(files, manifest["files"]) if f != g]


def _purge(root: Path, keep: str, m: dict, request_id: str, reason: str,
           dry_run: bool) -> list[Row]:
    """Delete, in every version of ``root`` but ``keep``, the files holding a matched document."""
    from .materializer import read_manifest
    from .releases import versions

    rows = []
    for v in versions(root):
        if v == keep:
            continue
        where = root / v
        man = read_manifest(where)
        index = read_index(where, man)
        if index is None:
            rows.append(Row(str(root), v, 0, "skipped: no fingerprint index (delete this "
                                             "version by hand: it cannot be searched)"))
            continue
        mask = hits(where, index, [m])
        if not mask.any():
            continue
        bad = sorted(set(np.asarray(index.column("file").to_pylist())[mask].tolist()))
        if dry_run:
            rows.append(Row(str(root), v, int(mask.sum()), "would purge", files=bad))
            continue
        _replace_version(root / v, man, index, bad, request_id, reason)
        rows.append(Row(str(root), v, int(mask.sum()), "purged", files=bad))
    return rows


def _replace_version(where: Path, man: dict, index, bad: list[str], request_id: str,
                     reason: str) -> None:
    """Swap version ``where`` for a copy without files ``bad`` (tombstones in its manifest)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .fingerprints import INDEX, entry
    from .materializer import MANIFEST
    from .takedown_apply import _place

    tok = swap.token()
    staging = swap.staging_path(where, tok)
    staging.mkdir()
    try:
        files = [f for f in man["files"] if f["path"] not in bad]
        for f in files:
            _place(where / f["path"], staging / f["path"])
        for key, e in (man.get("index") or {}).items():
            if key != "fingerprints":
                _place(where / e["path"], staging / e["path"])
        keep = pc.invert(pc.is_in(index.column("file"), pa.array(bad, pa.string())))
        write_index(index.filter(keep), staging / INDEX)
        tomb = [dict(path=f["path"], rows=f["rows"], request_id=request_id, reason=reason,
                     at=_now()) for f in man["files"] if f["path"] in bad]
        new = dict(man, files=files, tombstones=[*(man.get("tombstones") or []), *tomb],
                   total_rows=sum(f["rows"] for f in files),
                   total_bytes=sum(f["bytes"] for f in files),
                   index=dict(man["index"], fingerprints=entry(staging / INDEX, INDEX)))
        _write_json(staging / MANIFEST, new)
        faults.point("takedown:purge-staged")
        swap.publish(staging, where, tok)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _one(root: Path, m: dict, keep: dict, request_id: str, reason: str, purge: bool,
         dry_run: bool, known: list[str]) -> list[Row]:
    from .materializer import _check, _complete, read_manifest
    from .releases import clean, current, is_versioned, resolve, versions

    versioned = is_versioned(root)
    if versioned:
        clean(root)
        for v in versions(root):  # a purge killed inside its swap
            swap.recover(root / v, _complete)
    else:
        swap.recover(root, _complete)
    where = resolve(root)
    label = current(root) if versioned else None
    problems = _check(where)[1]
    if problems:
        return [Row(str(root), label, 0, f"skipped: fails verify ({problems[0]}"
                    f"{f' and {len(problems) - 1} more' if len(problems) > 1 else ''}); "
                    "repair it (materialize again or roll back) and run the takedown again")]
    man = read_manifest(where)
    if man.get("kind") == "token_export":
        return []  # handled once the releases it reads are done (_export)
    index = read_index(where, man)
    if index is None:
        return [Row(str(root), label, 0, "skipped: no fingerprint index (written before "
                    "indexes); materialize it again with force=True, then run the takedown")]
    mask = hits(where, index, [m])
    out = []
    if not mask.any():
        out.append(Row(str(root), label, 0, "no match"))
    elif dry_run:
        bad = sorted(set(np.asarray(index.column("file").to_pylist())[mask].tolist()))
        out.append(Row(str(root), label, int(mask.sum()), "would remove", files=bad))
    else:
        new, changed = _publish(root, versioned, where, man, index, mask, request_id, reason,
                                keep, known)
        out.append(Row(str(root), label, int(mask.sum()), "removed", new, changed))
    if purge and versioned:
        out += _purge(root, current(root), m, request_id, reason, dry_run)
    return out


def _datasets_read(roots: list[Path]) -> set[str]:
    """Catalog datasets recorded in the manifests of the versions of ``roots``."""
    from .releases import is_versioned, versions

    names: set[str] = set()
    for root in roots:
        for where in ([root / v for v in versions(root)] if is_versioned(root) else [root]):
            try:
                names |= set(json.loads((where / "_manifest.json").read_text("utf-8"))
                             .get("datasets") or {})
            except (OSError, ValueError):
                continue
    return names


def takedown(con, match: dict[str, Any], reason: str, request_id: str,
             releases: list[str | os.PathLike] = (), *, purge: bool = False,
             dry_run: bool = False, lock_timeout: float | None = None) -> Report:
    """Find and remove the documents ``match`` finds in ``releases`` (see the module docstring).

    Returns a :class:`Report`: one row per release (and per older version purged). The match is
    recorded in ``corpusql.takedowns`` of ``con``'s database when it found something and this is
    not a dry run.
    """
    from .materializer import MaterializeError, _lock_timeout
    from .outputs_lock import LockBusy, OutputLock

    if not str(reason or "").strip() or not str(request_id or "").strip():
        raise TakedownError("takedown needs a reason and a request_id (they are recorded in "
                            "every manifest it changes)")
    from .takedown_apply import recorded_in_db

    m = normalize(match)
    keep = recorded(m)
    known = [t["request_id"] for t in recorded_in_db(con)]
    from .takedown_catalog import broken_views, hide, scan

    in_views = scan(con, keep, request_id)  # the catalog's datasets, before anything changes
    rows: list[Row] = []
    exports: list[Path] = []
    for rel in releases:
        root = Path(rel).absolute()
        if is_export(root):
            exports.append(root)
            continue
        if not root.is_dir():
            rows.append(Row(str(root), None, 0, "skipped: no such release directory"))
            continue
        try:
            lock = OutputLock(root, _lock_timeout(lock_timeout)).acquire()
        except LockBusy as exc:
            raise MaterializeError(str(exc)) from None
        try:
            rows += _one(root, m, keep, request_id, reason, purge, dry_run, known)
        finally:
            lock.release()
    hit = [Path(r.release) for r in rows if r.action in ("removed", "would remove")]
    if purge and hit:
        from .takedown_cache import purge_cached

        for path, n, action in purge_cached(con, _datasets_read(hit), m, request_id, dry_run):
            rows.append(Row(path, None, n, action))
    for root in exports:
        lost, action = export_again(con, root, hit, dry_run)
        rows.append(Row(str(root), None, lost, action))
    datasets = [Row(f"dataset {name}", None, len(found_rows),
                    "would hide in its view" if dry_run else "hidden in its view")
                for name, found_rows in sorted(in_views.items())]
    found = bool(in_views) or any(r.action in ("removed", "purged")
                                  or r.action.startswith("deleted cached") for r in rows)
    if found and not dry_run:  # one transaction: the record, the hidden rows and their views
        broken = broken_views(con, sorted(in_views))
        con.execute("BEGIN TRANSACTION")
        try:
            record(con, request_id, reason, keep)
            hide(con, in_views, broken)
            faults.point("takedown:recorded")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return Report(request_id, keep, rows, dry_run, found and not dry_run, datasets)
