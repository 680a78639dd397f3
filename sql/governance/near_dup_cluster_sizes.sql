-- near_dup_cluster_sizes(tbl, text_col, id_col, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000)
--
-- The distribution of near-duplicate cluster sizes in table or view `tbl` at `threshold`: one
-- row per cluster size (1 is the documents without a near-duplicate), with how many clusters
-- have that size, how many documents they hold and how many of those near_dedup removes
-- (n_docs - n_clusters). Ordered by size.
--
-- tables: tbl
-- columns: text_col, id_col
-- returns: cluster_size, n_clusters, n_docs, n_removed
-- depends: near_dup_clusters
-- source: near_dup_clusters
-- duckdb-only: query_table() to take a table name (through near_dup_clusters)
CREATE OR REPLACE MACRO near_dup_cluster_sizes(tbl, text_col, id_col, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000) AS TABLE
SELECT
    cluster_size,
    count(DISTINCT cluster_id) AS n_clusters,
    count(*) AS n_docs,
    count(*) FILTER (WHERE NOT is_kept) AS n_removed
FROM near_dup_clusters(tbl, text_col, id_col, threshold := threshold, verify := verify,
                       num_perm := num_perm, ngram := ngram, unit := unit, seed := seed,
                       norm_numbers := norm_numbers, fn_weight := fn_weight,
                       max_bucket := max_bucket)
GROUP BY cluster_size
ORDER BY cluster_size;
