"""Gopher repetition rules (Rae et al. 2021, "Scaling Language Models", table A1).

As datatrove 0.10.1 implements them (``GopherRepetitionFilter``, default parameters). All
fractions are divided by the document's length in characters (code points). Rules, in
datatrove's order, with its reason codes:

- ``empty``: the text is '' (NULL is read as '');
- ``dup_para_frac`` / ``dup_para_char_frac``: paragraphs are the pieces of the stripped text
  split at runs of two or more ``\\n``; a paragraph is a duplicate when an equal one occurs
  earlier (so the first copy never counts); duplicates / paragraphs > dup_para_frac (0.3), and
  characters in duplicate paragraphs / characters > dup_para_char_frac (0.2);
- ``dup_line_frac`` / ``dup_line_char_frac``: the same for lines, the pieces of the unstripped
  text split at runs of ``\\n`` (0.3 and 0.2);
- ``top_{n}_gram``: for n, frac in top_n_grams ((2, 0.2), (3, 0.18), (4, 0.16)): word n-grams
  (datatrove's English words, :mod:`.words`); the most frequent n-gram (ties: the one seen
  first) times its length as the words joined by single spaces, / characters > frac; a
  document with no n-gram skips the rule (signal 0);
- ``duplicated_{n}_n_grams``: for n, frac in dup_n_grams ((5, 0.15) ... (10, 0.10)): scan word
  positions left to right; an n-gram already seen counts its characters (words joined without
  spaces) and the scan jumps n words ahead without recording anything; otherwise it is recorded
  and the scan moves one word; counted characters / characters > frac.

``gopher_repetition_reasons`` lists every failing rule in that order (the first is datatrove's
reason). Known difference: n-grams are compared as sequences of words (through a 64-bit hash),
datatrove compares the words joined without separator in the duplicated-n-gram rule, so
``["ab", "c"]`` and ``["a", "bc"]`` count as equal there and not here.

Other flavors (not implemented; ``flavor`` accepts only ``'datatrove'``): Dolma's repetition
tagger works on whitespace words and reports spans; NeMo Curator splits the rules into separate
filters (RepeatedLinesFilter, RepeatingTopNGramsFilter, RepeatingDuplicateNGramsFilter) with its
own word splitting; RedPajama-v2 publishes ``rps_doc_frac_chars_top_{2,3,4}gram`` and
``rps_doc_frac_chars_dupe_{5..10}grams`` on normalized words, without thresholds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _common as c
from . import _scan_jit
from .words import duplicate_stats, words

TOP_N_GRAMS = ((2, 0.2), (3, 0.18), (4, 0.16))
DUP_N_GRAMS = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))

SIGNALS = (
    "STRUCT(n_chars BIGINT, dup_para_frac DOUBLE, dup_para_char_frac DOUBLE, "
    "dup_line_frac DOUBLE, dup_line_char_frac DOUBLE, "
    "top_2_gram DOUBLE, top_3_gram DOUBLE, top_4_gram DOUBLE, "
    "duplicated_5_n_grams DOUBLE, duplicated_6_n_grams DOUBLE, duplicated_7_n_grams DOUBLE, "
    "duplicated_8_n_grams DOUBLE, duplicated_9_n_grams DOUBLE, duplicated_10_n_grams DOUBLE)"
)
_MULT = np.uint64(0x9E3779B97F4A7C15)
_DOC_MULT = np.uint64(0xD6E8FEB86659FD93)


def _hash_steps(ids: np.ndarray, max_n: int):
    """Yield (n, hashes): hashes[i] identifies words i..i+n-1 (meaningful while inside the doc)."""
    base = ids.astype(np.uint64) + np.uint64(1)
    h = base
    for n in range(2, max_n + 1):
        nxt = np.zeros_like(h)
        if len(h) >= n:
            nxt[: len(h) - n + 1] = h[: len(h) - n + 1] * _MULT + base[n - 1:]
        h = nxt
        yield n, h


def _groups(keys: np.ndarray):
    """Sort-based grouping: (order, group start flags in sorted order). The order within a group
    is not used, so any sort would do; numpy's stable sort is ~10% faster on these hashes."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    new = np.ones(len(sk), dtype=bool)
    if len(sk):
        new[1:] = sk[1:] != sk[:-1]
    return order, new


class _Repeats:
    """The n-grams of a batch that occur at least twice in their document."""

    def __init__(self, pos: np.ndarray, keys: np.ndarray) -> None:
        if _scan_jit.use_compiled(len(pos)):
            mask, self.group_first, self.group_count = _scan_jit.repeated(pos, keys)
            self.pos, self.keys = pos[mask], keys[mask]
            return
        order, new = _groups(keys)
        starts = np.flatnonzero(new)
        counts = np.diff(np.append(starts, len(keys)))
        multi_group = counts >= 2
        in_multi = np.repeat(multi_group, counts)  # sorted order
        mask = np.zeros(len(keys), dtype=bool)
        mask[order[in_multi]] = True
        self.pos = pos[mask]  # ascending positions of repeated n-grams
        self.keys = keys[mask]
        first = np.minimum.reduceat(pos[order], starts) if len(starts) else starts
        self.group_first = first[multi_group]  # first position of each repeated n-gram
        self.group_count = counts[multi_group]


def _valid(pos: np.ndarray, n: int, doc_end: np.ndarray) -> np.ndarray:
    return pos + n <= doc_end[pos]


def _top_chars(rep: _Repeats, n: int, char_cum, doc_of_pos, first_valid, n_docs) -> np.ndarray:
    """Count x length (words joined by spaces) of each document's most frequent n-gram."""
    out = np.zeros(n_docs, dtype=np.int64)
    fv = first_valid >= 0
    q = first_valid[fv]
    out[fv] = char_cum[q + n] - char_cum[q] + n - 1  # all n-grams unique: the first one
    if len(rep.group_first):
        gdoc = doc_of_pos[rep.group_first]
        order = np.lexsort((rep.group_first, -rep.group_count, gdoc))
        take = order[np.r_[True, gdoc[order][1:] != gdoc[order][:-1]]]
        d, q, k = gdoc[take], rep.group_first[take], rep.group_count[take]
        out[d] = k * (char_cum[q + n] - char_cum[q] + n - 1)
    return out


def _dup_chars(rep: _Repeats, n: int, char_cum, doc_of_pos, n_docs) -> np.ndarray:
    """datatrove's left-to-right scan for repeated n-grams, over the repeated ones only.

    An n-gram that occurs once in its document can never be found already seen, so the scan
    only has to visit positions of n-grams that occur twice or more (keys carry the document,
    so one set serves the whole batch, and a jump never crosses into the next document).
    """
    if _scan_jit.use_compiled(len(rep.pos)):
        hits = _scan_jit.scan_hits(rep.pos, rep.keys, n)
    else:
        hits = _scan(rep.pos, rep.keys, n)
    if not len(hits):
        return np.zeros(n_docs, dtype=np.int64)
    h = np.asarray(hits, dtype=np.int64)
    return np.bincount(doc_of_pos[h], weights=char_cum[h + n] - char_cum[h],
                       minlength=n_docs).astype(np.int64)


def _scan(pos: np.ndarray, keys: np.ndarray, n: int) -> list[int]:
    """The scan in Python (:func:`._scan_jit.scan_hits` is the compiled one): positions where a
    key already seen starts a duplicate n-gram."""
    seen: set[int] = set()
    add = seen.add
    idx = 0
    hits = []
    for p, k in zip(pos.tolist(), keys.tolist()):
        if p < idx:
            continue
        if k in seen:
            hits.append(p)
            idx = p + n
        else:
            add(k)
    return hits


def _signals(text: pa.Array, top_n_grams, dup_n_grams) -> dict[str, np.ndarray]:
    text = c.as_text(text)
    n_docs = len(text)
    n_chars = c.np_int(pc.utf8_length(text))
    paras = pc.split_pattern_regex(pc.utf8_trim_whitespace(text), "\n{2,}")
    n_para, dup_para, dup_para_chars = duplicate_stats(paras)
    lines = pc.split_pattern_regex(text, "\n+")
    n_line, dup_line, dup_line_chars = duplicate_stats(lines)
    s = {
        "n_chars": n_chars,
        "dup_para_frac": c.ratio(dup_para, n_para),
        "dup_para_char_frac": c.ratio(dup_para_chars, n_chars),
        "dup_line_frac": c.ratio(dup_line, n_line),
        "dup_line_char_frac": c.ratio(dup_line_chars, n_chars),
    }
    w = words(text)
    char_cum = np.zeros(len(w.ids) + 1, dtype=np.int64)
    np.cumsum(w.length[w.ids], out=char_cum[1:])
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), w.counts())
    doc_end = np.repeat(w.doc_offsets[1:], w.counts())
    top = {int(n) for n, _ in top_n_grams} | {2, 3, 4}
    dup = {int(n) for n, _ in dup_n_grams} | {5, 6, 7, 8, 9, 10}
    # Candidates: an n-gram can repeat only where the (n-1)-gram starting there repeats.
    cand = np.arange(len(w.ids), dtype=np.int64)
    for n, h in _hash_steps(w.ids, max(top | dup)):
        cand = cand[_valid(cand, n, doc_end)]
        rep = _Repeats(cand, h[cand] + doc[cand].astype(np.uint64) * _DOC_MULT)
        if n in top:
            has = w.counts() >= n
            first_valid = np.where(has, w.doc_offsets[:-1], -1)
            s[f"top_{n}_gram"] = c.ratio(
                _top_chars(rep, n, char_cum, doc, first_valid, n_docs), n_chars)
        if n in dup:
            s[f"duplicated_{n}_n_grams"] = c.ratio(
                _dup_chars(rep, n, char_cum, doc, n_docs), n_chars)
        cand = rep.pos
    return s


def _rules(s, *, dup_line_frac, dup_para_frac, dup_line_char_frac, dup_para_char_frac,
           top_n_grams, dup_n_grams):
    empty = s["n_chars"] == 0
    rules = [
        ("empty", empty),
        ("dup_para_frac", c.gt(s["dup_para_frac"], dup_para_frac)),
        ("dup_para_char_frac", c.gt(s["dup_para_char_frac"], dup_para_char_frac)),
        ("dup_line_frac", c.gt(s["dup_line_frac"], dup_line_frac)),
        ("dup_line_char_frac", c.gt(s["dup_line_char_frac"], dup_line_char_frac)),
    ]
    for n, frac in top_n_grams:
        rules.append((f"top_{int(n)}_gram", c.gt(s[f"top_{int(n)}_gram"], frac)))
    for n, frac in dup_n_grams:
        rules.append((f"duplicated_{int(n)}_n_grams",
                      c.gt(s[f"duplicated_{int(n)}_n_grams"], frac)))
    return rules


def _evaluate(text, kw):
    c.check_flavor(kw.pop("flavor"))
    for name in ("top_n_grams", "dup_n_grams"):
        for pair in kw[name]:
            if len(pair) != 2 or not 2 <= int(pair[0]) <= 50:
                raise ValueError(f"{name}: each entry must be [n, fraction] with 2 <= n <= 50, "
                                 f"got {list(pair)!r}")
    s = _signals(text, kw["top_n_grams"], kw["dup_n_grams"])
    return s, _rules(s, **kw)


def _kw(**kw):
    return kw


def gopher_repetition(
    text: pa.Array, *, dup_line_frac: float = 0.3, dup_para_frac: float = 0.3,
    dup_line_char_frac: float = 0.2, dup_para_char_frac: float = 0.2,
    top_n_grams=TOP_N_GRAMS, dup_n_grams=DUP_N_GRAMS, flavor: str = "datatrove",
) -> pa.Array:
    """Gopher repetition signals (datatrove 0.10.1 GopherRepetitionFilter), a STRUCT per row.

    Fields: n_chars; dup_para_frac, dup_para_char_frac, dup_line_frac, dup_line_char_frac;
    top_2_gram, top_3_gram, top_4_gram (character fraction of the most frequent n-gram);
    duplicated_5_n_grams ... duplicated_10_n_grams (character fraction of repeated n-grams).
    Fractions are NULL for '' (and NULL, read as ''). Definitions and source: see
    :mod:`corpusql.udfs.quality.repetition`.
    """
    s, _ = _evaluate(text, _kw(
        dup_line_frac=dup_line_frac, dup_para_frac=dup_para_frac,
        dup_line_char_frac=dup_line_char_frac, dup_para_char_frac=dup_para_char_frac,
        top_n_grams=top_n_grams, dup_n_grams=dup_n_grams, flavor=flavor))
    names = [f.split(" ")[0] for f in SIGNALS[len("STRUCT("):-1].split(", ")]
    arrays = [pa.array(s[k], type=pa.int64()) if k == "n_chars" else c.double(s[k])
              for k in names]
    return pa.StructArray.from_arrays(arrays, names=names)


def gopher_repetition_pass(
    text: pa.Array, *, dup_line_frac: float = 0.3, dup_para_frac: float = 0.3,
    dup_line_char_frac: float = 0.2, dup_para_char_frac: float = 0.2,
    top_n_grams=TOP_N_GRAMS, dup_n_grams=DUP_N_GRAMS, flavor: str = "datatrove",
) -> pa.Array:
    """True when a document passes every Gopher repetition rule (datatrove 0.10.1 defaults).

    top_n_grams and dup_n_grams are lists of [n, max_fraction] pairs, as in datatrove. See
    :mod:`corpusql.udfs.quality.repetition`. NULL text is read as '' and fails ('empty').
    """
    _, rules = _evaluate(text, _kw(
        dup_line_frac=dup_line_frac, dup_para_frac=dup_para_frac,
        dup_line_char_frac=dup_line_char_frac, dup_para_char_frac=dup_para_char_frac,
        top_n_grams=top_n_grams, dup_n_grams=dup_n_grams, flavor=flavor))
    return c.passed(rules, len(text))


def gopher_repetition_reasons(
    text: pa.Array, *, dup_line_frac: float = 0.3, dup_para_frac: float = 0.3,
    dup_line_char_frac: float = 0.2, dup_para_char_frac: float = 0.2,
    top_n_grams=TOP_N_GRAMS, dup_n_grams=DUP_N_GRAMS, flavor: str = "datatrove",
) -> pa.Array:
    """The Gopher repetition rules a document fails, as datatrove's reason codes, in its order.

    Empty list: the document passes. Codes: 'empty', 'dup_para_frac', 'dup_para_char_frac',
    'dup_line_frac', 'dup_line_char_frac', 'top_{n}_gram', 'duplicated_{n}_n_grams'; the first
    is datatrove 0.10.1's reason. See :mod:`corpusql.udfs.quality.repetition`.
    """
    _, rules = _evaluate(text, _kw(
        dup_line_frac=dup_line_frac, dup_para_frac=dup_para_frac,
        dup_line_char_frac=dup_line_char_frac, dup_para_char_frac=dup_para_char_frac,
        top_n_grams=top_n_grams, dup_n_grams=dup_n_grams, flavor=flavor))
    return c.reason_lists(rules, len(text))
