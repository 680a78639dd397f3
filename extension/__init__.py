"""corpusql: LLM training-data governance as SQL on DuckDB.

``con = corpusql.connect("lake.duckdb")`` gives a DuckDB connection where every corpusql function
and SQL macro is available; ``corpusql.materialize`` writes a query to Parquet atomically.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .connect import connect  # noqa: E402

__all__ = ["connect", "materialize", "report", "verify", "__version__"]


def __getattr__(name: str):
    if name == "report":
        from .report import report

        return report
    if name in ("materialize", "verify"):
        from . import materializer as _m

        return getattr(_m, name)
    raise AttributeError(f"module 'corpusql' has no attribute {name!r}")
