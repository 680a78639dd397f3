-- semantic_dup_report(tbl, emb_col, id_col, source_col := NULL, eps_values := NULL, n_clusters := NULL, seed := 1, iters := 20)
--
-- What semantic deduplication (SemDeDup) would remove from table or view `tbl` at each eps in
-- `eps_values` (a list; NULL: [0.02, 0.05, 0.1]): one row per eps and value of column `source_col` (or per eps for the whole
-- table when it is NULL, with source NULL), with the number of rows, of rows with no embedding
-- (never removed), of rows in a duplicate cluster, of rows removed (all but the smallest id of
-- each cluster, semantic_dedup's default keep) and the removed fraction. The k-means clustering
-- and the within-cluster pairs are computed once, at the largest eps; each eps keeps the pairs
-- with cosine similarity above 1 - eps and takes their connected components. Ordered by eps,
-- then rows removed (most first), then source. Fails when an eps is not strictly between 0 and 1.
--
-- tables: tbl
-- columns: emb_col, id_col, source_col
-- returns: eps, source, n_docs, n_no_embedding, n_clustered_docs, n_removed, removed_fraction
-- requires: semdedup_pairs, connected_components
-- source: Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale through semantic deduplication"
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name; error()
CREATE OR REPLACE MACRO semantic_dup_report(tbl, emb_col, id_col, source_col := NULL, eps_values := NULL, n_clusters := NULL, seed := 1, iters := 20) AS TABLE
WITH sr_docs AS MATERIALIZED (
    SELECT
        r[id_col] AS id,
        CASE WHEN source_col IS NULL THEN NULL ELSE CAST(r[source_col] AS VARCHAR) END AS source,
        CASE WHEN r[emb_col] IS NULL THEN NULL
             ELSE count(r[emb_col]) OVER (ORDER BY r[id_col] ROWS UNBOUNDED PRECEDING) - 1 END AS node
    FROM query_table(tbl) AS r
),
sr_vectors AS (  -- straight from the table: the vectors are not held twice
    SELECT list(CAST(r[emb_col] AS FLOAT[]) ORDER BY r[id_col]) AS vectors
    FROM query_table(tbl) AS r
    WHERE r[emb_col] IS NOT NULL
),
sr_eps AS (
    SELECT DISTINCT CAST(unnest(coalesce(eps_values, [0.02, 0.05, 0.1])) AS DOUBLE) AS eps
),
sr_result AS MATERIALIZED (
    SELECT CASE
        WHEN (SELECT count(*) FILTER (WHERE eps IS NULL OR eps <= 0 OR eps >= 1) FROM sr_eps) > 0 THEN error(
            'semantic_dup_report: every eps must be strictly between 0 and 1, got '
            || CAST(coalesce(eps_values, [0.02, 0.05, 0.1]) AS VARCHAR))
        ELSE semdedup_pairs((SELECT vectors FROM sr_vectors),
                            eps := (SELECT max(eps) FROM sr_eps), n_clusters := n_clusters,
                            seed := seed, iters := iters)
    END AS result
),
sr_pairs AS (
    SELECT unnest(result.a)::BIGINT AS src, unnest(result.b)::BIGINT AS dst,
           unnest(result.pair_similarity) AS similarity
    FROM sr_result
),
sr_labels AS (
    SELECT e.eps, connected_components(list(p.src ORDER BY p.src, p.dst), list(p.dst ORDER BY p.src, p.dst)) AS label
    FROM sr_eps AS e
    JOIN sr_pairs AS p ON p.similarity > 1 - e.eps
    GROUP BY e.eps
),
sr_nodes AS (
    SELECT eps, unnest(range(len(label))) AS node, unnest(label) AS component
    FROM sr_labels
),
sr_ranked AS (
    SELECT n.eps, n.node, count(*) OVER (PARTITION BY n.eps, n.component) AS cluster_size,
           row_number() OVER (PARTITION BY n.eps, n.component ORDER BY n.node) AS copy_rank
    FROM sr_nodes AS n
),
sr_per_source AS (
    SELECT
        e.eps,
        d.source,
        count(*) AS n_docs,
        count(*) FILTER (WHERE d.node IS NULL) AS n_no_embedding,
        count(*) FILTER (WHERE k.cluster_size > 1) AS n_clustered_docs,
        count(*) FILTER (WHERE k.copy_rank > 1) AS n_removed
    FROM sr_eps AS e
    CROSS JOIN sr_docs AS d
    LEFT JOIN sr_ranked AS k ON k.eps = e.eps AND k.node = d.node
    GROUP BY e.eps, d.source
)
SELECT eps, source, n_docs, n_no_embedding, n_clustered_docs, n_removed,
       coalesce(n_removed / nullif(n_docs, 0), 0.0) AS removed_fraction
FROM sr_per_source
ORDER BY eps, n_removed DESC, source NULLS FIRST;
