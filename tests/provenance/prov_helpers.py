"""Helpers shared by the provenance tests."""

from __future__ import annotations

import pyarrow.parquet as pq

ALL = "SELECT id, text, url, source FROM web UNION ALL SELECT id, text, url, source FROM books"


def ids(release) -> list[str]:
    """Every document id in a release directory (data files only), sorted."""
    files = sorted(p for p in release.rglob("*.parquet"))
    return sorted(i for f in files for i in pq.read_table(f).column("id").to_pylist())


def index_rows(release) -> list[dict]:
    return pq.read_table(release / "_fingerprints.pq").to_pylist()
