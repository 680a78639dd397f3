-- near_dup_candidates(tbl, text_col, id_col, threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.5, max_bucket := 1000)
--
-- Candidate near-duplicate pairs of table or view `tbl` found by MinHash LSH: one row per pair of
-- documents (id_a < id_b) that share at least one LSH band key, with the Jaccard similarity that
-- their signatures estimate. A band bucket (the documents with one band key) with more than
-- `max_bucket` members is over-full: it is not expanded into all its pairs, which would be
-- quadratically many for near-identical documents, but gives the pairs (representative, member)
-- only, the representative being its smallest id; so the pairs number at most
-- max_bucket / 2 per document and band. Unverified, such a star joins the same documents as all
-- the pairs would; verified (near_dup_clusters), a member whose Jaccard with the representative
-- is below the threshold is left to its other band keys. The banding (bands x rows <= num_perm) is the one that minimizes the
-- false positive and false negative areas at `threshold` (minhash_params; `fn_weight` is the weight
-- of false negatives, 0.5 as in datasketch), so a pair with Jaccard s is found with probability
-- 1 - (1 - s^rows)^bands. Candidates are not verified: filter on
-- est_jaccard, or use near_dup_clusters(verify := true). Documents whose text is NULL or empty
-- after normalization are never candidates. Ids must be unique and not NULL (checked: a NULL or
-- repeated id fails, naming the column and an example). Before expanding pairs the macro
-- counts them: when they need more memory than the corpusql memory budget (corpusql.connect's
-- memory_budget, the variable corpusql_memory_budget in bytes; no limit when it is unset) at 32
-- bytes a pair row (counted per band, before pairs found in several bands are merged), it fails
-- with the count and the knobs instead of filling memory and disk. Texts are normalized
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
CREATE OR REPLACE MACRO near_dup_candidates(tbl, text_col, id_col, threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.5, max_bucket := 1000) AS TABLE
WITH nd_banding AS MATERIALIZED (
    SELECT
        CASE
            WHEN threshold IS NULL OR NOT (threshold > 0 AND threshold <= 1)
                THEN error('near_dup_candidates: threshold = ' || coalesce(CAST(threshold AS VARCHAR), 'NULL')
                           || ' is out of range (0, 1]')
            WHEN max_bucket IS NULL OR NOT max_bucket >= 1
                THEN error('near_dup_candidates: max_bucket = ' || coalesce(CAST(max_bucket AS VARCHAR), 'NULL')
                           || ' must be >= 1')
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
nd_buckets AS MATERIALIZED (
    SELECT band_key, count(*) AS n_members, min(id) AS representative
    FROM nd_band_keys
    GROUP BY band_key
    HAVING count(*) > 1
),
nd_expansion AS MATERIALIZED (
    SELECT
        coalesce(sum(CASE WHEN n_members > max_bucket THEN n_members - 1
                          ELSE n_members * (n_members - 1) // 2 END), 0) AS n_pairs,
        TRY_CAST(getvariable('corpusql_memory_budget') AS BIGINT) AS budget
    FROM nd_buckets
),
nd_expansion_checked AS MATERIALIZED (
    SELECT CASE
        WHEN n_pairs * 32 > budget
            THEN error('near_dup_candidates needs more than ' || round(n_pairs * 32 / 1e9, 2)
                       || ' GB for the ' || n_pairs || ' candidate pairs of ' || tbl || ' (budget '
                       || round(budget / 1e9, 2) || ' GB); raise the budget with corpusql.connect(..., '
                       || 'memory_budget=...) or corpusql.set_memory_budget(con, ...), or lower '
                       || 'max_bucket (now ' || max_bucket || ')')
        ELSE true
    END AS ok
    FROM nd_expansion
),
nd_shared_keys AS MATERIALIZED (
    SELECT k.id, k.band_key, b.n_members > max_bucket AS overfull, b.representative
    FROM nd_band_keys AS k
    JOIN nd_buckets AS b USING (band_key), nd_expansion_checked AS x
    WHERE x.ok
),
nd_candidate_pairs AS (
    SELECT DISTINCT id_a, id_b
    FROM (
        SELECT a.id AS id_a, b.id AS id_b
        FROM (SELECT id, band_key FROM nd_shared_keys WHERE NOT overfull) AS a
        JOIN (SELECT id, band_key FROM nd_shared_keys WHERE NOT overfull) AS b
            ON a.band_key = b.band_key AND a.id < b.id
        UNION ALL
        SELECT representative AS id_a, id AS id_b
        FROM nd_shared_keys
        WHERE overfull AND id <> representative
    )
)
SELECT
    c.id_a,
    c.id_b,
    minhash_jaccard(sa.signature, sb.signature) AS est_jaccard
FROM nd_candidate_pairs AS c
JOIN nd_signatures AS sa ON sa.id = c.id_a
JOIN nd_signatures AS sb ON sb.id = c.id_b
ORDER BY c.id_a, c.id_b;
