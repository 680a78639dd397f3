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
--
-- tables: tbl
-- columns: text_col, id_col, keep_by
-- returns: id, cluster_id, cluster_size, is_kept
-- requires: shingle_set, set_jaccard, connected_components
-- depends: near_dup_candidates
-- source: MinHash LSH near-duplicate removal with connected components (Lee et al. 2022, "Deduplicating Training Data Makes Language Models Better"; datatrove's MinhashDedup stages)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO near_dup_clusters(tbl, text_col, id_col, threshold := 0.8, verify := true, keep_by := NULL, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, max_bucket := 1000) AS TABLE
WITH nd_docs AS MATERIALIZED (
    SELECT
        r[id_col] AS id,
        CASE WHEN keep_by IS NULL THEN NULL ELSE r[keep_by] END AS priority,
        dense_rank() OVER (ORDER BY r[id_col]) - 1 AS node
    FROM query_table(tbl) AS r
),
candidate_pairs AS (
    SELECT id_a, id_b
    FROM near_dup_candidates(tbl, text_col, id_col, threshold := threshold, num_perm := num_perm,
                             ngram := ngram, unit := unit, norm_numbers := norm_numbers, seed := seed, fn_weight := fn_weight,
                             max_bucket := max_bucket)
),
candidate_edges AS MATERIALIZED (
    SELECT a.node AS src, b.node AS dst
    FROM candidate_pairs AS c
    JOIN nd_docs AS a ON a.id = c.id_a
    JOIN nd_docs AS b ON b.id = c.id_b
),
shingle_sets AS MATERIALIZED (
    SELECT d.node, shingle_set(r[text_col], ngram := ngram, unit := unit, norm_numbers := norm_numbers) AS shingles
    FROM query_table(tbl) AS r
    JOIN nd_docs AS d ON d.id = r[id_col]
    WHERE verify AND d.node IN (SELECT src FROM candidate_edges UNION SELECT dst FROM candidate_edges)
),
pair_overlaps AS (
    SELECT e.src, e.dst, set_jaccard(sa.shingles, sb.shingles) AS similarity
    FROM candidate_edges AS e
    JOIN shingle_sets AS sa ON sa.node = e.src
    JOIN shingle_sets AS sb ON sb.node = e.dst
),
edges AS MATERIALIZED (
    SELECT src, dst FROM candidate_edges WHERE NOT verify
    UNION ALL
    SELECT src, dst FROM pair_overlaps WHERE verify AND similarity >= threshold
),
edge_lists AS (
    SELECT connected_components(list(src ORDER BY src, dst), list(dst ORDER BY src, dst)) AS label
    FROM edges
),
node_labels AS (
    SELECT unnest(range(len(label))) AS node, unnest(label) AS component
    FROM edge_lists
    WHERE label IS NOT NULL
),
clustered AS (
    SELECT d.id, d.priority, coalesce(l.component, d.node) AS component
    FROM nd_docs AS d
    LEFT JOIN node_labels AS l ON l.node = d.node
),
ranked AS (
    SELECT
        id,
        min(id) OVER (PARTITION BY component) AS cluster_id,
        count(*) OVER (PARTITION BY component) AS cluster_size,
        row_number() OVER (PARTITION BY component ORDER BY priority DESC NULLS LAST, id) AS copy_rank
    FROM clustered
)
SELECT id, cluster_id, cluster_size, copy_rank = 1 AS is_kept
FROM ranked
ORDER BY cluster_id, copy_rank;
