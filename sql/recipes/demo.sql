-- The demo recipe: what `corpusql demo` runs on the bundled sample (the catalog dataset `docs`).
--
-- Each stage is a TEMP table named for its rows. Every removed document is logged in
-- `demo_removed` (id, step, reason, detail), so nothing leaves the pipeline without a reason;
-- `detail` gives the values that decided it (e.g. `top_2_gram = 0.262 > 0.2`). Quality rules that
-- only flag are logged in `demo_flags` (id, filter, reason). The quality signals of every document
-- that reaches stage 5 are in `demo_signals` (id, source, signal, value), the rules' thresholds in
-- `demo_thresholds` (signal, op, threshold: a document is removed when `value op threshold`).
-- Stages: 1. set aside empty texts, 2. keep target languages, 3. exact dedup, 4. near dedup,
-- 4b. report semantic duplicates (embeddings, SemDeDup at eps 0.05; `demo_semantic_dups`),
-- 5. quality (Gopher repetition and the quality model remove; Gopher quality, C4 and FineWeb flag:
-- the sample is software documentation, which their web-text rules mostly reject), 6. redact PII,
-- 7. count tokens, 8. leakage-free split (near-duplicate clusters never straddle splits),
-- 9. mix the training split by source weights to a token budget (small sources upsampled).
-- Outputs: `demo_train_mix` (train) and `demo_release` (val and test rows; train is the mix).
--
-- On Spark (`corpusql run demo.sql --engine spark OUT`), `docs` is read from the bundled sample
-- and the outputs below are materialized under OUT, each keeping the removal log as `corpusql demo`
-- does; `corpusql demo` writes the same three.
-- input docs = corpusql/data/sample.parquet
-- output train: SELECT id, text, source, lang, url, detected_lang, n_tokens, n_words, n_chars,
--     quality, pii_redacted, 'train' AS split, epoch, mix_rank FROM demo_train_mix ORDER BY id, epoch
-- output val: SELECT id, text, source, lang, url, detected_lang, n_tokens, n_words, n_chars,
--     quality, pii_redacted, split FROM demo_release WHERE split = 'val' ORDER BY id
-- output test: SELECT id, text, source, lang, url, detected_lang, n_tokens, n_words, n_chars,
--     quality, pii_redacted, split FROM demo_release WHERE split = 'test' ORDER BY id
-- removal_log: demo_removed

-- 1. Empty or whitespace-only text cannot be trained on: set aside with its reason.
CREATE OR REPLACE TEMP TABLE demo_removed AS
SELECT id, 'empty' AS step, 'text is NULL, empty or whitespace only' AS reason,
    CASE WHEN text IS NULL THEN 'text IS NULL' ELSE 'characters = ' || length(text) || ', all whitespace' END AS detail
FROM docs
WHERE text IS NULL OR trim(text, E' \t\n\r') = '';

CREATE OR REPLACE TEMP TABLE demo_nonempty AS
SELECT id, text, source, lang, url, lang_id(text) AS detected
FROM docs
WHERE id NOT IN (SELECT id FROM demo_removed);

-- 2. Language: keep the languages this release is for, by the detected language.
CREATE OR REPLACE TEMP TABLE demo_languages AS
SELECT unnest(['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'cs', 'ru', 'uk', 'zh', 'ja']) AS lang;

INSERT INTO demo_removed
SELECT id, 'language', 'detected language ' || detected.lang || ' is not a target language',
    'lang_id = ' || detected.lang || ' (score ' || round(detected.score, 3) || '), not in demo_languages'
FROM demo_nonempty
WHERE detected.lang NOT IN (SELECT lang FROM demo_languages);

CREATE OR REPLACE TEMP TABLE demo_in_language AS
SELECT id, text, source, lang, url, detected.lang AS detected_lang
FROM demo_nonempty
WHERE detected.lang IN (SELECT lang FROM demo_languages);

-- 3. Exact duplicates after normalization (case, punctuation, spacing): keep one per group.
CREATE OR REPLACE TEMP TABLE demo_exact_groups AS
SELECT * FROM exact_dup_groups('demo_in_language', 'text', 'id');

-- spark: (an ordered aggregate as a window function: Spark's first() takes no ORDER BY)
--     INSERT INTO demo_removed
--     SELECT id, 'exact_dedup' AS step, 'exact duplicate of ' || first_value(id) OVER (PARTITION BY group_id ORDER BY is_kept DESC, id) AS reason,
--         'text_normalize(text) equal in a group of ' || group_size AS detail
--     FROM demo_exact_groups
--     QUALIFY NOT is_kept
INSERT INTO demo_removed
SELECT id, 'exact_dedup', 'exact duplicate of ' || first(id ORDER BY is_kept DESC, id) OVER (PARTITION BY group_id),
    'text_normalize(text) equal in a group of ' || group_size
FROM demo_exact_groups
QUALIFY NOT is_kept;

CREATE OR REPLACE TEMP TABLE demo_exact_deduped AS
SELECT d.* FROM demo_in_language AS d JOIN demo_exact_groups AS g USING (id) WHERE g.is_kept;

-- 4. Near duplicates: MinHash LSH candidates verified by exact Jaccard >= 0.8, one kept per cluster.
CREATE OR REPLACE TEMP TABLE demo_near_clusters AS
SELECT * FROM near_dup_clusters('demo_exact_deduped', 'text', 'id', threshold := 0.8);

-- spark: (as above)
--     INSERT INTO demo_removed
--     SELECT c.id, 'near_dedup', 'near duplicate (Jaccard >= 0.8) of ' || c.kept_id,
--         'jaccard with the kept text = ' || round(jaccard(d.text, k.text), 3) || ', cluster of ' || c.cluster_size
--     FROM (
--         SELECT id, cluster_size, is_kept, first_value(id) OVER (PARTITION BY cluster_id ORDER BY is_kept DESC, id) AS kept_id
--         FROM demo_near_clusters
--     ) AS c
--     JOIN demo_exact_deduped AS d ON d.id = c.id
--     JOIN demo_exact_deduped AS k ON k.id = c.kept_id
--     WHERE NOT c.is_kept
INSERT INTO demo_removed
SELECT c.id, 'near_dedup', 'near duplicate (Jaccard >= 0.8) of ' || c.kept_id,
    'jaccard with the kept text = ' || round(jaccard(d.text, k.text), 3) || ', cluster of ' || c.cluster_size
FROM (
    SELECT id, cluster_size, is_kept, first(id ORDER BY is_kept DESC, id) OVER (PARTITION BY cluster_id) AS kept_id
    FROM demo_near_clusters
) AS c
JOIN demo_exact_deduped AS d ON d.id = c.id
JOIN demo_exact_deduped AS k ON k.id = c.kept_id
WHERE NOT c.is_kept;

CREATE OR REPLACE TEMP TABLE demo_deduped AS
SELECT d.* FROM demo_exact_deduped AS d JOIN demo_near_clusters AS c USING (id) WHERE c.is_kept;

-- 4b. Semantic duplicates, reported and not removed (docs/semantic.md says why): each document
--     is embedded with the static model 'wordllama' (first 128 tokens); SemDeDup at eps 0.05
--     pairs documents of one k-means cluster with cosine > 0.95. `demo_semantic_dups` lists
--     every document that semantic_dedup would drop, with the kept one and their cosine.
CREATE OR REPLACE TEMP TABLE demo_embeddings AS
SELECT id, embed(text, model := 'wordllama', max_length := 128) AS embedding FROM demo_deduped;

-- The cosine is computed in DOUBLE and stored as FLOAT, so both engines give the same value
-- (FLOAT sums in another order can differ in the last bit).
-- spark: (the ordered aggregate as a window function; Spark has no list_cosine_similarity)
--     CREATE OR REPLACE TEMP TABLE demo_semantic_dups AS
--     SELECT c.id, c.kept_id, c.cluster_size,
--         CAST(aggregate(zip_with(e.embedding, k.embedding, (x, y) -> CAST(x AS DOUBLE) * CAST(y AS DOUBLE)), 0D, (s, v) -> s + v)
--             / sqrt(aggregate(e.embedding, 0D, (s, x) -> s + CAST(x AS DOUBLE) * CAST(x AS DOUBLE))
--                    * aggregate(k.embedding, 0D, (s, y) -> s + CAST(y AS DOUBLE) * CAST(y AS DOUBLE))) AS FLOAT) AS similarity
--     FROM (
--         SELECT id, cluster_size, is_kept, first_value(id) OVER (PARTITION BY cluster_id ORDER BY is_kept DESC, id) AS kept_id
--         FROM semantic_dup_clusters('demo_embeddings', 'embedding', 'id', eps := 0.05)
--     ) AS c
--     JOIN demo_embeddings AS e ON e.id = c.id
--     JOIN demo_embeddings AS k ON k.id = c.kept_id
--     WHERE NOT c.is_kept
CREATE OR REPLACE TEMP TABLE demo_semantic_dups AS
SELECT c.id, c.kept_id, c.cluster_size,
    CAST(list_cosine_similarity(CAST(e.embedding AS DOUBLE[]), CAST(k.embedding AS DOUBLE[])) AS FLOAT) AS similarity
FROM (
    SELECT id, cluster_size, is_kept, first(id ORDER BY is_kept DESC, id) OVER (PARTITION BY cluster_id) AS kept_id
    FROM semantic_dup_clusters('demo_embeddings', 'embedding', 'id', eps := 0.05)
) AS c
JOIN demo_embeddings AS e ON e.id = c.id
JOIN demo_embeddings AS k ON k.id = c.kept_id
WHERE NOT c.is_kept;

-- 5. Quality signals: every rule's reasons, and the bundled quality model's score.
CREATE OR REPLACE TEMP TABLE demo_quality AS
SELECT
    id,
    gopher_repetition_reasons(text) AS repetition_reasons,
    gopher_repetition(text) AS repetition,
    gopher_quality_reasons(text) AS gopher_reasons,
    c4_quality_reasons(text) AS c4_reasons,
    fineweb_quality_reasons(text) AS fineweb_reasons,
    quality_score(text) AS quality
FROM demo_deduped;

CREATE OR REPLACE TEMP TABLE demo_flags AS
SELECT id, 'gopher_quality' AS filter, unnest(gopher_reasons) AS reason FROM demo_quality
UNION ALL SELECT id, 'c4_quality', unnest(c4_reasons) FROM demo_quality
UNION ALL SELECT id, 'fineweb_quality', unnest(fineweb_reasons) FROM demo_quality;

-- The thresholds: gopher_repetition_reasons' defaults, and the quality model's cut.
CREATE OR REPLACE TEMP TABLE demo_thresholds AS
SELECT signal, op, CAST(threshold AS DOUBLE) AS threshold FROM (VALUES
    ('dup_para_frac', '>', 0.3), ('dup_para_char_frac', '>', 0.2),
    ('dup_line_frac', '>', 0.3), ('dup_line_char_frac', '>', 0.2),
    ('top_2_gram', '>', 0.2), ('top_3_gram', '>', 0.18), ('top_4_gram', '>', 0.16),
    ('duplicated_5_n_grams', '>', 0.15), ('duplicated_6_n_grams', '>', 0.14),
    ('duplicated_7_n_grams', '>', 0.13), ('duplicated_8_n_grams', '>', 0.12),
    ('duplicated_9_n_grams', '>', 0.11), ('duplicated_10_n_grams', '>', 0.10),
    ('quality', '<', 0.5)
) AS t(signal, op, threshold);

CREATE OR REPLACE TEMP TABLE demo_signals AS
SELECT id, source, signal, value
FROM (SELECT q.id, d.source, q.quality, repetition.* FROM demo_quality AS q JOIN demo_deduped AS d USING (id))
UNPIVOT (value FOR signal IN (
    quality, dup_para_frac, dup_para_char_frac, dup_line_frac, dup_line_char_frac,
    top_2_gram, top_3_gram, top_4_gram, duplicated_5_n_grams, duplicated_6_n_grams,
    duplicated_7_n_grams, duplicated_8_n_grams, duplicated_9_n_grams, duplicated_10_n_grams
));

-- The detail lists every failing rule with its value (the reason is the first, datatrove's).
INSERT INTO demo_removed
SELECT q.id, 'gopher_repetition', q.repetition_reasons[1],
    string_agg(s.signal || ' = ' || round(s.value, 3) || ' ' || t.op || ' ' || t.threshold, '; '
               ORDER BY list_position(q.repetition_reasons, s.signal))
FROM demo_quality AS q
LEFT JOIN demo_signals AS s ON s.id = q.id AND list_contains(q.repetition_reasons, s.signal)
LEFT JOIN demo_thresholds AS t ON t.signal = s.signal
WHERE len(q.repetition_reasons) > 0
GROUP BY q.id, q.repetition_reasons;

INSERT INTO demo_removed
SELECT id, 'quality_model', 'quality_score below ' || t.threshold, 'quality = ' || round(quality, 3) || ' < ' || t.threshold
FROM demo_quality, (SELECT threshold FROM demo_thresholds WHERE signal = 'quality') AS t
WHERE len(repetition_reasons) = 0 AND quality < t.threshold;

-- 6. Redact personal data (e-mail, public IPs, phone, cards, IBAN, SSN, CN ids, secrets).
-- 7. Count tokens with the bundled tokenizer.
CREATE OR REPLACE TEMP TABLE demo_clean AS
SELECT
    d.id,
    pii_redact(d.text) AS text,
    d.source, d.lang, d.url, d.detected_lang,
    q.quality,
    pii_redact(d.text) <> d.text AS pii_redacted
FROM demo_deduped AS d
JOIN demo_quality AS q USING (id)
WHERE d.id NOT IN (SELECT id FROM demo_removed);

CREATE OR REPLACE TEMP TABLE demo_tokens AS
SELECT *, token_count(text) AS n_tokens, word_count(text) AS n_words, char_count(text) AS n_chars
FROM demo_clean;

-- 8. Leakage-free split: documents of one near-duplicate cluster (at 0.7, looser than the dedup
--    threshold) share a split; the split is a documented hash of the group, stable across runs.
CREATE OR REPLACE TEMP TABLE demo_split AS
SELECT t.*, s.split, s.group_key
FROM demo_tokens AS t
JOIN split_dataset('demo_tokens', 'text', 'id', seed := 0, train := 0.9, val := 0.05, test := 0.05, threshold := 0.7) AS s
USING (id);

-- 9. Mix the training split: a token budget shared by source weights; small sources repeat.
CREATE OR REPLACE TEMP TABLE demo_weights AS
SELECT * FROM (VALUES ('man', 0.4), ('handbook', 0.25), ('info', 0.2), ('pydoc', 0.1), ('perlpod', 0.05))
    AS w(group_key, weight);

CREATE OR REPLACE TEMP TABLE demo_train AS
SELECT * EXCLUDE (split, group_key) FROM demo_split WHERE split = 'train';

CREATE OR REPLACE TEMP TABLE demo_budget AS
SELECT CAST(round(sum(n_tokens) * 0.8, -3) AS BIGINT) AS budget_tokens FROM demo_train;

CREATE OR REPLACE TEMP TABLE demo_train_mix AS
SELECT * FROM mix('demo_train', 'demo_weights', (SELECT budget_tokens FROM demo_budget), seed := 0, "by" := 'source');

CREATE OR REPLACE TEMP TABLE demo_mix_report AS
SELECT * FROM mix_report('demo_train', 'demo_weights', (SELECT budget_tokens FROM demo_budget), seed := 0, "by" := 'source');

CREATE OR REPLACE TEMP VIEW demo_release AS
SELECT * EXCLUDE (group_key) FROM demo_split WHERE split IN ('val', 'test');
