"""Takedowns in the catalog's dataset views: rows a recorded takedown matches are hidden.

A takedown recorded in ``corpusql.takedowns`` (see :mod:`corpusql.takedowns`) is applied to the
catalog's datasets as well as to releases. The rows of a dataset's view that any recorded match
finds are listed in ``corpusql.takedown_rows`` by their lineage values (``_file`` and ``_row``,
or the dataset's own lineage columns, as the view shows them), and the view leaves them out
with an anti-join on that table: plain SQL, so the stock DuckDB shell reads the view too.

The rows are found with the kernels of the fingerprint index over the view's unfiltered rows:
``id`` (the first of id, doc_id, document_id, uuid), ``doc_hash`` (``text_fingerprint`` of the
first of text, content, ...), ``url_key`` (``url_normalize`` of url, link, ...), and for
``near_text`` the MinHash estimate against the recorded signature. They are found again whenever
the catalog rebuilds the view (``add``, ``sync``, a moved lake), so a re-synced source that still
holds the document stays hidden; a takedown recorded later adds its rows and rebuilds the views
it touches. Role connections read copies of the dataset's files without those rows
(corpusql.catalog.role_views), so a role cannot read them back by defining its own view.
A takedown finds and hides a new match's rows through :mod:`corpusql.takedown_catalog`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from .fingerprints import ID_COLUMNS, TEXT_COLUMNS, URL_COLUMNS

TABLE = "corpusql.takedown_rows"
TEMP_TABLE = "temp.main.corpusql_takedown_rows"  # a read-only connection's own copy
BATCH_ROWS = 8192
_NEEDS = {"url": "url", "domain": "url", "id": "id", "text": "text", "doc_hash": "text",
          "near_text": "text"}


def _q(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _first(names: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((n for n in wanted if n in names), None)


def matched_rows(con, body: str, lineage: tuple[str, str],
                 takedowns: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """``(file, row, request_id)`` of the rows of the SELECT ``body`` that a takedown finds.

    ``takedowns`` are ``{"request_id", "match"}`` records (the match as recorded, see
    takedown_match.recorded). A row found by several takedowns is listed once, under the first
    request in the given order. A match whose column the rows lack (no URL column for a
    ``domain`` match) finds nothing in them.
    """
    import numpy as np

    from .takedown_match import index_mask, near_mask
    from .udfs.hashing import text_fingerprint
    from .udfs.url import url_normalize

    if not takedowns:
        return []
    names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM ({body})").fetchall()]
    cols = {"id": _first(names, ID_COLUMNS), "text": _first(names, TEXT_COLUMNS),
            "url": _first(names, URL_COLUMNS)}
    wanted = {_NEEDS[t["match"]["kind"]] for t in takedowns}
    use = {k: c for k, c in cols.items() if c and k in wanted}
    if not use:
        return []
    lin_file, lin_row = lineage
    sel = ", ".join([f"CAST({_q(lin_file)} AS VARCHAR) AS f",
                     f"CAST({_q(lin_row)} AS BIGINT) AS r"] + [f"CAST({_q(c)} AS VARCHAR) AS {k}" for k, c in use.items()])
    reader = con.sql(f"SELECT {sel} FROM ({body})").to_arrow_reader(BATCH_ROWS)
    out: list[tuple[str, int, str]] = []
    for batch in reader:
        n = batch.num_rows
        if not n:
            continue
        none = pa.nulls(n, pa.string())
        text = batch.column("text") if "text" in use else None
        index = pa.table({
            "id": batch.column("id") if "id" in use else none,
            "doc_hash": text_fingerprint(text) if text is not None else none,
            "url_key": url_normalize(batch.column("url")) if "url" in use else none})
        taken = np.zeros(n, dtype=bool)
        files, rows = batch.column("f").to_pylist(), batch.column("r").to_pylist()
        for t in takedowns:
            m = t["match"]
            if m["kind"] == "near_text":
                hit = near_mask(text, m) if text is not None else np.zeros(n, dtype=bool)
            else:
                hit = index_mask(index, m)
            hit &= ~taken
            taken |= hit
            out += [(files[i], rows[i], t["request_id"]) for i in np.flatnonzero(hit)]
    return sorted(out, key=lambda r: (r[0], r[1]))


def ensure_table(con) -> None:
    con.execute(f"""CREATE TABLE IF NOT EXISTS {TABLE} (dataset VARCHAR NOT NULL,
        file VARCHAR NOT NULL, "row" BIGINT NOT NULL, request_id VARCHAR NOT NULL)""")


def store(con, dataset: str, rows: list[tuple[str, int, str]], *, replace: bool,
          table: str = TABLE) -> None:
    """Write dataset's taken-down rows to ``table`` (replacing its earlier rows or adding)."""
    if table == TEMP_TABLE:
        con.execute("""CREATE TEMP TABLE IF NOT EXISTS corpusql_takedown_rows (
            dataset VARCHAR, file VARCHAR, "row" BIGINT, request_id VARCHAR)""")
    else:
        ensure_table(con)
    if replace:
        con.execute(f"DELETE FROM {table} WHERE dataset = ?", [dataset])
    if rows:
        con.register("__corpusql_taken", pa.table({
            "dataset": pa.array([dataset] * len(rows), pa.string()),
            "file": pa.array([r[0] for r in rows], pa.string()),
            "row": pa.array([r[1] for r in rows], pa.int64()),
            "request_id": pa.array([r[2] for r in rows], pa.string())}))
        try:
            con.execute(f"INSERT INTO {table} SELECT * FROM __corpusql_taken")
        finally:
            con.unregister("__corpusql_taken")


def hidden_count(con, dataset: str, table: str = TABLE) -> int:
    """Rows of ``dataset`` listed in ``table`` (0 without the table)."""
    try:
        return con.execute(f"SELECT count(*) FROM {table} WHERE dataset = ?",
                           [dataset]).fetchall()[0][0]
    except Exception:  # noqa: BLE001 - no such table: nothing hidden
        return 0


def refresh(con, dataset: str, body: str, lineage: tuple[str, str], readonly: bool,
            takedowns: list[dict[str, Any]]) -> str | None:
    """Find ``dataset``'s taken-down rows again (its files may have changed) and return the table
    its view must anti-join, or None when none of ``takedowns`` (the recorded ones, see
    takedown_apply.recorded_in_db) finds a row of it.

    A read-only connection keeps the rows in a TEMP table of its own."""
    table = TEMP_TABLE if readonly else TABLE
    if not takedowns:
        if not readonly and hidden_count(con, dataset):
            store(con, dataset, [], replace=True)
        return None
    rows = matched_rows(con, body, lineage, takedowns)
    store(con, dataset, rows, replace=True, table=table)
    return table if rows else None


def hidden_in_inputs(con, datasets) -> dict[str, dict[str, int]]:
    """Rows hidden in the views of ``datasets`` (a materialization's input datasets), per
    takedown request and dataset, for its manifest."""
    names = sorted(datasets or [])
    if not names:
        return {}
    try:
        rows = con.execute(f"SELECT request_id, dataset, count(*) FROM {TABLE} WHERE "
                           "lower(dataset) IN (SELECT lower(unnest($names))) GROUP BY ALL "
                           "ORDER BY ALL", {"names": names}).fetchall()
    except Exception:  # noqa: BLE001 - no such table: nothing hidden
        return {}
    out: dict[str, dict[str, int]] = {}
    for rid, name, n in rows:
        out.setdefault(rid, {})[name] = n
    return out
