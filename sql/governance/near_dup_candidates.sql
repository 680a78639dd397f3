-- near_dup_candidates(tbl, text_col, id_col, threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.5)
--
-- Candidate near-duplicate pairs of table or view `tbl` found by MinHash LSH: one row per pair of
-- documents (id_a < id_b) that share at least one LSH band key, with the Jaccard similarity that
-- their signatures estimate. The banding (bands x rows <= num_perm) is the one that minimizes the
-- false positive and false negative areas at `threshold` (minhash_params; `fn_weight` is the weight
-- of false negatives, 0.5 as in datasketch), so a pair with Jaccard s is found with probability
-- 1 - (1 - s^rows)^bands. Candidates are not verified: filter on
-- est_jaccard, or use near_dup_clusters(verify := true). Documents whose text is NULL or empty
-- after normalization are never candidates. Ids must be unique and not NULL (checked: a NULL or
-- repeated id fails, naming the column and an example). Texts are normalized
-- as minhash_signature's are: `norm_numbers := false` keeps digits instead of folding each run
-- to 0 (then texts that differ only in numbers are no longer near-duplicates).
--
-- tables: tbl
-- columns: text_col, id_col
-- returns: id_a, id_b, est_jaccard
-- requires: minhash_params, minhash_signature, minhash_bands, minhash_jaccard
-- depends: near_dup_ids_checked
-- source: Broder (1997) MinHash; Leskovec, Rajaraman, Ullman, Mining of Massive Datasets, ch. 3 (LSH banding); datasketch MinHashLSH
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO near_dup_candidates(tbl, text_col, id_col, threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.5) AS TABLE
WITH nd_banding AS MATERIALIZED (
    SELECT
        CASE
            WHEN threshold IS NULL OR NOT (threshold > 0 AND threshold <= 1)
                THEN error('near_dup_candidates: threshold = ' || coalesce(CAST(threshold AS VARCHAR), 'NULL')
                           || ' is out of range (0, 1]')
            ELSE minhash_params(threshold, num_perm := num_perm, fn_weight := fn_weight)
        END AS p
),
nd_signatures AS MATERIALIZED (
    SELECT
        r[id_col] AS id,
        minhash_signature(r[text_col], num_perm := num_perm, ngram := ngram, seed := seed, unit := unit, norm_numbers := norm_numbers) AS signature
    FROM query_table(tbl) AS r
),
nd_ids_checked AS MATERIALIZED (
    SELECT ok FROM near_dup_ids_checked('nd_signatures', 'near_dup_candidates: ' || tbl || '.' || id_col)
),
nd_band_keys AS MATERIALIZED (
    SELECT
        s.id,
        unnest(minhash_bands(s.signature, bands := b.p.bands, rows := b.p.rows)) AS band_key
    FROM nd_signatures AS s, nd_banding AS b, nd_ids_checked AS k
    WHERE s.signature IS NOT NULL AND k.ok
),
nd_candidate_pairs AS (
    SELECT DISTINCT a.id AS id_a, b.id AS id_b
    FROM nd_band_keys AS a
    JOIN nd_band_keys AS b ON a.band_key = b.band_key AND a.id < b.id
)
SELECT
    c.id_a,
    c.id_b,
    minhash_jaccard(sa.signature, sb.signature) AS est_jaccard
FROM nd_candidate_pairs AS c
JOIN nd_signatures AS sa ON sa.id = c.id_a
JOIN nd_signatures AS sb ON sb.id = c.id_b
ORDER BY c.id_a, c.id_b;
