-- nearest_centroid(emb, centroids)
--
-- The centroid_id of the centroid nearest to the embedding `emb` (highest cosine similarity,
-- ties to the lowest centroid_id), among the rows of the table or view named `centroids`
-- (columns centroid_id and centroid, as kmeans returns). A scalar for one-off lookups and new
-- rows: each call compares `emb` with every centroid in SQL; to assign a whole table use
-- kmeans_assign (one matrix product per block). NULL `emb` gives NULL. Fails naming both
-- dimensions when `emb` and the centroids differ in length.
--
-- tables: centroids
-- returns: centroid_id
-- source: the assignment step of spherical k-means (Dhillon & Modha 2001)
-- duckdb-only: query_table() to take a table name
CREATE OR REPLACE MACRO nearest_centroid(emb, centroids) AS CASE WHEN emb IS NULL THEN NULL ELSE (
    SELECT CASE
        WHEN len(CAST(emb AS FLOAT[])) <> len(CAST(c.centroid AS FLOAT[])) THEN error(
            'nearest_centroid: the embedding has ' || CAST(len(CAST(emb AS FLOAT[])) AS VARCHAR)
            || ' dimensions but the centroids have ' || CAST(len(CAST(c.centroid AS FLOAT[])) AS VARCHAR)
            || '; use centroids fitted on the same embedding model')
        ELSE c.centroid_id
    END
    FROM query_table(centroids) AS c
    ORDER BY list_cosine_similarity(CAST(emb AS FLOAT[]), CAST(c.centroid AS FLOAT[])) DESC, c.centroid_id
    LIMIT 1
) END;
