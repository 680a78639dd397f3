"""spaCy's English affix rules as tables, applied by numba to a batch of chunks.

:mod:`.words` applies spaCy's English tokenizer rules (:mod:`._spacy_en`) to each distinct
whitespace-free chunk in Python, a few microseconds a chunk. This module compiles the same rules
to arrays once per process and cuts every chunk of an Arrow string array in one compiled loop
that releases the GIL (:func:`tokenize`: each chunk's token boundaries; :func:`count`: only how
many). It implements the first pass of :func:`.words._affix_tokens`
(special cases, then prefixes and suffixes peeled off in turn, then infixes) with spaCy's slice
semantics: a rule applied to ``s[lo:hi]`` sees no character outside it.

The patterns are not hand-translated: each prefix, suffix and infix alternative is read from its
parse tree (``re._parser``) into a look-behind (a sequence of character sets), a body (a sequence
of sets, optionally ending in a greedy run of one set), a look-ahead and a negative look-ahead.
An alternation inside an alternative (the currency and unit lists) is expanded into one
alternative per branch, in order, which keeps Python's leftmost-first choice. Anything else in a
pattern (an unbounded repeat followed by more of the pattern, a class negation, a category) stops
the compile with ``ValueError``, and :mod:`.words` keeps its Python path.

Matching follows Python's ``re``: a prefix is the first alternative, in order, that matches at
the start; a suffix is the leftmost match that ends at the end (every suffix alternative ends with
``$``), that is the longest; infixes are found left to right, the first alternative in order at
each position, as ``finditer`` does.

When what is left of a chunk after its affixes holds a '.', the URL pattern (kept in Python)
is tried on that remainder and the kernel then finishes the chunk. A chunk is handed back
(count -1) to the Python path when the compiled pass cannot decide it alone: a special case is
reached after an affix was peeled, or the chunk is one when its tokens are asked for (the
Python rules hold the special cases' tokens); spaCy's second pass could re-merge tokens (two
neighbours start a special case that the first pass cuts apart); or the chunk is longer than
:data:`.words._LONG_CHUNK`. tests/udfs/quality/test_rules_jit.py checks the counts and tokens
against the Python path on every distinct chunk of the bundled sample and of the quality
reference documents.
"""

from __future__ import annotations

from re import _constants as C
from re import _parser

import numpy as np
import pyarrow as pa
from numba import njit

from ..sets_jit import cached_on_disk

_OPTS = {"nogil": True, "cache": True, "boundscheck": False}
#: The helpers allocate nothing: without numba's reference counting, a call that passes the
#: tables costs a few nanoseconds instead of about 150 (two atomic operations per array).
_HOT = {**_OPTS, "_nrt": False}
#: Code points past Unicode: the separator in a hashed token pair.
_SEP = 0x110000
_NO_SET = -1
# Columns of an alternative's row: where its look-behind, body, look-ahead and negative
# look-ahead sets start in ITEMS and how many there are, the greedy run's set and its minimum.
LB_OFF, LB_LEN, BODY_OFF, BODY_LEN, REP, REP_MIN, LA_OFF, LA_LEN, NLA_OFF, NLA_LEN = range(10)


# --- reading the patterns (Python, once per process) ---------------------------------------------
def _set_of(op, av) -> list[tuple[int, int]]:
    """The code point ranges of a LITERAL or IN node."""
    if op is C.LITERAL:
        return [(av, av)]
    if op is C.IN:
        out = []
        for o, a in av:
            if o is C.LITERAL:
                out.append((a, a))
            elif o is C.RANGE:
                out.append(a)
            else:
                raise ValueError(f"unsupported class item {o}")
        return out
    raise ValueError(f"unsupported node {op}")


def _sets_of(seq) -> list[list[tuple[int, int]]]:
    return [_set_of(op, av) for op, av in seq]


def read_alternative(pattern: str, anchor) -> list[dict]:
    """One alternative's parse tree as rows {lb, body, rep, rep_min, la, nla} (sets as range
    lists), one row per branch of an inner alternation. ``anchor`` is the AT node it must carry
    (AT_BEGINNING for prefixes, AT_END for suffixes, None for infixes)."""
    rows = [{"lb": [], "body": [], "rep": None, "rep_min": 0, "la": [], "nla": []}]
    anchored = anchor is None
    for op, av in _parser.parse(pattern):
        if op is C.AT:
            if av is not anchor:
                raise ValueError(f"unexpected anchor {av} in {pattern!r}")
            anchored = True
            continue
        if any(r["rep"] is not None for r in rows):
            raise ValueError(f"a greedy run must end the body: {pattern!r}")
        if op is C.ASSERT and av[0] == -1:
            if any(r["body"] for r in rows):
                raise ValueError(f"look-behind after the body: {pattern!r}")
            for r in rows:
                r["lb"] = _sets_of(av[1])
        elif op is C.ASSERT and av[0] == 1:
            for r in rows:
                r["la"] = _sets_of(av[1])
        elif op is C.ASSERT_NOT and av[0] == 1:
            for r in rows:
                r["nla"] = _sets_of(av[1])
        elif op is C.MAX_REPEAT:
            lo, hi, sub = av
            if hi is not C.MAXREPEAT or len(sub) != 1:
                raise ValueError(f"unsupported repeat in {pattern!r}")
            for r in rows:
                r["rep"], r["rep_min"] = _set_of(*sub[0]), lo
        elif op is C.BRANCH:
            branches = [_sets_of(b) for b in av[1]]
            rows = [{**r, "body": r["body"] + b} for r in rows for b in branches]
        elif op in (C.LITERAL, C.IN):
            for r in rows:
                r["body"] = r["body"] + [_set_of(op, av)]
        else:
            raise ValueError(f"unsupported node {op} in {pattern!r}")
        if any(r["la"] or r["nla"] for r in rows) and op not in (C.ASSERT, C.ASSERT_NOT):
            raise ValueError(f"a look-ahead must end the pattern: {pattern!r}")
    if not anchored:
        raise ValueError(f"{pattern!r} lacks its anchor")
    for r in rows:
        if not r["body"] and r["rep"] is None:
            raise ValueError(f"{pattern!r} can match the empty string")
    return rows


class Rules:
    """The compiled tables: character sets, alternatives per rule kind, dispatch, special cases."""

    def __init__(self, prefixes, suffixes, infixes, specials, pattern_one, pattern_pairs,
                 max_special: int) -> None:
        self._set_ids: dict[tuple, int] = {}
        self._ranges: list[list[tuple[int, int]]] = []
        self._items: list[int] = []
        kinds = []
        for alts, anchor, edge in ((prefixes, C.AT_BEGINNING, 0), (suffixes, C.AT_END, -1),
                                   (infixes, None, 0)):
            rows = [r for a in alts for r in read_alternative(a, anchor)]
            kinds.append(self._table(rows, edge))
        self.prefix, self.suffix, self.infix = kinds
        self.set_off, self.set_lo, self.set_hi = self._set_arrays()
        self.items = np.array(self._items or [0], dtype=np.int32)
        kept = {k: v for k, v in specials.items() if not any(c.isspace() for c in k)}
        self.specials = _HashSet(list(kept), [len(v) for v in kept.values()])
        self.one = _HashSet(sorted(pattern_one), None)
        self.pairs = _HashSet([a + chr(0) + b for a, b in sorted(pattern_pairs)], None, pair=True)
        self.max_special = max_special

    def _set(self, ranges) -> int:
        merged = []
        for a, b in sorted(ranges):
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        key = tuple(merged)
        if key not in self._set_ids:
            self._set_ids[key] = len(self._ranges)
            self._ranges.append(merged)
        return self._set_ids[key]

    def _seq(self, sets) -> tuple[int, int]:
        off = len(self._items)
        self._items.extend(self._set(s) for s in sets)
        return off, len(sets)

    def _table(self, rows, edge: int):
        """(alternatives as an int32 array, dispatch offsets and lists by edge character)."""
        alts = np.zeros((len(rows), 10), dtype=np.int32)
        edge_sets = []
        for i, r in enumerate(rows):
            alts[i, LB_OFF], alts[i, LB_LEN] = self._seq(r["lb"])
            alts[i, BODY_OFF], alts[i, BODY_LEN] = self._seq(r["body"])
            alts[i, REP] = self._set(r["rep"]) if r["rep"] is not None else _NO_SET
            alts[i, REP_MIN] = r["rep_min"]
            alts[i, LA_OFF], alts[i, LA_LEN] = self._seq(r["la"])
            alts[i, NLA_OFF], alts[i, NLA_LEN] = self._seq(r["nla"])
            if edge == 0:  # the first consumed character
                first = r["body"][0] if r["body"] else r["rep"]
                edge_sets.append(first)
            else:  # the last consumed character
                edge_sets.append(r["rep"] if r["rep"] is not None else r["body"][-1])
        return (alts, *_dispatch(edge_sets))

    def _set_arrays(self):
        off = np.zeros(len(self._ranges) + 1, dtype=np.int32)
        np.cumsum([len(r) for r in self._ranges], out=off[1:])
        flat = [ab for r in self._ranges for ab in r] or [(1, 0)]
        lo = np.array([a for a, _ in flat], dtype=np.int32)
        hi = np.array([b for _, b in flat], dtype=np.int32)
        return off, lo, hi


_BMP = 0x10000


def _dispatch(edge_sets):
    """For each BMP code point, the alternatives (in order) whose edge set holds it, as CSR
    offsets and a list; and the alternatives whose edge set reaches past the BMP."""
    cps, alts = [], []
    astral = []
    for i, ranges in enumerate(edge_sets):
        for a, b in ranges:
            if a < _BMP:
                cp = np.arange(a, min(b, _BMP - 1) + 1, dtype=np.int64)
                cps.append(cp)
                alts.append(np.full(len(cp), i, dtype=np.int64))
            if b >= _BMP and (not astral or astral[-1] != i):
                astral.append(i)
    cp = np.concatenate(cps) if cps else np.zeros(0, np.int64)
    alt = np.concatenate(alts) if alts else np.zeros(0, np.int64)
    order = np.lexsort((alt, cp))
    cp, alt = cp[order], alt[order]
    off = np.searchsorted(cp, np.arange(_BMP + 1)).astype(np.int32)
    return off, alt.astype(np.int32), np.array(astral, dtype=np.int32)


class _HashSet:
    """Strings as code point sequences in an open-addressing table (FNV-1a over code points);
    a pair is stored as its two strings joined by a code point past Unicode."""

    def __init__(self, keys: list[str], values: list[int] | None, pair: bool = False) -> None:
        seqs = [np.array([(_SEP if pair and ch == "\0" else ord(ch)) for ch in k], np.int32)
                for k in keys]
        self.off = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in seqs], out=self.off[1:])
        self.pool = np.concatenate(seqs) if seqs else np.zeros(0, np.int32)
        self.values = np.array(values if values is not None else [1] * len(seqs), np.int32)
        size = 1 << max(4, (4 * max(len(seqs), 1) - 1).bit_length())
        self.slots = np.full(size, -1, dtype=np.int32)
        for i, s in enumerate(seqs):
            j = int(_fnv(s, 0, len(s))) & (size - 1)
            while self.slots[j] >= 0:
                j = (j + 1) & (size - 1)
            self.slots[j] = i


# --- the compiled pass --------------------------------------------------------------------------
@njit(**_HOT)
def _fnv(s, a, b):
    h = np.uint64(0xCBF29CE484222325)
    for i in range(a, b):
        h = (h ^ np.uint64(s[i])) * np.uint64(0x100000001B3)
    return h


@njit(**_HOT)
def _find(s, a, b, slots, off, pool):
    """Index of s[a:b] in a hash set, or -1."""
    mask = len(slots) - 1
    j = np.int64(_fnv(s, a, b) & np.uint64(mask))
    n = b - a
    while True:
        k = slots[j]
        if k < 0:
            return -1
        if off[k + 1] - off[k] == n:
            same = True
            base = off[k]
            for t in range(n):
                if pool[base + t] != s[a + t]:
                    same = False
                    break
            if same:
                return k
        j = (j + 1) & mask


@njit(**_HOT)
def _in_set(c, sid, set_off, set_lo, set_hi):
    lo = set_off[sid]
    end = set_off[sid + 1]
    hi = end
    while lo < hi:  # the first range whose end is at or past c
        mid = (lo + hi) >> 1
        if set_hi[mid] < c:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and set_lo[lo] <= c


@njit(**_HOT)
def _seq_at(s, p, off, n, items, set_off, set_lo, set_hi):
    for j in range(n):
        if not _in_set(s[p + j], items[off + j], set_off, set_lo, set_hi):
            return False
    return True


@njit(**_HOT)
def _match(alt, s, p, blo, bhi, items, set_off, set_lo, set_hi):
    """End of alternative ``alt`` matched at p within s[blo:bhi], or -1."""
    m = alt[LB_LEN]
    if m and (p - m < blo or not _seq_at(s, p - m, alt[LB_OFF], m, items, set_off, set_lo,
                                         set_hi)):
        return -1
    n = alt[BODY_LEN]
    if p + n > bhi or not _seq_at(s, p, alt[BODY_OFF], n, items, set_off, set_lo, set_hi):
        return -1
    e = p + n
    if alt[REP] >= 0:
        r = 0
        while e < bhi and _in_set(s[e], alt[REP], set_off, set_lo, set_hi):
            e += 1
            r += 1
        if r < alt[REP_MIN]:
            return -1
    n = alt[LA_LEN]
    if n and (e + n > bhi or not _seq_at(s, e, alt[LA_OFF], n, items, set_off, set_lo, set_hi)):
        return -1
    n = alt[NLA_LEN]
    if n and e + n <= bhi and _seq_at(s, e, alt[NLA_OFF], n, items, set_off, set_lo, set_hi):
        return -1
    return e


@njit(**_HOT)
def _first_match(alts, d_off, d_alt, astral, c, s, p, blo, bhi, items, set_off, set_lo,
                 set_hi):
    """End of the first alternative, in order, whose edge set holds c and that matches at p;
    -1 if none."""
    if c < 0x10000:
        for k in range(d_off[c], d_off[c + 1]):
            a = d_alt[k]
            e = _match(alts[a], s, p, blo, bhi, items, set_off, set_lo, set_hi)
            if e >= 0:
                return e
        return -1
    for k in range(len(astral)):
        e = _match(alts[astral[k]], s, p, blo, bhi, items, set_off, set_lo, set_hi)
        if e >= 0:
            return e
    return -1


@njit(**_HOT)
def _suffix_try(alt, s, lo, hi, best, items, set_off, set_lo, set_hi):
    """The leftmost start, before ``best``, of a match of ``alt`` ending at hi; else best."""
    if alt[REP] < 0:  # a fixed length: one place to try
        p = hi - alt[BODY_LEN]
        if lo <= p < best and _match(alt, s, p, lo, hi, items, set_off, set_lo, set_hi) == hi:
            return p
        return best
    for p in range(lo, best):
        if _match(alt, s, p, lo, hi, items, set_off, set_lo, set_hi) == hi:
            return p
    return best


@njit(**_HOT)
def _suffix_len(alts, d_off, d_alt, astral, s, lo, hi, items, set_off, set_lo, set_hi):
    """Length of the leftmost (so the longest) suffix match ending at hi within s[lo:hi]."""
    c = s[hi - 1]
    best = hi
    if c < 0x10000:
        for k in range(d_off[c], d_off[c + 1]):
            best = _suffix_try(alts[d_alt[k]], s, lo, hi, best, items, set_off, set_lo, set_hi)
    else:
        for k in range(len(astral)):
            best = _suffix_try(alts[astral[k]], s, lo, hi, best, items, set_off, set_lo, set_hi)
    return hi - best


@njit(**_HOT)
def _is_ascii_alnum(s, a, b):
    for i in range(a, b):
        c = s[i]
        if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122):
            return False
    return True


@njit(**_HOT)
def _count_one(s, n, tok_a, tok_b, pair_buf, tables, url, rest, want):
    """Tokens of the chunk s[:n] under the first pass; -1 for the Python path; -2 when the URL
    pattern must be tried on s[rest[0]:rest[1]] first (``url``: -1 not tried yet, 0 it does not
    match, 1 it matches). With ``want`` the tokens are tok_a[:count], tok_b[:count] (a chunk that
    is itself a special case then takes the Python path, which has its tokens)."""
    (pre_alts, pre_off, pre_alt, pre_astral, suf_alts, suf_off, suf_alt, suf_astral, inf_alts,
     inf_off, inf_alt, inf_astral, items, set_off, set_lo, set_hi, sp_slots, sp_off, sp_pool,
     sp_values, one_slots, one_off, one_pool, pair_slots, pair_off, pair_pool,
     max_special) = tables
    k = _find(s, 0, n, sp_slots, sp_off, sp_pool)
    if k >= 0:
        return -1 if want else sp_values[k]
    lo = 0
    hi = n
    last = -1
    n_pre = 0
    n_suf = 0
    # prefixes fill tok_a/tok_b from the front, suffixes from the back (in reverse order)
    cap = len(tok_a)
    while lo < hi and hi - lo != last:
        if hi - lo <= max_special and _find(s, lo, hi, sp_slots, sp_off, sp_pool) >= 0:
            return -1  # a special case after an affix: Python gives its tokens
        last = hi - lo
        pre = 0
        e = _first_match(pre_alts, pre_off, pre_alt, pre_astral, s[lo], s, lo, lo, hi, items,
                         set_off, set_lo, set_hi)
        if e >= 0:
            pre = e - lo
        if pre and lo + pre < hi and hi - lo - pre <= max_special and _find(
                s, lo + pre, hi, sp_slots, sp_off, sp_pool) >= 0:
            return -1
        suf = _suffix_len(suf_alts, suf_off, suf_alt, suf_astral, s, lo + pre, hi, items,
                          set_off, set_lo, set_hi) if lo + pre < hi else 0
        if suf and lo < hi - suf and hi - suf - lo <= max_special and _find(
                s, lo, hi - suf, sp_slots, sp_off, sp_pool) >= 0:
            return -1
        if pre and suf and pre + suf <= hi - lo:
            tok_a[n_pre] = lo
            tok_b[n_pre] = lo + pre
            n_pre += 1
            n_suf += 1
            tok_a[cap - n_suf] = hi - suf
            tok_b[cap - n_suf] = hi
            lo += pre
            hi -= suf
        elif pre:
            tok_a[n_pre] = lo
            tok_b[n_pre] = lo + pre
            n_pre += 1
            lo += pre
        elif suf:
            n_suf += 1
            tok_a[cap - n_suf] = hi - suf
            tok_b[cap - n_suf] = hi
            hi -= suf
    nt = n_pre
    if lo < hi:
        if _find(s, lo, hi, sp_slots, sp_off, sp_pool) >= 0:
            return -1
        dot = False
        for i in range(lo, hi):
            if s[i] == 46:  # '.': the URL pattern may apply
                dot = True
                break
        if dot and url < 0:
            rest[0] = lo
            rest[1] = hi
            return -2
        if (dot and url == 1) or _is_ascii_alnum(s, lo, hi):
            tok_a[nt] = lo
            tok_b[nt] = hi
            nt += 1
        else:  # infixes, left to right; one at the very start is not split off
            start = lo
            p = lo
            while p < hi:
                e = _first_match(inf_alts, inf_off, inf_alt, inf_astral, s[p], s, p, lo, hi,
                                 items, set_off, set_lo, set_hi)
                if e < 0:
                    p += 1
                    continue
                if p != lo:
                    if p != start:
                        tok_a[nt] = start
                        tok_b[nt] = p
                        nt += 1
                    tok_a[nt] = p
                    tok_b[nt] = e
                    nt += 1
                    start = e
                p = e
            if start < hi:
                tok_a[nt] = start
                tok_b[nt] = hi
                nt += 1
    for j in range(n_suf):  # the suffixes, innermost first
        tok_a[nt] = tok_a[cap - n_suf + j]
        tok_b[nt] = tok_b[cap - n_suf + j]
        nt += 1
    if nt >= 2:  # spaCy's second pass could merge tokens: Python decides
        for t in range(nt):
            if _find(s, tok_a[t], tok_b[t], one_slots, one_off, one_pool) >= 0:
                return -1
        for t in range(nt - 1):
            m = 0
            for i in range(tok_a[t], tok_b[t]):
                pair_buf[m] = s[i]
                m += 1
            pair_buf[m] = 0x110000
            m += 1
            for i in range(tok_a[t + 1], tok_b[t + 1]):
                pair_buf[m] = s[i]
                m += 1
            if _find(pair_buf, 0, m, pair_slots, pair_off, pair_pool) >= 0:
                return -1
    return nt


@njit(**_HOT)
def _decode(data, a, b, out):
    """UTF-8 bytes data[a:b] (valid, as Arrow guarantees) into code points; their number."""
    n = 0
    i = a
    while i < b:
        c = np.int32(data[i])
        if c < 0x80:
            i += 1
        elif c < 0xE0:
            c = ((c & 0x1F) << 6) | (np.int32(data[i + 1]) & 0x3F)
            i += 2
        elif c < 0xF0:
            c = ((c & 0x0F) << 12) | ((np.int32(data[i + 1]) & 0x3F) << 6) | (
                np.int32(data[i + 2]) & 0x3F)
            i += 3
        else:
            c = ((c & 0x07) << 18) | ((np.int32(data[i + 1]) & 0x3F) << 12) | (
                (np.int32(data[i + 2]) & 0x3F) << 6) | (np.int32(data[i + 3]) & 0x3F)
            i += 4
        out[n] = c
        n += 1
    return n


@njit(**_HOT)
def _count_all(data, offsets, long_chunk, tables, url, out, rest_lo, rest_hi, s, tok_a, tok_b,
               pair_buf, rest, want, tok_s, tok_e):
    at = 0
    for i in range(len(out)):
        a = offsets[i]
        b = offsets[i + 1]
        if b - a > long_chunk:  # more bytes than the limit's code points may still be under it
            n = 0
            for j in range(a, b):
                n += (data[j] & 0xC0) != 0x80
            if n > long_chunk:
                out[i] = -1
                continue
        n = _decode(data, a, b, s)
        if n == 0:
            out[i] = 0
            continue
        out[i] = _count_one(s, n, tok_a, tok_b, pair_buf, tables, url[i], rest, want)
        if out[i] == -2:
            rest_lo[i] = rest[0]
            rest_hi[i] = rest[1]
        elif want:
            for j in range(out[i]):
                tok_s[at] = tok_a[j]
                tok_e[at] = tok_b[j]
                at += 1


@njit(**_OPTS)
def count_tokens(data, offsets, long_chunk, tables, url, want):
    """Token count of each string data[offsets[i]:offsets[i+1]] (-1: the Python path; -2: try
    the URL pattern on code points rest_lo[i]:rest_hi[i] first), rest_lo, rest_hi; with
    ``want``, the tokens' first and end code points within their chunk, chunk after chunk (for
    the chunks with a count)."""
    m = len(offsets) - 1
    width = 16
    for i in range(m):
        width = max(width, offsets[i + 1] - offsets[i])
    width = min(width, long_chunk) + 2
    out = np.empty(m, dtype=np.int32)
    rest_lo = np.zeros(m, dtype=np.int64)
    rest_hi = np.zeros(m, dtype=np.int64)
    room = len(data) if want else 0  # a token holds at least one byte
    tok_s = np.empty(room, dtype=np.int64)
    tok_e = np.empty(room, dtype=np.int64)
    _count_all(data, offsets, long_chunk, tables, url, out, rest_lo, rest_hi,
               np.empty(width, dtype=np.int32), np.empty(2 * width, dtype=np.int64),
               np.empty(2 * width, dtype=np.int64), np.empty(2 * width + 1, dtype=np.int32),
               np.zeros(2, dtype=np.int64), want, tok_s, tok_e)
    return out, rest_lo, rest_hi, tok_s, tok_e


def string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, int64 offsets into them) of a string array without NULLs."""
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1]
    data = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None
            else np.frombuffer(b"", dtype=np.uint8))
    return data, offsets.astype(np.int64)


def _tables(rules: Rules) -> tuple:
    return (*rules.prefix, *rules.suffix, *rules.infix, rules.items, rules.set_off, rules.set_lo,
            rules.set_hi, rules.specials.slots, rules.specials.off, rules.specials.pool,
            rules.specials.values, rules.one.slots, rules.one.off, rules.one.pool,
            rules.pairs.slots, rules.pairs.off, rules.pairs.pool, rules.max_special)


def _apply(rules: Rules, chunks: pa.Array, url_match, long_chunk: int, want: bool):
    tables = _tables(rules)
    data, offsets = string_buffers(chunks)
    unknown = np.full(len(chunks), -1, dtype=np.int8)
    out, lo, hi, tok_s, tok_e = count_tokens(data, offsets, long_chunk, tables, unknown, want)
    again = np.flatnonzero(out == -2)
    if not len(again):
        return out, tok_s, tok_e, again, None
    sub = chunks.take(pa.array(again))
    url = np.fromiter((url_match(c[a:b]) is not None for c, a, b in zip(
        sub.to_pylist(), lo[again].tolist(), hi[again].tolist())), dtype=np.int8,
        count=len(again))
    data, offsets = string_buffers(sub)
    return out, tok_s, tok_e, again, count_tokens(data, offsets, long_chunk, tables, url, want)


def count(rules: Rules, chunks: pa.Array, url_match, long_chunk: int) -> np.ndarray:
    """Token count of each chunk of a string array (no NULLs, no whitespace); -1 where the
    Python path must decide. ``url_match(str)`` is the URL pattern's match, tried by Python
    on what is left of a chunk holding a '.' once its affixes are off."""
    out, _, _, again, second = _apply(rules, chunks, url_match, long_chunk, False)
    if second is not None:
        out[again] = second[0]
    return out


def tokenize(rules: Rules, chunks: pa.Array, url_match, long_chunk: int):
    """(count, start, end): each chunk's number of tokens (-1: the Python path decides) and,
    chunk after chunk, its tokens' first and end code points within the chunk."""
    out, tok_s, tok_e, again, second = _apply(rules, chunks, url_match, long_chunk, True)
    if second is None:
        used = int(np.maximum(out, 0).sum())
        return out, tok_s[:used], tok_e[:used]
    out2, _, _, s2, e2 = second
    count = out.copy()
    count[again] = out2
    first = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(np.maximum(count, 0), out=first[1:])
    starts = np.empty(int(first[-1]), dtype=np.int64)
    ends = np.empty_like(starts)
    for ids, src_s, src_e in ((np.flatnonzero(out >= 0), tok_s, tok_e),
                              (again[out2 >= 0], s2, e2)):
        dest = token_slots(first, ids, count[ids])
        starts[dest] = src_s[:len(dest)]
        ends[dest] = src_e[:len(dest)]
    return count, starts, ends


def token_slots(first: np.ndarray, ids: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Where the tokens of chunks ``ids`` (``n`` each, listed chunk after chunk) go among all
    chunks' tokens, chunk i's starting at ``first[i]``."""
    n = np.asarray(n, dtype=np.int64)
    return (np.repeat(first[ids] - (np.cumsum(n) - n), n)
            + np.arange(int(n.sum()), dtype=np.int64))


def is_cached() -> bool:
    """True when an earlier process of this install compiled :func:`count_tokens` (numba's
    cache index exists), so loading it costs milliseconds instead of a compile."""
    return cached_on_disk(count_tokens, unknown=False)

