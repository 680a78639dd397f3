-- split_grouped(tbl, id_col, group_col, seed := 0, train := 0.98, val := 0.01, test := 0.01)
--
-- A group-aware train/val/test split of table or view `tbl`: every document of a group (equal
-- values of column `group_col`: a source URL, a repository, a book, an author) lands in the same
-- split, so no group straddles train and test. The split is split_assign's rule applied to the
-- group value as text: u = hash_unit(group, seed), 'train' if u < train, 'val' if u < train +
-- val, else 'test' (so it equals split_assign(group, seed, train, val, test), and each distinct
-- group is hashed once). Proportions hold over groups in expectation, not over documents (large
-- groups make document counts lumpy), and a group keeps its split when documents are added. A
-- document with a NULL group is a group of its own, keyed by its id. Fails when a fraction is
-- outside [0, 1] or the three do not sum to 1.
--
-- tables: tbl
-- columns: id_col, group_col
-- returns: id, group_key, split
-- requires: hash_unit
-- source: group-aware splitting as in scikit-learn's GroupShuffleSplit; split by hashing the group key
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO split_grouped(tbl, id_col, group_col, seed := 0, train := 0.98, val := 0.01, test := 0.01) AS TABLE
WITH docs AS (
    SELECT
        r[id_col] AS id,
        r[group_col] AS group_key,
        coalesce(CAST(r[group_col] AS VARCHAR), CAST(r[id_col] AS VARCHAR)) AS split_key
    FROM query_table(tbl) AS r
),
problems AS (
    SELECT CASE
        WHEN train IS NULL OR val IS NULL OR test IS NULL
            OR NOT (train BETWEEN 0 AND 1) OR NOT (val BETWEEN 0 AND 1) OR NOT (test BETWEEN 0 AND 1) THEN
            'split_grouped: train, val and test must each be between 0 and 1, got train='
            || coalesce(CAST(train AS VARCHAR), 'NULL') || ', val=' || coalesce(CAST(val AS VARCHAR), 'NULL')
            || ', test=' || coalesce(CAST(test AS VARCHAR), 'NULL')
        WHEN abs(train + val + test - 1) > 1e-9 THEN
            'split_grouped: train + val + test = ' || CAST(train + val + test AS VARCHAR)
            || ' must sum to 1 (got train=' || CAST(train AS VARCHAR) || ', val=' || CAST(val AS VARCHAR)
            || ', test=' || CAST(test AS VARCHAR) || ')'
    END AS message
),
keys AS (
    SELECT split_key, hash_unit(split_key, seed := seed) AS u
    FROM (SELECT DISTINCT split_key FROM docs WHERE split_key IS NOT NULL)
),
assigned AS (
    SELECT
        d.id,
        d.group_key,
        CASE
            WHEN k.u IS NULL THEN NULL
            WHEN k.u < train THEN 'train'
            WHEN k.u < train + val THEN 'val'
            ELSE 'test'
        END AS split
    FROM docs AS d
    LEFT JOIN keys AS k ON k.split_key = d.split_key
    UNION ALL
    -- never yields a row: raises the first problem found, if any
    SELECT NULL, NULL, NULL
    FROM problems
    WHERE CASE WHEN message IS NULL THEN false ELSE error(message) END
)
SELECT id, group_key, split
FROM assigned
ORDER BY group_key NULLS LAST, id NULLS LAST;
