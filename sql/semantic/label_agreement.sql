-- label_agreement(labels, human_labels, model := NULL)
--
-- How well a model's labels agree with human labels, one row per label value seen on either
-- side: the label; how many comparisons the model gave it (n_model) and humans gave it
-- (n_human); how many both (n_agree); precision (n_agree / n_model) and recall (n_agree /
-- n_human) of the model for that label, NULL when undefined; and, the same on every row, the
-- number of comparisons, the observed agreement (accuracy) and Cohen's kappa, (p_o - p_e) /
-- (1 - p_e) with p_e the agreement expected by chance from each side's label frequencies (NULL
-- when p_e is 1). Comparisons are those of label_confusion (the model's latest label per document
-- against each human annotation). Ordered by label.
--
-- tables: labels, human_labels
-- returns: label, n_model, n_human, n_agree, precision, recall, n_compared, accuracy, kappa
-- depends: label_confusion
-- source: Cohen 1960, "A coefficient of agreement for nominal scales" (Educational and Psychological Measurement 20)
-- duckdb-only: query_table() to take a table name
CREATE OR REPLACE MACRO label_agreement(labels, human_labels, model := NULL) AS TABLE
WITH la_cells AS MATERIALIZED (
    SELECT * FROM label_confusion(labels, human_labels, model := model)
),
la_values AS (
    SELECT model_label AS label FROM la_cells UNION SELECT human_label FROM la_cells
),
la_per_label AS (
    SELECT
        v.label,
        coalesce((SELECT sum(n) FROM la_cells WHERE model_label = v.label), 0) AS n_model,
        coalesce((SELECT sum(n) FROM la_cells WHERE human_label = v.label), 0) AS n_human,
        coalesce((SELECT sum(n) FROM la_cells WHERE model_label = v.label AND human_label = v.label), 0) AS n_agree
    FROM la_values AS v
),
la_totals AS (
    SELECT sum(n_agree) AS agree, (SELECT sum(n) FROM la_cells) AS total,
           sum(n_model * n_human) AS chance_pairs
    FROM la_per_label
)
SELECT
    p.label,
    CAST(p.n_model AS BIGINT) AS n_model,
    CAST(p.n_human AS BIGINT) AS n_human,
    CAST(p.n_agree AS BIGINT) AS n_agree,
    p.n_agree / nullif(p.n_model, 0) AS precision,
    p.n_agree / nullif(p.n_human, 0) AS recall,
    CAST(t.total AS BIGINT) AS n_compared,
    t.agree / nullif(t.total, 0) AS accuracy,
    (t.agree / t.total - t.chance_pairs / (t.total * t.total))
        / nullif(1 - t.chance_pairs / (t.total * t.total), 0) AS kappa
FROM la_per_label AS p
CROSS JOIN la_totals AS t
ORDER BY p.label;
