-- split_stratified(tbl, id_col, strata_col, seed := 0, train := 0.98, val := 0.01, test := 0.01)
--
-- A train/val/test split of table or view `tbl` that holds the proportions inside every stratum
-- (each value of column `strata_col`, for example language or source; NULL is a stratum of its
-- own). Within a stratum of n documents, documents are ordered by hash_unit(id, seed) (keyed
-- BLAKE2b, ties by id) and the document at rank r (0-based) goes to 'train' if (r + 0.5) / n <
-- train, to 'val' if it is < train + val, else to 'test': each stratum's split sizes are
-- n * fraction rounded to the nearest whole document, and the split depends only on the ids,
-- the strata and the seed. Unlike split_assign, adding documents to a stratum can move other
-- documents of that stratum between splits. Rows with a NULL id get a NULL split. Fails when a
-- fraction is outside [0, 1] or the three do not sum to 1.
--
-- tables: tbl
-- columns: id_col, strata_col
-- returns: id, stratum, split
-- requires: hash_unit
-- source: stratified sampling (proportional allocation), as in scikit-learn's StratifiedShuffleSplit
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO split_stratified(tbl, id_col, strata_col, seed := 0, train := 0.98, val := 0.01, test := 0.01) AS TABLE
WITH docs AS (
    SELECT r[id_col] AS id, r[strata_col] AS stratum
    FROM query_table(tbl) AS r
),
problems AS (
    SELECT CASE
        WHEN train IS NULL OR val IS NULL OR test IS NULL
            OR NOT (train BETWEEN 0 AND 1) OR NOT (val BETWEEN 0 AND 1) OR NOT (test BETWEEN 0 AND 1) THEN
            'split_stratified: train, val and test must each be between 0 and 1, got train='
            || coalesce(CAST(train AS VARCHAR), 'NULL') || ', val=' || coalesce(CAST(val AS VARCHAR), 'NULL')
            || ', test=' || coalesce(CAST(test AS VARCHAR), 'NULL')
        WHEN abs(train + val + test - 1) > 1e-9 THEN
            'split_stratified: train + val + test = ' || CAST(train + val + test AS VARCHAR)
            || ' must sum to 1 (got train=' || CAST(train AS VARCHAR) || ', val=' || CAST(val AS VARCHAR)
            || ', test=' || CAST(test AS VARCHAR) || ')'
    END AS message
),
-- Only the documents near a cut are sorted. Each stratum's hash values are counted in 1024
-- buckets (floor(u * 1024), in u's order; `before`: the documents in lower buckets). The
-- documents of the buckets below `lo_bucket` have the ranks 0 .. below - 1, all of them 'train'
-- (the last of those ranks passes the train test); those of the buckets from `hi_bucket` on have
-- ranks whose first already fails the val test, so all are 'test'; the rest are ranked exactly,
-- below + their position in (u, id) order.
hashed AS MATERIALIZED (
    SELECT id, stratum, u, CAST(floor(u * 1024) AS INTEGER) AS bucket
    FROM (
        SELECT id, stratum, hash_unit(CAST(id AS VARCHAR), seed := seed) AS u
        FROM docs
        WHERE id IS NOT NULL
    )
),
bucket_counts AS (
    SELECT
        stratum,
        bucket,
        CAST(coalesce(sum(count(*)) OVER (PARTITION BY stratum ORDER BY bucket
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS before,
        CAST(sum(count(*)) OVER (PARTITION BY stratum) AS BIGINT) AS stratum_size
    FROM hashed
    GROUP BY stratum, bucket
),
cuts AS MATERIALIZED (
    SELECT
        stratum,
        stratum_size,
        -- the first bucket always qualifies (before = 0), so neither is NULL
        max(bucket) FILTER (WHERE (before - 1 + 0.5) / stratum_size < train) AS lo_bucket,
        max(before) FILTER (WHERE (before - 1 + 0.5) / stratum_size < train) AS below,
        coalesce(min(bucket) FILTER (WHERE NOT ((before + 0.5) / stratum_size < train + val)), 1024) AS hi_bucket
    FROM bucket_counts
    GROUP BY stratum, stratum_size
),
placed AS (
    SELECT h.id, h.stratum, h.u, h.bucket, c.lo_bucket, c.hi_bucket, c.below, c.stratum_size
    FROM hashed AS h
    JOIN cuts AS c ON h.stratum IS NOT DISTINCT FROM c.stratum
),
ranked AS (
    SELECT
        id,
        stratum,
        below + row_number() OVER (PARTITION BY stratum ORDER BY u, id) - 1 AS rank_in_stratum,
        stratum_size
    FROM placed
    WHERE bucket >= lo_bucket AND bucket < hi_bucket
),
assigned AS (
    SELECT
        id,
        stratum,
        CASE
            WHEN (rank_in_stratum + 0.5) / stratum_size < train THEN 'train'
            WHEN (rank_in_stratum + 0.5) / stratum_size < train + val THEN 'val'
            ELSE 'test'
        END AS split
    FROM ranked
    UNION ALL
    SELECT id, stratum, 'train' FROM placed WHERE bucket < lo_bucket
    UNION ALL
    SELECT id, stratum, 'test' FROM placed WHERE bucket >= hi_bucket
    UNION ALL
    SELECT id, stratum, NULL FROM docs WHERE id IS NULL
    UNION ALL
    -- never yields a row: raises the first problem found, if any
    SELECT NULL, NULL, NULL
    FROM problems
    WHERE CASE WHEN message IS NULL THEN false ELSE error(message) END
)
SELECT id, stratum, split
FROM assigned
ORDER BY stratum NULLS LAST, id NULLS LAST;
