-- The demo recipe: what `corpusql demo` runs on the bundled sample (table `docs`).
--
-- Each stage is a TEMP table or view named for its rows; every removed document is logged in
-- `demo_removed` (id, step, reason), so nothing leaves the pipeline without a reason.
-- Stages: 1. set aside empty texts, 2. exact dedup on normalized text, 3. split by id hash.
-- The output view is `demo_release`: id, text, source, lang, url, n_words, n_chars, split.

-- 1. Empty or whitespace-only text cannot be trained on: set aside with its reason.
CREATE OR REPLACE TEMP TABLE demo_removed AS
SELECT id, 'empty' AS step, 'text is NULL, empty or whitespace only' AS reason
FROM docs
WHERE text IS NULL OR trim(text, E' \t\n\r') = '';

CREATE OR REPLACE TEMP TABLE demo_nonempty AS
SELECT * FROM docs WHERE id NOT IN (SELECT id FROM demo_removed);

-- 2. Exact duplicates after normalization (case, punctuation, spacing): keep one per group.
CREATE OR REPLACE TEMP TABLE demo_exact_groups AS
SELECT * FROM exact_dup_groups('demo_nonempty', 'text', 'id');

INSERT INTO demo_removed
SELECT id, 'exact_dedup', 'exact duplicate of ' || first(id ORDER BY is_kept DESC, id) OVER (PARTITION BY group_id)
FROM demo_exact_groups
QUALIFY NOT is_kept;

CREATE OR REPLACE TEMP TABLE demo_deduped AS
SELECT d.* FROM demo_nonempty AS d JOIN demo_exact_groups AS g USING (id) WHERE g.is_kept;

-- 3. Deterministic split from the id's hash (stable across runs, machines and versions).
CREATE OR REPLACE TEMP VIEW demo_release AS
SELECT
    id, text, source, lang, url,
    word_count(text) AS n_words,
    char_count(text) AS n_chars,
    split_assign(id, seed := 0, train := 0.9, val := 0.05, test := 0.05) AS split
FROM demo_deduped;
