"""What corpusql defines: one row per function or macro, for ``corpusql_functions()`` and docs."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .registry import sql_literal


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    kind: str  # 'scalar' (Python kernel), 'macro', 'table_macro' or 'view'
    signature: str
    returns: str
    version: str
    doc: str
    pure_sql: bool


def function_rows() -> list[FunctionInfo]:
    """Every registry function and library object, sorted by name."""
    from .functions import REGISTRY
    from .sqllib import library

    rows = [
        FunctionInfo(f.name, "scalar", f.signature, f.returns, f.version, f.summary, False)
        for f in REGISTRY
    ]
    for o in library():
        kind = "view" if o.kind == "view" else ("table_macro" if " TABLE" in o.body.upper()
                                                 else "macro")
        rows.append(FunctionInfo(o.name, kind, o.call, ", ".join(o.returns), o.version,
                                 o.summary, o.pure_sql))
    return sorted(rows, key=lambda r: r.name)


def create_listing(con: duckdb.DuckDBPyConnection) -> None:
    """Create the TEMP table macro ``corpusql_functions()`` listing :func:`function_rows`."""
    values = ",\n".join(
        "(" + ", ".join(sql_literal(v) for v in (r.name, r.kind, r.signature, r.returns,
                                                 r.version, r.doc, r.pure_sql)) + ")"
        for r in function_rows()
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO corpusql_functions() AS TABLE "
        "SELECT * FROM (VALUES " + values + ") "
        "AS t(name, kind, signature, return_type, version, doc, pure_sql) ORDER BY name"
    )
