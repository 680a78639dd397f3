-- split_summary(tbl, split_col := 'split', text_col := 'text')
--
-- Rows, characters and share of rows per split of table or view `tbl`, one row per split value
-- (NULL splits included), ordered train, val, test, then any others by name. Pure SQL: works in
-- the stock DuckDB shell on a materialized release.
--
-- tables: tbl
-- columns: split_col, text_col
-- returns: split, n_rows, n_chars, row_share
-- source: corpusql
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO split_summary(tbl, split_col := 'split', text_col := 'text') AS TABLE
WITH rows_by_split AS (
    SELECT
        CAST(r[split_col] AS VARCHAR) AS split,
        length(CAST(r[text_col] AS VARCHAR)) AS n_chars
    FROM query_table(tbl) AS r
)
SELECT
    split,
    count(*) AS n_rows,
    CAST(coalesce(sum(n_chars), 0) AS BIGINT) AS n_chars,
    round(count(*) / sum(count(*)) OVER (), 6) AS row_share
FROM rows_by_split
GROUP BY split
ORDER BY
    CASE split WHEN 'train' THEN 0 WHEN 'val' THEN 1 WHEN 'test' THEN 2 ELSE 3 END,
    split NULLS LAST;
