-- near_dup_settings(threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9)
--
-- The MinHash LSH settings that decide band keys, as one text: bands and rows (from
-- minhash_params at `threshold` and `fn_weight`), num_perm, ngram, unit, seed and norm_numbers.
-- Band keys made with different settings never match, so near_dup_band_keys stores this text
-- with every key and near_dup_incremental refuses stored keys whose settings differ from its own.
-- Fails when `threshold` is outside (0, 1].
--
-- returns: VARCHAR, e.g. 'bands=14 rows=9 num_perm=128 ngram=5 unit=word seed=1 norm_numbers=true'
-- requires: minhash_params
-- source: minhash_params (datasketch's optimal_param)
CREATE OR REPLACE MACRO near_dup_settings(threshold := 0.8, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9) AS
CASE
    WHEN threshold IS NULL OR NOT (threshold > 0 AND threshold <= 1)
        THEN error('near_dup_settings: threshold = ' || coalesce(CAST(threshold AS VARCHAR), 'NULL')
                   || ' is out of range (0, 1]')
    ELSE 'bands=' || minhash_params(threshold, num_perm := num_perm, fn_weight := fn_weight).bands
         || ' rows=' || minhash_params(threshold, num_perm := num_perm, fn_weight := fn_weight).rows
         || ' num_perm=' || num_perm || ' ngram=' || ngram || ' unit=' || unit
         || ' seed=' || seed || ' norm_numbers=' || norm_numbers
END;
