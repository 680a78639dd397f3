-- near_dup_clusters(tbl, text_col, id_col, threshold := 0.8, verify := true, keep_by := NULL, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000)
--
-- One row per document of table or view `tbl`: its id, the near-duplicate cluster it belongs to,
-- the cluster's size and whether this copy is the one kept. Clusters are the connected components
-- of the near_dup_candidates pairs; with `verify` (the default) a candidate pair joins two
-- documents only if the exact Jaccard similarity of their shingle sets is at least `threshold`
-- (the same value as jaccard(), from each document's shingle_set, computed once, by set_jaccard).
-- The LSH banding weighs false negatives with `fn_weight` (0.9: favour recall, since verification
-- removes the false positives; use 0.5, datasketch's choice, with verify := false).
-- cluster_id is the smallest id in the cluster. Each cluster keeps exactly one document: the one
-- with the highest `keep_by` column value (if given), ties and the default broken by the smallest
-- id, so the answer is the same on every run and thread count. Documents with NULL or empty text
-- are singletons and always kept. Ids must be unique and not NULL.
-- Out of core: signatures, band keys, candidate pairs, verified edges and the components
-- (edge_components, min-label propagation in SQL over the edges table) are DuckDB tables, which
-- spill to disk under memory_limit; Python kernels see one 2048-row batch at a time. Only
-- documents with an edge are labelled; the others are their own cluster without a window over
-- the corpus. What cannot spill is checked against the corpusql memory budget before it is built
-- (candidate pairs in near_dup_candidates, labels in edge_components), failing with the estimate
-- and the knob.
--
-- tables: tbl
-- columns: text_col, id_col, keep_by
-- returns: id, cluster_id, cluster_size, is_kept
-- requires: shingle_set, set_jaccard
-- depends: near_dup_candidates, edge_components
-- source: MinHash LSH near-duplicate removal with connected components (Lee et al. 2022, "Deduplicating Training Data Makes Language Models Better"; datatrove's MinhashDedup stages)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO near_dup_clusters(tbl, text_col, id_col, threshold := 0.8, verify := true, keep_by := NULL, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000) AS TABLE
WITH ndc_candidate_edges AS MATERIALIZED (
    SELECT id_a AS src, id_b AS dst
    FROM near_dup_candidates(tbl, text_col, id_col, threshold := threshold, num_perm := num_perm,
                             ngram := ngram, unit := unit, norm_numbers := norm_numbers, seed := seed, fn_weight := fn_weight,
                             max_bucket := max_bucket)
),
ndc_shingle_sets AS MATERIALIZED (
    SELECT r[id_col] AS id, shingle_set(r[text_col], ngram := ngram, unit := unit, norm_numbers := norm_numbers) AS shingles
    FROM query_table(tbl) AS r
    WHERE verify AND r[id_col] IN (SELECT src FROM ndc_candidate_edges UNION SELECT dst FROM ndc_candidate_edges)
),
ndc_pair_overlaps AS (
    SELECT e.src, e.dst, set_jaccard(sa.shingles, sb.shingles) AS similarity
    FROM ndc_candidate_edges AS e
    JOIN ndc_shingle_sets AS sa ON sa.id = e.src
    JOIN ndc_shingle_sets AS sb ON sb.id = e.dst
),
ndc_edges AS MATERIALIZED (
    SELECT src, dst FROM ndc_candidate_edges WHERE NOT verify
    UNION ALL
    SELECT src, dst FROM ndc_pair_overlaps WHERE verify AND similarity >= threshold
),
ndc_labels AS MATERIALIZED (
    SELECT node AS id, component FROM edge_components('ndc_edges', what := 'near_dup_clusters: ' || tbl)
),
ndc_clustered AS MATERIALIZED (
    SELECT
        l.id,
        l.component AS cluster_id,
        count(*) OVER (PARTITION BY l.component) AS cluster_size,
        row_number() OVER (PARTITION BY l.component ORDER BY p.priority DESC NULLS LAST, l.id) AS copy_rank
    FROM ndc_labels AS l
    LEFT JOIN (
        SELECT r[id_col] AS id, CASE WHEN keep_by IS NULL THEN NULL ELSE r[keep_by] END AS priority
        FROM query_table(tbl) AS r
        WHERE r[id_col] IN (SELECT id FROM ndc_labels)
    ) AS p ON p.id = l.id
),
ndc_ranked AS (
    SELECT
        r[id_col] AS id,
        coalesce(c.cluster_id, r[id_col]) AS cluster_id,
        coalesce(c.cluster_size, 1) AS cluster_size,
        coalesce(c.copy_rank, 1) AS copy_rank
    FROM query_table(tbl) AS r
    LEFT JOIN ndc_clustered AS c ON c.id = r[id_col]
)
SELECT id, cluster_id, cluster_size, copy_rank = 1 AS is_kept
FROM ndc_ranked
ORDER BY cluster_id, copy_rank;
