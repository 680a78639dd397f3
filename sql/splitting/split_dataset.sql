-- split_dataset(tbl, text_col, id_col, seed := 0, train := 0.98, val := 0.01, test := 0.01, group_by_near_dups := true, threshold := 0.8)
--
-- One call for a leakage-free train/val/test split: one row per document of `tbl` with its id,
-- the group it was split by and its split. With `group_by_near_dups` (the default) every
-- near-duplicate cluster (near_dup_clusters at `threshold`, verified by exact Jaccard) is one
-- group, so all copies of a text land in the same split and no near-copy of a test document
-- sits in train; documents without near-duplicates are their own group. The split of a group
-- is split_assign of its key ('c:' and the cluster id, or 'd:' and the document id), so it is
-- deterministic from the seed and stable across runs, thread counts and engine versions.
-- Check the result with split_leakage.
--
-- tables: tbl
-- columns: text_col, id_col
-- returns: id, group_key, split
-- requires: split_assign
-- depends: near_dup_clusters
-- source: group-aware splitting (as in scikit-learn's GroupShuffleSplit) over MinHash LSH clusters
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO split_dataset(tbl, text_col, id_col, seed := 0, train := 0.98, val := 0.01, test := 0.01, group_by_near_dups := true, threshold := 0.8) AS TABLE
WITH clusters AS (
    SELECT id, cluster_id, cluster_size
    FROM near_dup_clusters(tbl, text_col, id_col, threshold := threshold)
),
groups AS (
    SELECT
        c.id,
        CASE
            WHEN group_by_near_dups AND c.cluster_size > 1 THEN 'c:' || CAST(c.cluster_id AS VARCHAR)
            ELSE 'd:' || CAST(c.id AS VARCHAR)
        END AS group_key
    FROM clusters AS c
)
SELECT
    id,
    group_key,
    split_assign(group_key, seed := seed, train := train, val := val, test := test) AS split
FROM groups
ORDER BY id;
