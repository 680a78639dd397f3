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


def write_docs(con, path, n: int, *, source: str, start: int = 0, host: str = "example.com"):
    """``n`` documents id, text, url, source as Parquet at ``path``."""
    con.execute(
        f"COPY (SELECT '{source}-' || i AS id, 'Document ' || i || ' from {source}: ' || "
        f"array_to_string(list_transform(range(30), lambda j: "
        f"translate(md5('{source}' || i || '-' || j)[1:8], '0123456789', 'ghijklmnop')), ' ')"
        f" AS text, "
        f"'https://www.{host}/{source}/' || i || '?utm_source=feed' AS url, "
        f"'{source}' AS source FROM range({start}, {start + n}) t(i)) TO '{path}'")
