-- mix_report(tbl, weights_tbl, budget_tokens, seed := 0, by := 'source', token_col := 'n_tokens', max_epochs := 4, id_col := 'id')
--
-- One row per group of `weights_tbl`: what mix() with the same arguments was asked for and what
-- it selected. `target_share` is the group's normalized weight and `target_tokens` its part of
-- the budget; `available_tokens` is what the group holds in `tbl` (one epoch); `achieved_tokens`,
-- `n_copies` and `epochs_used` describe the selection (copies count repeats); `achieved_share`
-- is the group's part of all selected tokens and `share_error_pp` = (achieved_share -
-- target_share) * 100 in percentage points. `shortfall_tokens` is the part of the target that
-- max_epochs repeats of the group cannot supply (0 when the group is large enough); a shortfall
-- is not given to other groups, so it raises their achieved shares. The checks and errors are
-- mix()'s.
--
-- tables: tbl, weights_tbl
-- columns: by, token_col, id_col
-- returns: group_key, target_share, target_tokens, available_tokens, achieved_tokens, achieved_share, share_error_pp, n_copies, epochs_used, shortfall_tokens
-- depends: mix
-- source: corpusql (the report that goes with mix)
-- duckdb-only: query_table() to take table names; row[col] to take columns by name
CREATE OR REPLACE MACRO mix_report(tbl, weights_tbl, budget_tokens, seed := 0, "by" := 'source', token_col := 'n_tokens', max_epochs := 4, id_col := 'id') AS TABLE
WITH selected AS (
    SELECT m.mix_group, m.epoch, CAST(m[token_col] AS BIGINT) AS n_tokens
    FROM mix(
        tbl, weights_tbl, budget_tokens,
        seed := seed, "by" := "by", token_col := token_col, max_epochs := max_epochs, id_col := id_col
    ) AS m
),
achieved AS (
    SELECT mix_group, CAST(sum(n_tokens) AS BIGINT) AS achieved_tokens, count(*) AS n_copies, max(epoch) + 1 AS epochs_used
    FROM selected
    GROUP BY mix_group
),
available AS (
    SELECT CAST(r["by"] AS VARCHAR) AS mix_group, CAST(sum(CAST(r[token_col] AS BIGINT)) AS BIGINT) AS available_tokens
    FROM query_table(tbl) AS r
    GROUP BY ALL
),
weights AS (
    SELECT CAST(w.group_key AS VARCHAR) AS group_key, CAST(w.weight AS DOUBLE) AS weight
    FROM query_table(weights_tbl) AS w
),
targets AS (
    -- mix()'s targets: the weights added one after another in group order (a float sum in
    -- arrival order can differ in its last bit between runs)
    SELECT
        w.group_key,
        w.weight / t.total AS target_share,
        budget_tokens * w.weight / t.total AS target_tokens
    FROM weights AS w
    CROSS JOIN (
        SELECT list_reduce(list(weight ORDER BY group_key), lambda acc, x: acc + x, CAST(0 AS DOUBLE)) AS total
        FROM weights
    ) AS t
)
SELECT
    t.group_key,
    t.target_share,
    t.target_tokens,
    coalesce(v.available_tokens, 0) AS available_tokens,
    coalesce(a.achieved_tokens, 0) AS achieved_tokens,
    coalesce(a.achieved_tokens, 0) / sum(coalesce(a.achieved_tokens, 0)) OVER () AS achieved_share,
    (coalesce(a.achieved_tokens, 0) / sum(coalesce(a.achieved_tokens, 0)) OVER () - t.target_share) * 100 AS share_error_pp,
    coalesce(a.n_copies, 0) AS n_copies,
    coalesce(a.epochs_used, 0) AS epochs_used,
    greatest(t.target_tokens - coalesce(v.available_tokens, 0) * max_epochs, 0) AS shortfall_tokens
FROM targets AS t
LEFT JOIN achieved AS a ON a.mix_group = t.group_key
LEFT JOIN available AS v ON v.mix_group = t.group_key
ORDER BY t.group_key;
