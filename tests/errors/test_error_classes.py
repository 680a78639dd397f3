"""One base for every error corpusql raises on purpose, and one subclass per area."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import corpusql
from corpusql.errors import (
    AccessError,
    CatalogError,
    CorpusqlError,
    FunctionArgumentError,
    MaterializeError,
    QueryError,
    ResourceError,
)

AREAS = (CatalogError, MaterializeError, FunctionArgumentError, AccessError, ResourceError,
         QueryError)


def _modules():
    for info in pkgutil.walk_packages(corpusql.__path__, "corpusql."):
        if info.name.endswith("__main__"):
            continue
        yield info.name


def _error_classes():
    found = {}
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # an optional extra (pyspark, IPython) not installed
            pytest.skip(f"{name}: {exc}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__.startswith("corpusql"):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_every_corpusql_error_derives_from_the_base_and_an_area():
    classes = _error_classes()
    assert len(classes) > 20
    stray = sorted(n for n, c in classes.items() if not issubclass(c, CorpusqlError))
    assert not stray, f"not a CorpusqlError: {stray}"
    # every class but the base, the areas and the environment errors belongs to an area
    no_area = sorted(n for n, c in classes.items()
                     if c is not CorpusqlError and c not in AREAS
                     and not issubclass(c, AREAS) and n != "corpusql.spark.session.JavaMissing")
    assert not no_area, f"in no area: {no_area}"


@pytest.mark.parametrize("cls, builtin", [
    (CatalogError, RuntimeError), (MaterializeError, RuntimeError),
    (FunctionArgumentError, ValueError), (AccessError, PermissionError),
    (ResourceError, MemoryError), (QueryError, RuntimeError)])
def test_areas_keep_the_builtin_they_replace(cls, builtin):
    assert issubclass(cls, CorpusqlError) and issubclass(cls, builtin)
