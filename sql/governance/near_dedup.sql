-- near_dedup(tbl, text_col, id_col, threshold := 0.8, verify := true, keep_by := NULL, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000)
--
-- The rows of table or view `tbl` that survive near-duplicate removal, all columns unchanged,
-- ordered by id: from every near_dup_clusters cluster only the kept document remains (highest
-- `keep_by`, then smallest id). One call for the whole MinHash LSH pipeline.
--
-- tables: tbl
-- columns: text_col, id_col, keep_by
-- returns: the columns of tbl
-- depends: near_dup_clusters
-- source: MinHash LSH near-duplicate removal (Lee et al. 2022; datatrove's MinhashDedup stages)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO near_dedup(tbl, text_col, id_col, threshold := 0.8, verify := true, keep_by := NULL, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000) AS TABLE
WITH nd_kept AS (
    SELECT id
    FROM near_dup_clusters(tbl, text_col, id_col, threshold := threshold, verify := verify,
                           keep_by := keep_by, num_perm := num_perm, ngram := ngram,
                           unit := unit, norm_numbers := norm_numbers, seed := seed, fn_weight := fn_weight,
                           max_bucket := max_bucket)
    WHERE is_kept
)
SELECT r.*
FROM query_table(tbl) AS r
SEMI JOIN nd_kept ON nd_kept.id = r[id_col]
ORDER BY r[id_col];
