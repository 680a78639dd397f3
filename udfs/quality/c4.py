"""C4 quality rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", section 2.2).

As datatrove 0.10.1 implements them (``C4QualityFilter``, default parameters, lines as
paragraphs). The document is cut into ``str.splitlines()`` lines; each line is stripped, then
checked in this order:

1. a word (``line.split()``) longer than max_word_length (1000) characters: drop the line;
2. wikipedia citations (``[12]``, ``[]``, ``[edit]``, ``[citation needed]``) are removed
   (remove_citations), without stripping again;
3. no terminal punctuation (the line must end in ``.``, ``?``, ``!``, ``"`` or ``'`` and not in
   ``...``): drop the line (filter_no_terminal_punct);
4. fewer than min_words_per_line (3) words (counted before citation removal): drop the line;
5. ``lorem ipsum`` (case-insensitive): reject the document, reason ``lorem_ipsum``;
6. ``javascript`` (case-insensitive): drop the line;
7. a ``{``: reject the document, reason ``curly_bracket``;
8. ``terms of use``, ``privacy policy``, ``cookie policy``, ``uses cookies``, ``use of cookies``
   or ``use cookies`` (case-insensitive): drop the line;
9. otherwise the line is kept and its sentences counted with spaCy's sentencizer over
   datatrove's English words (:mod:`.words`): a new sentence starts at a word that follows one of
   the sentencizer's punctuation characters (only punctuation in between).

A document whose kept lines hold fewer than min_num_sentences (5) sentences is rejected,
reason ``too_few_sentences``. A kept document's text becomes its kept lines joined by ``\\n``,
stripped. The list of bad words of the paper is a separate filter in datatrove (not here).

``c4_quality_reasons`` lists every failing document rule: the document rejections
(``lorem_ipsum``, ``curly_bracket``, ordered by the line where they occur first, so the first
element is datatrove's reason) then ``too_few_sentences``. -1 disables min_num_sentences,
min_words_per_line and max_word_length, as in datatrove. NULL text is read as ''. Known
difference: spaCy also makes a token of whitespace other than one space, which can start a
sentence after a period; that token is not reproduced (no effect unless the whitespace is
followed by punctuation only).

Other flavors (not implemented; ``flavor`` accepts only ``'datatrove'``): the original
TensorFlow Datasets code (``c4_utils``) counts sentences with its own sentence splitter rather
than spaCy's sentencizer, and its pipeline also drops pages with bad words and deduplicates
three-sentence spans across the corpus; Dolma's C4 taggers mark the lines to drop as attribute
spans that its mixer applies later; RedPajama-v2 publishes ``rps_doc_curly_bracket``,
``rps_doc_lorem_ipsum`` and ``rps_lines_javascript_counts`` as signals without rewriting.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _common as c
from .words import IS_PUNCT, SENT_END, list_offsets, seg_sum, words

_LINE_BREAKS = "\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_CITATION = r"\[\p{Nd}*\]|\[edit\]|\[citation needed\]"
_END = pa.array([".", "?", "!", '"', "'"])
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies",
                     "use of cookies", "use cookies")
SIGNALS = (
    "STRUCT(text VARCHAR, n_lines INTEGER, n_kept_lines INTEGER, n_sentences INTEGER, "
    "lorem_ipsum_line INTEGER, curly_bracket_line INTEGER)"
)


def _mask(arr) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)


def _first_line(mask: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """1-based index within its document of the first line where mask is true, else 0."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.int64)
    hit = np.flatnonzero(mask)
    if len(hit):
        doc = np.searchsorted(offsets, hit, side="right") - 1
        first = np.r_[True, doc[1:] != doc[:-1]]
        out[doc[first]] = hit[first] - offsets[doc[first]] + 1
    return out


def _sentences(lines: pa.Array) -> np.ndarray:
    """Sentences per line, as spaCy's sentencizer counts them on datatrove's English words."""
    w = words(lines)
    flags = w.flags[w.ids]
    end = (flags & SENT_END) != 0
    word = ((flags & IS_PUNCT) == 0) & ~end
    sel = np.flatnonzero(end | word)  # punctuation that ends nothing is transparent
    line = w.doc_of(sel)
    is_word = word[sel]
    start = np.zeros(len(sel), dtype=bool)
    if len(sel) > 1:
        start[1:] = is_word[1:] & ~is_word[:-1] & (line[1:] == line[:-1])
    n = np.bincount(line[start], minlength=len(lines)) if len(sel) else np.zeros(len(lines))
    return (np.asarray(n, dtype=np.int64) + (w.counts() > 0)).astype(np.int64)


def _analyse(text: pa.Array, kw: dict):
    c.check_flavor(kw["flavor"])
    text = c.as_text(text)
    n_docs = len(text)
    pieces = pc.split_pattern(pc.replace_substring_regex(text, _LINE_BREAKS, "\n"), "\n")
    offsets = list_offsets(pieces)
    line = pc.utf8_trim_whitespace(pc.list_flatten(pieces))
    line_words = pc.utf8_split_whitespace(line)
    # Arrow gives [''] for an empty line; str.split() gives [].
    n_words = c.np_int(pc.list_value_length(line_words)) - _mask(pc.equal(line, ""))
    drop = np.zeros(len(line), dtype=bool)
    if kw["max_word_length"] != -1:
        word_off = list_offsets(line_words)
        too_long = c.np_int(pc.utf8_length(pc.list_flatten(line_words))) > kw["max_word_length"]
        drop |= seg_sum(too_long.astype(np.int64), word_off) > 0
    if kw["remove_citations"]:
        line = pc.replace_substring_regex(line, _CITATION, "")
    if kw["filter_no_terminal_punct"]:
        last = pc.utf8_slice_codeunits(line, -1)
        drop |= ~_mask(pc.is_in(last, value_set=_END)) | _mask(pc.ends_with(line, "..."))
    drop |= n_words < kw["min_words_per_line"]
    lower = pc.utf8_lower(line)
    reached = ~drop
    lorem = reached & _mask(pc.match_substring(lower, "lorem ipsum")) if kw[
        "filter_lorem_ipsum"] else np.zeros(len(line), dtype=bool)
    go_on = reached & ~lorem
    if kw["filter_javascript"]:
        go_on &= ~_mask(pc.match_substring(lower, "javascript"))
    curly = go_on & _mask(pc.match_substring(line, "{")) if kw[
        "filter_curly_bracket"] else np.zeros(len(line), dtype=bool)
    kept = go_on & ~curly
    if kw["filter_policy"]:
        kept &= ~_mask(pc.match_substring_regex(lower, "|".join(POLICY_SUBSTRINGS)))
    kept_lines = pc.filter(line, pa.array(kept))
    n_kept = seg_sum(kept.astype(np.int64), offsets)
    kept_off = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(n_kept, out=kept_off[1:])
    sentences = np.zeros(n_docs, dtype=np.int64)
    if kw["min_num_sentences"] != -1 and len(kept_lines):
        sentences = seg_sum(_sentences(kept_lines), kept_off)
    lists = pa.ListArray.from_arrays(pa.array(kept_off.astype(np.int32)), kept_lines)
    new_text = pc.utf8_trim_whitespace(pc.binary_join(lists, "\n"))
    return {
        "text": new_text,
        "n_lines": np.diff(offsets),
        "n_kept_lines": n_kept,
        "n_sentences": sentences,
        "lorem_ipsum_line": _first_line(lorem, offsets),
        "curly_bracket_line": _first_line(curly, offsets),
    }


def _rules(s: dict, min_num_sentences: int):
    lorem, curly = s["lorem_ipsum_line"], s["curly_bracket_line"]
    lorem_first = (lorem > 0) & ((curly == 0) | (lorem < curly))
    curly_first = (curly > 0) & ~lorem_first
    return [
        ("lorem_ipsum", lorem_first),
        ("curly_bracket", curly > 0),
        ("lorem_ipsum", (lorem > 0) & ~lorem_first),
        ("too_few_sentences", s["n_sentences"] < min_num_sentences),
    ], curly_first


def _kw(**kw):
    return kw


def _evaluate(text, kw):
    s = _analyse(text, kw)
    rules, _ = _rules(s, kw["min_num_sentences"])
    return s, rules


_DOC = """
    Parameters (datatrove's names and defaults): remove_citations (true),
    filter_no_terminal_punct (true), min_num_sentences (5), min_words_per_line (3),
    max_word_length (1000), filter_lorem_ipsum, filter_javascript, filter_curly_bracket,
    filter_policy (all true). Rules and source: see :mod:`corpusql.udfs.quality.c4`.
"""


def c4_quality(
    text: pa.Array, *, remove_citations: bool = True, filter_no_terminal_punct: bool = True,
    min_num_sentences: int = 5, min_words_per_line: int = 3, max_word_length: int = 1000,
    filter_lorem_ipsum: bool = True, filter_javascript: bool = True,
    filter_curly_bracket: bool = True, filter_policy: bool = True, flavor: str = "datatrove",
) -> pa.Array:
    """C4 quality signals and the rewritten text (datatrove 0.10.1 C4QualityFilter).

    Fields: text (the kept lines joined by newlines and stripped: what datatrove emits when the
    document passes), n_lines, n_kept_lines, n_sentences (in kept lines), lorem_ipsum_line and
    curly_bracket_line (1-based line that rejects the document, 0 if none). NULL text is read
    as ''. See :mod:`corpusql.udfs.quality.c4`.
    """
    s = _analyse(text, _kw(
        remove_citations=remove_citations, filter_no_terminal_punct=filter_no_terminal_punct,
        min_num_sentences=min_num_sentences, min_words_per_line=min_words_per_line,
        max_word_length=max_word_length, filter_lorem_ipsum=filter_lorem_ipsum,
        filter_javascript=filter_javascript, filter_curly_bracket=filter_curly_bracket,
        filter_policy=filter_policy, flavor=flavor))
    arrays = [s["text"]] + [pa.array(s[k], type=pa.int32()) for k in list(s)[1:]]
    return pa.StructArray.from_arrays(arrays, names=list(s))


def c4_quality_pass(
    text: pa.Array, *, remove_citations: bool = True, filter_no_terminal_punct: bool = True,
    min_num_sentences: int = 5, min_words_per_line: int = 3, max_word_length: int = 1000,
    filter_lorem_ipsum: bool = True, filter_javascript: bool = True,
    filter_curly_bracket: bool = True, filter_policy: bool = True, flavor: str = "datatrove",
) -> pa.Array:
    """True when a document passes the C4 quality rules (datatrove 0.10.1 C4QualityFilter).

    A passing document's text should be replaced by c4_quality(text).text (line removal).
    NULL text is read as '' and fails ('too_few_sentences'). See
    :mod:`corpusql.udfs.quality.c4`.
    """
    _, rules = _evaluate(text, _kw(
        remove_citations=remove_citations, filter_no_terminal_punct=filter_no_terminal_punct,
        min_num_sentences=min_num_sentences, min_words_per_line=min_words_per_line,
        max_word_length=max_word_length, filter_lorem_ipsum=filter_lorem_ipsum,
        filter_javascript=filter_javascript, filter_curly_bracket=filter_curly_bracket,
        filter_policy=filter_policy, flavor=flavor))
    return c.passed(rules, len(text))


def c4_quality_reasons(
    text: pa.Array, *, remove_citations: bool = True, filter_no_terminal_punct: bool = True,
    min_num_sentences: int = 5, min_words_per_line: int = 3, max_word_length: int = 1000,
    filter_lorem_ipsum: bool = True, filter_javascript: bool = True,
    filter_curly_bracket: bool = True, filter_policy: bool = True, flavor: str = "datatrove",
) -> pa.Array:
    """The C4 quality rules a document fails, as datatrove's reason codes.

    Empty list: the document passes. Codes: 'lorem_ipsum', 'curly_bracket' (in the order of the
    lines where they first occur), then 'too_few_sentences'; the first is datatrove 0.10.1's
    reason. See :mod:`corpusql.udfs.quality.c4`.
    """
    _, rules = _evaluate(text, _kw(
        remove_citations=remove_citations, filter_no_terminal_punct=filter_no_terminal_punct,
        min_num_sentences=min_num_sentences, min_words_per_line=min_words_per_line,
        max_word_length=max_word_length, filter_lorem_ipsum=filter_lorem_ipsum,
        filter_javascript=filter_javascript, filter_curly_bracket=filter_curly_bracket,
        filter_policy=filter_policy, flavor=flavor))
    return c.reason_lists(rules, len(text))
