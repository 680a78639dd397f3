-- mix_weights_temperature(counts_tbl, t)
--
-- Mixing weights by temperature sampling: p_i = n_i^(1/t) / sum_j n_j^(1/t), one row per group
-- of `counts_tbl`, a table or view with columns `group_key` and `n` (the group's size, usually
-- its tokens: `SELECT source AS group_key, sum(n_tokens) AS n FROM docs GROUP BY ALL`). t = 1
-- keeps the natural proportions, larger t flattens them towards uniform, t < 1 sharpens them.
-- The result has mix()'s weights-table columns, so it can be passed to mix() as is. Groups with
-- n = 0 get weight 0. Fails for t <= 0, an empty table, a NULL or duplicate group_key, and NULL
-- or negative n.
--
-- tables: counts_tbl
-- returns: group_key, weight
-- source: temperature sampling over languages/tasks (Arivazhagan et al. 2019; XLM, Conneau and Lample 2019; mT5)
-- duckdb-only: query_table() to take a table name; error()
CREATE OR REPLACE MACRO mix_weights_temperature(counts_tbl, t) AS TABLE
WITH counts AS (
    SELECT CAST(c.group_key AS VARCHAR) AS group_key, CAST(c.n AS DOUBLE) AS n
    FROM query_table(counts_tbl) AS c
),
problems AS (
    SELECT CASE
        WHEN t IS NULL OR NOT (t > 0) THEN
            'mix_weights_temperature: t must be > 0, got ' || coalesce(CAST(t AS VARCHAR), 'NULL')
        WHEN (SELECT count(*) FROM counts) = 0 THEN
            'mix_weights_temperature: table ' || counts_tbl || ' has no rows (expected columns group_key, n)'
        WHEN (SELECT count(*) FROM counts WHERE group_key IS NULL) > 0 THEN
            'mix_weights_temperature: table ' || counts_tbl || ' has a NULL group_key'
        WHEN (SELECT count(*) - count(DISTINCT group_key) FROM counts) > 0 THEN
            'mix_weights_temperature: a group_key appears more than once in ' || counts_tbl
        WHEN (SELECT count(*) FROM counts WHERE n IS NULL OR n < 0) > 0 THEN
            'mix_weights_temperature: n of group '''
            || (SELECT min(group_key) FROM counts WHERE n IS NULL OR n < 0)
            || ''' is NULL or negative; counts must be >= 0'
        WHEN (SELECT sum(n) FROM counts) = 0 THEN
            'mix_weights_temperature: every n in ' || counts_tbl || ' is 0'
    END AS message
),
scaled AS (
    SELECT group_key, CASE WHEN n > 0 THEN pow(n, 1.0 / t) ELSE 0 END AS mass
    FROM counts
    UNION ALL
    -- never yields a row: raises the first problem found, if any
    SELECT NULL, NULL
    FROM problems
    WHERE CASE WHEN message IS NULL THEN false ELSE error(message) END
)
-- the masses added one after another in group order, so a weight never depends on the order
-- rows arrive in (a float sum in arrival order can differ in its last bit)
SELECT s.group_key, s.mass / t.total AS weight
FROM scaled AS s
CROSS JOIN (
    SELECT list_reduce(list(mass ORDER BY group_key), lambda acc, x: acc + x, CAST(0 AS DOUBLE)) AS total
    FROM scaled
) AS t
ORDER BY s.group_key;
