-- decontaminate_apply(tbl, text_col, bench_tbl, bench_text_col, n := 13, id_col := 'id', bench_id_col := 'id', max_train_docs := 10, mode := 'span')
--
-- Every document of table or view `tbl` with benchmark contamination removed: one row per row of
-- `tbl` with its id, the text to train on, the action taken and the number of removed spans.
-- Contamination is what decontaminate finds (same `n`, `max_train_docs` and benchmark). With
-- mode 'span' (the default) a contaminated document goes through remove_spans: each occurrence
-- of a shared n-gram is cut out with 200 characters on each side, fragments shorter than 200
-- characters are dropped, and the document is dropped if it is split more than 10 times or
-- nothing is left ('cleaned' or 'dropped'). With mode 'document' every contaminated document is
-- dropped. Dropped documents have NULL text; uncontaminated ones pass unchanged ('kept').
-- n_spans counts the removed spans in both modes (0 for kept documents).
--
-- tables: tbl, bench_tbl
-- columns: text_col, bench_text_col, id_col, bench_id_col
-- returns: id, text, action, n_spans
-- requires: remove_spans
-- depends: decontaminate
-- source: 13-gram overlap decontamination with 200-character windows (GPT-3, Brown et al. 2020, appendix C)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO decontaminate_apply(tbl, text_col, bench_tbl, bench_text_col, n := 13, id_col := 'id', bench_id_col := 'id', max_train_docs := 10, mode := 'span') AS TABLE
WITH problems AS (
    SELECT CASE
        WHEN mode IS NULL OR mode NOT IN ('span', 'document')
            THEN 'decontaminate_apply: mode = ' || coalesce('''' || CAST(mode AS VARCHAR) || '''', 'NULL')
                 || ' is not one of ''span'', ''document'''
    END AS message
),
shared AS (
    SELECT id, list(DISTINCT ngram ORDER BY ngram) AS ngrams
    FROM (
        SELECT id, unnest(shared_ngrams) AS ngram
        FROM decontaminate(tbl, text_col, bench_tbl, bench_text_col, n := n, id_col := id_col,
                           bench_id_col := bench_id_col, max_train_docs := max_train_docs)
    )
    GROUP BY id
),
docs AS (
    SELECT r[id_col] AS id, r[text_col] AS text
    FROM query_table(tbl) AS r
),
cleaned AS (
    SELECT
        d.id,
        d.text,
        s.ngrams IS NOT NULL AS contaminated,
        CASE WHEN s.ngrams IS NOT NULL THEN remove_spans(d.text, s.ngrams, n := n) END AS res
    FROM docs AS d
    LEFT JOIN shared AS s ON s.id = d.id
),
result AS (
    SELECT
        id,
        CASE
            WHEN NOT contaminated THEN text
            WHEN mode = 'document' OR res.dropped THEN NULL
            ELSE res.text
        END AS text,
        CASE
            WHEN NOT contaminated THEN 'kept'
            WHEN mode = 'document' OR res.dropped THEN 'dropped'
            ELSE 'cleaned'
        END AS action,
        coalesce(res.n_spans, 0) AS n_spans
    FROM cleaned
    UNION ALL
    -- never yields a row: raises the problem found, if any
    SELECT NULL, NULL, NULL, NULL
    FROM problems
    WHERE CASE WHEN message IS NULL THEN false ELSE error(message) END
)
SELECT id, text, action, n_spans
FROM result
ORDER BY id;
