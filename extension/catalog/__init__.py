"""The source catalog: datasets over local, S3, HTTP and git files, as views with provenance.

``cat = corpusql.catalog(con)`` returns a :class:`Catalog`; its tables live in schema ``corpusql``
of the database file, credential values outside it (see :mod:`corpusql.catalog.secrets`).
Roles, grants and PII masks: ``corpusql.connect(db, role=...)``, see :mod:`corpusql.catalog.roles`.
"""

from __future__ import annotations

import importlib
import sys
import types

_LAZY = {"Catalog": "core", "CatalogError": "core", "DatasetStatus": "core",
         "SyncReport": "core", "VerifyReport": "core", "catalog": "core", "attach": "core"}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    # Lazy, so `corpusql --help` and the CLI's parser do not pay for pyarrow/fsspec imports.
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """``corpusql.catalog`` is both this package and a function: ``corpusql.catalog(con)``.

    Importing the sub-package binds the name ``catalog`` on ``corpusql`` to the module, so the
    module itself is made callable rather than shadowing the function.
    """

    def __call__(self, con, cache_dir=None):
        from .core import catalog

        return catalog(con, cache_dir)


sys.modules[__name__].__class__ = _CallableModule
