-- near_dup_report(tbl, text_col, id_col, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9)
--
-- One row summarizing near-duplicates in table or view `tbl` at `threshold`: how many documents,
-- how many clusters with more than one document, how many documents sit in such clusters, how
-- many near_dedup would remove and what fraction that is, and the size of the largest cluster.
--
-- returns: n_docs, n_clusters, n_clustered_docs, n_removed, removed_fraction, largest_cluster
-- depends: near_dup_clusters
-- source: near_dup_clusters
-- duckdb-only: query_table() to take a table name
CREATE OR REPLACE MACRO near_dup_report(tbl, text_col, id_col, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9) AS TABLE
SELECT
    count(*) AS n_docs,
    count(DISTINCT cluster_id) FILTER (WHERE cluster_size > 1) AS n_clusters,
    count(*) FILTER (WHERE cluster_size > 1) AS n_clustered_docs,
    count(*) FILTER (WHERE NOT is_kept) AS n_removed,
    coalesce(count(*) FILTER (WHERE NOT is_kept) / nullif(count(*), 0), 0.0) AS removed_fraction,
    coalesce(max(cluster_size), 0) AS largest_cluster
FROM near_dup_clusters(tbl, text_col, id_col, threshold := threshold, verify := verify,
                       num_perm := num_perm, ngram := ngram, unit := unit, norm_numbers := norm_numbers, seed := seed, fn_weight := fn_weight);
