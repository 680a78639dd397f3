"""corpusql's error classes: one base, a subclass per area.

:class:`CorpusqlError` is the base of every error corpusql raises on purpose; catch it to catch
them all. Each area's class also derives from the built-in exception it has always been
(``MaterializeError`` is a ``RuntimeError``, ``FunctionArgumentError`` a ``ValueError``), so
existing ``except`` clauses keep working. corpusql's own entry points (the shell, ``corpusql
run``, ``materialize``, ``%%sql``) word a mistake in a query for the person who typed it: the
public function, the argument as they wrote it, and the closest valid choice. Which DuckDB
messages become which error is decided in one place, :mod:`corpusql.explain`.
"""

from __future__ import annotations

from .udfs.errors import CorpusqlError, FunctionArgumentError, ResourceError

__all__ = ["AccessError", "CatalogError", "CorpusqlError", "FunctionArgumentError",
           "MaterializeError", "QueryError", "ResourceError"]


class CatalogError(CorpusqlError, RuntimeError):
    """A catalog operation (datasets, sources, sync, cache, secrets, masks) was refused or
    failed; the message names the dataset, file or secret."""


class AccessError(CorpusqlError, PermissionError):
    """A role asked for what it was not granted (a dataset, a file, a function)."""


class QueryError(CorpusqlError, RuntimeError):
    """Any other failure of a user's query, with DuckDB's message cleaned of internal details."""


class MaterializeError(CorpusqlError, RuntimeError):
    """Materialization refused or failed; the target is untouched."""
