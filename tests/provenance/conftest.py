"""Provenance fixtures: a catalog on a database file with two licensed datasets."""

from __future__ import annotations

import duckdb
import pytest
from prov_helpers import write_docs

import corpusql


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Secrets and cache in the test's own folder; versions kept by the default rule."""
    monkeypatch.setenv("CORPUSQL_SECRETS", str(tmp_path / "config" / "secrets.json"))
    monkeypatch.delenv("CORPUSQL_CACHE", raising=False)
    monkeypatch.delenv("CORPUSQL_KEEP_VERSIONS", raising=False)
    monkeypatch.delenv("CORPUSQL_FAULT", raising=False)


@pytest.fixture
def lake(tmp_path):
    """A plain connection on a database file, its catalog, and two datasets: ``web``
    (CC-BY-4.0, not redistributable, 40 documents) and ``books`` (licence unknown, 20)."""
    con = duckdb.connect(str(tmp_path / "lake.duckdb"))
    write_docs(con, tmp_path / "web.parquet", 40, source="web")
    write_docs(con, tmp_path / "books.parquet", 20, source="books", host="books.example.org")
    cat = corpusql.catalog(con)
    cat.add("web", str(tmp_path / "web.parquet"), licence="CC-BY-4.0", redistributable=False,
            terms_url="https://example.com/terms", attribution="Example Web")
    cat.add("books", str(tmp_path / "books.parquet"))
    yield con, cat
    con.close()
