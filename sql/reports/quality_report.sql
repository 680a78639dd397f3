-- quality_report(tbl, text_col)
--
-- How many documents of table or view `tbl` each heuristic quality rule rejects, per filter
-- (gopher_quality, gopher_repetition, c4_quality, fineweb_quality: datatrove 0.10.1's rules and
-- reason codes, default thresholds), overall and per source. One row per filter, rule and
-- source: `reason` is a rule's reason code, or '(any)' for documents the filter rejects at all;
-- `n_failed` counts documents failing that rule (a document can fail several rules of one
-- filter), `share` is n_failed / n_docs, and `n_first` counts documents for which it is the
-- first failing rule (the one datatrove reports; the n_first of a filter's rules add up to its
-- '(any)' row). `source` is '(all)' for the whole table; when the table has a `source` column,
-- each non-NULL-only source also gets its own rows (a NULL source reads '(null)'); a table
-- without one (or where it is always NULL) gets only the '(all)' rows. Rules no document
-- fails do not appear. NULL text is read as '' (and fails every filter).
--
-- tables: tbl
-- columns: text_col
-- returns: filter, reason, source, n_docs, n_failed, share, n_first
-- requires: gopher_quality_reasons, gopher_repetition_reasons, c4_quality_reasons, fineweb_quality_reasons
-- source: datatrove 0.10.1 GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter, FineWebQualityFilter
-- duckdb-only: query_table() to take a table name; UNION ALL BY NAME to read an optional column; row[col]
-- spark: rows_with_source
--     SELECT r[text_col], get_json_object(to_json(struct(r.*)), '$.source') AS source
--     FROM query_table(tbl) AS r
-- spark: failures
--     SELECT filter, source, unnest(reasons) AS reason, unnest(range(1, len(reasons) + 1)) AS position
--     FROM results_per_scope
CREATE OR REPLACE MACRO quality_report(tbl, text_col) AS TABLE
WITH rows_with_source AS (
    SELECT NULL::VARCHAR AS source WHERE false
    UNION ALL BY NAME
    SELECT * FROM query_table(tbl)
),
filter_results AS MATERIALIZED (
    SELECT
        CAST(r.source AS VARCHAR) AS source,
        unnest([
            {'filter': 'gopher_quality', 'reasons': gopher_quality_reasons(r[text_col])},
            {'filter': 'gopher_repetition', 'reasons': gopher_repetition_reasons(r[text_col])},
            {'filter': 'c4_quality', 'reasons': c4_quality_reasons(r[text_col])},
            {'filter': 'fineweb_quality', 'reasons': fineweb_quality_reasons(r[text_col])}
        ]) AS result
    FROM rows_with_source AS r
),
has_sources AS (
    SELECT count(source) > 0 AS by_source FROM filter_results
),
results_per_scope AS (
    SELECT
        unnest(CASE WHEN h.by_source THEN ['(all)', coalesce(f.source, '(null)')]
                    ELSE ['(all)'] END) AS source,
        f.result.filter AS filter,
        f.result.reasons AS reasons
    FROM filter_results AS f, has_sources AS h
),
docs_per_filter AS (
    SELECT
        filter,
        source,
        count(*) AS n_docs,
        count(*) FILTER (WHERE len(reasons) > 0) AS n_rejected
    FROM results_per_scope
    GROUP BY filter, source
),
failures AS (
    SELECT
        filter,
        source,
        unnest(reasons) AS reason,
        generate_subscripts(reasons, 1) AS position
    FROM results_per_scope
),
failures_per_rule AS (
    SELECT
        filter,
        source,
        reason,
        count(*) AS n_failed,
        count(*) FILTER (WHERE position = 1) AS n_first
    FROM failures
    GROUP BY filter, source, reason
    UNION ALL
    SELECT filter, source, '(any)' AS reason, n_rejected AS n_failed, n_rejected AS n_first
    FROM docs_per_filter
)
SELECT
    f.filter,
    f.reason,
    f.source,
    d.n_docs,
    f.n_failed,
    round(f.n_failed / d.n_docs, 6) AS share,
    f.n_first
FROM failures_per_rule AS f
JOIN docs_per_filter AS d USING (filter, source)
ORDER BY
    f.filter,
    f.reason <> '(any)',
    f.reason,
    f.source <> '(all)',
    f.source;
