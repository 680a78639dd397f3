-- near_dup_report(tbl, text_col, id_col, source_col := NULL, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000)
--
-- What near-duplicate removal at `threshold` does to table or view `tbl`, one row per value of
-- column `source_col` (or one row for the whole table when it is NULL, with source NULL): how
-- many documents; how many have no text to compare (NULL, or empty after minhash_normalize: they
-- are never candidates and always kept); how many near-duplicate clusters (more than one
-- document) have a member from this source; how many of its documents sit in such clusters; how
-- many near_dedup would remove and what fraction that is; the size of the largest cluster
-- with a member from this source; and how many over-full LSH band buckets (more than
-- `max_bucket` documents share the band key: near_dup_candidates checks them against one
-- representative instead of pairing them all) have a member from this source. Counting those
-- signs the texts a second time. Rows are ordered by documents removed, most first. For the
-- distribution of cluster sizes see near_dup_cluster_sizes.
--
-- tables: tbl
-- columns: text_col, id_col, source_col
-- returns: source, n_docs, n_empty, n_clusters, n_clustered_docs, n_removed, removed_fraction, largest_cluster, n_overfull_buckets
-- requires: minhash_normalize
-- depends: near_dup_clusters, near_dup_band_keys
-- source: near_dup_clusters
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO near_dup_report(tbl, text_col, id_col, source_col := NULL, threshold := 0.8, verify := true, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000) AS TABLE
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
                           norm_numbers := norm_numbers, fn_weight := fn_weight,
                           max_bucket := max_bucket)
),
nd_keys AS MATERIALIZED (
    SELECT id, band_key
    FROM near_dup_band_keys(tbl, text_col, id_col, threshold := threshold, num_perm := num_perm,
                            ngram := ngram, unit := unit, seed := seed, norm_numbers := norm_numbers,
                            fn_weight := fn_weight)
),
nd_overfull AS (
    SELECT d.source, count(DISTINCT k.band_key) AS n_overfull_buckets
    FROM nd_keys AS k
    JOIN nd_docs AS d USING (id)
    WHERE k.band_key IN (SELECT band_key FROM nd_keys GROUP BY band_key HAVING count(*) > max_bucket)
    GROUP BY d.source
),
nd_per_source AS (
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
)
SELECT s.*, coalesce(o.n_overfull_buckets, 0) AS n_overfull_buckets
FROM nd_per_source AS s
LEFT JOIN nd_overfull AS o ON o.source IS NOT DISTINCT FROM s.source
ORDER BY s.n_removed DESC, s.source NULLS FIRST;
