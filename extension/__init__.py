"""corpusql: LLM training-data governance as SQL on DuckDB.

``con = corpusql.connect("lake.duckdb")`` gives a DuckDB connection where every corpusql function
and SQL macro is available; ``corpusql.materialize`` writes a query to Parquet atomically.
"""

from __future__ import annotations

from .connect import connect, set_memory_budget
from .version import __version__

__all__ = ["__version__", "annotate", "catalog", "connect", "export_tokens", "materialize",
           "register", "register_embedding_model", "register_macro", "report",
           "set_memory_budget", "takedown", "to_datasketch", "train_linear_head", "verify"]


def __getattr__(name: str):
    if name == "report":
        from .report import report

        return report
    if name == "materialize":  # versioned=True too: corpusql.releases.materialize
        from .releases import materialize

        return materialize
    if name == "verify":
        from .materializer import verify

        return verify
    if name == "export_tokens":
        from .export_tokens import export_tokens

        return export_tokens
    if name in ("register", "register_macro"):
        from . import extending

        return getattr(extending, name)
    if name == "to_datasketch":
        from .sketches import to_datasketch

        return to_datasketch
    if name in ("annotate", "train_linear_head"):
        from .annotations import annotate, train_linear_head

        return annotate if name == "annotate" else train_linear_head
    if name == "register_embedding_model":
        from .udfs.embed_models import register_embedding_model

        return register_embedding_model
    if name == "takedown":
        from .takedowns import takedown

        return takedown
    if name == "catalog":
        import importlib

        return importlib.import_module(".catalog", __name__)  # callable: corpusql.catalog(con)
    raise AttributeError(f"module 'corpusql' has no attribute {name!r}")
