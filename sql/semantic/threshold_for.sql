-- threshold_for(tbl, score_col, keep_fraction := 0.3, target_precision := NULL, label_col := NULL)
--
-- A score threshold chosen by a stated rule, to filter table or view `tbl` on its model-score
-- column `score_col` ("keep documents scored at or above t") in one query with the threshold on
-- record. One row: the threshold, the rule, the rows with a score, how many the threshold keeps
-- (score >= threshold) and what fraction, and, when `label_col` names a boolean label column
-- (true = wanted), the precision (share of kept rows labelled true) and recall (share of true
-- rows kept) at that threshold. With `target_precision` NULL (the default) the threshold is the
-- score of the ceil(keep_fraction x n)-th highest-scoring row, so at least that fraction is kept
-- (more when scores tie there). With `target_precision` set (needs `label_col`) it is the lowest
-- score whose kept set (score >= it) reaches that precision, which keeps the most rows; rows with
-- a NULL label do not count. Rows with a NULL score are never kept. Fails, naming the best
-- precision reachable, when no threshold reaches `target_precision`, and when keep_fraction is
-- not in (0, 1]. Use it as: SELECT * FROM docs WHERE score >= (SELECT threshold FROM
-- threshold_for('docs', 'score', keep_fraction := 0.3)).
--
-- tables: tbl
-- columns: score_col, label_col
-- returns: threshold, rule, n_scored, n_kept, kept_fraction, precision, recall
-- source: top-fraction and precision-target operating points on a score (the threshold choice of model-based data filters, e.g. DCLM's fastText filter keeping the top 10%)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO threshold_for(tbl, score_col, keep_fraction := 0.3, target_precision := NULL, label_col := NULL) AS TABLE
WITH tf_rows AS MATERIALIZED (
    SELECT
        CAST(r[score_col] AS DOUBLE) AS score,
        CASE WHEN label_col IS NULL THEN NULL ELSE CAST(r[label_col] AS BOOLEAN) END AS label
    FROM query_table(tbl) AS r
    WHERE r[score_col] IS NOT NULL
),
tf_levels AS (
    SELECT score, count(*) AS n_at, count(*) FILTER (WHERE label) AS pos_at,
           count(label) AS labelled_at
    FROM tf_rows
    GROUP BY score
),
tf_curve AS (
    SELECT
        score,
        sum(n_at) OVER (ORDER BY score DESC) AS n_kept,
        sum(pos_at) OVER (ORDER BY score DESC) AS pos_kept,
        sum(labelled_at) OVER (ORDER BY score DESC) AS labelled_kept
    FROM tf_levels
),
tf_totals AS (
    SELECT count(*) AS n_scored, count(*) FILTER (WHERE label) AS n_pos FROM tf_rows
),
tf_choice AS (
    SELECT CASE
        WHEN target_precision IS NULL AND (keep_fraction IS NULL OR keep_fraction <= 0 OR keep_fraction > 1) THEN error(
            'threshold_for: keep_fraction = ' || coalesce(CAST(keep_fraction AS VARCHAR), 'NULL')
            || ' must be in (0, 1]')
        WHEN target_precision IS NOT NULL AND label_col IS NULL THEN error(
            'threshold_for: target_precision needs label_col, the column of true/false labels')
        WHEN target_precision IS NULL THEN (
            SELECT min(c.score) FROM tf_curve AS c
            WHERE c.n_kept - (SELECT l.n_at FROM tf_levels AS l WHERE l.score = c.score)
                  < ceil(keep_fraction * t.n_scored))
        ELSE coalesce(
            (SELECT min(score) FROM tf_curve
             WHERE labelled_kept > 0 AND pos_kept / labelled_kept >= target_precision),
            error('threshold_for: no threshold reaches precision ' || CAST(target_precision AS VARCHAR)
                  || '; the best is ' || coalesce(CAST((SELECT max(pos_kept / labelled_kept) FROM tf_curve
                                                         WHERE labelled_kept > 0) AS VARCHAR), 'undefined (no labels)')))
    END AS threshold,
    CASE WHEN target_precision IS NULL THEN 'keep_fraction ' || CAST(keep_fraction AS VARCHAR)
         ELSE 'precision ' || CAST(target_precision AS VARCHAR) END AS rule,
    t.n_scored, t.n_pos
    FROM tf_totals AS t
)
SELECT
    ch.threshold,
    ch.rule,
    ch.n_scored,
    CAST(coalesce(c.n_kept, 0) AS BIGINT) AS n_kept,
    coalesce(c.n_kept / nullif(ch.n_scored, 0), 0.0) AS kept_fraction,
    CASE WHEN label_col IS NULL THEN NULL ELSE c.pos_kept / nullif(c.labelled_kept, 0) END AS precision,
    CASE WHEN label_col IS NULL THEN NULL ELSE c.pos_kept / nullif(ch.n_pos, 0) END AS recall
FROM tf_choice AS ch
LEFT JOIN tf_curve AS c ON c.score = ch.threshold;
