"""corpusql's errors: one base class, one subclass per area.

Catch :class:`CorpusqlError` to catch every error corpusql raises on purpose. Each area's class
also derives from the built-in exception it has always been (``MaterializeError`` is a
``RuntimeError``), so existing ``except`` clauses keep working.
"""

from __future__ import annotations


class CorpusqlError(Exception):
    """Base of every error corpusql raises on purpose (never a bug's traceback)."""


class MaterializeError(CorpusqlError, RuntimeError):
    """Materialization refused or failed; the target is untouched."""
