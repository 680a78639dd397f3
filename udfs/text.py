"""Text normalization and counting kernels (vectorized with pyarrow compute, RE2 regexes)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

#: Scripts written without spaces between words: each character counts as one word.
CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}"
#: A word: a run of characters that are neither space, punctuation, symbol, control nor CJK.
WORD_RE = rf"[{CJK_CLASS}]|[^\s\p{{P}}\p{{S}}\p{{Z}}\p{{C}}{CJK_CLASS}]+"
PUNCT_RE = r"[\p{P}\p{S}]"


def text_normalize(
    text: pa.Array,
    *,
    lower: bool = True,
    strip_punct: bool = True,
    nfkc: bool = True,
    collapse_ws: bool = True,
    digits: bool = False,
) -> pa.Array:
    """Normalize text for comparison: NFKC, lowercase, punctuation to space, whitespace collapsed.

    Steps, in order, each switchable: Unicode NFKC normalization (``nfkc``); full Unicode
    lowercasing (``lower``); every punctuation or symbol code point (Unicode categories P* and
    S*) replaced by a space (``strip_punct``); every decimal digit (category Nd) replaced by
    ``0`` (``digits``, off by default); runs of whitespace collapsed to one space and the ends
    trimmed (``collapse_ws``). NULL gives NULL. The same steps as the normalizers of datatrove
    and the C4/Gopher pipelines, minus accent stripping (use ``nfkc`` for width and compatibility
    forms).
    """
    out = text
    if nfkc:
        out = pc.utf8_normalize(out, form="NFKC")
    if lower:
        out = pc.utf8_lower(out)
    if strip_punct:
        out = pc.replace_substring_regex(out, PUNCT_RE, " ")
    if digits:
        out = pc.replace_substring_regex(out, r"\p{Nd}", "0")
    if collapse_ws:
        out = pc.utf8_trim_whitespace(pc.replace_substring_regex(out, r"\s+", " "))
    return out


def word_count(text: pa.Array) -> pa.Array:
    """Number of words: runs of letters, marks and digits; each CJK character is one word.

    A word is a maximal run of code points that are not whitespace, punctuation (P*), symbols
    (S*), separators (Z*) or controls (C*); Han ideographs, Hiragana and Katakana are counted one
    word per character, since those scripts do not separate words with spaces. NULL gives 0.
    """
    counts = pc.count_substring_regex(text, WORD_RE)
    return pc.fill_null(counts.cast(pa.int32()), 0)


def char_count(text: pa.Array) -> pa.Array:
    """Number of Unicode code points (not bytes, not grapheme clusters). NULL gives 0.

    A combining accent counts as its own code point, so "e" + U+0301 is 2; an emoji built with
    zero-width joiners counts each of its code points. Apply ``text_normalize(..., nfkc := true)``
    first to compose what Unicode can compose.
    """
    return pc.fill_null(pc.utf8_length(text).cast(pa.int64()), 0)
