"""A new takedown in the catalog: find its rows in every dataset view, then hide them.

:func:`scan` runs before the takedown changes anything (its findings are part of the report,
dry runs included); :func:`hide` runs once the match is recorded in ``corpusql.takedowns``. See
:mod:`corpusql.takedown_views` for how views leave the rows out.
"""

from __future__ import annotations

from typing import Any

from .takedown_views import matched_rows, store


def scan(con, match: dict[str, Any], request_id: str) -> dict[str, list[tuple[str, int, str]]]:
    """Per catalog dataset of ``con``: the rows of its unfiltered view that ``match`` (as
    recorded) finds; datasets without one are left out."""
    from .catalog import schema
    from .catalog.core import Catalog

    if not schema.exists(con):
        return {}
    cat = Catalog(con)
    out = {}
    for name in cat._names():
        if not cat._view_exists(name):
            continue
        body, lineage = cat._view_body(name)
        rows = matched_rows(con, body, lineage, [{"request_id": request_id, "match": match}])
        if rows:
            out[name] = rows
    return out


def broken_views(con, names) -> dict[str, str]:
    """Datasets among ``names`` whose view cannot be read now (a purge deleted its cached
    copies), with the first line of the error. Call outside a transaction: a failing statement
    would abort it."""
    import duckdb

    from .catalog.core import Catalog

    out = {}
    if not names:
        return out
    cat = Catalog(con)
    for name in names:
        body, _ = cat._view_body(name)
        try:
            con.sql(f"SELECT * FROM ({body}) LIMIT 0").fetchall()
        except duckdb.Error as exc:
            out[name] = str(exc).strip().splitlines()[0]
    return out


def hide(con, found: dict[str, list[tuple[str, int, str]]], broken: dict[str, str]) -> None:
    """Add ``found`` (from :func:`scan`) to the taken-down rows and rebuild those views.

    Runs inside the takedown's transaction. A view in ``broken`` (:func:`broken_views`) is left
    as it is and its dataset marked stale; the next ``sync`` rebuilds it with the rows hidden."""
    from .catalog.core import Catalog

    if not found:
        return
    cat = Catalog(con)
    for name, rows in found.items():
        store(con, name, rows, replace=False)
        if name in broken:
            cat._set_status(name, "stale", f"view not rebuilt after takedown {rows[0][2]}: "
                            f"{broken[name]}; run `corpusql dataset sync {name}`")
        else:
            cat._refresh_view(name, rescan=False)
