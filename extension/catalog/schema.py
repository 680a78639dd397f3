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
    uri VARCHAR NOT NULL,           -- path/glob, s3://, http(s)://, git+file://repo@rev:glob
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
    path VARCHAR NOT NULL,          -- source URI
    size BIGINT,
    etag_or_mtime VARCHAR,
    sha256 VARCHAR,                 -- of the cached Parquet copy, when cached
    cache_path VARCHAR,             -- the cached Parquet copy the view reads, when cached
    rows BIGINT,                    -- rows in the cached copy
    quarantined BOOLEAN NOT NULL DEFAULT false  -- unusable as a whole, left out of the view
);
CREATE TABLE IF NOT EXISTS corpusql.quarantine (
    dataset VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    line BIGINT,                    -- 1-based, NULL when the whole file is unusable
    reason VARCHAR NOT NULL,
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


def missing(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a catalog made by an older corpusql lacks some of today's tables or columns."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'corpusql' AND table_name IN ('masks', 'role_paths')").fetchall()
    return rows[0][0] < 2 or not has_mask_kind(con)


def has_mask_kind(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``corpusql.masks`` has its ``kind`` column (older catalogs lack it)."""
    return bool(con.execute(
        "SELECT 1 FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'corpusql' AND table_name = 'masks' AND column_name = 'kind'"
    ).fetchall())


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Create the catalog's tables, and bring an older catalog's up to date."""
    for stmt in DDL.split(";"):
        if stmt.strip():
            con.execute(stmt)
    if not has_mask_kind(con):  # masks made before mask kinds were all pii_redact
        con.execute("ALTER TABLE corpusql.masks ADD COLUMN kind VARCHAR DEFAULT 'redact'")
