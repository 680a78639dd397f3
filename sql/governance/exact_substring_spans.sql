-- exact_substring_spans(tbl, text_col, id_col, min_tokens := 50, max_tokens := 100000000)
--
-- One row per span of column `text_col` of table `tbl` that is at least `min_tokens` tokens
-- long and also occurs elsewhere in the corpus (in another document, or again in the same one):
-- the document's id, start and end. start and end are 0-based Unicode code point offsets into
-- the original text, end exclusive (the span is substring(text, start + 1, "end" - start)).
-- Tokens: runs of word characters, one CJK character (Chinese and Japanese have no spaces: each
-- character is a token), one other non-space character; white space separates them. The exact
-- definitions are substring_spans' (corpusql.udfs.substring). Every occurrence is listed, the
-- first one too: remove_substring_spans removes them all. Built on a suffix array (libdivsufsort) and an
-- LCP array over the token ids of the whole corpus; a corpus of more than `max_tokens` tokens is
-- cut into chunks at document boundaries and every pair of chunks is compared, so repeats across
-- chunks are found. A corpus whose memory estimate exceeds the connection's memory budget fails
-- before it is built, with the estimate and the knobs (memory_budget, max_tokens). Ids must be
-- unique and not NULL; NULL texts have no spans.
--
-- tables: tbl
-- columns: text_col, id_col
-- returns: id, start, end
-- requires: substring_spans
-- depends: near_dup_ids_checked
-- source: Lee et al. 2021, "Deduplicating Training Data Makes Language Models Better" (ExactSubstr)
-- duckdb-only: query_table() to take a table name; row[col] to take a column by name
CREATE OR REPLACE MACRO exact_substring_spans(tbl, text_col, id_col, min_tokens := 50,
                                              max_tokens := 100000000) AS TABLE
WITH ess_docs AS (
    SELECT r[id_col] AS id, r[text_col] AS text FROM query_table(tbl) AS r
),
ess_ids_checked AS MATERIALIZED (
    SELECT ok FROM near_dup_ids_checked('ess_docs', 'exact_substring_spans: ' || tbl || '.' || id_col)
),
ess_corpus AS (
    -- one aggregate, so ids[i] is the id of texts[i]; unsorted (a sort would copy every text):
    -- the spans do not depend on the order of the documents
    SELECT list(id) AS ids, list(text) AS texts
    FROM ess_docs, ess_ids_checked AS k
    WHERE k.ok
),
ess_spans AS (
    SELECT ids, unnest(substring_spans(texts, min_tokens := min_tokens,
                                       max_tokens := max_tokens)) AS s
    FROM ess_corpus
    WHERE len(texts) > 0
)
SELECT ids[s.doc + 1] AS id, s.span_start AS "start", s.span_end AS "end"
FROM ess_spans
ORDER BY id, "start";
