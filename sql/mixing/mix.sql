-- mix(tbl, weights_tbl, budget_tokens, seed := 0, by := 'source', token_col := 'n_tokens', max_epochs := 4, id_col := 'id')
--
-- Select documents of table or view `tbl` for a training mix of about `budget_tokens` tokens in
-- which each group (the value of column `by`) gets the share of tokens given by its weight.
-- `weights_tbl` is a table or view with columns `group_key` (a value of `by`) and `weight`
-- (>= 0); weights are divided by their sum, so they need not add up to 1. Groups of `tbl` that
-- the weights table does not list, and rows whose group is NULL, get nothing. `token_col` holds
-- each document's token count (for example `token_count(text)`); groups are matched as text.
--
-- Group g's target is budget_tokens * weight_g / sum(weights), the weights added one after
-- another in group order (so its last bit never depends on the order rows arrive in). Its
-- documents are shuffled by hash_unit(id, seed) (keyed BLAKE2b, so the mix depends only on the
-- ids and the seed) and taken
-- in that order while the running total stays within the target; then the remaining gap is
-- filled first-fit from the next 1024 documents in the same order (each is taken when it still
-- fits). A group never exceeds its target and falls short of it by less than the smallest of
-- those 1024 documents that did not fit (in practice a few tokens; shares within 0.01
-- percentage points on ../shared's corpus-dev at a budget of 1000x the mean document length,
-- so well within 0.5). A group with fewer tokens than its target is repeated: epoch 0 is the
-- group once, epoch 1 a second copy in a new order (shuffled by hash_unit(id || '#1', seed)),
-- up to `max_epochs` copies in all; what is still missing then is a shortfall (not given to
-- other groups), reported by mix_report.
-- Only the copies near each group's cut are sorted one by one: the copies are counted by epoch
-- and by 1/1024 of mix_u (slots, which keep the shuffle's order), every slot before the one where
-- the running total passes the target is taken whole, and that slot with the next 1024 copies
-- is ordered exactly (the same rows as sorting every copy).
-- Without an id column pass id_col := NULL to key the shuffle on the whole row's text; ids
-- should be unique (documents with equal ids are ordered arbitrarily among themselves).
--
-- Fails with a message for: a budget that is not positive, max_epochs < 1, an empty `tbl`, an
-- empty weights table, a NULL or duplicate group_key, a NULL or negative weight, weights that
-- sum to 0, a weighted group with no rows in `tbl`, NULL or negative token counts in a
-- weighted group.
--
-- tables: tbl, weights_tbl
-- columns: by, token_col, id_col
-- returns: every column of tbl, mix_group, epoch, mix_rank
--   (epoch: 0 for a document's first copy, 1 for its second...; mix_rank: 1, 2, ... in selection order within mix_group)
-- requires: hash_unit
-- source: token-budget data mixing by group weights with upsampling by repetition (GPT-3 and The Pile mixtures, Muennighoff et al. 2023 on repeated epochs)
-- duckdb-only: query_table() to take table names; row[col] to take columns by name; unnest() of a row struct; error()
-- spark: docs
--     SELECT
--         struct(r.*) AS doc,
--         monotonically_increasing_id() AS doc_row,
--         CAST(r["by"] AS VARCHAR) AS mix_group,
--         CAST(r[token_col] AS BIGINT) AS n_tokens,
--         CASE
--             WHEN id_col IS NULL THEN error('mix: on Spark pass id_col, a column of unique ids (the whole-row key is DuckDB''s text of a row)')
--             ELSE CAST(r[id_col] AS VARCHAR)
--         END AS mix_key
--     FROM query_table(tbl) AS r
-- spark: (select)
--     SELECT d.doc.*, c.mix_group, CAST(c.epoch AS INTEGER) AS epoch, c.mix_rank
--     FROM ranked AS c
--     JOIN docs AS d ON d.doc_row = c.doc_row
--     ORDER BY c.mix_group, c.mix_rank
CREATE OR REPLACE MACRO mix(tbl, weights_tbl, budget_tokens, seed := 0, "by" := 'source', token_col := 'n_tokens', max_epochs := 4, id_col := 'id') AS TABLE
WITH docs AS MATERIALIZED (
    SELECT
        r AS doc,
        row_number() OVER () AS doc_row,
        CAST(r["by"] AS VARCHAR) AS mix_group,
        CAST(r[token_col] AS BIGINT) AS n_tokens,
        CASE WHEN id_col IS NULL THEN CAST(r AS VARCHAR) ELSE CAST(r[id_col] AS VARCHAR) END AS mix_key
    FROM query_table(tbl) AS r
),
present_groups AS (
    SELECT
        mix_group,
        count(*) AS n_docs,
        count(*) - count(n_tokens) AS null_tokens,
        count(*) FILTER (WHERE n_tokens < 0) AS negative_tokens,
        coalesce(sum(n_tokens), 0) AS available_tokens
    FROM docs
    GROUP BY mix_group
),
weights AS (
    SELECT CAST(w.group_key AS VARCHAR) AS mix_group, CAST(w.weight AS DOUBLE) AS weight
    FROM query_table(weights_tbl) AS w
),
weighted_groups AS (
    SELECT
        w.mix_group,
        w.weight,
        count(*) OVER (PARTITION BY w.mix_group) AS listed,
        g.n_docs,
        g.null_tokens,
        g.negative_tokens,
        g.available_tokens
    FROM weights AS w
    LEFT JOIN present_groups AS g ON g.mix_group = w.mix_group
),
problems AS (
    SELECT CASE
        WHEN budget_tokens IS NULL OR NOT (budget_tokens > 0) THEN
            'mix: budget_tokens must be a positive number of tokens, got '
            || coalesce(CAST(budget_tokens AS VARCHAR), 'NULL')
        WHEN max_epochs IS NULL OR max_epochs < 1 THEN
            'mix: max_epochs must be at least 1, got ' || coalesce(CAST(max_epochs AS VARCHAR), 'NULL')
        WHEN (SELECT count(*) FROM docs) = 0 THEN
            'mix: table ' || tbl || ' has no rows'
        WHEN (SELECT count(*) FROM weights) = 0 THEN
            'mix: weights table ' || weights_tbl || ' has no rows (expected columns group_key, weight)'
        WHEN (SELECT count(*) FROM weights WHERE mix_group IS NULL) > 0 THEN
            'mix: weights table ' || weights_tbl || ' has a NULL group_key'
        WHEN (SELECT count(*) FROM weighted_groups WHERE listed > 1) > 0 THEN
            'mix: group ''' || (SELECT min(mix_group) FROM weighted_groups WHERE listed > 1)
            || ''' appears more than once in weights table ' || weights_tbl
        WHEN (SELECT count(*) FROM weights WHERE weight IS NULL OR weight < 0) > 0 THEN
            'mix: weight of group ''' || (SELECT arg_min(mix_group, mix_group) FROM weights WHERE weight IS NULL OR weight < 0)
            || ''' is ' || coalesce(CAST((SELECT arg_min(weight, mix_group) FROM weights WHERE weight IS NULL OR weight < 0) AS VARCHAR), 'NULL')
            || '; weights must be >= 0'
        WHEN (SELECT sum(weight) FROM weights) <= 0 THEN
            'mix: the weights in ' || weights_tbl || ' sum to 0; give at least one group a positive weight'
        WHEN (SELECT count(*) FROM weighted_groups WHERE n_docs IS NULL) > 0 THEN
            'mix: group ''' || (SELECT min(mix_group) FROM weighted_groups WHERE n_docs IS NULL)
            || ''' of weights table ' || weights_tbl || ' has no rows in ' || tbl
            || ' (column ' || "by" || '); groups present: '
            || (SELECT string_agg(mix_group, ', ' ORDER BY mix_group) FROM present_groups)
        WHEN (SELECT count(*) FROM weighted_groups WHERE weight > 0 AND null_tokens > 0) > 0 THEN
            'mix: group ''' || (SELECT min(mix_group) FROM weighted_groups WHERE weight > 0 AND null_tokens > 0)
            || ''' has rows with NULL ' || token_col || '; fill it first, e.g. with token_count(text)'
        WHEN (SELECT count(*) FROM weighted_groups WHERE weight > 0 AND negative_tokens > 0) > 0 THEN
            'mix: group ''' || (SELECT min(mix_group) FROM weighted_groups WHERE weight > 0 AND negative_tokens > 0)
            || ''' has rows with a negative ' || token_col
    END AS message
),
total_weight AS (
    -- the weights added one after another in group order: a float sum in the order rows arrive
    -- (sum() OVER ()) can differ in its last bit between runs and threads, and a target off by
    -- one bit changes which documents fit
    SELECT list_reduce(list(weight ORDER BY mix_group), lambda acc, x: acc + x, CAST(0 AS DOUBLE)) AS total
    FROM weights
),
plan AS (
    SELECT
        g.mix_group,
        budget_tokens * g.weight / t.total AS target_tokens,
        g.available_tokens
    FROM weighted_groups AS g
    CROSS JOIN total_weight AS t
),
plan_epochs AS (
    SELECT
        mix_group,
        target_tokens,
        CAST(CASE
            WHEN available_tokens <= 0 THEN 1
            ELSE least(max_epochs, greatest(1, ceil(target_tokens / available_tokens)))
        END AS BIGINT) AS n_epochs
    FROM plan
    WHERE target_tokens > 0 AND available_tokens IS NOT NULL
),
copies AS (
    -- narrow rows (no document payload) through the shuffles; the documents are joined back last
    SELECT d.doc_row, d.mix_group, d.n_tokens, d.mix_key, p.target_tokens, unnest(range(p.n_epochs)) AS epoch
    FROM docs AS d
    JOIN plan_epochs AS p ON p.mix_group = d.mix_group
),
shuffled AS MATERIALIZED (
    -- mix_slot: the copy's epoch and the 1/1024 of [0, 1) holding its mix_u; slots in order are the
    -- shuffle's order in coarse steps (floor(mix_u * 1024) keeps mix_u's order)
    SELECT *, epoch * 1024 + CAST(floor(mix_u * 1024) AS BIGINT) AS mix_slot
    FROM (
        SELECT
            *,
            hash_unit(CASE WHEN epoch = 0 THEN mix_key ELSE mix_key || '#' || epoch END, seed := seed) AS mix_u
        FROM copies
    )
),
slots AS (
    -- each group's copies and tokens per slot, and running totals over the slots in order
    SELECT
        mix_group, mix_slot, n_copies, slot_tokens, target_tokens,
        sum(slot_tokens) OVER in_order AS tokens_through,
        sum(n_copies) OVER in_order AS copies_through
    FROM (
        SELECT
            mix_group, mix_slot, count(*) AS n_copies, sum(n_tokens) AS slot_tokens,
            any_value(target_tokens) AS target_tokens
        FROM shuffled
        GROUP BY mix_group, mix_slot
    )
    WINDOW in_order AS (PARTITION BY mix_group ORDER BY mix_slot ROWS UNBOUNDED PRECEDING)
),
cuts AS (
    -- the cut slot: the first whose running total passes the target (the taken prefix ends
    -- inside it); every copy of an earlier slot is taken. Without such a slot every copy is
    -- taken and the cut lies past the last slot.
    SELECT
        mix_group,
        any_value(target_tokens) AS target_tokens,
        coalesce(min(mix_slot) FILTER (WHERE tokens_through > target_tokens), max(mix_slot) + 1) AS cut_slot,
        coalesce(min(copies_through - n_copies) FILTER (WHERE tokens_through > target_tokens), max(copies_through)) AS copies_before_cut,
        coalesce(min(copies_through) FILTER (WHERE tokens_through > target_tokens), max(copies_through)) AS copies_through_cut,
        coalesce(min(tokens_through - slot_tokens) FILTER (WHERE tokens_through > target_tokens), max(tokens_through)) AS tokens_before_cut
    FROM slots
    GROUP BY mix_group
),
reach AS (
    -- the slots from the cut on that the exact order is needed for: the rest of the prefix and
    -- the 1024 copies after it (the prefix ends before the cut slot's last copy)
    SELECT
        c.mix_group, c.target_tokens, c.cut_slot, c.copies_before_cut, c.tokens_before_cut,
        coalesce(max(s.mix_slot), c.cut_slot) AS last_slot
    FROM cuts AS c
    LEFT JOIN slots AS s
        ON s.mix_group = c.mix_group AND s.mix_slot >= c.cut_slot
        AND s.copies_through - s.n_copies < c.copies_through_cut + 1024
    GROUP BY c.mix_group, c.target_tokens, c.cut_slot, c.copies_before_cut, c.tokens_before_cut
),
prefix AS MATERIALIZED (
    -- the copies of those slots in the shuffle's order, with their running total and position
    -- counted from the group's first copy
    SELECT
        s.doc_row, s.mix_group, s.n_tokens, s.epoch, s.mix_u, s.mix_key, s.target_tokens,
        r.tokens_before_cut + sum(s.n_tokens) OVER in_order AS running_tokens,
        r.copies_before_cut + row_number() OVER in_order AS pos
    FROM shuffled AS s
    JOIN reach AS r ON r.mix_group = s.mix_group
    WHERE s.mix_slot >= r.cut_slot AND s.mix_slot <= r.last_slot
    WINDOW in_order AS (PARTITION BY s.mix_group ORDER BY s.epoch, s.mix_u, s.mix_key ROWS UNBOUNDED PRECEDING)
),
gaps AS (
    SELECT
        r.mix_group,
        coalesce(max(p.pos) FILTER (WHERE p.running_tokens <= p.target_tokens), any_value(r.copies_before_cut)) AS boundary_pos,
        any_value(r.target_tokens)
            - coalesce(max(p.running_tokens) FILTER (WHERE p.running_tokens <= p.target_tokens), any_value(r.tokens_before_cut)) AS gap_tokens
    FROM reach AS r
    LEFT JOIN prefix AS p ON p.mix_group = r.mix_group
    GROUP BY r.mix_group
),
tail AS (
    -- the next 1024 copies after the prefix, candidates to fill the gap
    SELECT p.mix_group, p.pos - g.boundary_pos AS step, p.n_tokens
    FROM prefix AS p
    JOIN gaps AS g ON g.mix_group = p.mix_group
    WHERE p.pos > g.boundary_pos AND p.pos <= g.boundary_pos + 1024
),
first_fit AS (
    -- first-fit over each group's tail as a fold (no recursion): remaining_list[i] is the gap
    -- left before step i, so step i is taken when that gap is positive and the document fits
    SELECT
        mix_group,
        unnest(range(1, len(n_list) + 1)) AS step,
        unnest(n_list) AS n_tokens,
        unnest(remaining_list[1:len(n_list)]) AS remaining_before
    FROM (
        SELECT
            g.mix_group,
            t.n_list,
            list_reduce(
                t.n_list,
                lambda acc, x: list_append(acc, CASE
                    WHEN acc[len(acc)] > 0 AND x <= acc[len(acc)] THEN acc[len(acc)] - x
                    ELSE acc[len(acc)]
                END),
                [g.gap_tokens]
            ) AS remaining_list
        FROM gaps AS g
        JOIN (
            SELECT mix_group, list(n_tokens ORDER BY step) AS n_list
            FROM tail
            GROUP BY mix_group
        ) AS t ON t.mix_group = g.mix_group
        WHERE g.gap_tokens > 0
    )
),
chosen AS (
    SELECT s.doc_row, s.mix_group, s.epoch, s.mix_u, s.mix_key
    FROM shuffled AS s
    JOIN cuts AS c ON c.mix_group = s.mix_group
    WHERE s.mix_slot < c.cut_slot
    UNION ALL
    SELECT doc_row, mix_group, epoch, mix_u, mix_key FROM prefix WHERE running_tokens <= target_tokens
    UNION ALL
    SELECT p.doc_row, p.mix_group, p.epoch, p.mix_u, p.mix_key
    FROM first_fit AS f
    JOIN gaps AS g ON g.mix_group = f.mix_group
    JOIN prefix AS p ON p.mix_group = f.mix_group AND p.pos = g.boundary_pos + f.step
    WHERE f.remaining_before > 0 AND f.n_tokens <= f.remaining_before
    UNION ALL
    -- never yields a row: raises the first problem found, if any
    SELECT NULL, NULL, NULL, NULL, NULL
    FROM problems
    WHERE CASE WHEN message IS NULL THEN false ELSE error(message) END
),
ranked AS (
    -- the taken copies are positions 1 .. boundary_pos and then the first-fit ones, so their
    -- rank in the shuffle's order is their rank among themselves
    SELECT doc_row, mix_group, epoch, row_number() OVER (PARTITION BY mix_group ORDER BY epoch, mix_u, mix_key) AS mix_rank
    FROM chosen
)
SELECT
    unnest(d.doc),
    c.mix_group,
    CAST(c.epoch AS INTEGER) AS epoch,
    c.mix_rank
FROM ranked AS c
JOIN docs AS d ON d.doc_row = c.doc_row
ORDER BY c.mix_group, c.mix_rank;
