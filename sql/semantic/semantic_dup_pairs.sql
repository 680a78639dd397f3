-- semantic_dup_pairs(tbl, emb_col, id_col, eps := 0.05, n_clusters := NULL, seed := 1, iters := 20)
--
-- The semantic duplicate pairs SemDeDup finds in table or view `tbl`: one row per pair of rows
-- (id_a < id_b, ids from column `id_col`) whose embeddings (column `emb_col`) fall in the same
-- k-means cluster and have cosine similarity above 1 - `eps`, with that similarity and the
-- cluster (kmeans_cluster). Clusters come from spherical k-means with `n_clusters` centroids
-- (NULL: one per 1,000 rows), `seed` and `iters`, over the rows ordered by id. Pairs split across
-- clusters are never compared: raise n_clusters for speed, lower it for recall (1 compares all
-- pairs). Rows with a NULL embedding have no pairs. Ids must be unique and not NULL. Fails when
-- eps is not strictly between 0 and 1. Ordered by id_a, id_b.
--
-- tables: tbl
-- columns: emb_col, id_col
-- returns: id_a, id_b, similarity, kmeans_cluster
-- requires: semdedup_pairs
-- source: Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale through semantic deduplication"
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO semantic_dup_pairs(tbl, emb_col, id_col, eps := 0.05, n_clusters := NULL, seed := 1, iters := 20) AS TABLE
WITH sp_rows AS MATERIALIZED (
    SELECT r[id_col] AS id, row_number() OVER (ORDER BY r[id_col]) - 1 AS node
    FROM query_table(tbl) AS r
    WHERE r[emb_col] IS NOT NULL
),
sp_vectors AS (  -- straight from the table: the vectors are not held twice
    SELECT list(CAST(r[emb_col] AS FLOAT[]) ORDER BY r[id_col]) AS vectors
    FROM query_table(tbl) AS r
    WHERE r[emb_col] IS NOT NULL
),
sp_result AS MATERIALIZED (
    SELECT CASE
        WHEN eps IS NULL OR eps <= 0 OR eps >= 1 THEN error(
            'semantic_dup_pairs: eps = ' || coalesce(CAST(eps AS VARCHAR), 'NULL')
            || ' is outside (0, 1); pairs with cosine similarity above 1 - eps are duplicates (SemDeDup''s usual eps: 0.05)')
        ELSE semdedup_pairs((SELECT vectors FROM sp_vectors), eps := eps,
                            n_clusters := n_clusters, seed := seed, iters := iters)
    END AS result
),
sp_pairs AS (
    SELECT unnest(result.a) AS node_a, unnest(result.b) AS node_b,
           unnest(result.pair_similarity) AS similarity, result.cluster AS clusters
    FROM sp_result
)
SELECT a.id AS id_a, b.id AS id_b, p.similarity, p.clusters[p.node_a + 1] AS kmeans_cluster
FROM sp_pairs AS p
JOIN sp_rows AS a ON a.node = p.node_a
JOIN sp_rows AS b ON b.node = p.node_b
ORDER BY id_a, id_b;
