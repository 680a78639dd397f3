"""The base of corpusql's error classes, on the ground floor so kernels can raise them too.

:mod:`corpusql.errors` re-exports these and adds the areas above the kernels (catalog,
materialize, access). Each class also derives from the built-in exception it replaces, so
``except ValueError`` around a kernel call keeps working.
"""

from __future__ import annotations


class CorpusqlError(Exception):
    """A corpusql error whose message is meant for the user as it is."""


class FunctionArgumentError(CorpusqlError, ValueError):
    """A corpusql function or macro was called with an argument it cannot use: a column or table
    that does not exist, a parameter it does not have, a value of the wrong type or range, a
    model file that is missing or not the one pinned."""


class ResourceError(CorpusqlError, MemoryError):
    """A resource limit (the memory budget, a size guard) would be exceeded; the message names
    the estimate and the knob to turn."""
