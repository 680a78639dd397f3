"""The recipe's removal log, kept in a release beside its data.

``materialize(..., removal_log="demo_removed")`` names a relation with columns ``id``, ``step``
and ``reason`` (a recipe's log of the documents it removed, one row per document and stage).
Its rows are written to ``_removals.pq`` (``id`` as text, ``step``, ``reason``; sorted) beside
the data files and listed in the manifest under ``index.removals`` with its sha256, so
``verify`` checks it and takedowns carry it to the next version. ``release_diff`` reads it
(:mod:`corpusql.release_removals`).
"""

from __future__ import annotations

from pathlib import Path

KEY = "removals"
REMOVALS = "_removals.pq"
NEED = ("id", "step", "reason")


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def check(con, relation: str) -> None:
    """Refuse a removal log that cannot be read or lacks id, step or reason, naming it."""
    from .errors import MaterializeError

    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    except Exception as exc:  # noqa: BLE001 - any DuckDB error: name the knob
        first = str(exc).strip().splitlines()[0]
        raise MaterializeError(f"removal_log {relation!r} cannot be read ({first}); name a "
                               "table or view with columns id, step, reason") from None
    lack = [c for c in NEED if c not in cols]
    if lack:
        raise MaterializeError(f"removal_log {relation!r} has no column {', '.join(lack)} "
                               f"(it has {', '.join(cols)}); a removal log has id, step, "
                               "reason (one row per removed document and stage)")


def write(con, staging: Path, relation: str) -> Path:
    """Write ``relation``'s rows to ``staging/_removals.pq``; returns the file."""
    out = staging / REMOVALS
    con.execute(f"COPY (SELECT CAST(id AS VARCHAR) AS id, CAST(step AS VARCHAR) AS step, "
                f"CAST(reason AS VARCHAR) AS reason FROM {relation} ORDER BY ALL) TO "
                f"{_lit(str(out))} (FORMAT parquet, COMPRESSION zstd)")
    return out
