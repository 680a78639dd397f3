-- split_leakage(tbl, split_col, text_col, id_col := 'id', threshold := 0.8, fn_weight := 0.9)
--
-- How many near-duplicate pairs of `tbl` straddle two splits: one row with the number of
-- verified near-duplicate pairs (MinHash LSH candidates whose exact shingle Jaccard, as jaccard()
-- computes it, is at least
-- `threshold`; the banding weighs false negatives with `fn_weight`, as near_dup_clusters does,
-- so both see the same pairs), how many of them have their two documents in different splits,
-- that share, and the pairs per split combination as a list. After split_dataset the straddling count is 0; a
-- naive random split of data with near-duplicates leaks.
--
-- tables: tbl
-- columns: split_col, text_col, id_col
-- returns: near_dup_pairs, straddling_pairs, straddling_share, by_splits
-- requires: shingle_set, set_jaccard
-- depends: near_dup_candidates
-- source: corpusql (leakage check for group-aware splits)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO split_leakage(tbl, split_col, text_col, id_col := 'id', threshold := 0.8, fn_weight := 0.9) AS TABLE
WITH docs AS MATERIALIZED (
    SELECT r[id_col] AS id, CAST(r[split_col] AS VARCHAR) AS split, r[text_col] AS text
    FROM query_table(tbl) AS r
),
candidate_pairs AS MATERIALIZED (
    SELECT id_a, id_b
    FROM near_dup_candidates(tbl, text_col, id_col, threshold := threshold, fn_weight := fn_weight)
),
shingle_sets AS MATERIALIZED (
    SELECT id, split, shingle_set(text) AS shingles
    FROM docs
    WHERE id IN (SELECT id_a FROM candidate_pairs UNION SELECT id_b FROM candidate_pairs)
),
pairs AS (
    SELECT a.split AS split_a, b.split AS split_b
    FROM candidate_pairs AS p
    JOIN shingle_sets AS a ON a.id = p.id_a
    JOIN shingle_sets AS b ON b.id = p.id_b
    WHERE set_jaccard(a.shingles, b.shingles) >= threshold
),
combos AS (
    SELECT least(split_a, split_b) || '/' || greatest(split_a, split_b) AS splits, count(*) AS n
    FROM pairs
    WHERE split_a IS DISTINCT FROM split_b
    GROUP BY ALL
),
counts AS (
    SELECT
        count(*) AS near_dup_pairs,
        count(*) FILTER (WHERE split_a IS DISTINCT FROM split_b) AS straddling_pairs
    FROM pairs
)
SELECT
    near_dup_pairs,
    straddling_pairs,
    CASE WHEN near_dup_pairs = 0 THEN 0.0 ELSE straddling_pairs / near_dup_pairs END
        AS straddling_share,
    (SELECT coalesce(list({'splits': splits, 'pairs': n} ORDER BY splits), []) FROM combos)
        AS by_splits
FROM counts;
