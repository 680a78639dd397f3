-- line_dup_counts(tbl, text_col, unit := 'line')
--
-- One row per distinct normalized line (unit := 'line') or paragraph (unit := 'paragraph': a
-- maximal run of non-blank lines) of column `text_col` of table `tbl`: its line_hash, the number
-- of documents that contain it (a document counts once however often it repeats the line), the
-- number of occurrences and an example (the smallest original text among them). Lines are split
-- on '\n'; the normalization and the hash are line_hash's (NFKC, lowercase, punctuation and
-- symbols to space, whitespace collapsed; BLAKE2b-64 over UTF-8, never DuckDB's hash()). Blank
-- and punctuation-only lines are not counted. Ordered by n_docs, then n_occurrences, descending:
-- the top rows are the corpus's boilerplate (what remove_common_lines removes).
--
-- tables: tbl
-- columns: text_col
-- returns: line_hash, n_docs, n_occurrences, example
-- depends: text_line_units
-- source: C4's repeated-line removal; Dolma/Gopher paragraph dedup
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO line_dup_counts(tbl, text_col, unit := 'line') AS TABLE
WITH ldc_docs AS MATERIALIZED (
    SELECT row_number() OVER () AS ldc_doc, r[text_col] AS ldc_text
    FROM query_table(tbl) AS r
),
ldc_units AS (
    SELECT DISTINCT doc, unit_no, unit_hash, unit_text
    FROM text_line_units('ldc_docs', 'ldc_text', 'ldc_doc', unit := unit)
    WHERE unit_hash IS NOT NULL
)
SELECT
    unit_hash AS line_hash,
    count(DISTINCT doc) AS n_docs,
    count(*) AS n_occurrences,
    min(unit_text) AS example
FROM ldc_units
GROUP BY unit_hash
ORDER BY n_docs DESC, n_occurrences DESC, line_hash;
