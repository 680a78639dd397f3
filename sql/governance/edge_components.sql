-- edge_components(edges, what := 'edge_components')
--
-- The connected components of the undirected graph whose edges are the rows (src, dst) of table,
-- view or query step `edges`: one row per node that has an edge, with its component, the
-- smallest node of its component (so components are the same on every run and thread count).
-- Nodes are any comparable values (ids, numbers); rows with a NULL end join nothing.
-- Min-label propagation with shortcutting in a keyed recursive CTE: every node starts with the
-- smallest of itself and its neighbours, then each round takes the smallest of its own label,
-- its neighbours' labels and its label's label, until no label changes; labels only decrease
-- and are always nodes of the component, so at the end each node holds the component's minimum.
-- The shortcut makes a label travel about twice as far each round (a path of n nodes takes
-- about log2(n) rounds). Every step is a DuckDB join or aggregate, which spills to disk under
-- memory_limit: no Python array of all edges. What cannot spill, the keyed table of labels
-- (one row per node with an edge), is checked first: when it needs more than the corpusql
-- memory budget (the variable corpusql_memory_budget in bytes, see corpusql.connect's
-- memory_budget; no limit when unset) at 64 bytes a node, it fails with the estimate and the
-- knob, starting with `what` (the caller).
-- On Spark (no keyed recursion) its Spark variant numbers the nodes 0..n-1 and labels them
-- with the connected_components kernel over one list of every edge, so there the edges must fit
-- one row; Spark's near_dup_clusters itself runs as corpusql.spark.dedup's large-star /
-- small-star rounds and does not use this macro.
--
-- tables: edges
-- returns: node, component
-- source: min-label propagation with pointer jumping (Shiloach and Vishkin 1982; Rastogi et al. 2013, "Finding Connected Components in Map-Reduce in Logarithmic Rounds")
-- duckdb-only: query_table() to take a table name; recursive CTE USING KEY
-- spark: ec_components
--     WITH ec_numbered AS (
--         SELECT node, dense_rank() OVER (ORDER BY node) - 1 AS k
--         FROM (SELECT DISTINCT node FROM ec_undirected)
--     ),
--     ec_kernel AS (
--         SELECT connected_components(list(a.k ORDER BY a.k, b.k), list(b.k ORDER BY a.k, b.k)) AS label
--         FROM ec_undirected AS u
--         JOIN ec_numbered AS a ON a.node = u.node
--         JOIN ec_numbered AS b ON b.node = u.neighbour, ec_checked AS x
--         WHERE x.ok
--     ),
--     ec_kernel_labels AS (
--         SELECT unnest(range(len(label))) AS k, unnest(label) AS label_k
--         FROM ec_kernel
--         WHERE label IS NOT NULL
--     )
--     SELECT n.node, m.node AS component
--     FROM ec_kernel_labels AS l
--     JOIN ec_numbered AS n ON n.k = l.k
--     JOIN ec_numbered AS m ON m.k = l.label_k
CREATE OR REPLACE MACRO edge_components(edges, what := 'edge_components') AS TABLE
WITH ec_undirected AS MATERIALIZED (
    SELECT src AS node, dst AS neighbour FROM query_table(edges) WHERE src IS NOT NULL AND dst IS NOT NULL
    UNION
    SELECT dst, src FROM query_table(edges) WHERE src IS NOT NULL AND dst IS NOT NULL
),
ec_checked AS MATERIALIZED (
    SELECT CASE
        WHEN n_nodes * 64 > budget
            THEN error(what || ' needs more than ' || round(n_nodes * 64 / 1e9, 2) || ' GB to label the '
                       || n_nodes || ' documents that have a near-duplicate edge (budget '
                       || round(budget / 1e9, 2) || ' GB); raise the budget with corpusql.connect(..., '
                       || 'memory_budget=...), corpusql.set_memory_budget(con, ...) or SET VARIABLE '
                       || 'corpusql_memory_budget, or raise threshold (fewer edges)')
        ELSE true
    END AS ok
    FROM (SELECT count(DISTINCT node) AS n_nodes,
                 TRY_CAST(getvariable('corpusql_memory_budget') AS BIGINT) AS budget
          FROM ec_undirected)
),
ec_components AS (
    WITH RECURSIVE ec_labels(node, label) USING KEY (node) AS (
        SELECT u.node, least(u.node, min(u.neighbour)) AS label
        FROM ec_undirected AS u, ec_checked AS k
        WHERE k.ok
        GROUP BY u.node
        UNION
        (SELECT node, new_label
         FROM (
             SELECT c.node, c.label, least(c.label, min(n.label), min(j.label)) AS new_label
             FROM recurring.ec_labels AS c
             JOIN ec_undirected AS u ON u.node = c.node
             JOIN recurring.ec_labels AS n ON n.node = u.neighbour
             JOIN recurring.ec_labels AS j ON j.node = c.label
             WHERE EXISTS (FROM ec_labels)
             GROUP BY c.node, c.label
         )
         WHERE new_label < label)
    )
    SELECT node, label AS component FROM ec_labels
)
SELECT node, component
FROM ec_components
ORDER BY node;
