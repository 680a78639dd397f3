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


class CorpusqlError(Exception):
    """A corpusql error whose message is meant for the user as it is."""


class FunctionArgumentError(CorpusqlError, ValueError):
    """A corpusql function or macro was called with an argument it cannot use: a column or table
    that does not exist, a parameter it does not have, a value of the wrong type."""


class QueryError(CorpusqlError, RuntimeError):
    """Any other failure of a user's query, with DuckDB's message cleaned of internal details."""


class MaterializeError(CorpusqlError, RuntimeError):
    """Materialization refused or failed; the target is untouched."""
