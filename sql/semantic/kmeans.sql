-- kmeans(tbl, emb_col, k, seed := 1, iters := 20)
--
-- Spherical k-means over the embedding column `emb_col` of table or view `tbl` (any FLOAT[] or
-- fixed-size FLOAT[n] column, e.g. from embed()): one row per centroid with its number
-- centroid_id (0 .. k-1), the centroid (L2-normalized) and size, the number of rows nearest to it.
-- Vectors are L2-normalized; the first centroids are chosen by k-means++ on at most 16 k rows
-- drawn from `seed`, then at most `iters` Lloyd iterations (stopping when no assignment changes)
-- move each centroid to the normalized sum of its rows; rows go to the centroid of highest cosine
-- similarity, ties to the lowest number. Rows are passed ordered by their embedding's text form
-- and the answer depends only on the rows and the seed, not on row order or thread count. Rows
-- with a NULL embedding are left out. With fewer rows than k, there are as many centroids as rows.
-- Store the result (CREATE TABLE centroids AS ...) and assign rows with kmeans_assign or
-- nearest_centroid. Every vector is held in memory once (n x dim x 4 bytes).
--
-- tables: tbl
-- columns: emb_col
-- returns: centroid_id, centroid, size
-- requires: kmeans_fit
-- source: Arthur & Vassilvitskii 2007, "k-means++: the advantages of careful seeding"; Dhillon & Modha 2001, "Concept decompositions for large sparse text data using clustering" (spherical k-means)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO kmeans(tbl, emb_col, k, seed := 1, iters := 20) AS TABLE
WITH km_vectors AS MATERIALIZED (
    SELECT CAST(r[emb_col] AS FLOAT[]) AS vector
    FROM query_table(tbl) AS r
    WHERE r[emb_col] IS NOT NULL
),
km_fit AS (
    SELECT kmeans_fit(list(vector ORDER BY vector), k := k, seed := seed, iters := iters) AS centroids
    FROM km_vectors
),
km_rows AS (
    SELECT unnest(centroids, recursive := true)
    FROM km_fit
)
SELECT centroid_id, centroid, size
FROM km_rows
ORDER BY centroid_id;
