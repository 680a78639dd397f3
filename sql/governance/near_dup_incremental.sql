-- near_dup_incremental(new_tbl, release_tbl, text_col, id_col, threshold := 0.8, verify := true, keep_by := NULL, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, release_keys := NULL, max_bucket := 1000)
--
-- Near-duplicate removal of a new batch `new_tbl` against an earlier release `release_tbl` (a
-- table, a view or a materialized Parquet release read through one): one row per document of the
-- batch, saying whether it is kept and, if not, which document it duplicates. The release is
-- never changed and none of its documents is reported: what was published keeps its place.
--
-- Both tables are signed with the same MinHash settings and cut into the same LSH bands
-- (minhash_params at `threshold`, `fn_weight` as in near_dup_clusters). A batch document is a
-- candidate duplicate of a release document, or of another batch document, when they share a
-- band key; with `verify` (the default) the pair counts only if the exact Jaccard similarity of
-- their shingle sets reaches `threshold`. Counting pairs form a graph over the batch and the
-- matched release documents; in its connected components:
--   * a component holding a release document removes all its batch documents
--     (duplicate_in = 'release', duplicate_of = the most similar release document the batch
--     document matches directly, else the smallest release id of the component);
--   * a component of batch documents only keeps exactly one: the highest `keep_by` column value
--     (if given), ties and the default broken by the smallest id (duplicate_in = 'batch',
--     duplicate_of = the kept id for the others).
-- This is what near_dup_clusters gives on release and batch together when release documents
-- always win, except that pairs inside the release are not compared (it was deduplicated when
-- it was made). Documents with NULL or empty text never match and are kept. Ids must be unique
-- and not NULL in each table (checked for the batch: a NULL or repeated id fails, naming the
-- column and an example); the two tables' id columns must have comparable types.
-- The release is signed on every call unless `release_keys` names a table of its band keys made
-- by near_dup_band_keys with the same settings (checked: other settings fail with both named);
-- its texts are then read only for the documents a batch document matches.
-- Over-full band buckets are not expanded into all their pairs (as in near_dup_candidates): when
-- more than `max_bucket` batch documents share a band key, each is paired with the smallest of
-- them only; when more than `max_bucket` release documents share a band key, the batch documents
-- with that key are paired with the smallest release id of them only (which then is the
-- duplicate_of of those that match it). Members that fail that pair are left to their other keys.
-- Before expanding pairs the macro counts them and fails, naming the knobs, when they need more
-- than the corpusql memory budget at 32 bytes a pair row (as near_dup_candidates does).
-- Components are labelled in SQL over the edges table (edge_components), not by a kernel given
-- every edge at once; the release's keys, candidates and edges are DuckDB tables that spill.
--
-- tables: new_tbl, release_tbl, release_keys
-- columns: text_col, id_col, keep_by
-- returns: id, is_kept, duplicate_of, duplicate_in
-- requires: minhash_params, minhash_signature, minhash_bands, shingle_set, set_jaccard
-- depends: near_dup_settings, near_dup_band_keys, near_dup_ids_checked, edge_components
-- source: MinHash LSH near-duplicate removal (Lee et al. 2022; datatrove's MinhashDedup stages) applied to a new batch against an index of earlier releases
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
-- On Spark, nd_node_labels is the connected_components kernel over one list of the edges (the
-- nodes are numbered 0..n-1 already): edge_components' Spark form inlined here made Spark's
-- planner run out of driver heap.
-- spark: nd_node_labels
--     SELECT unnest(range(len(label))) AS node, unnest(label) AS component
--     FROM (
--         SELECT connected_components(list(src ORDER BY src, dst), list(dst ORDER BY src, dst)) AS label
--         FROM nd_edges
--     )
--     WHERE label IS NOT NULL
CREATE OR REPLACE MACRO near_dup_incremental(new_tbl, release_tbl, text_col, id_col, threshold := 0.8, verify := true, keep_by := NULL, num_perm := 128, ngram := 5, unit := 'word', seed := 1, norm_numbers := true, fn_weight := 0.9, release_keys := NULL, max_bucket := 1000) AS TABLE
WITH nd_banding AS MATERIALIZED (
    SELECT
        CASE
            WHEN threshold IS NULL OR NOT (threshold > 0 AND threshold <= 1)
                THEN error('near_dup_incremental: threshold = ' || coalesce(CAST(threshold AS VARCHAR), 'NULL')
                           || ' is out of range (0, 1]')
            WHEN max_bucket IS NULL OR NOT max_bucket >= 1
                THEN error('near_dup_incremental: max_bucket = ' || coalesce(CAST(max_bucket AS VARCHAR), 'NULL')
                           || ' must be >= 1')
            ELSE minhash_params(threshold, num_perm := num_perm, fn_weight := fn_weight)
        END AS p,
        CASE WHEN threshold > 0 AND threshold <= 1
             THEN near_dup_settings(threshold := threshold, num_perm := num_perm, ngram := ngram,
                                    unit := unit, seed := seed, norm_numbers := norm_numbers,
                                    fn_weight := fn_weight) END AS settings
),
nd_batch AS MATERIALIZED (
    SELECT
        r[id_col] AS id,
        r[text_col] AS text,
        CASE WHEN keep_by IS NULL THEN NULL ELSE r[keep_by] END AS priority,
        dense_rank() OVER (ORDER BY r[id_col]) - 1 AS node
    FROM query_table(new_tbl) AS r
),
nd_batch_ids_checked AS MATERIALIZED (
    SELECT ok FROM near_dup_ids_checked('nd_batch', 'near_dup_incremental: ' || new_tbl || '.' || id_col)
),
nd_batch_keys AS MATERIALIZED (
    SELECT
        s.node,
        unnest(minhash_bands(s.signature, bands := b.p.bands, rows := b.p.rows)) AS band_key
    FROM (
        SELECT node, minhash_signature(text, num_perm := num_perm, ngram := ngram, seed := seed, unit := unit, norm_numbers := norm_numbers) AS signature
        FROM nd_batch
    ) AS s, nd_banding AS b, nd_batch_ids_checked AS k
    WHERE s.signature IS NOT NULL AND k.ok
),
nd_release_keys_computed AS (
    SELECT *
    FROM near_dup_band_keys(release_tbl, text_col, id_col, threshold := threshold, num_perm := num_perm,
                            ngram := ngram, unit := unit, seed := seed, norm_numbers := norm_numbers,
                            fn_weight := fn_weight)
),
nd_release_keys AS MATERIALIZED (
    SELECT k.id AS release_id, k.band_key
    FROM query_table(coalesce(release_keys, 'nd_release_keys_computed')) AS k, nd_banding AS b
    WHERE CASE
        WHEN k.settings IS DISTINCT FROM b.settings
            THEN error('near_dup_incremental: release_keys ' || coalesce(release_keys, '') || ' were made with '
                       || coalesce(k.settings, 'NULL') || ' but this call uses ' || b.settings
                       || '; rebuild them with near_dup_band_keys, or call with the same settings')
        ELSE true
    END
),
nd_batch_buckets AS MATERIALIZED (
    SELECT band_key, count(*) AS n_members, min(node) AS representative
    FROM nd_batch_keys
    GROUP BY band_key
),
nd_release_buckets AS MATERIALIZED (
    SELECT band_key, count(*) AS n_members, min(release_id) AS representative
    FROM nd_release_keys
    WHERE band_key IN (SELECT band_key FROM nd_batch_keys)
    GROUP BY band_key
),
nd_expansion AS MATERIALIZED (
    SELECT
        (SELECT coalesce(sum(CASE WHEN n_members > max_bucket THEN n_members - 1
                                  ELSE n_members * (n_members - 1) // 2 END), 0)
         FROM nd_batch_buckets)
        + (SELECT coalesce(sum(b.n_members * CASE WHEN r.n_members > max_bucket THEN 1
                                                  ELSE r.n_members END), 0)
           FROM nd_release_buckets AS r JOIN nd_batch_buckets AS b USING (band_key)) AS n_pairs,
        TRY_CAST(getvariable('corpusql_memory_budget') AS BIGINT) AS budget
),
nd_expansion_checked AS MATERIALIZED (
    SELECT CASE
        WHEN n_pairs * 32 > budget
            THEN error('near_dup_incremental needs more than ' || round(n_pairs * 32 / 1e9, 2)
                       || ' GB for the ' || n_pairs || ' candidate pairs of ' || new_tbl || ' and '
                       || release_tbl || ' (budget ' || round(budget / 1e9, 2) || ' GB); raise the '
                       || 'budget with corpusql.connect(..., memory_budget=...) or '
                       || 'corpusql.set_memory_budget(con, ...), or lower max_bucket (now '
                       || max_bucket || ')')
        ELSE true
    END AS ok
    FROM nd_expansion
),
nd_checked_keys AS MATERIALIZED (
    SELECT k.node, k.band_key
    FROM nd_batch_keys AS k, nd_expansion_checked AS x
    WHERE x.ok
),
nd_release_candidates AS MATERIALIZED (
    SELECT DISTINCT node, release_id
    FROM (
        SELECT k.node, r.release_id
        FROM nd_checked_keys AS k
        JOIN (SELECT band_key FROM nd_release_buckets WHERE n_members <= max_bucket) AS z USING (band_key)
        JOIN nd_release_keys AS r USING (band_key)
        UNION ALL
        SELECT k.node, z.representative AS release_id
        FROM nd_checked_keys AS k
        JOIN nd_release_buckets AS z USING (band_key)
        WHERE z.n_members > max_bucket
    )
),
nd_batch_shared_keys AS MATERIALIZED (
    SELECT k.node, k.band_key, z.n_members > max_bucket AS overfull, z.representative
    FROM nd_checked_keys AS k
    JOIN nd_batch_buckets AS z USING (band_key)
    WHERE z.n_members > 1
),
nd_batch_candidates AS MATERIALIZED (
    SELECT DISTINCT src, dst
    FROM (
        SELECT a.node AS src, b.node AS dst
        FROM (SELECT node, band_key FROM nd_batch_shared_keys WHERE NOT overfull) AS a
        JOIN (SELECT node, band_key FROM nd_batch_shared_keys WHERE NOT overfull) AS b
            ON a.band_key = b.band_key AND a.node < b.node
        UNION ALL
        SELECT representative AS src, node AS dst
        FROM nd_batch_shared_keys
        WHERE overfull AND node <> representative
    )
),
nd_batch_sets AS MATERIALIZED (
    SELECT d.node, shingle_set(d.text, ngram := ngram, unit := unit, norm_numbers := norm_numbers) AS shingles
    FROM nd_batch AS d
    WHERE verify AND d.node IN (SELECT src FROM nd_batch_candidates UNION SELECT dst FROM nd_batch_candidates
                                UNION SELECT node FROM nd_release_candidates)
),
nd_release_sets AS MATERIALIZED (
    SELECT r[id_col] AS release_id, shingle_set(r[text_col], ngram := ngram, unit := unit, norm_numbers := norm_numbers) AS shingles
    FROM query_table(release_tbl) AS r
    WHERE verify AND r[id_col] IN (SELECT release_id FROM nd_release_candidates)
),
nd_release_edges AS MATERIALIZED (
    SELECT node, release_id, NULL::DOUBLE AS similarity
    FROM nd_release_candidates
    WHERE NOT verify
    UNION ALL
    SELECT * FROM (
        SELECT c.node, c.release_id, set_jaccard(sb.shingles, sr.shingles) AS similarity
        FROM nd_release_candidates AS c
        JOIN nd_batch_sets AS sb ON sb.node = c.node
        JOIN nd_release_sets AS sr ON sr.release_id = c.release_id
        WHERE verify
    )
    WHERE similarity >= threshold
),
nd_batch_edges AS (
    SELECT src, dst FROM nd_batch_candidates WHERE NOT verify
    UNION ALL
    SELECT e.src, e.dst
    FROM nd_batch_candidates AS e
    JOIN nd_batch_sets AS sa ON sa.node = e.src
    JOIN nd_batch_sets AS sb ON sb.node = e.dst
    WHERE verify AND set_jaccard(sa.shingles, sb.shingles) >= threshold
),
nd_release_nodes AS MATERIALIZED (
    SELECT
        release_id,
        (SELECT count(*) FROM nd_batch) + dense_rank() OVER (ORDER BY release_id) - 1 AS node
    FROM (SELECT DISTINCT release_id FROM nd_release_edges)
),
nd_edges AS MATERIALIZED (
    SELECT src, dst FROM nd_batch_edges
    UNION ALL
    SELECT e.node AS src, n.node AS dst
    FROM nd_release_edges AS e
    JOIN nd_release_nodes AS n USING (release_id)
),
nd_node_labels AS MATERIALIZED (
    SELECT node, component FROM edge_components('nd_edges', what := 'near_dup_incremental: ' || new_tbl)
),
nd_component_release AS (
    SELECT l.component, min(n.release_id) AS release_id
    FROM nd_release_nodes AS n
    JOIN nd_node_labels AS l USING (node)
    GROUP BY l.component
),
nd_direct_release AS (
    SELECT node, arg_min(release_id, (-coalesce(similarity, 0.0), release_id)) AS release_id
    FROM nd_release_edges
    GROUP BY node
),
nd_ranked AS (
    SELECT
        d.id,
        coalesce(l.component, d.node) AS component,
        row_number() OVER (PARTITION BY coalesce(l.component, d.node)
                           ORDER BY d.priority DESC NULLS LAST, d.id) AS copy_rank,
        first_value(d.id) OVER (PARTITION BY coalesce(l.component, d.node)
                                ORDER BY d.priority DESC NULLS LAST, d.id) AS first_id,
        coalesce(x.release_id, c.release_id) AS release_id
    FROM nd_batch AS d
    LEFT JOIN nd_node_labels AS l ON l.node = d.node
    LEFT JOIN nd_component_release AS c ON c.component = coalesce(l.component, d.node)
    LEFT JOIN nd_direct_release AS x ON x.node = d.node
)
SELECT
    id,
    release_id IS NULL AND copy_rank = 1 AS is_kept,
    CASE WHEN release_id IS NOT NULL THEN release_id WHEN copy_rank > 1 THEN first_id END AS duplicate_of,
    CASE WHEN release_id IS NOT NULL THEN 'release' WHEN copy_rank > 1 THEN 'batch' END AS duplicate_in
FROM nd_ranked
ORDER BY id;
