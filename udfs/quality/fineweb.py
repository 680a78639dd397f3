"""FineWeb quality rules (Penedo et al. 2024, "The FineWeb Datasets", section 3.5).

As datatrove 0.10.1 implements them (``FineWebQualityFilter``, default parameters). Lines are the
pieces of ``text.split("\\n")`` that are not blank after stripping (they are not stripped
themselves). Rules, in datatrove's order, with its reason codes:

- ``empty``: no non-blank line;
- ``line_punct_ratio``: lines ending in a terminal punctuation character (datatrove's
  TERMINAL_PUNCTUATION, about 160 characters from many scripts; a trailing space counts as not
  ending in one) / lines < line_punct_thr (0.12), unless the ratio is 0 and
  line_punct_exclude_zero;
- ``short_line_ratio``: lines of at most short_line_length (30) characters / lines >
  short_line_thr (0.67);
- ``char_dup_ratio``: characters in lines equal to an earlier line / characters of the text
  without its newlines > char_duplicates_ratio (0.01);
- ``list_ratio``: newline characters / words > new_line_ratio (0.3); words are datatrove's English
  words (:mod:`.words`).

``fineweb_quality_reasons`` lists every failing rule in that order (the first is datatrove's
reason; after ``empty`` nothing else is evaluated). Ratios with a zero denominator are NULL and
fail no rule. NULL text is read as ''. The ``stop_chars`` override of datatrove is not exposed.

Other flavors (not implemented; ``flavor`` accepts only ``'datatrove'``): FineWeb-2 adapts these
thresholds per language; NeMo Curator and Dolma have no FineWeb rule set of their own;
RedPajama-v2's ``rps_lines_ending_with_terminal_punctution_mark`` is a per-line signal.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _common as c
from .words import TERMINAL_PUNCTUATION, duplicate_stats, list_offsets, seg_sum, word_counts

SIGNALS = (
    "STRUCT(n_lines INTEGER, line_punct_ratio DOUBLE, short_line_ratio DOUBLE, "
    "char_dup_ratio DOUBLE, n_words INTEGER, list_ratio DOUBLE)"
)
_TERMINAL = pa.array(sorted(TERMINAL_PUNCTUATION), type=pa.string())


def _signals(text: pa.Array, short_line_length: int) -> dict[str, np.ndarray]:
    text = c.as_text(text)
    pieces = pc.split_pattern(text, "\n")
    offsets = list_offsets(pieces)
    flat = pc.list_flatten(pieces)
    keep = pc.not_equal(pc.utf8_trim_whitespace(flat), "")
    keep_np = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    n_lines = seg_sum(keep_np.astype(np.int64), offsets)
    lines_flat = pc.filter(flat, keep)
    line_offsets = np.zeros(len(n_lines) + 1, dtype=np.int64)
    np.cumsum(n_lines, out=line_offsets[1:])
    last = pc.utf8_slice_codeunits(lines_flat, -1)
    ends = np.asarray(pc.is_in(last, value_set=_TERMINAL).to_numpy(zero_copy_only=False), bool)
    length = c.np_int(pc.utf8_length(lines_flat))
    short = length <= short_line_length
    lines = pa.ListArray.from_arrays(pa.array(line_offsets.astype(np.int32)), lines_flat)
    _, _, dup_chars = duplicate_stats(lines)
    newlines = c.np_int(pc.count_substring(text, "\n"))
    n_chars = c.np_int(pc.utf8_length(text))
    n_words = word_counts(text)
    return {
        "n_lines": n_lines,
        "line_punct_ratio": c.ratio(seg_sum(ends.astype(np.int64), line_offsets), n_lines),
        "short_line_ratio": c.ratio(seg_sum(short.astype(np.int64), line_offsets), n_lines),
        "char_dup_ratio": c.ratio(dup_chars, n_chars - newlines),
        "n_words": n_words,
        "list_ratio": c.ratio(newlines, n_words),
    }


def _rules(s, *, line_punct_thr, line_punct_exclude_zero, short_line_thr, char_duplicates_ratio,
           new_line_ratio):
    empty = s["n_lines"] == 0
    live = ~empty
    punct = s["line_punct_ratio"]
    with np.errstate(invalid="ignore"):
        punct_fail = punct < line_punct_thr
        if line_punct_exclude_zero:
            punct_fail &= ~(punct == 0)
        return [
            ("empty", empty),
            ("line_punct_ratio", live & punct_fail),
            ("short_line_ratio", live & (s["short_line_ratio"] > short_line_thr)),
            ("char_dup_ratio", live & (s["char_dup_ratio"] > char_duplicates_ratio)),
            ("list_ratio", live & (s["list_ratio"] > new_line_ratio)),
        ]


def _evaluate(text, kw):
    c.check_flavor(kw.pop("flavor"))
    s = _signals(text, kw.pop("short_line_length"))
    return s, _rules(s, **kw)


def _kw(**kw):
    return kw


def fineweb_quality(
    text: pa.Array, *, line_punct_thr: float = 0.12, line_punct_exclude_zero: bool = False,
    short_line_thr: float = 0.67, short_line_length: int = 30, char_duplicates_ratio: float = 0.01,
    new_line_ratio: float = 0.3, flavor: str = "datatrove",
) -> pa.Array:
    """FineWeb quality signals (datatrove 0.10.1 FineWebQualityFilter), a STRUCT per document.

    Fields: n_lines (non-blank lines), line_punct_ratio, short_line_ratio (lines of at most
    short_line_length characters), char_dup_ratio, n_words, list_ratio (newlines / words).
    Ratios with a zero denominator are NULL. Definitions and source: see
    :mod:`corpusql.udfs.quality.fineweb`. NULL text is read as ''.
    """
    s, _ = _evaluate(text, _kw(
        line_punct_thr=line_punct_thr, line_punct_exclude_zero=line_punct_exclude_zero,
        short_line_thr=short_line_thr, short_line_length=short_line_length,
        char_duplicates_ratio=char_duplicates_ratio, new_line_ratio=new_line_ratio,
        flavor=flavor))
    names = list(s)
    arrays = [pa.array(s[k], type=pa.int32()) if k in ("n_lines", "n_words") else c.double(s[k])
              for k in names]
    return pa.StructArray.from_arrays(arrays, names=names)


def fineweb_quality_pass(
    text: pa.Array, *, line_punct_thr: float = 0.12, line_punct_exclude_zero: bool = False,
    short_line_thr: float = 0.67, short_line_length: int = 30, char_duplicates_ratio: float = 0.01,
    new_line_ratio: float = 0.3, flavor: str = "datatrove",
) -> pa.Array:
    """True when a document passes every FineWeb quality rule (datatrove 0.10.1 defaults).

    See :mod:`corpusql.udfs.quality.fineweb` for the rules. NULL text is read as '' and fails
    ('empty').
    """
    _, rules = _evaluate(text, _kw(
        line_punct_thr=line_punct_thr, line_punct_exclude_zero=line_punct_exclude_zero,
        short_line_thr=short_line_thr, short_line_length=short_line_length,
        char_duplicates_ratio=char_duplicates_ratio, new_line_ratio=new_line_ratio,
        flavor=flavor))
    return c.passed(rules, len(text))


def fineweb_quality_reasons(
    text: pa.Array, *, line_punct_thr: float = 0.12, line_punct_exclude_zero: bool = False,
    short_line_thr: float = 0.67, short_line_length: int = 30, char_duplicates_ratio: float = 0.01,
    new_line_ratio: float = 0.3, flavor: str = "datatrove",
) -> pa.Array:
    """The FineWeb quality rules a document fails, as datatrove's reason codes, in its order.

    Empty list: the document passes. Codes: 'empty', 'line_punct_ratio', 'short_line_ratio',
    'char_dup_ratio', 'list_ratio'; the first is datatrove 0.10.1's reason. See
    :mod:`corpusql.udfs.quality.fineweb`.
    """
    _, rules = _evaluate(text, _kw(
        line_punct_thr=line_punct_thr, line_punct_exclude_zero=line_punct_exclude_zero,
        short_line_thr=short_line_thr, short_line_length=short_line_length,
        char_duplicates_ratio=char_duplicates_ratio, new_line_ratio=new_line_ratio,
        flavor=flavor))
    return c.reason_lists(rules, len(text))
