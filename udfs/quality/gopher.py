"""Gopher quality rules (Rae et al. 2021, "Scaling Language Models", appendix A.1.1).

As datatrove 0.10.1 implements them (``GopherQualityFilter``, default parameters). Words are
datatrove's English words (:mod:`.words`: spaCy's English tokenizer, stripped, empty dropped);
"non-symbol words" are words with at least one character outside datatrove's PUNCTUATION_SET;
lines are ``str.splitlines()`` lines. Rules, in datatrove's order, with its reason codes:

- ``gopher_short_doc`` / ``gopher_long_doc``: non-symbol words < min_doc_words (50) or
  > max_doc_words (100000);
- ``gopher_below_avg_threshold`` / ``gopher_above_avg_threshold``: mean length of the non-symbol
  words < min_avg_word_length (3) or > max_avg_word_length (10);
- ``gopher_too_many_hashes``: count of ``#`` / words > max_symbol_word_ratio (0.1); words here
  are all words, symbol words included;
- ``gopher_too_many_ellipsis``: (count of ``...`` + count of ``…``) / words > max_symbol_word_ratio;
- ``gopher_too_many_bullets``: lines whose left-stripped text starts with ``•`` or ``-`` / lines
  > max_bullet_lines_ratio (0.9);
- ``gopher_too_many_end_ellipsis``: lines whose right-stripped text ends with ``...`` or ``…`` /
  lines > max_ellipsis_lines_ratio (0.3);
- ``gopher_below_alpha_threshold``: words with at least one alphabetic character / words
  < max_non_alpha_words_ratio (0.8; datatrove's name, although it is a minimum);
- ``gopher_enough_stop_words``: distinct stop words present (case-sensitive, exact words) <
  min_stop_words (2); stop words: the, be, to, of, and, that, have, with.

A threshold of 0 disables its rule (datatrove: None or 0). datatrove stops at the first failing
rule; ``gopher_quality_reasons`` lists every failing rule in that order, so its first element is
datatrove's reason. A ratio whose denominator is 0 is NULL and fails no rule (datatrove would
raise there; with the default minimum of 50 words it never gets that far). NULL text is read as
the empty string (fails ``gopher_short_doc``).

Other flavors (not implemented; ``flavor`` accepts only ``'datatrove'``): Dolma's Gopher
tagger splits words on whitespace and emits the signals as attributes, thresholds being applied
by its mixer; NeMo Curator has one filter per rule (WordCountFilter, MeanWordLengthFilter,
SymbolsToWordsFilter, BulletsFilter, EllipsisFilter, ...) over its own per-language word
splitter; RedPajama-v2 publishes the signals (``rps_doc_word_count``,
``rps_doc_mean_word_length``, ``rps_doc_symbol_to_word_ratio``,
``rps_doc_frac_lines_end_with_ellipsis``, ``rps_doc_frac_no_alph_words``,
``rps_doc_stop_word_fraction``, ...) and leaves thresholds to the user.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _common as c
from .words import HAS_ALPHA, NON_SYMBOL, seg_sum, words

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")

# str.splitlines() boundaries, and the whitespace str.strip() removes inside a line.
_LINE_BREAKS = "\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_LINE_SPACE = "[\t\x1f \xa0\u1680\u2000-\u200a\u202f\u205f\u3000]"
# Arrow's regex count restarts the match at the end of the previous one (where ``^`` would match
# again), so each pattern consumes its whole line and anchors on the newline instead.
_BULLET_LINE = f"(?:^|\n){_LINE_SPACE}*[•-][^\n]*"
_ELLIPSIS_LINE = f"(?:\\.\\.\\.|…){_LINE_SPACE}*(?:\n|$)"

SIGNALS = (
    "STRUCT(n_words INTEGER, n_non_symbol_words INTEGER, avg_word_length DOUBLE, "
    "hash_word_ratio DOUBLE, ellipsis_word_ratio DOUBLE, bullet_lines_ratio DOUBLE, "
    "end_ellipsis_lines_ratio DOUBLE, alpha_words_ratio DOUBLE, n_stop_words INTEGER)"
)


def _signals(text: pa.Array, stop_words) -> dict[str, np.ndarray]:
    text = c.as_text(text)
    w = words(text)
    n_words = w.counts()
    flags = w.flags[w.ids]
    non_symbol = (flags & NON_SYMBOL) != 0
    n_non_symbol = seg_sum(non_symbol.astype(np.int64), w.doc_offsets)
    len_non_symbol = seg_sum(np.where(non_symbol, w.length[w.ids], 0), w.doc_offsets)
    n_alpha = seg_sum(((flags & HAS_ALPHA) != 0).astype(np.int64), w.doc_offsets)
    stop_ids = sorted({w.token_id[s] for s in stop_words if s in w.token_id})
    n_stop = np.zeros(len(text), dtype=np.int64)
    if stop_ids:
        pos = np.flatnonzero(np.isin(w.ids, stop_ids))
        if len(pos):
            key = w.doc_of(pos) * (max(stop_ids) + 1) + w.ids[pos]
            n_stop = np.bincount(np.unique(key) // (max(stop_ids) + 1), minlength=len(text))
    hashes = c.np_int(pc.count_substring(text, "#"))
    ellipses = c.np_int(pc.count_substring(text, "...")) + c.np_int(pc.count_substring(text, "…"))
    norm = pc.replace_substring_regex(text, _LINE_BREAKS, "\n")
    n_lines = c.np_int(pc.count_substring(norm, "\n")) + c.np_int(
        pc.and_(pc.greater(pc.binary_length(norm), 0), pc.invert(pc.ends_with(norm, "\n")))
    )
    bullets = c.np_int(pc.count_substring_regex(norm, _BULLET_LINE))
    end_ellipsis = c.np_int(pc.count_substring_regex(norm, _ELLIPSIS_LINE))
    return {
        "n_words": n_words,
        "n_non_symbol_words": n_non_symbol,
        "avg_word_length": c.ratio(len_non_symbol, n_non_symbol),
        "hash_word_ratio": c.ratio(hashes, n_words),
        "ellipsis_word_ratio": c.ratio(ellipses, n_words),
        "bullet_lines_ratio": c.ratio(bullets, n_lines),
        "end_ellipsis_lines_ratio": c.ratio(end_ellipsis, n_lines),
        "alpha_words_ratio": c.ratio(n_alpha, n_words),
        "n_stop_words": n_stop,
    }


def _rules(s, *, min_doc_words, max_doc_words, min_avg_word_length, max_avg_word_length,
           max_symbol_word_ratio, max_bullet_lines_ratio, max_ellipsis_lines_ratio,
           max_non_alpha_words_ratio, min_stop_words):
    n = s["n_non_symbol_words"]
    return [
        ("gopher_short_doc", c.lt(n, min_doc_words)),
        ("gopher_long_doc", c.gt(n, max_doc_words)),
        ("gopher_below_avg_threshold", c.lt(s["avg_word_length"], min_avg_word_length)),
        ("gopher_above_avg_threshold", c.gt(s["avg_word_length"], max_avg_word_length)),
        ("gopher_too_many_hashes", c.gt(s["hash_word_ratio"], max_symbol_word_ratio)),
        ("gopher_too_many_ellipsis", c.gt(s["ellipsis_word_ratio"], max_symbol_word_ratio)),
        ("gopher_too_many_bullets", c.gt(s["bullet_lines_ratio"], max_bullet_lines_ratio)),
        ("gopher_too_many_end_ellipsis",
         c.gt(s["end_ellipsis_lines_ratio"], max_ellipsis_lines_ratio)),
        ("gopher_below_alpha_threshold",
         c.lt(s["alpha_words_ratio"], max_non_alpha_words_ratio)),
        ("gopher_enough_stop_words", c.lt(s["n_stop_words"], min_stop_words)),
    ]


def _evaluate(text, kw):
    c.check_flavor(kw.pop("flavor"))
    s = _signals(text, kw.pop("stop_words"))
    return s, _rules(s, **kw)


def _kw(**kw):
    return kw


def gopher_quality(
    text: pa.Array, *, min_doc_words: int = 50, max_doc_words: int = 100000,
    min_avg_word_length: float = 3.0, max_avg_word_length: float = 10.0,
    max_symbol_word_ratio: float = 0.1, max_bullet_lines_ratio: float = 0.9,
    max_ellipsis_lines_ratio: float = 0.3, max_non_alpha_words_ratio: float = 0.8,
    min_stop_words: int = 2, stop_words=STOP_WORDS, flavor: str = "datatrove",
) -> pa.Array:
    """Gopher quality signals (datatrove 0.10.1 GopherQualityFilter), one STRUCT per document.

    Fields: n_words (all words), n_non_symbol_words, avg_word_length (mean length of the
    non-symbol words), hash_word_ratio, ellipsis_word_ratio, bullet_lines_ratio,
    end_ellipsis_lines_ratio, alpha_words_ratio, n_stop_words (distinct stop words present).
    Ratios with a zero denominator are NULL. The thresholds are accepted for a uniform
    signature and do not change the signals. Definitions and source: see
    :mod:`corpusql.udfs.quality.gopher`. NULL text is read as ''.
    """
    s, _ = _evaluate(text, _kw(
        min_doc_words=min_doc_words, max_doc_words=max_doc_words,
        min_avg_word_length=min_avg_word_length, max_avg_word_length=max_avg_word_length,
        max_symbol_word_ratio=max_symbol_word_ratio, max_bullet_lines_ratio=max_bullet_lines_ratio,
        max_ellipsis_lines_ratio=max_ellipsis_lines_ratio,
        max_non_alpha_words_ratio=max_non_alpha_words_ratio, min_stop_words=min_stop_words,
        stop_words=stop_words, flavor=flavor))
    fields = {}
    for name, v in s.items():
        fields[name] = (pa.array(v, type=pa.int32()) if v.dtype.kind == "i" else c.double(v))
    return pa.StructArray.from_arrays(list(fields.values()), names=list(fields))


def gopher_quality_pass(
    text: pa.Array, *, min_doc_words: int = 50, max_doc_words: int = 100000,
    min_avg_word_length: float = 3.0, max_avg_word_length: float = 10.0,
    max_symbol_word_ratio: float = 0.1, max_bullet_lines_ratio: float = 0.9,
    max_ellipsis_lines_ratio: float = 0.3, max_non_alpha_words_ratio: float = 0.8,
    min_stop_words: int = 2, stop_words=STOP_WORDS, flavor: str = "datatrove",
) -> pa.Array:
    """True when a document passes every Gopher quality rule (datatrove 0.10.1 defaults).

    The rules, thresholds and reason codes are those of datatrove's GopherQualityFilter; see
    :mod:`corpusql.udfs.quality.gopher`. A threshold of 0 disables its rule. NULL text is read
    as '' and fails (too short).
    """
    _, rules = _evaluate(text, _kw(
        min_doc_words=min_doc_words, max_doc_words=max_doc_words,
        min_avg_word_length=min_avg_word_length, max_avg_word_length=max_avg_word_length,
        max_symbol_word_ratio=max_symbol_word_ratio, max_bullet_lines_ratio=max_bullet_lines_ratio,
        max_ellipsis_lines_ratio=max_ellipsis_lines_ratio,
        max_non_alpha_words_ratio=max_non_alpha_words_ratio, min_stop_words=min_stop_words,
        stop_words=stop_words, flavor=flavor))
    return c.passed(rules, len(text))


def gopher_quality_reasons(
    text: pa.Array, *, min_doc_words: int = 50, max_doc_words: int = 100000,
    min_avg_word_length: float = 3.0, max_avg_word_length: float = 10.0,
    max_symbol_word_ratio: float = 0.1, max_bullet_lines_ratio: float = 0.9,
    max_ellipsis_lines_ratio: float = 0.3, max_non_alpha_words_ratio: float = 0.8,
    min_stop_words: int = 2, stop_words=STOP_WORDS, flavor: str = "datatrove",
) -> pa.Array:
    """The Gopher quality rules a document fails, as datatrove's reason codes, in its order.

    Empty list: the document passes. The first element is the reason datatrove 0.10.1's
    GopherQualityFilter gives (it stops at the first failure), e.g. 'gopher_short_doc',
    'gopher_below_alpha_threshold'. See :mod:`corpusql.udfs.quality.gopher`.
    """
    _, rules = _evaluate(text, _kw(
        min_doc_words=min_doc_words, max_doc_words=max_doc_words,
        min_avg_word_length=min_avg_word_length, max_avg_word_length=max_avg_word_length,
        max_symbol_word_ratio=max_symbol_word_ratio, max_bullet_lines_ratio=max_bullet_lines_ratio,
        max_ellipsis_lines_ratio=max_ellipsis_lines_ratio,
        max_non_alpha_words_ratio=max_non_alpha_words_ratio, min_stop_words=min_stop_words,
        stop_words=stop_words, flavor=flavor))
    return c.reason_lists(rules, len(text))
