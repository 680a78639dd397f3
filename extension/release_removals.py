"""Why documents left a release: the recipe's removal log kept beside the data, and takedowns.

A release keeps the recipe's removal log as ``_removals.pq`` (:mod:`corpusql.removal_log`).
:func:`reasons` answers, for the documents of an older release that a newer one lacks, why they
left: a takedown the newer release records (its side file of removed documents, or its recorded
match applied to the older release's index, which covers documents the catalog's views hid
before the recipe ran), else the newer release's removal log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _takedown_files(where: Path, man: dict[str, Any]) -> list[dict]:
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for rec in man.get("takedowns") or []:
        side = rec.get("removed_file")
        if side and (where / side).is_file():
            reason = f"{rec['reason']} (request {rec['request_id']})"
            rows += [{"id": r["id"], "doc_hash": r["doc_hash"], "stage": "takedown",
                      "reason": reason}
                     for r in pq.read_table(where / side, columns=["id", "doc_hash"]).to_pylist()]
    return rows


def _recorded_matches(old: Path, old_man: dict[str, Any], man: dict[str, Any]) -> list[dict]:
    """Documents of the old release that a takedown recorded in the new manifest matches."""
    import numpy as np

    from .takedown_apply import hits, read_index

    recs = [r for r in man.get("takedowns") or [] if isinstance(r.get("match"), dict)]
    index = read_index(old, old_man) if recs else None
    if index is None or not index.num_rows:
        return []
    rows: list[dict] = []
    taken = np.zeros(index.num_rows, dtype=bool)
    ids, hashes = index.column("id").to_pylist(), index.column("doc_hash").to_pylist()
    for rec in recs:
        mask = hits(old, index, [rec["match"]]) & ~taken
        taken |= mask
        reason = f"{rec['reason']} (request {rec['request_id']})"
        rows += [{"id": ids[i], "doc_hash": hashes[i], "stage": "takedown", "reason": reason}
                 for i in np.flatnonzero(mask)]
    return rows


def _removal_log(where: Path, man: dict[str, Any]) -> list[dict]:
    import pyarrow.parquet as pq

    from .removal_log import KEY

    entry = (man.get("index") or {}).get(KEY)
    if not entry or not (where / entry["path"]).is_file():
        return []
    return [{"id": r["id"], "doc_hash": None, "stage": r["step"], "reason": r["reason"]}
            for r in pq.read_table(where / entry["path"]).to_pylist()]


def reasons(old_path: str, new_path: str) -> list[dict]:
    """``{id, doc_hash, stage, reason}`` rows saying why documents may have left between the
    release at ``old_path`` and the one at ``new_path`` (see the module docstring); the first
    row for an id wins (takedowns first, then the removal log in its order)."""
    from .release_paths import resolve

    new, old = resolve(new_path), resolve(old_path)
    man = json.loads((new / "_manifest.json").read_text("utf-8"))
    try:
        old_man = json.loads((old / "_manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        old_man = {}
    out, seen = [], set()
    rows = _takedown_files(new, man)
    rows += _recorded_matches(old, old_man, man) if old_man else []
    rows += _removal_log(new, man)
    for r in rows:
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out
