-- text_line_units(tbl, text_col, doc_col, unit := 'line')
--
-- One row per line of each text of table `tbl` (lines are the pieces between '\n' characters,
-- so a '\r' before it stays part of the line): the document (`doc_col`), the line's position
-- (1-based), the line, the number of the unit it belongs to and that unit's hash and text.
-- With unit := 'line' every line is its own unit. With unit := 'paragraph' a unit is a maximal
-- run of consecutive non-blank lines (a blank line holds only whitespace); blank lines belong to
-- no unit (unit_no NULL). unit_hash is line_hash(unit_text), unit_text the unit's lines joined
-- by '\n'; NULL unit_hash: the unit normalizes to nothing (never counted as repeated). NULL
-- texts have no lines. Shared by line_dup_counts and remove_common_lines.
--
-- tables: tbl
-- columns: text_col, doc_col
-- returns: doc, pos, line, unit_no, unit_hash, unit_text
-- requires: line_hash
-- source: line-level dedup of C4 (repeated lines) and paragraph dedup of Gopher/Dolma
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO text_line_units(tbl, text_col, doc_col, unit := 'line') AS TABLE
WITH tlu_split AS (
    SELECT
        r[doc_col] AS doc,
        string_split(r[text_col], chr(10)) AS lines
    FROM query_table(tbl) AS r
    WHERE CASE WHEN unit IN ('line', 'paragraph') THEN true
               ELSE error('text_line_units: unit := ''' || unit
                          || ''' is not one of line, paragraph') END
),
tlu_lines AS (
    SELECT doc, unnest(lines) AS line, generate_subscripts(lines, 1) AS pos
    FROM tlu_split
),
tlu_numbered AS (
    SELECT
        doc,
        pos,
        line,
        CASE
            WHEN unit = 'line' THEN pos
            WHEN regexp_full_match(line, '\s*') THEN NULL
            ELSE sum(CASE WHEN regexp_full_match(line, '\s*') THEN 1 ELSE 0 END)
                OVER (PARTITION BY doc ORDER BY pos)
        END AS unit_no
    FROM tlu_lines
),
tlu_units AS (
    SELECT doc, unit_no, string_agg(line, chr(10) ORDER BY pos) AS unit_text
    FROM tlu_numbered
    WHERE unit_no IS NOT NULL
    GROUP BY doc, unit_no
),
tlu_hashed AS (
    SELECT doc, unit_no, unit_text, line_hash(unit_text) AS unit_hash FROM tlu_units
)
SELECT n.doc, n.pos, n.line, n.unit_no, h.unit_hash, h.unit_text
FROM tlu_numbered AS n
LEFT JOIN tlu_hashed AS h ON h.doc = n.doc AND h.unit_no = n.unit_no
ORDER BY n.doc, n.pos;
