-- remove_common_lines(tbl, text_col, min_docs := 3, unit := 'line')
--
-- Every row of table `tbl` with two more columns: clean_text, the text of column `text_col`
-- without its lines (unit := 'line') or paragraphs (unit := 'paragraph') whose normalized form
-- occurs in at least `min_docs` documents of `tbl` (line_dup_counts' n_docs), and n_removed, how
-- many lines or paragraphs were removed from this document. The kept lines are joined by '\n' in
-- their order, so a text with nothing removed is returned byte for byte; removing a paragraph
-- keeps the blank lines around it. A NULL text gives NULL clean_text and 0; a text whose lines
-- are all removed gives ''. Rows come in the order of `tbl`.
--
-- tables: tbl
-- columns: text_col
-- returns: clean_text, n_removed
-- depends: text_line_units
-- source: C4's repeated-line removal; Dolma/Gopher paragraph dedup
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO remove_common_lines(tbl, text_col, min_docs := 3, unit := 'line') AS TABLE
WITH rcl_docs AS MATERIALIZED (
    SELECT row_number() OVER () AS rcl_doc, * FROM query_table(tbl)
),
rcl_text AS (
    SELECT d.rcl_doc, d[text_col] AS rcl_text FROM rcl_docs AS d
    WHERE CASE WHEN min_docs >= 1 THEN true
               ELSE error('remove_common_lines: min_docs := ' || min_docs
                          || ' must be at least 1') END
),
rcl_units AS MATERIALIZED (
    SELECT * FROM text_line_units('rcl_text', 'rcl_text', 'rcl_doc', unit := unit)
),
rcl_common AS (
    SELECT unit_hash
    FROM (SELECT DISTINCT doc, unit_hash FROM rcl_units WHERE unit_hash IS NOT NULL)
    GROUP BY unit_hash
    HAVING count(*) >= min_docs
),
rcl_clean AS (
    SELECT
        u.doc,
        coalesce(string_agg(u.line, chr(10) ORDER BY u.pos) FILTER (WHERE c.unit_hash IS NULL),
                 '') AS clean_text,
        count(DISTINCT u.unit_no) FILTER (WHERE c.unit_hash IS NOT NULL) AS n_removed
    FROM rcl_units AS u
    LEFT JOIN rcl_common AS c ON c.unit_hash = u.unit_hash
    GROUP BY u.doc
)
SELECT
    d.* EXCLUDE (rcl_doc),
    CASE WHEN d[text_col] IS NULL THEN NULL ELSE k.clean_text END AS clean_text,
    coalesce(k.n_removed, 0) AS n_removed
FROM rcl_docs AS d
LEFT JOIN rcl_clean AS k ON k.doc = d.rcl_doc
ORDER BY d.rcl_doc;
