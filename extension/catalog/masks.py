"""Masked copies: the files a role connection reads for a dataset with masked columns.

A mask replaces one column for one role, by kind:

* ``redact``: ``pii_redact`` of the column's VARCHAR form (free text; best effort: it hides only
  what the detector finds, see docs/access-control.md);
* ``hash``: HMAC-SHA256 of the column's VARCHAR form, hex, keyed by a secret key kept in the
  secrets store (:data:`KEY_SECRET`), so equal values stay joinable and a low-entropy value (an
  SSN, a phone number) cannot be recovered by hashing every candidate without the key;
* ``null``: NULL of the column's type.

The role connection never computes a mask in SQL: a role can ``CREATE OR REPLACE TEMP MACRO``
any unqualified function name (measured on DuckDB 2.0.1, corpusql's ``temp.main.pii_redact`` and
built-ins such as ``sha256`` included), and any file it may read it can read raw. So before the
connection is locked down, each granted file of a masked dataset is copied once, with its masks
applied in Python, to ``<cache_dir>/<dataset>/masked/<key>.parquet``; the role's view reads only
those copies. The key of a copy hashes the source file's identity (path, size, ETag, checksum),
the mask set, the detector's source and the hash key's fingerprint, so a changed file, mask,
detector or key gives a new copy, and an unchanged one is reused.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import os
import secrets as _random
import tempfile
from importlib import resources

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import CatalogError
from . import secrets

KINDS = ("redact", "hash", "null")
#: Name of the secrets-store entry (kind ``mask``) holding the hash masks' key.
KEY_SECRET = "corpusql_mask_key"
#: Bumped when the layout of masked copies changes.
FORMAT = 1
BATCH_ROWS = 8192


class MaskError(CatalogError, ValueError):
    """A mask is unknown, or a masked copy cannot be made."""


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        near = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise MaskError(f"mask kind {kind!r} is not one of {', '.join(KINDS)}{hint}")


def ensure_key() -> bytes:
    """The hash masks' key, made (32 random bytes) on first use."""
    try:
        return bytes.fromhex(secrets.get(KEY_SECRET)["key"])
    except secrets.SecretError:
        key = _random.token_bytes(32)
        secrets.put(KEY_SECRET, "mask", {"key": key.hex()})
        return key


def load_key(where: str) -> bytes:
    try:
        return bytes.fromhex(secrets.get(KEY_SECRET)["key"])
    except secrets.SecretError as exc:
        raise MaskError(f"{where}: a 'hash' mask needs the key {KEY_SECRET!r} in the secrets "
                        f"store {secrets.store_path()} (set CORPUSQL_SECRETS to the store the "
                        "catalog's owner used, or re-run catalog.mask(..., kind='hash'), which "
                        "makes the key)") from exc


def _detector_version() -> str:
    src = resources.files("corpusql.udfs").joinpath("pii.py").read_bytes()
    return hashlib.sha256(src).hexdigest()[:16]


def copy_key(file: dict, masks: dict[str, str], key: bytes | None,
             dropped: str | None = None) -> str:
    """The name of the masked copy of ``file`` (a ``corpusql.files`` row) under ``masks``;
    ``dropped`` identifies the set of taken-down rows the copy leaves out (see write_copy)."""
    ident = {"format": FORMAT, "path": file["path"], "size": file["size"],
             "etag": file["etag_or_mtime"], "sha256": file["sha256"],
             "cache": bool(file["cache_path"]), "masks": sorted(masks.items()),
             "detector": _detector_version() if "redact" in masks.values() else None,
             "key": hashlib.sha256(key).hexdigest()[:16] if key else None}
    if dropped:
        ident["dropped"] = dropped
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]


class _Caster:
    """A column's VARCHAR form exactly as DuckDB's ``CAST(x AS VARCHAR)`` writes it."""

    def __init__(self) -> None:
        self.con = None

    def text(self, col: pa.Array) -> pa.Array:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            return col.cast(pa.string())
        if self.con is None:
            import duckdb

            self.con = duckdb.connect()
        self.con.register("__masking", pa.table({"x": col}))
        try:
            out = self.con.sql("SELECT CAST(x AS VARCHAR) AS x FROM __masking").to_arrow_table()
        finally:
            self.con.unregister("__masking")
        return out.column(0).combine_chunks().cast(pa.string())

    def close(self) -> None:
        if self.con is not None:
            self.con.close()


def _redact(text: pa.Array) -> pa.Array:
    from ..binder import call_kernel
    from ..functions import REGISTRY

    f = next(f for f in REGISTRY if f.name == "pii_redact")
    return call_kernel(f, [text], {}).cast(pa.string())


def _hash(text: pa.Array, key: bytes) -> pa.Array:
    return pa.array([None if v is None else hmac.new(key, v.encode(), hashlib.sha256).hexdigest()
                     for v in text.to_pylist()], pa.string())


def _schema(schema: pa.Schema, masks: dict[str, str], live: bool) -> pa.Schema:
    fields = []
    for f in schema:
        if live and f.name in ("_file", "_row"):
            continue
        kind = masks.get(f.name)
        fields.append(f if kind in (None, "null") else pa.field(f.name, pa.string()))
    if live:
        fields += [pa.field("_file", pa.string()), pa.field("_row", pa.int64())]
    return pa.schema(fields)


def write_copy(source, out_path: str, masks: dict[str, str], key: bytes | None, *,
               live_uri: str | None = None, drop: set[tuple[str, int]] | None = None,
               lineage: tuple[str, str] = ("_file", "_row")) -> None:
    """Write the masked copy of the Parquet file object ``source`` to ``out_path``, atomically.

    ``live_uri``: the file is a live source file, so the copy gets ``_file`` (that URI) and
    ``_row`` (1-based) like the view over live files; cached copies already have them.
    ``drop``: ``(file, row)`` values of the ``lineage`` columns of rows left out of the copy
    (rows a recorded takedown matches, corpusql.takedown_views).
    """
    pf = pq.ParquetFile(source)
    schema = _schema(pf.schema_arrow, masks, live_uri is not None)
    caster = _Caster()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(out_path), prefix=".masking-",
                               suffix=".parquet")
    os.close(fd)
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            row = 0
            for batch in pf.iter_batches(batch_size=BATCH_ROWS):
                cols = {}
                for name in batch.schema.names:
                    if live_uri is not None and name in ("_file", "_row"):
                        continue
                    col = batch.column(name)
                    kind = masks.get(name)
                    if kind == "null":
                        col = pa.nulls(len(col), col.type)
                    elif kind == "redact":
                        col = _redact(caster.text(col))
                    elif kind == "hash":
                        col = _hash(caster.text(col), key)
                    cols[name] = col
                if live_uri is not None:
                    cols["_file"] = pa.array([live_uri] * batch.num_rows, pa.string())
                    cols["_row"] = pa.array(range(row + 1, row + batch.num_rows + 1), pa.int64())
                    row += batch.num_rows
                out = pa.table(cols).select(schema.names).cast(schema)
                if drop and set(lineage) <= set(out.column_names):
                    keys = zip(out.column(lineage[0]).cast(pa.string()).to_pylist(),
                               out.column(lineage[1]).cast(pa.int64()).to_pylist())
                    out = out.filter(pa.array([k not in drop for k in keys], pa.bool_()))
                writer.write_table(out)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        caster.close()
