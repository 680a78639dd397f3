"""corpusql: LLM training-data governance as SQL on DuckDB.

``con = corpusql.connect("lake.duckdb")`` gives a DuckDB connection where every corpusql function
and SQL macro is available; ``corpusql.materialize`` writes a query to Parquet atomically.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .connect import connect, set_memory_budget

__all__ = ["__version__", "catalog", "connect", "export_tokens", "materialize", "report",
           "set_memory_budget", "takedown", "verify"]


def __getattr__(name: str):
    if name == "report":
        from .report import report

        return report
    if name in ("materialize", "verify"):
        from . import materializer as _m

        return getattr(_m, name)
    if name == "export_tokens":
        from .export_tokens import export_tokens

        return export_tokens
    if name == "takedown":
        from .takedowns import takedown

        return takedown
    if name == "catalog":
        import importlib

        return importlib.import_module(".catalog", __name__)  # callable: corpusql.catalog(con)
    raise AttributeError(f"module 'corpusql' has no attribute {name!r}")
