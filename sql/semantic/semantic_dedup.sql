-- semantic_dedup(tbl, emb_col, id_col, eps := 0.05, n_clusters := NULL, keep_by := NULL, keep := 'first', seed := 1, iters := 20)
--
-- The rows of table or view `tbl` that survive semantic deduplication (SemDeDup), all columns
-- unchanged, ordered by id: from every semantic_dup_clusters cluster only the kept row remains
-- (keep 'first': highest `keep_by`, then smallest id; keep 'farthest': least similar to its
-- k-means centroid). Rows with a NULL embedding are kept. One call for the whole pipeline over
-- an embedding column (compute it once with embed() and store it in a table).
--
-- tables: tbl
-- columns: emb_col, id_col, keep_by
-- returns: the columns of tbl
-- depends: semantic_dup_clusters
-- source: Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale through semantic deduplication"
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO semantic_dedup(tbl, emb_col, id_col, eps := 0.05, n_clusters := NULL, keep_by := NULL, keep := 'first', seed := 1, iters := 20) AS TABLE
WITH sd_kept AS (
    SELECT id
    FROM semantic_dup_clusters(tbl, emb_col, id_col, eps := eps, n_clusters := n_clusters,
                               keep_by := keep_by, keep := keep, seed := seed, iters := iters)
    WHERE is_kept
)
SELECT r.*
FROM query_table(tbl) AS r
SEMI JOIN sd_kept ON sd_kept.id = r[id_col]
ORDER BY r[id_col];
