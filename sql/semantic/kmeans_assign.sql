-- kmeans_assign(tbl, emb_col, id_col, centroids)
--
-- The nearest centroid of every row of table or view `tbl`: one row per row with a non-NULL
-- embedding in column `emb_col`, with its id (column `id_col`), the centroid_id of the centroid
-- of highest cosine similarity (ties to the lowest centroid_id) and that similarity. `centroids`
-- names a table or view with columns centroid_id and centroid, as kmeans returns. All rows go
-- through one matrix product per block of 8,192 rows. Fails naming both dimensions when the
-- embeddings and the centroids differ in length. Ordered by id.
--
-- tables: tbl, centroids
-- columns: emb_col, id_col
-- returns: id, centroid_id, similarity
-- requires: kmeans_nearest
-- source: the assignment step of spherical k-means (Dhillon & Modha 2001)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO kmeans_assign(tbl, emb_col, id_col, centroids) AS TABLE
WITH ka_rows AS MATERIALIZED (
    SELECT r[id_col] AS id, CAST(r[emb_col] AS FLOAT[]) AS vector, row_number() OVER (ORDER BY r[id_col]) AS pos
    FROM query_table(tbl) AS r
    WHERE r[emb_col] IS NOT NULL
),
ka_centroids AS (
    SELECT list(CAST(c.centroid AS FLOAT[]) ORDER BY c.centroid_id) AS vectors,
           list(c.centroid_id ORDER BY c.centroid_id) AS ids
    FROM query_table(centroids) AS c
),
ka_nearest AS (
    SELECT kmeans_nearest((SELECT list(vector ORDER BY pos) FROM ka_rows), c.vectors) AS nearest, c.ids
    FROM ka_centroids AS c
),
ka_flat AS (
    SELECT unnest(range(1, len(nearest) + 1)) AS pos, unnest(nearest, recursive := true), ids
    FROM ka_nearest
)
SELECT r.id, f.ids[f.centroid_id + 1] AS centroid_id, f.similarity
FROM ka_flat AS f
JOIN ka_rows AS r USING (pos)
ORDER BY r.id;
