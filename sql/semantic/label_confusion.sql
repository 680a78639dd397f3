-- label_confusion(labels, human_labels, model := NULL)
--
-- The confusion matrix between a model's labels and human labels: one row per (model_label,
-- human_label) pair that occurs, with the number of comparisons n. `labels` names a table or view
-- of model annotations with columns doc_hash, model, label and created_at (the labels table
-- convention: also model_sha256 and score); `human_labels` one of human annotations with columns
-- doc_hash, annotator, label and created_at. For each document the model's latest label is used
-- (the row with the greatest created_at, ties to the smallest label), from model `model` (NULL:
-- the table must hold a single model, else it fails naming them); each human annotation of that
-- document is one comparison, so a document labelled by three annotators counts three times.
-- Documents without both kinds of label are left out; NULL labels are left out. Ordered by
-- model_label, human_label.
--
-- tables: labels, human_labels
-- returns: model_label, human_label, n
-- source: the confusion matrix of inter-annotator agreement (Cohen 1960, "A coefficient of agreement for nominal scales")
-- duckdb-only: query_table() to take a table name; error()
CREATE OR REPLACE MACRO label_confusion(labels, human_labels, model := NULL) AS TABLE
WITH lc_models AS (
    SELECT list(DISTINCT m.model ORDER BY m.model) AS names
    FROM query_table(labels) AS m
),
lc_model AS (
    SELECT CASE
        WHEN model IS NOT NULL THEN CAST(model AS VARCHAR)
        WHEN len(names) = 1 THEN names[1]
        ELSE error('label_confusion: the labels table holds labels of models '
                   || array_to_string(names, ', ') || '; pass model := one of them')
    END AS name
    FROM lc_models
),
lc_latest AS (
    SELECT m.doc_hash, first(CAST(m.label AS VARCHAR) ORDER BY m.created_at DESC, CAST(m.label AS VARCHAR)) AS label
    FROM query_table(labels) AS m
    WHERE m.model = (SELECT name FROM lc_model) AND m.label IS NOT NULL
    GROUP BY m.doc_hash
)
SELECT l.label AS model_label, CAST(h.label AS VARCHAR) AS human_label, count(*) AS n
FROM lc_latest AS l
JOIN query_table(human_labels) AS h ON h.doc_hash = l.doc_hash
WHERE h.label IS NOT NULL
GROUP BY ALL
ORDER BY model_label, human_label;
