"""The catalog's tables: plain SQL tables in schema ``corpusql`` of the database file.

They use only types and constraints the stock DuckDB 1.5 shell reads, so ``SELECT * FROM
corpusql.datasets`` works there too. Credential values are never stored here (see secrets.py).
"""

from __future__ import annotations

import duckdb

SCHEMA = "corpusql"

DDL = """
CREATE SCHEMA IF NOT EXISTS corpusql;
CREATE TABLE IF NOT EXISTS corpusql.datasets (
    name VARCHAR NOT NULL,          -- also the name of the view over the data
    uri VARCHAR NOT NULL,           -- path/glob (relative under the catalog directory), s3://,
                                    -- http(s)://, git+file://repo@rev:glob
    format VARCHAR NOT NULL,        -- parquet, jsonl, csv, text
    options JSON,                   -- non-secret reader/client options (endpoint_url, region)
    secret VARCHAR,                 -- name of a corpusql.secrets row, or NULL
    owner VARCHAR,
    created TIMESTAMP,              -- UTC
    status VARCHAR NOT NULL,        -- ready, syncing, failed, stale
    last_sync TIMESTAMP,            -- UTC
    error VARCHAR,                  -- why the dataset is failed or stale
    revision VARCHAR,               -- git commit the listing came from
    prewarmed BOOLEAN NOT NULL DEFAULT false  -- the view reads local Parquet copies
);
CREATE TABLE IF NOT EXISTS corpusql.files (
    dataset VARCHAR NOT NULL,
    path VARCHAR NOT NULL,          -- source URI (relative to the catalog directory under it)
    size BIGINT,
    etag_or_mtime VARCHAR,
    sha256 VARCHAR,                 -- of the cached Parquet copy, when cached
    cache_path VARCHAR,             -- the cached Parquet copy the view reads (relative, as path)
    rows BIGINT,                    -- rows in the cached copy
    quarantined BOOLEAN NOT NULL DEFAULT false, -- unusable as a whole, left out of the view
    content_hash VARCHAR            -- blake2b (32 bytes, hex) of a local source file's bytes
);
CREATE TABLE IF NOT EXISTS corpusql.quarantine (
    dataset VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    line BIGINT,                    -- 1-based, NULL when the whole file is unusable
    reason VARCHAR NOT NULL,
    recorded TIMESTAMP
);
CREATE TABLE IF NOT EXISTS corpusql.notes (
    dataset VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    note VARCHAR NOT NULL,          -- values kept in another type (123 -> '123'), with a count
    recorded TIMESTAMP
);
CREATE TABLE IF NOT EXISTS corpusql.secrets (
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,          -- values live outside the database (CORPUSQL_SECRETS)
    created TIMESTAMP
);
CREATE TABLE IF NOT EXISTS corpusql.roles (
    name VARCHAR NOT NULL,
    created TIMESTAMP
);
CREATE TABLE IF NOT EXISTS corpusql.grants (
    role VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    privilege VARCHAR NOT NULL      -- read
);
CREATE TABLE IF NOT EXISTS corpusql.masks (
    role VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    "column" VARCHAR NOT NULL,      -- the role's view shows this column masked
    kind VARCHAR NOT NULL DEFAULT 'redact'  -- redact (pii_redact), hash (keyed), null
);
CREATE TABLE IF NOT EXISTS corpusql.role_paths (
    role VARCHAR NOT NULL,
    path VARCHAR NOT NULL           -- a file or directory corpusql functions may open (models)
);
CREATE TABLE IF NOT EXISTS corpusql.takedown_rows (
    dataset VARCHAR NOT NULL,       -- rows of this dataset's view hidden by a takedown
    file VARCHAR NOT NULL,          -- the row's lineage file (_file) ...
    "row" BIGINT NOT NULL,          -- ... and line or row (_row), as the view shows them
    request_id VARCHAR NOT NULL     -- the corpusql.takedowns request that matched it
);
CREATE TABLE IF NOT EXISTS corpusql.settings (
    key VARCHAR NOT NULL,
    value VARCHAR
);
"""


def exists(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the connection's current database has a catalog."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'corpusql' AND table_name = 'datasets'"
    ).fetchall()
    return rows[0][0] > 0


#: Columns added after the first release: (table, column, type), added to older catalogs.
ADDED = [("files", "content_hash", "VARCHAR"),
         ("masks", "kind", "VARCHAR DEFAULT 'redact'"),  # masks made before kinds redact
         # licence and terms (corpusql.licences): SPDX id or 'unknown'; true/false/unknown
         ("datasets", "licence", "VARCHAR DEFAULT 'unknown'"),
         ("datasets", "terms_url", "VARCHAR"),
         ("datasets", "attribution", "VARCHAR"),
         ("datasets", "redistributable", "VARCHAR DEFAULT 'unknown'")]


def missing(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a catalog made by an older corpusql lacks some of today's tables or columns."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'corpusql' AND table_name IN ('masks', 'role_paths', 'notes', "
        "'takedown_rows')").fetchall()
    if rows[0][0] < 4:
        return True
    have = set(con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = "
        "current_database() AND schema_name = 'corpusql'").fetchall())
    return any((t, c) not in have for t, c, _ in ADDED)


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Create the missing tables and add the missing columns (plain ALTER TABLE, so the stock
    shell still reads the file)."""
    for stmt in DDL.split(";"):
        if stmt.strip():
            con.execute(stmt)
    for table, column, kind in ADDED:
        con.execute(f"ALTER TABLE corpusql.{table} ADD COLUMN IF NOT EXISTS {column} {kind}")
