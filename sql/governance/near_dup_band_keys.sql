-- near_dup_band_keys(tbl, text_col, id_col, threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9)
--
-- The LSH band keys of every document of table or view `tbl`, one row per document and band,
-- with the settings that made them (near_dup_settings). Materialize them beside a release, e.g.
-- COPY (FROM near_dup_band_keys('release', 'text', 'id')) TO 'release/band_keys.parquet', and
-- pass them to near_dup_incremental(release_keys := ...) so later batches are compared with the
-- release without signing it again. Documents whose text is NULL or empty after normalization
-- have no keys. The same settings as near_dup_clusters (fn_weight 0.9) by default.
--
-- tables: tbl
-- columns: text_col, id_col
-- returns: id, band_key, settings
-- requires: minhash_params, minhash_signature, minhash_bands
-- depends: near_dup_settings
-- source: MinHash LSH banding (Leskovec, Rajaraman, Ullman, Mining of Massive Datasets, ch. 3)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO near_dup_band_keys(tbl, text_col, id_col, threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9) AS TABLE
WITH nd_banding AS MATERIALIZED (
    SELECT
        near_dup_settings(threshold := threshold, num_perm := num_perm, ngram := ngram, unit := unit,
                          seed := seed, norm_numbers := norm_numbers, fn_weight := fn_weight) AS settings,
        CASE WHEN threshold > 0 AND threshold <= 1
             THEN minhash_params(threshold, num_perm := num_perm, fn_weight := fn_weight) END AS p
)
SELECT
    s.id,
    unnest(minhash_bands(s.signature, bands := b.p.bands, rows := b.p.rows)) AS band_key,
    b.settings
FROM (
    SELECT r[id_col] AS id,
           minhash_signature(r[text_col], num_perm := num_perm, ngram := ngram, seed := seed,
                             unit := unit, norm_numbers := norm_numbers) AS signature
    FROM query_table(tbl) AS r
) AS s, nd_banding AS b
WHERE s.signature IS NOT NULL;
