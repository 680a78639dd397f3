"""THE registry: every SQL function corpusql binds, one row each.

Adding a function is one kernel in ``corpusql.udfs`` plus one row here. Rows are grouped by area;
keep each area's rows together. Column parameters are positional, constants (``column=False``)
get ``:=`` defaults. See :mod:`corpusql.registry` for the fields.
"""

from __future__ import annotations

from corpusql.udfs import (
    blocklist,
    decontam,
    diversity,
    graph,
    hashing,
    langid,
    minhash,
    mixing,
    pii,
    sets,
    shingles,
    split,
    text,
    tokens,
)
from corpusql.udfs import embed as embed_kernels
from corpusql.udfs import html as html_kernels
from corpusql.udfs import kmeans as kmeans_kernels
from corpusql.udfs import line_hash as line_hash_kernels
from corpusql.udfs import onnx_score as onnx_kernels
from corpusql.udfs import substring as substring_kernels
from corpusql.udfs import url as url_kernels
from corpusql.udfs.quality import c4, fineweb, gopher, repetition

from .registry import REQUIRED, Param, Registry, fn

TEXT = Param("text", "VARCHAR")


def _const(name: str, sql_type: str, default=REQUIRED, **kw) -> Param:
    """A constant parameter; without ``default`` it takes the kernel's (registry.fn)."""
    return Param(name, sql_type, default, column=False, **kw)


# --- text and exact dedup (foundation) ---------------------------------------------------------
FOUNDATION = [
    fn("text_normalize", text.text_normalize, [
        TEXT,
        _const("lower", "BOOLEAN"),
        _const("strip_punct", "BOOLEAN"),
        _const("nfkc", "BOOLEAN"),
        _const("collapse_ws", "BOOLEAN"),
        _const("digits", "BOOLEAN"),
    ], "VARCHAR"),
    fn("text_fingerprint", hashing.text_fingerprint, [
        TEXT, _const("normalize", "BOOLEAN")], "VARCHAR"),
    fn("word_count", text.word_count, [TEXT], "INTEGER", null="kernel"),
    fn("char_count", text.char_count, [TEXT], "BIGINT", null="kernel"),
    fn("split_assign", split.split_assign, [
        Param("key", "VARCHAR", cast=True),
        _const("seed", "BIGINT"),
        _const("train", "DOUBLE", low=0.0, high=1.0),
        _const("val", "DOUBLE", low=0.0, high=1.0),
        _const("test", "DOUBLE", low=0.0, high=1.0),
    ], "VARCHAR", validate=split.check_fractions),
]

# --- near-duplicates (issue 3) -----------------------------------------------------------------

_NUM_PERM = {"low": 2, "high": 1024}
_NGRAM = _const("ngram", "INTEGER", low=1, high=64)
_UNIT = _const("unit", "VARCHAR", choices=shingles.UNITS)
_NORM_NUMBERS = _const("norm_numbers", "BOOLEAN")
NEAR_DUP: list = [
    fn("minhash_normalize", shingles.minhash_normalize, [TEXT, _NORM_NUMBERS], "VARCHAR",
       null="kernel"),
    fn("minhash_signature", minhash.minhash_signature, [
        TEXT,
        _const("num_perm", "INTEGER", **_NUM_PERM),
        _NGRAM,
        _const("seed", "BIGINT", low=0, high=2**32 - 1),
        _UNIT,
        _const("scheme", "VARCHAR", choices=minhash.SCHEMES),
        _NORM_NUMBERS,
    ], "UINTEGER[]", null="kernel"),
    fn("minhash_bands", minhash.minhash_bands, [
        Param("signature", "UINTEGER[]"),
        _const("bands", "INTEGER", low=1, high=1024),
        _const("rows", "INTEGER", low=1, high=1024),
    ], "UBIGINT[]", examples={"signature": "minhash_signature(text)"}),
    fn("minhash_params", minhash.minhash_params, [
        Param("threshold", "DOUBLE"), _const("num_perm", "INTEGER", **_NUM_PERM),
        _const("fn_weight", "DOUBLE", low=0.0, high=1.0),
    ], "STRUCT(bands INTEGER, rows INTEGER, false_positive_area DOUBLE, "
       "false_negative_area DOUBLE)", examples={"threshold": "(length(text) % 9 + 1) / 10.0"}),
    fn("minhash_jaccard", minhash.minhash_jaccard, [
        Param("sig_a", "UINTEGER[]"), Param("sig_b", "UINTEGER[]")], "DOUBLE", examples={
            "sig_a": "minhash_signature(text)", "sig_b": "minhash_signature(text || ' x')"}),
    fn("jaccard", minhash.jaccard, [
        Param("a_text", "VARCHAR"), Param("b_text", "VARCHAR"), _NGRAM, _UNIT, _NORM_NUMBERS,
    ], "DOUBLE", null="kernel"),
    fn("shingle_set", shingles.shingle_set, [TEXT, _NGRAM, _UNIT, _NORM_NUMBERS], "UBIGINT[]",
       null="kernel"),
    fn("connected_components", graph.connected_components, [
        Param("src", "BIGINT[]"), Param("dst", "BIGINT[]")], "BIGINT[]", examples={
            "src": "if(text IS NULL, NULL, [length(text) % 7, 3])::BIGINT[]",
            "dst": "if(text IS NULL, NULL, [2, length(text) % 4])::BIGINT[]"}),
    fn("set_jaccard", sets.set_jaccard, [Param("a", "UBIGINT[]"), Param("b", "UBIGINT[]")],
       "DOUBLE", examples={"a": "shingle_set(text)", "b": "shingle_set(text || ' extra words')"}),
]

# --- quality signals (issue 4) -----------------------------------------------------------------

_FLAVOR = _const("flavor", "VARCHAR", choices=("datatrove",))
_GOPHER = [
    TEXT,
    _const("min_doc_words", "INTEGER", low=0),
    _const("max_doc_words", "INTEGER", low=0),
    _const("min_avg_word_length", "DOUBLE", low=0),
    _const("max_avg_word_length", "DOUBLE", low=0),
    _const("max_symbol_word_ratio", "DOUBLE", low=0),
    _const("max_bullet_lines_ratio", "DOUBLE", low=0),
    _const("max_ellipsis_lines_ratio", "DOUBLE", low=0),
    _const("max_non_alpha_words_ratio", "DOUBLE", low=0),
    _const("min_stop_words", "INTEGER", low=0),
    _const("stop_words", "VARCHAR[]"),
    _FLAVOR,
]
_REPETITION = [
    TEXT,
    _const("dup_line_frac", "DOUBLE", low=0),
    _const("dup_para_frac", "DOUBLE", low=0),
    _const("dup_line_char_frac", "DOUBLE", low=0),
    _const("dup_para_char_frac", "DOUBLE", low=0),
    _const("top_n_grams", "DOUBLE[][]"),
    _const("dup_n_grams", "DOUBLE[][]"),
    _FLAVOR,
]
_C4 = [
    TEXT,
    _const("remove_citations", "BOOLEAN"),
    _const("filter_no_terminal_punct", "BOOLEAN"),
    _const("min_num_sentences", "INTEGER", low=-1),
    _const("min_words_per_line", "INTEGER", low=-1),
    _const("max_word_length", "INTEGER", low=-1),
    _const("filter_lorem_ipsum", "BOOLEAN"),
    _const("filter_javascript", "BOOLEAN"),
    _const("filter_curly_bracket", "BOOLEAN"),
    _const("filter_policy", "BOOLEAN"),
    _FLAVOR,
]
_FINEWEB = [
    TEXT,
    _const("line_punct_thr", "DOUBLE", low=0),
    _const("line_punct_exclude_zero", "BOOLEAN"),
    _const("short_line_thr", "DOUBLE", low=0),
    _const("short_line_length", "INTEGER", low=0),
    _const("char_duplicates_ratio", "DOUBLE", low=0),
    _const("new_line_ratio", "DOUBLE", low=0),
    _FLAVOR,
]
QUALITY: list = [
    fn("gopher_quality", gopher.gopher_quality, _GOPHER, gopher.SIGNALS, null="kernel"),
    fn("gopher_quality_pass", gopher.gopher_quality_pass, _GOPHER, "BOOLEAN", null="kernel"),
    fn("gopher_quality_reasons", gopher.gopher_quality_reasons, _GOPHER, "VARCHAR[]",
       null="kernel"),
    fn("gopher_repetition", repetition.gopher_repetition, _REPETITION, repetition.SIGNALS,
       null="kernel"),
    fn("gopher_repetition_pass", repetition.gopher_repetition_pass, _REPETITION, "BOOLEAN",
       null="kernel"),
    fn("gopher_repetition_reasons", repetition.gopher_repetition_reasons, _REPETITION,
       "VARCHAR[]", null="kernel"),
    fn("c4_quality", c4.c4_quality, _C4, c4.SIGNALS, null="kernel"),
    fn("c4_quality_pass", c4.c4_quality_pass, _C4, "BOOLEAN", null="kernel"),
    fn("c4_quality_reasons", c4.c4_quality_reasons, _C4, "VARCHAR[]", null="kernel"),
    fn("fineweb_quality", fineweb.fineweb_quality, _FINEWEB, fineweb.SIGNALS, null="kernel"),
    fn("fineweb_quality_pass", fineweb.fineweb_quality_pass, _FINEWEB, "BOOLEAN",
       null="kernel"),
    fn("fineweb_quality_reasons", fineweb.fineweb_quality_reasons, _FINEWEB, "VARCHAR[]",
       null="kernel"),
]

# --- language id and model scoring (issue 4) ---------------------------------------------------

_POSITIVE = {"low": 1, "high": 1_000_000}
MODELS: list = [
    fn("lang_id", langid.lang_id, [TEXT], "STRUCT(lang VARCHAR, score DOUBLE)",
       model_files=("langid.npz",)),
    fn("onnx_score", onnx_kernels.onnx_score, [
        TEXT,
        _const("model", "VARCHAR"),
        _const("input", "VARCHAR"),
        _const("output", "VARCHAR"),
        _const("tokenizer", "VARCHAR"),
        _const("max_length", "INTEGER", **_POSITIVE),
        _const("batch_size", "INTEGER", **_POSITIVE),
    ], "DOUBLE"),
    fn("quality_score", onnx_kernels.quality_score, [TEXT], "DOUBLE",
       model_files=(onnx_kernels.BUNDLED["quality"],)),
]

# --- PII and blocklists (issue 4) --------------------------------------------------------------

# NULL terms (e.g. `(SELECT list(term) FROM blocklist)` over an empty table) block nothing.
_TERMS = _const("terms", "VARCHAR[]", nullable=True)
PII: list = [
    fn("pii_spans", pii.pii_spans, [TEXT],
       'STRUCT(kind VARCHAR, "start" INTEGER, "end" INTEGER)[]'),
    fn("pii_redact", pii.pii_redact, [
        TEXT,
        _const("kinds", "VARCHAR[]"),
        _const("style", "VARCHAR", choices=pii.STYLES),
    ], "VARCHAR", validate=pii.check_redact),
    fn("contains_any", blocklist.contains_any, [TEXT, _TERMS], "BOOLEAN"),
    fn("count_matches", blocklist.count_matches, [TEXT, _TERMS], "INTEGER"),
    fn("url_domain_blocked", blocklist.url_domain_blocked, [
        Param("url", "VARCHAR"), _const("domains", "VARCHAR[]", nullable=True),
    ], "BOOLEAN"),
]

# --- tokens, mixing, splitting (issue 5) -------------------------------------------------------

TOKENIZER = _const("tokenizer", "VARCHAR")
TOKENS = [
    fn("token_count", tokens.token_count, [TEXT, TOKENIZER], "INTEGER", null="kernel"),
    fn("tokenize", tokens.tokenize, [TEXT, TOKENIZER], "INTEGER[]"),
    fn("hash_unit", mixing.hash_unit, [Param("key", "VARCHAR"), _const("seed", "BIGINT")],
       "DOUBLE"),
    fn("word_ngram_set", decontam.word_ngram_set, [
        TEXT, _const("n", "INTEGER", low=1, high=1000)], "VARCHAR[]"),
    fn("word_ngram_hashes", decontam.word_ngram_hashes, [
        TEXT, _const("n", "INTEGER", low=1, high=1000)], "UBIGINT[]"),
    fn("remove_spans", decontam.remove_spans, [
        TEXT, Param("ngrams", "VARCHAR[]"),
        _const("n", "INTEGER", low=1, high=1000),
        _const("window_chars", "INTEGER", low=0),
        _const("min_fragment", "INTEGER", low=0),
        _const("max_splits", "INTEGER", low=0),
    ], "STRUCT(text VARCHAR, n_spans INTEGER, n_fragments INTEGER, dropped BOOLEAN)",
       null="kernel", examples={"ngrams": "word_ngram_set(text, n := 13)"}),
]

# --- diversity (issue 5) -----------------------------------------------------------------------

DIVERSITY: list = [
    fn("k_center_pick", diversity.k_center_pick, [
        Param("ids", "VARCHAR[]"),
        Param("vectors", "FLOAT[][]"),
        _const("k", "INTEGER", low=1),
        _const("seed", "BIGINT"),
    ], "STRUCT(id VARCHAR, rank INTEGER, radius DOUBLE)[]", examples={
        "ids": "if(text IS NULL, NULL, [text, 'b', 'c', NULL])",
        "vectors": "if(text IS NULL, NULL, [[length(text) % 7, 1], [2, length(text) % 5], "
                   "[0, 0], NULL])::FLOAT[][]"}),
]

# --- meaning as a column: embeddings and clustering (issue 14) -------------------------------

_VECTORS = Param("vectors", "FLOAT[][]")
_VECTORS_EX = {"vectors": "if(text IS NULL, NULL, [[length(text) % 7, 1], [2, length(text) % 5], "
                          "[0, 0], [1, 1]])::FLOAT[][]"}

SEMANTIC: list = [
    fn("embed", embed_kernels.embed, [
        TEXT,
        _const("model", "VARCHAR", "minilm"),
        _const("max_length", "INTEGER", 256, low=4, high=512),
        _const("strategy", "VARCHAR", "first", choices=embed_kernels.STRATEGIES),
        _const("batch_size", "INTEGER", 64, low=1, high=4096),
    ], f"FLOAT[{embed_kernels.DIM}]"),
    fn("kmeans_fit", kmeans_kernels.kmeans_fit, [
        _VECTORS,
        _const("k", "INTEGER", 8, low=1),
        _const("seed", "BIGINT", 1),
        _const("iters", "INTEGER", 20, low=0, high=10_000),
    ], "STRUCT(centroid_id INTEGER, centroid FLOAT[], size BIGINT)[]", examples=_VECTORS_EX),
    fn("kmeans_nearest", kmeans_kernels.kmeans_nearest, [_VECTORS, Param("centroids", "FLOAT[][]")],
       "STRUCT(centroid_id INTEGER, similarity FLOAT)[]", examples={
           **_VECTORS_EX, "centroids": "if(text IS NULL, NULL, [[1, 0], [0, 1]])::FLOAT[][]"}),
    fn("semdedup_pairs", kmeans_kernels.semdedup_pairs, [
        _VECTORS,
        _const("eps", "DOUBLE", 0.05, low=0.0, high=1.0),
        _const("n_clusters", "INTEGER", None, nullable=True, low=1),
        _const("seed", "BIGINT", 1),
        _const("iters", "INTEGER", 20, low=0, high=10_000),
    ], "STRUCT(cluster INTEGER[], similarity FLOAT[], a INTEGER[], b INTEGER[], "
       "pair_similarity FLOAT[])", examples=_VECTORS_EX),
]

# --- web: HTML and URLs (issue 20; the WARC reader is bound in corpusql.web) ------------------

_HTML = [Param("html", "BLOB"), Param("charset", "VARCHAR", None)]
_EXTRACTOR = [_const("extractor", "VARCHAR", choices=html_kernels.EXTRACTORS),
              _const("max_html_bytes", "BIGINT", low=1)]
_HTML_EX = {"html": "encode(text)"}
_URL = Param("url", "VARCHAR")
WEB: list = [
    fn("html_extract", html_kernels.html_extract, [*_HTML, *_EXTRACTOR],
       "STRUCT(text VARCHAR, reason VARCHAR, title VARCHAR, lang VARCHAR, charset VARCHAR)",
       null="kernel", examples=_HTML_EX),
    fn("html_to_text", html_kernels.html_to_text, [*_HTML, *_EXTRACTOR], "VARCHAR",
       null="kernel", examples=_HTML_EX),
    fn("html_extract_reason", html_kernels.html_extract_reason, [*_HTML, *_EXTRACTOR],
       "VARCHAR", null="kernel", examples=_HTML_EX),
    fn("html_title", html_kernels.html_title_kernel, _HTML, "VARCHAR", null="kernel",
       examples=_HTML_EX),
    fn("html_lang", html_kernels.html_lang_kernel, _HTML, "VARCHAR", null="kernel",
       examples=_HTML_EX),
    fn("url_normalize", url_kernels.url_normalize, [_URL], "VARCHAR"),
    fn("url_domain", url_kernels.url_domain, [_URL], "VARCHAR"),
    fn("url_registered_domain", url_kernels.url_registered_domain, [_URL], "VARCHAR"),
]

# --- line and substring dedup (issue 17) -------------------------------------------------------

LINE_DEDUP: list = [
    fn("line_hash", line_hash_kernels.line_hash, [TEXT], "UBIGINT", null="kernel"),
    fn("substring_spans", substring_kernels.substring_spans, [
        Param("texts", "VARCHAR[]"),
        _const("min_tokens", "BIGINT", substring_kernels.MIN_TOKENS, low=1),
        _const("max_tokens", "BIGINT", substring_kernels.MAX_TOKENS, low=4),
    ], "STRUCT(doc INTEGER, span_start BIGINT, span_end BIGINT)[]",
       examples={"texts": "CASE WHEN text IS NOT NULL THEN [text, text] END"}),
    fn("remove_substring_spans", substring_kernels.remove_substring_spans, [TEXT, Param("spans", "BIGINT[][]")],
       "VARCHAR", null="kernel", examples={"spans": "[[0, least(length(text), 3)]]"}),
]

REGISTRY = Registry([*FOUNDATION, *NEAR_DUP, *QUALITY, *MODELS, *PII, *TOKENS, *DIVERSITY, *WEB,
                     *SEMANTIC, *LINE_DEDUP])
