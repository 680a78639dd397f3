-- exact_dup_groups(tbl, text_col, id_col, normalize := true, keep_by := NULL)
--
-- One row per document of table or view `tbl`: its id, the group of documents whose text has the
-- same fingerprint, the group's size and whether this copy is the one kept. Each group keeps
-- exactly one document: the one with the highest `keep_by` column value (if given), ties and
-- the default broken by the smallest id. Documents with NULL text form no
-- group: their group_id is NULL, group_size 0 and is_kept true, so they are never dropped here.
-- Ids must be unique and not NULL (checked: a NULL or repeated id fails, naming the table, the
-- column and an example id, as the near-dup macros do).
--
-- tables: tbl
-- columns: text_col, id_col, keep_by
-- returns: id, group_id, group_size, is_kept
-- requires: text_fingerprint
-- depends: near_dup_ids_checked
-- source: exact-duplicate removal by content hash (C4, Gopher, datatrove's ExactDedup)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO exact_dup_groups(tbl, text_col, id_col, normalize := true, keep_by := NULL) AS TABLE
WITH edg_docs AS MATERIALIZED (
    SELECT
        r[id_col] AS id,
        text_fingerprint(r[text_col], normalize := normalize) AS group_id,
        CASE WHEN keep_by IS NULL THEN NULL ELSE r[keep_by] END AS priority
    FROM query_table(tbl) AS r
),
edg_ids_checked AS MATERIALIZED (
    SELECT ok FROM near_dup_ids_checked('edg_docs', 'exact_dup_groups: ' || tbl || '.' || id_col)
),
ranked AS (
    SELECT
        id,
        group_id,
        CASE WHEN group_id IS NULL THEN 0 ELSE count(*) OVER (PARTITION BY group_id) END AS group_size,
        row_number() OVER (
            PARTITION BY group_id
            ORDER BY priority DESC NULLS LAST, id
        ) AS copy_rank
    FROM edg_docs, edg_ids_checked AS k
    WHERE k.ok
)
SELECT
    id,
    group_id,
    group_size,
    group_id IS NULL OR copy_rank = 1 AS is_kept
FROM ranked
ORDER BY group_id NULLS LAST, copy_rank;
