-- k_center_greedy(tbl, id_col, vector_col, k, seed := 0)
--
-- Pick `k` rows of table or view `tbl` that cover the space of the vectors in column
-- `vector_col` (any FLOAT[] or DOUBLE[] or fixed-size array column: embeddings, MinHash-derived
-- sketches such as list_transform(minhash_signature(text), lambda x: x::FLOAT / 4294967295)): a
-- diverse subset, where every row lies close to some picked row. One row per pick, in pick order:
-- the id, pick_rank 1..k and radius, the covering radius after that pick (the largest Euclidean
-- distance from any row to its nearest pick so far; it never grows, and it is 0 once every
-- distinct vector is picked).
--
-- The greedy is farthest-point traversal: the first pick is the row with the smallest
-- hash_unit(id, seed) (keyed BLAKE2b, so the seed moves it and nothing else does), and each next
-- pick is the row farthest from all picks so far, ties going to the smallest id. Its radius is at
-- most twice the smallest radius any k rows can achieve. The answer depends only on the rows and
-- the seed (not on row order or thread count). Rows with a NULL id or a NULL vector are skipped
-- (neither picked nor covered); with k at least the number of remaining rows every one of them is
-- picked. All vectors are held in memory and each pick is one pass over them (n x k x dim work).
-- Ids must be unique. Fails with a message when k is NULL or below 1, ids repeat, vectors differ
-- in length, or a vector holds NULL, NaN or infinite values.
--
-- tables: tbl
-- columns: id_col, vector_col
-- returns: id, pick_rank, radius
-- requires: k_center_pick
-- source: T. F. Gonzalez 1985, "Clustering to minimize the maximum intercluster distance" (Theoretical Computer Science 38); the same greedy selects core-sets in Sener & Savarese 2018, "Active Learning for Convolutional Neural Networks: A Core-Set Approach"
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO k_center_greedy(tbl, id_col, vector_col, k, seed := 0) AS TABLE
WITH rows_with_vectors AS MATERIALIZED (
    SELECT
        r[id_col] AS id,
        CAST(r[id_col] AS VARCHAR) AS id_text,
        CAST(r[vector_col] AS FLOAT[]) AS vector
    FROM query_table(tbl) AS r
    WHERE r[id_col] IS NOT NULL AND r[vector_col] IS NOT NULL
),
dims AS (
    SELECT min(len(vector)) AS lo, max(len(vector)) AS hi, count(*) AS n, count(DISTINCT id) AS n_ids
    FROM rows_with_vectors
),
problems AS (
    SELECT CASE
        WHEN k IS NULL OR k < 1 THEN
            'k_center_greedy: k must be at least 1, got ' || coalesce(CAST(k AS VARCHAR), 'NULL')
        WHEN d.n <> d.n_ids THEN
            'k_center_greedy: ids in column ' || CAST(id_col AS VARCHAR) || ' must be unique, but id '
            || (SELECT min(id_text) FROM (SELECT id_text FROM rows_with_vectors GROUP BY id_text HAVING count(*) > 1))
            || ' occurs more than once (' || CAST(d.n - d.n_ids AS VARCHAR) || ' extra rows in all)'
        WHEN d.lo <> d.hi THEN
            'k_center_greedy: vectors in column ' || CAST(vector_col AS VARCHAR)
            || ' must all have the same length, but id '
            || (SELECT min(id_text) FROM rows_with_vectors WHERE len(vector) = d.lo) || ' has '
            || CAST(d.lo AS VARCHAR) || ' values and id '
            || (SELECT min(id_text) FROM rows_with_vectors WHERE len(vector) = d.hi) || ' has '
            || CAST(d.hi AS VARCHAR)
    END AS message
    FROM dims AS d
),
picks AS (
    SELECT CASE
        WHEN p.message IS NOT NULL THEN error(p.message)
        ELSE k_center_pick(
            (SELECT list(id_text ORDER BY id) FROM rows_with_vectors),
            (SELECT list(vector ORDER BY id) FROM rows_with_vectors),
            k := k, seed := seed)
    END AS pick_list
    FROM problems AS p
),
picked AS (
    SELECT unnest(pick_list, recursive := true)
    FROM picks
)
SELECT r.id, p.rank AS pick_rank, p.radius
FROM picked AS p
JOIN rows_with_vectors AS r ON r.id_text = p.id
ORDER BY pick_rank;
