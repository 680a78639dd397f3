"""The fingerprint index of a release: one small Parquet side file to find documents by.

Every materialized output holds ``_fingerprints.pq`` (Parquet; the ``.pq`` name keeps it out of
``*.parquet`` globs over the release), listed in the manifest under ``index.fingerprints`` with
its sha256, so ``verify`` checks it. One row per document:

- ``id``: the document's ``id`` (or ``doc_id``) column as text; ``file:row`` when it has none;
- ``doc_hash``: ``text_fingerprint(text)``: BLAKE2b-128 (RFC 7693, no key) of the UTF-8 bytes of
  ``text_normalize(text)`` with its defaults, as 32 hex digits (corpusql.udfs.hashing; never an
  engine's ``hash()``, so it is stable across engines and versions); NULL without a text column;
- ``url``: the ``url`` column as written, and ``url_key``: ``url_normalize(url)``;
- ``source``: the ``source`` column where present;
- ``licence``: the SPDX id of the catalog dataset the document came from: the single input
  dataset's when there is one, else the dataset named by the ``source`` column, else ``unknown``;
- ``chars``: characters of the text; ``tokens``: the ``token_count``/``tokens``/``n_tokens``
  column where present (else NULL: corpusql does not tokenize to build the index);
- ``file``, ``row``: where the document lies in the release (path relative to the release,
  0-based row in that file).

Rows are sorted by ``url_key`` (see :func:`write_index`); :func:`load` gives them back in
file and row order.

Finding a document across many releases reads these files, not the releases.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

INDEX = "_fingerprints.pq"
TEXT_COLUMNS = ("text", "content", "raw_content")
ID_COLUMNS = ("id", "doc_id", "document_id", "uuid")
URL_COLUMNS = ("url", "source_url")
TOKEN_COLUMNS = ("token_count", "tokens", "n_tokens")


BATCH_ROWS = 65536


def _schema():
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("doc_hash", pa.string()), ("url", pa.string()),
                      ("url_key", pa.string()), ("source", pa.string()),
                      ("licence", pa.string()), ("chars", pa.int64()), ("tokens", pa.int64()),
                      ("file", pa.string()), ("row", pa.int64())])


def _first(names: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((n for n in wanted if n in names), None)


def _licences(plan: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """(licence of every document, or None; {lower-cased dataset name: licence})."""
    datasets = plan.get("datasets") or {}
    other = plan.get("inputs") or plan.get("tables") or plan.get("unversioned_inputs")
    lic = {n.lower(): (r.get("licence") or {}).get("licence", "unknown")
           for n, r in datasets.items()}
    if len(lic) == 1 and not other:
        return next(iter(lic.values())), lic
    return None, lic


def _hive(rel: str) -> dict[str, str]:
    """Partition values in a relative path: ``lang=en/part-0.parquet`` -> {'lang': 'en'}."""
    return dict(part.split("=", 1) for part in rel.split("/")[:-1] if "=" in part)


def _text(col):
    import pyarrow as pa

    return col if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) \
        else col.cast(pa.string())


def rows_of(path: str | os.PathLike, rel: str, plan: dict[str, Any]):
    """The index rows of one data file, as Arrow record batches (see the module docstring)."""
    for job in _jobs(path, rel, plan):
        yield job()


def _jobs(path: str | os.PathLike, rel: str, plan: dict[str, Any]):
    """One callable per batch of the data file, each giving that batch's index rows: the
    file is read here, in order; the callables hold no shared state, so they may run on
    threads (the kernels release the GIL)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    hive = _hive(rel)
    text, ident = _first(names, TEXT_COLUMNS), _first(names, ID_COLUMNS)
    url = _first(names, URL_COLUMNS)
    tokens = next((n for n in TOKEN_COLUMNS if n in names
                   and pa.types.is_integer(pf.schema_arrow.field(n).type)), None)
    every, by_name = _licences(plan)
    cols = [c for c in dict.fromkeys((text, ident, url, tokens, "source")) if c in names]
    start = 0
    # decoded on this thread: pyarrow's decode threads cost more CPU than they save here (the
    # kernels on the pool's threads already keep the cores busy)
    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=cols, use_threads=False):
        yield lambda batch=batch, start=start: _index_batch(
            batch, start, rel, names, hive, (text, ident, url, tokens), every, by_name)
        start += batch.num_rows


def _index_batch(batch, start: int, rel: str, names: list[str], hive: dict[str, str],
                 columns: tuple, every: str | None, by_name: dict[str, str]):
    """The index rows of one record batch whose first row is row ``start`` of file ``rel``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .udfs.hashing import text_fingerprint
    from .udfs.url import url_normalize

    text, ident, url, tokens = columns
    n = batch.num_rows
    rows = pa.array(range(start, start + n), type=pa.int64())

    def col(name):
        if name in names:
            return _text(batch.column(name))
        if name in hive:
            return pa.repeat(pa.scalar(hive[name], pa.string()), n)
        return pa.nulls(n, pa.string())

    none = pa.nulls(n, pa.string())
    ids = col(ident) if ident else pc.binary_join_element_wise(
        pa.repeat(pa.scalar(rel, pa.string()), n), rows.cast(pa.string()), ":")
    source = col("source")
    if every is not None:
        lic = pa.repeat(pa.scalar(every, pa.string()), n)
    else:  # each distinct source looked up once
        distinct = pc.unique(source)
        names_lic = pa.array([by_name.get(s.lower(), "unknown") if s else "unknown"
                              for s in distinct.to_pylist()], type=pa.string())
        lic = pc.take(names_lic, pc.index_in(source, distinct))
    texts = col(text) if text else None
    urls = col(url) if url else none
    return pa.record_batch([
        ids, text_fingerprint(texts) if text else none, urls,
        url_normalize(urls) if url else none, source, lic,
        pc.utf8_length(texts).cast(pa.int64()) if text else pa.nulls(n, pa.int64()),
        batch.column(tokens).cast(pa.int64()) if tokens else pa.nulls(n, pa.int64()),
        pa.repeat(pa.scalar(rel, pa.string()), n), rows], schema=_schema())


#: Threads computing index batches at once (the kernels release the GIL).
WORKERS = max(1, min(4, os.cpu_count() or 1))


ROW_GROUP_ROWS = 16384


def _sorted_copy(con, scan: str, out: Path) -> None:
    """Write ``scan``'s rows to ``out`` in lookup order (see :func:`write_index`)."""
    con.execute(f"COPY (SELECT * FROM {scan} ORDER BY url_key NULLS LAST, id, file, row) TO "
                f"'{str(out).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd, "
                f"ROW_GROUP_SIZE {ROW_GROUP_ROWS})")


def write_index(out: Path, sources: list[tuple[str | os.PathLike, str]],
                plan: dict[str, Any]) -> None:
    """Write the index of data files ``sources`` ((path on disk, path in the release)) to
    ``out``, computed one batch at a time on up to :data:`WORKERS` threads, written in order.

    Rows are stored sorted by ``url_key`` (then id, file, row) in row groups of 16,384, so a
    lookup by URL reads one row group per release thanks to the Parquet min/max statistics;
    the sort is DuckDB's, which spills to disk rather than hold the index in memory.
    """
    import duckdb
    import pyarrow.parquet as pq

    raw = out.with_name(out.name + ".unsorted")
    try:
        with pq.ParquetWriter(raw, _schema(), compression="zstd") as w, \
                ThreadPoolExecutor(WORKERS) as pool:
            pending: deque = deque()
            for path, rel in sorted(sources, key=lambda s: s[1]):
                for job in _jobs(path, rel, plan):
                    pending.append(pool.submit(job))
                    if len(pending) > WORKERS:
                        w.write_batch(pending.popleft().result())
            while pending:
                w.write_batch(pending.popleft().result())
        con = duckdb.connect()
        try:
            _sorted_copy(con, f"read_parquet('{str(raw).replace(chr(39), chr(39) * 2)}')", out)
        finally:
            con.close()
    finally:
        raw.unlink(missing_ok=True)


def save(table, out: Path) -> None:
    """Write an index held as an Arrow table (after a takedown) in lookup order."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("index_rows", table.cast(_schema()))
        _sorted_copy(con, "index_rows", out)
    finally:
        con.close()


def load(path: Path):
    """An index file as an Arrow table in file and row order (the order of the data)."""
    import pyarrow.parquet as pq

    return pq.read_table(path).sort_by([("file", "ascending"), ("row", "ascending")])


def entry(out: Path, rel: str) -> dict[str, Any]:
    """The manifest entry of an index file: path, rows, bytes, sha256."""
    import pyarrow.parquet as pq

    from .files import sha256_file

    return {"path": rel, "rows": pq.ParquetFile(out).metadata.num_rows,
            "bytes": out.stat().st_size, "sha256": sha256_file(out)}


def write(con, staging: Path, files: list[dict[str, Any]], plan: dict[str, Any]) -> dict:
    """Write the index of the data files ``files`` (manifest entries) under ``staging``.

    Called before the data files get their final names: they are read at ``<path>.partial``.
    Needs no corpusql function on ``con`` (the kernels are called directly). Returns the
    manifest entry.
    """
    from .parquet_copy import PARTIAL

    out = staging / INDEX
    write_index(out, [(staging / (f["path"] + PARTIAL), f["path"]) for f in files], plan)
    return entry(out, INDEX)


def index_path(release: str | os.PathLike) -> Path:
    """The fingerprint index of the release at ``release`` (a release directory, or a
    versioned release's root, read through ``current``)."""
    from .release_paths import resolve

    return resolve(release) / INDEX
