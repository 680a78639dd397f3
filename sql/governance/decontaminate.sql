-- decontaminate(tbl, text_col, bench_tbl, bench_text_col, n := 13, id_col := 'id', bench_id_col := 'id', max_train_docs := 10)
--
-- Training documents of table or view `tbl` that share at least one word n-gram with an item of
-- the benchmark table `bench_tbl`: one row per (training document, benchmark item) pair, with
-- the number of shared n-grams and the shared n-grams themselves (sorted). N-grams are those of
-- word_ngram_set: `n` consecutive words of the text after text_normalize's defaults (case,
-- punctuation, compatibility forms and spacing do not matter); matching is exact on their 64-bit
-- BLAKE2b hashes (word_ngram_hashes). An n-gram found in more than `max_train_docs` training
-- documents is ignored as boilerplate (a licence line, a common phrase); pass NULL to keep every
-- n-gram. Benchmark items shorter than n words have no n-grams and never match: lower n for
-- short items. Drop the returned ids from the training set to decontaminate it.
--
-- tables: tbl, bench_tbl
-- columns: text_col, bench_text_col, id_col, bench_id_col
-- returns: id, bench_id, n_shared, shared_ngrams
-- requires: word_ngram_hashes, word_ngram_set
-- source: 13-gram overlap decontamination (GPT-3, Brown et al. 2020, appendix C)
-- duckdb-only: query_table() to take table names; row[col] to take columns by name; unnest() of two lists in step
CREATE OR REPLACE MACRO decontaminate(tbl, text_col, bench_tbl, bench_text_col, n := 13, id_col := 'id', bench_id_col := 'id', max_train_docs := 10) AS TABLE
WITH bench_ngrams AS (
    SELECT DISTINCT bench_id, ngram_hash, ngram
    FROM (
        SELECT
            b[bench_id_col] AS bench_id,
            unnest(word_ngram_hashes(b[bench_text_col], n := n)) AS ngram_hash,
            unnest(word_ngram_set(b[bench_text_col], n := n)) AS ngram
        FROM query_table(bench_tbl) AS b
    )
),
train_ngrams AS (
    SELECT id, ngram_hash
    FROM (
        SELECT r[id_col] AS id, unnest(word_ngram_hashes(r[text_col], n := n)) AS ngram_hash
        FROM query_table(tbl) AS r
    )
    WHERE ngram_hash IN (SELECT ngram_hash FROM bench_ngrams)
),
ngram_doc_freq AS (
    SELECT ngram_hash, count(DISTINCT id) AS n_train_docs
    FROM train_ngrams
    GROUP BY ngram_hash
),
matches AS (
    SELECT t.id, b.bench_id, b.ngram
    FROM train_ngrams AS t
    JOIN ngram_doc_freq AS f ON f.ngram_hash = t.ngram_hash
    JOIN bench_ngrams AS b ON b.ngram_hash = t.ngram_hash
    WHERE max_train_docs IS NULL OR f.n_train_docs <= max_train_docs
)
SELECT id, bench_id, count(DISTINCT ngram) AS n_shared, list(DISTINCT ngram ORDER BY ngram) AS shared_ngrams
FROM matches
GROUP BY id, bench_id
ORDER BY id, bench_id;
