-- near_dup_ids_checked(tbl, what)
--
-- One row with one column, ok = true, when column `id` of table, view or query step `tbl` is
-- unique and never NULL; otherwise fails with a message that starts with `what` (the caller and
-- the column, e.g. 'near_dup_candidates: docs.id') and says how many ids are NULL or repeated,
-- with the smallest repeated id as an example. The near-dup macros join it before their band
-- keys, so a bad id column stops them instead of merging rows.
--
-- tables: tbl
-- returns: ok
-- source: near_dup_candidates, near_dup_incremental (their id contract)
-- duckdb-only: query_table() to take a table name
CREATE OR REPLACE MACRO near_dup_ids_checked(tbl, what) AS TABLE
SELECT CASE
    WHEN count(*) > count(id)
        THEN error(what || ' has ' || (count(*) - count(id)) || ' NULL ids; ids must be unique and not NULL')
    WHEN count(DISTINCT id) < count(id)
        THEN error(what || ' is not unique: ' || (count(id) - count(DISTINCT id)) || ' repeated ids, e.g. '
                   || (SELECT CAST(id AS VARCHAR) FROM query_table(tbl) GROUP BY id
                       HAVING count(*) > 1 ORDER BY id LIMIT 1))
    ELSE true
END AS ok
FROM query_table(tbl);
