-- semantic_dup_clusters(tbl, emb_col, id_col, eps := 0.05, n_clusters := NULL, keep_by := NULL, keep := 'first', seed := 1, iters := 20)
--
-- SemDeDup on table or view `tbl`: one row per row, with its id (column `id_col`), the semantic
-- duplicate cluster it belongs to (cluster_id, the smallest id in it), the cluster's size,
-- whether this copy is the one kept, its k-means cluster (kmeans_cluster) and its cosine
-- similarity to that cluster's centroid (centroid_similarity). Duplicate clusters are the
-- connected components (connected_components) of semantic_dup_pairs: pairs in the same k-means
-- cluster with cosine similarity above 1 - `eps` (`n_clusters`, `seed`, `iters` as there). Each
-- cluster keeps exactly one row: with keep 'first' (the default) the one with the highest
-- `keep_by` column value (if given), ties and the default broken by the smallest id, as
-- near_dup_clusters does; with keep 'farthest' the one least similar to its k-means centroid
-- (SemDeDup's choice: it keeps the least prototypical example), ties by keep_by then id. Rows with a
-- NULL embedding (e.g. embed() of NULL or empty text) are singletons, always kept, with NULL
-- kmeans_cluster. The answer is the same on every run and thread count. Ids must be unique and
-- not NULL. Fails when eps is not strictly between 0 and 1 or keep is not 'first' or 'farthest'.
--
-- tables: tbl
-- columns: emb_col, id_col, keep_by
-- returns: id, cluster_id, cluster_size, is_kept, kmeans_cluster, centroid_similarity
-- requires: semdedup_pairs, connected_components
-- source: Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale through semantic deduplication"
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO semantic_dup_clusters(tbl, emb_col, id_col, eps := 0.05, n_clusters := NULL, keep_by := NULL, keep := 'first', seed := 1, iters := 20) AS TABLE
WITH sd_docs AS MATERIALIZED (
    SELECT
        r[id_col] AS id,
        CASE WHEN keep_by IS NULL THEN NULL ELSE r[keep_by] END AS priority,
        CASE WHEN r[emb_col] IS NULL THEN NULL
             ELSE count(r[emb_col]) OVER (ORDER BY r[id_col] ROWS UNBOUNDED PRECEDING) - 1 END AS node,
        -row_number() OVER (ORDER BY r[id_col]) AS own_component
    FROM query_table(tbl) AS r
),
sd_vectors AS (  -- straight from the table: the vectors are not held twice
    SELECT list(CAST(r[emb_col] AS FLOAT[]) ORDER BY r[id_col]) AS vectors
    FROM query_table(tbl) AS r
    WHERE r[emb_col] IS NOT NULL
),
sd_result AS MATERIALIZED (
    SELECT CASE
        WHEN eps IS NULL OR eps <= 0 OR eps >= 1 THEN error(
            'semantic_dup_clusters: eps = ' || coalesce(CAST(eps AS VARCHAR), 'NULL')
            || ' is outside (0, 1); pairs with cosine similarity above 1 - eps are duplicates (SemDeDup''s usual eps: 0.05)')
        WHEN keep IS NULL OR keep NOT IN ('first', 'farthest') THEN error(
            'semantic_dup_clusters: keep = ' || coalesce('''' || keep || '''', 'NULL')
            || ' is not one of ''first'' (highest keep_by, then smallest id) or ''farthest'' (least similar to its centroid)')
        ELSE semdedup_pairs((SELECT vectors FROM sd_vectors),
                            eps := eps, n_clusters := n_clusters, seed := seed, iters := iters)
    END AS result
),
sd_nodes AS (
    SELECT unnest(range(len(result.cluster))) AS node, unnest(result.cluster) AS kmeans_cluster,
           unnest(result.similarity) AS centroid_similarity
    FROM sd_result
),
sd_edges AS (
    SELECT unnest(result.a)::BIGINT AS src, unnest(result.b)::BIGINT AS dst
    FROM sd_result
),
edge_lists AS (
    SELECT connected_components(list(src ORDER BY src, dst), list(dst ORDER BY src, dst)) AS label
    FROM sd_edges
),
node_labels AS (
    SELECT unnest(range(len(label))) AS node, unnest(label) AS component
    FROM edge_lists
    WHERE label IS NOT NULL
),
clustered AS (
    SELECT d.id, d.priority, n.kmeans_cluster, n.centroid_similarity,
           coalesce(l.component, d.node, d.own_component) AS component
    FROM sd_docs AS d
    LEFT JOIN sd_nodes AS n ON n.node = d.node
    LEFT JOIN node_labels AS l ON l.node = d.node
),
ranked AS (
    SELECT
        id, kmeans_cluster, centroid_similarity,
        min(id) OVER (PARTITION BY component) AS cluster_id,
        count(*) OVER (PARTITION BY component) AS cluster_size,
        row_number() OVER (PARTITION BY component ORDER BY
            CASE WHEN keep = 'farthest' THEN centroid_similarity END ASC NULLS LAST,
            priority DESC NULLS LAST, id) AS copy_rank
    FROM clustered
)
SELECT id, cluster_id, cluster_size, copy_rank = 1 AS is_kept, kmeans_cluster, centroid_similarity
FROM ranked
ORDER BY cluster_id, copy_rank;
