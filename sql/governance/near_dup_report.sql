-- near_dup_report(tbl, text_col, id_col, source_col := NULL, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9)
--
-- What near-duplicate removal at `threshold` does to table or view `tbl`, one row per value of
-- column `source_col` (or one row for the whole table when it is NULL, with source NULL): how
-- many documents; how many have no text to compare (NULL, or empty after minhash_normalize: they
-- are never candidates and always kept); how many near-duplicate clusters (more than one
-- document) have a member from this source; how many of its documents sit in such clusters; how
-- many near_dedup would remove and what fraction that is; and the size of the largest cluster
-- with a member from this source. Rows are ordered by documents removed, most first. For the
-- distribution of cluster sizes see near_dup_cluster_sizes.
--
-- tables: tbl
-- columns: text_col, id_col, source_col
-- returns: source, n_docs, n_empty, n_clusters, n_clustered_docs, n_removed, removed_fraction, largest_cluster
-- requires: minhash_normalize
-- depends: near_dup_clusters
-- source: near_dup_clusters
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO near_dup_report(tbl, text_col, id_col, source_col := NULL, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9) AS TABLE
WITH nd_docs AS (
    SELECT
        r[id_col] AS id,
        CASE WHEN source_col IS NULL THEN NULL ELSE CAST(r[source_col] AS VARCHAR) END AS source,
        coalesce(minhash_normalize(r[text_col], norm_numbers := norm_numbers), '') = '' AS is_empty
    FROM query_table(tbl) AS r
),
nd_clusters AS (
    SELECT *
    FROM near_dup_clusters(tbl, text_col, id_col, threshold := threshold, verify := verify,
                           num_perm := num_perm, ngram := ngram, unit := unit, seed := seed,
                           norm_numbers := norm_numbers, fn_weight := fn_weight)
)
SELECT
    d.source,
    count(*) AS n_docs,
    count(*) FILTER (WHERE d.is_empty) AS n_empty,
    count(DISTINCT c.cluster_id) FILTER (WHERE c.cluster_size > 1) AS n_clusters,
    count(*) FILTER (WHERE c.cluster_size > 1) AS n_clustered_docs,
    count(*) FILTER (WHERE NOT c.is_kept) AS n_removed,
    coalesce(count(*) FILTER (WHERE NOT c.is_kept) / nullif(count(*), 0), 0.0) AS removed_fraction,
    coalesce(max(c.cluster_size), 0) AS largest_cluster
FROM nd_docs AS d
JOIN nd_clusters AS c USING (id)
GROUP BY d.source
ORDER BY n_removed DESC, d.source NULLS FIRST;
