"""Word n-grams of normalized text, for benchmark decontamination by exact n-gram overlap."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .text import text_normalize


def _ngram_lists(text: pa.Array, n: int) -> list[list[str] | None]:
    """Distinct word n-grams of each text, in order of first occurrence (None for NULL)."""
    out: list[list[str] | None] = []
    for value in text_normalize(text).to_pylist():
        if value is None:
            out.append(None)
            continue
        words = value.split(" ") if value else []
        grams = dict.fromkeys(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
        out.append(list(grams))
    return out


def _list_array(lists: list, values: pa.Array) -> pa.Array:
    lengths = np.array([0 if x is None else len(x) for x in lists], dtype=np.int64)
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    mask = pa.array([x is None for x in lists]) if any(x is None for x in lists) else None
    return pa.LargeListArray.from_arrays(pa.array(offsets), values, mask=mask).cast(
        pa.list_(values.type)
    )


def word_ngram_set(text: pa.Array, *, n: int = 13) -> pa.Array:
    """The distinct word n-grams of the normalized text, in order of first occurrence.

    The text goes through ``text_normalize`` with its defaults (NFKC, lowercase, punctuation and
    symbols to spaces, whitespace collapsed); words are the space-separated pieces, and an n-gram
    is n consecutive words joined by one space. A text of fewer than n words has none (empty
    list). NULL gives NULL. The unit of the 13-gram overlap test of GPT-3 (Brown et al. 2020,
    appendix C) and later decontamination reports.
    """
    lists = _ngram_lists(text, n)
    values = pa.array([g for x in lists if x for g in x], pa.string())
    return _list_array(lists, values)


def word_ngram_hashes(text: pa.Array, *, n: int = 13) -> pa.Array:
    """64-bit hashes of the distinct word n-grams of the normalized text (see word_ngram_set).

    Each n-gram of ``word_ngram_set`` (same order) is hashed as the first 8 bytes, read
    little-endian as an unsigned integer, of unkeyed BLAKE2b-64 (RFC 7693) over its UTF-8 bytes.
    Two different n-grams share a hash with probability about 2^-64 per pair. NULL gives NULL.
    """
    lists = _ngram_lists(text, n)
    blake2b = hashlib.blake2b
    digests = b"".join(
        blake2b(g.encode("utf-8"), digest_size=8).digest() for x in lists if x for g in x
    )
    values = pa.array(np.frombuffer(digests, dtype="<u8"), pa.uint64())
    return _list_array(lists, values)


# --- removal of contaminated spans -------------------------------------------------------------

_RE2_SPACE = "\t\n\f\r "  # what text_normalize's \s+ collapses (RE2's \s is ASCII-only)
_WORD = re.compile(f"[^{re.escape(_RE2_SPACE)}]+")


def _is_starter(c: str) -> bool:
    """True when NFKC of a text can be cut right before ``c`` (nothing composes across it)."""
    d = unicodedata.normalize("NFKD", c)[0]
    cp = ord(d)
    return (unicodedata.combining(d) == 0 and unicodedata.category(d)[0] != "M"
            and unicodedata.category(c)[0] != "M"
            and not (0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF))  # Hangul V/T jamo


def _word_spans(value: str, stable: bool) -> list[tuple[str, int, int]]:
    """The words of ``text_normalize(value)`` with the original code-point span of each.

    ``stable`` says NFKC leaves ``value`` unchanged: then lowercasing and punctuation-to-space
    map code point to code point and offsets are the original ones. Otherwise the text is cut
    before each starter (a code point NFKC never composes with what precedes it), each piece is
    normalized alone, and every normalized code point points back to its piece.
    """
    if stable:
        norm = text_normalize(pa.array([value]), nfkc=False, collapse_ws=False)[0].as_py()
        starts = ends = None
    else:
        cuts = [0] + [i for i in range(1, len(value)) if _is_starter(value[i])] + [len(value)]
        pieces = text_normalize(pa.array([value[a:b] for a, b in zip(cuts, cuts[1:])]),
                                collapse_ws=False).to_pylist()
        norm = "".join(pieces)
        starts, ends = [], []
        for a, b, piece in zip(cuts, cuts[1:], pieces):
            starts += [a] * len(piece)
            ends += [b] * len(piece)
    words = [[m.start(), m.end()] for m in _WORD.finditer(norm)]
    # text_normalize trims Unicode whitespace (not only RE2's \s) off both ends
    while words and norm[words[0][0]].isspace():
        words[0][0] += 1
        if words[0][0] == words[0][1]:
            words.pop(0)
    while words and norm[words[-1][1] - 1].isspace():
        words[-1][1] -= 1
        if words[-1][0] == words[-1][1]:
            words.pop()
    if starts is None:
        return [(norm[a:b], a, b) for a, b in words]
    return [(norm[a:b], starts[a], ends[b - 1]) for a, b in words]


def _remove_one(value, grams, stable, n, window_chars, min_fragment, max_splits):
    if not grams:
        return value, 0, int(bool(value)), False
    wanted = set()
    for g in grams:
        if g is None:
            continue
        words = tuple(g.split(" "))
        if len(words) != n:
            raise ValueError(f"remove_spans: n-gram {g!r} has {len(words)} words, expected n = "
                             f"{n} (pass the n that found it)")
        wanted.add(words)
    if not wanted:
        return value, 0, int(bool(value)), False
    firsts = {w[0] for w in wanted}
    spans = _word_spans(value, stable)
    words = [w for w, _, _ in spans]
    cuts: list[list[int]] = []
    for i in range(len(words) - n + 1):
        if words[i] in firsts and tuple(words[i:i + n]) in wanted:
            a = max(0, spans[i][1] - window_chars)
            b = min(len(value), spans[i + n - 1][2] + window_chars)
            if cuts and a <= cuts[-1][1]:
                cuts[-1][1] = max(cuts[-1][1], b)
            else:
                cuts.append([a, b])
    if not cuts:
        return value, 0, int(bool(value)), False
    if len(cuts) > max_splits:
        return None, len(cuts), 0, True
    edges = [0] + [x for c in cuts for x in c] + [len(value)]
    shortest = max(min_fragment, 1)
    kept = [value[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a >= shortest]
    if not kept:
        return None, len(cuts), 0, True
    return "\n\n".join(kept), len(cuts), len(kept), False


def remove_spans(text: pa.Array, ngrams: pa.Array, *, n: int = 13, window_chars: int = 200,
                 min_fragment: int = 200, max_splits: int = 10) -> pa.Array:
    """The text with every span matching a shared n-gram cut out, plus a window on each side.

    The GPT-3 procedure (Brown et al. 2020, appendix C): every occurrence in the text of an
    n-gram of ``ngrams`` (normalized word n-grams, as ``decontaminate`` returns them in
    ``shared_ngrams``) is removed together with ``window_chars`` characters on each side,
    splitting the document; fragments shorter than ``min_fragment`` characters (code points) are
    dropped, and the whole document is dropped when it is split more than ``max_splits`` times
    (GPT-3: 13-grams, 200, 200, 10, the defaults). Occurrences are found on the words of
    ``word_ngram_set`` (text_normalize's defaults, so case, punctuation, compatibility forms and
    spacing do not matter) and mapped back to the original characters, from the first
    character of the first word to the last character of the last word. Overlapping or touching
    windows merge into one removed span; each removed span is one split (EleutherAI's janitor
    counts every n-gram occurrence instead). Returns ``text``: the kept fragments, unstripped,
    joined by a blank line ("\\n\\n"), NULL when dropped; ``n_spans``: removed spans;
    ``n_fragments``: kept fragments; ``dropped``: split more than ``max_splits`` times or no
    fragment long enough. A NULL or empty ``ngrams`` list, or no occurrence, leaves the text
    unchanged (n_spans 0, n_fragments 1, or 0 for ''). Every n-gram must have exactly ``n``
    words. NULL text gives NULL.
    """
    values = text.to_pylist()
    stable = pc.fill_null(pc.equal(pc.utf8_normalize(text, form="NFKC"), text), True)
    stable = stable.to_pylist()
    out_text, out_spans, out_frags, out_dropped = [], [], [], []
    for value, grams, st in zip(values, ngrams.to_pylist(), stable):
        if value is None:
            t, s, f, d = None, None, None, None
        else:
            t, s, f, d = _remove_one(value, grams, st, n, window_chars, min_fragment,
                                      max_splits)
        out_text.append(t)
        out_spans.append(s)
        out_frags.append(f)
        out_dropped.append(d)
    return pa.StructArray.from_arrays(
        [pa.array(out_text, pa.string()), pa.array(out_spans, pa.int32()),
         pa.array(out_frags, pa.int32()), pa.array(out_dropped, pa.bool_())],
        names=["text", "n_spans", "n_fragments", "dropped"],
        mask=text.is_null() if text.null_count else None,
    )
