"""Blocklists: count term occurrences and match URL domains, fast for thousands of terms.

Terms are matched with a hash automaton instead of one regex per term (an RE2 alternation of
5,000 terms falls back from its DFA and ran about 100x slower here, see ``bench/pii.py``):

1. the batch's texts are case-folded (Python ``str.casefold``) and joined, and their code points
   become one numpy array;
2. each code point is classed, with one lookup table, as a word character (Unicode categories
   L*, M*, N* and ``_``), a CJK character (Han, Hiragana, Katakana: each one its own word, as in
   ``word_count``) or a separator; words are the maximal runs of word characters;
3. a polynomial hash of random 64-bit code point values is computed for every word and every run
   of k consecutive words (all at once, from prefix sums) and looked up in the sorted hashes of
   the terms with k words; terms containing CJK characters are hashed whole and looked up at every
   code point position instead (plain substring matching, since CJK text has no spaces).

Collisions of the 64-bit hash are possible in principle (chance about words x terms / 2^64 per
batch), never in practice.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_M64 = (1 << 64) - 1
#: Multiplier of the polynomial hash over code points (odd, so invertible modulo 2^64).
BASE = 0x9E3779B97F4A7C15
BASE_INV = pow(BASE, -1, 1 << 64)
#: Multiplier combining word hashes into the hash of a run of words.
WORD_BASE = 0xC2B2AE3D27D4EB4F
SEPARATOR, WORD, CJK = 0, 1, 2
#: Han, Hiragana and Katakana blocks (code point ranges, inclusive).
CJK_RANGES = [(0x2E80, 0x2FDF), (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF),
              (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x323AF)]

_lock = threading.Lock()
_tables: dict[str, np.ndarray] = {}


def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """(class per code point, random 64-bit value per code point), built once."""
    with _lock:
        if not _tables:
            cls = np.zeros(0x110000, dtype=np.uint8)
            for cp in range(0x40000):  # planes 4-16 hold no letters, marks or digits
                cat = unicodedata.category(chr(cp))
                if cat[0] in "LMN" or cp == 0x5F:
                    cls[cp] = WORD
            for lo, hi in CJK_RANGES:
                block = cls[lo:hi + 1]
                block[block == WORD] = CJK
            rng = np.random.Generator(np.random.PCG64(20261123))
            _tables["cls"] = cls
            _tables["val"] = rng.integers(0, 2**63, size=0x110000, dtype=np.uint64) * 2 + 1
        return _tables["cls"], _tables["val"]


def _words(s: str, cls: np.ndarray) -> list[str]:
    """The words of one (case-folded) string, by the rules above (reference for terms)."""
    out, cur = [], []
    for ch in s:
        c = cls[ord(ch)]
        if c == WORD:
            cur.append(ch)
            continue
        if cur:
            out.append("".join(cur))
            cur = []
        if c == CJK:
            out.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _hash(s: str, val: np.ndarray) -> int:
    h, p = 0, 1
    for ch in s:
        h = (h + int(val[ord(ch)]) * p) & _M64
        p = (p * BASE) & _M64
    return h


def _words_hash(words: list[str], val: np.ndarray) -> int:
    h = 0
    for w in words:
        h = (h * WORD_BASE + _hash(w, val)) & _M64
    return h


class Automaton:
    """Sorted term hashes per number of words (word terms) and per length (CJK terms)."""

    def __init__(self, terms: tuple) -> None:
        cls, val = _char_tables()
        by_words: dict[int, set[int]] = {}
        by_len: dict[int, set[int]] = {}
        for term in terms:
            if term is None:
                continue
            t = term.casefold().replace("\x00", "")
            if any(cls[ord(ch)] == CJK for ch in t):
                by_len.setdefault(len(t), set()).add(_hash(t, val))
                continue
            words = _words(t, cls)
            if words:
                by_words.setdefault(len(words), set()).add(_words_hash(words, val))
        self.by_words = {k: _Table(np.array(sorted(v), dtype=np.uint64))
                         for k, v in by_words.items()}
        self.by_len = {k: _Table(np.array(sorted(v), dtype=np.uint64)) for k, v in by_len.items()}
        #: Code points and pairs of code points that start a CJK term: substring hashes are
        #: computed only where the text has them (few places, whatever the number of lengths).
        self.cjk_first = np.zeros(0x110000, dtype=bool)
        pairs = set()
        for term in terms:
            t = (term or "").casefold().replace("\x00", "")
            if t and any(cls[ord(ch)] == CJK for ch in t):
                self.cjk_first[ord(t[0])] = True
                if len(t) > 1:
                    pairs.add((ord(t[0]) << 21) | ord(t[1]))
        self.cjk_pairs = np.array(sorted(pairs), dtype=np.int64)

    def __bool__(self) -> bool:
        return bool(self.by_words or self.by_len)


@lru_cache(maxsize=32)
def compile_terms(terms: tuple) -> Automaton:
    """The automaton of a term list, cached by the list (a blocklist arrives once per batch)."""
    return Automaton(terms)


_BUCKETS = (1 << 20) - 1


class _Table:
    """Sorted hashes plus a 2^20-bucket filter, so most lookups skip the binary search."""

    def __init__(self, hashes: np.ndarray) -> None:
        self.sorted = hashes
        self.buckets = np.zeros(_BUCKETS + 1, dtype=bool)
        self.buckets[(hashes & np.uint64(_BUCKETS)).astype(np.int64)] = True

    def __len__(self) -> int:
        return len(self.sorted)


def _member(hashes: np.ndarray, table) -> np.ndarray:
    if isinstance(table, _Table):
        out = table.buckets[(hashes & np.uint64(_BUCKETS)).astype(np.int64)]
        cand = np.flatnonzero(out)
        out[cand] = _member(hashes[cand], table.sorted)
        return out
    if len(table) == 0:
        return np.zeros(len(hashes), dtype=bool)
    pos = np.searchsorted(table, hashes)
    pos[pos == len(table)] = 0
    return table[pos] == hashes


_POWERS: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    with _lock:
        if len(_POWERS.get("p", ())) < n + 1:
            size = max(n + 1, 1 << 16)
            p = np.full(size, BASE, dtype=np.uint64)
            p[0] = 1
            q = np.full(size, BASE_INV, dtype=np.uint64)
            q[0] = 1
            _POWERS["p"] = np.cumprod(p, dtype=np.uint64)
            _POWERS["q"] = np.cumprod(q, dtype=np.uint64)
        return _POWERS["p"], _POWERS["q"]


def _counts(text: pa.Array, terms) -> np.ndarray:
    """Occurrences per row (int64); NULL rows count 0."""
    n = len(text)
    counts = np.zeros(n, dtype=np.int64)
    auto = compile_terms(tuple(terms or ()))
    if not auto or n == 0:
        return counts
    cls_table, val_table = _char_tables()
    folded = [s.casefold() if s is not None else "" for s in text.to_pylist()]
    lengths = np.fromiter((len(s) + 1 for s in folded), dtype=np.int64, count=n)
    row_start = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=row_start[1:])
    # rows joined with NUL (a separator), so no word or CJK match spans two rows
    cp = np.frombuffer("\x00".join(folded).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    total = len(cp)
    if total == 0:
        return counts
    powers, inverse = _powers(total)
    prefix = np.zeros(total + 1, dtype=np.uint64)
    np.cumsum(val_table[cp] * powers[:total], out=prefix[1:])

    def span_hash(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return (prefix[end] - prefix[start]) * inverse[start]

    if auto.by_words:
        cls = cls_table[cp]
        prev = np.empty_like(cls)
        prev[0] = SEPARATOR
        prev[1:] = cls[:-1]
        nxt = np.empty_like(cls)
        nxt[-1] = SEPARATOR
        nxt[:-1] = cls[1:]
        inword = cls != SEPARATOR
        cut_before = (prev == SEPARATOR) | (cls == CJK) | (prev == CJK)
        cut_after = (nxt == SEPARATOR) | (cls == CJK) | (nxt == CJK)
        starts = np.flatnonzero(inword & cut_before)
        ends = np.flatnonzero(inword & cut_after) + 1
        word_hash = span_hash(starts, ends)
        word_row = np.searchsorted(row_start, starts, side="right") - 1
        run = np.zeros(len(starts), dtype=np.uint64)
        for k in range(1, max(auto.by_words) + 1):
            m = len(starts) - k + 1
            if m <= 0:
                break
            run = run[:m] * np.uint64(WORD_BASE) + word_hash[k - 1:k - 1 + m]
            table = auto.by_words.get(k)
            if table is None:
                continue
            hit = _member(run, table) & (word_row[:m] == word_row[k - 1:k - 1 + m])
            counts += np.bincount(word_row[:m][hit], minlength=n)
    if auto.by_len:
        firsts = np.flatnonzero(auto.cjk_first[cp])
        second = firsts[firsts + 1 < total]
        paired = second[_member((cp[second] << 21) | cp[second + 1], auto.cjk_pairs)] \
            if len(auto.cjk_pairs) else second[:0]
    for length, table in auto.by_len.items():
        pos = firsts if length == 1 else paired
        pos = pos[pos + length <= total]
        if len(pos) == 0:
            continue
        hit = _member(span_hash(pos, pos + length), table)
        counts += np.bincount(np.searchsorted(row_start, pos[hit], side="right") - 1,
                              minlength=n)
    return counts


def count_matches(text: pa.Array, *, terms=()) -> pa.Array:
    """Number of occurrences of blocklist terms in the text (each term at every place it occurs).

    Matching is case-insensitive (Unicode case folding, Python ``str.casefold``) and no other
    normalization is applied (use ``text_normalize`` first for NFKC). A term is cut into words
    like the text: words are maximal runs of letters, marks, digits and ``_``, and each Han,
    Hiragana or Katakana character is a word of its own. A term matches where its words are
    consecutive words of the text, whatever punctuation or spacing lies between them: so "ass"
    does not match "class", "e-mail" matches "E mail", and a term never matches part of a word.
    A term containing a CJK character matches as a plain substring anywhere instead. Every
    occurrence of every distinct term counts, overlaps included (Aho-Corasick semantics): with
    terms ["new york", "york"], "New York" counts 2. Terms without any word character are
    ignored. ``terms`` is a VARCHAR[] constant, e.g. ``(SELECT list(term) FROM blocklist)``;
    NULL or an empty list counts 0 everywhere. NULL text gives NULL.
    """
    return pa.array(_counts(text, terms).astype(np.int32), pa.int32())


def contains_any(text: pa.Array, *, terms=()) -> pa.Array:
    """True when the text contains at least one blocklist term (``count_matches(...) > 0``).

    Same matching rules as ``count_matches``: case-insensitive, whole words for terms in spaced
    scripts, plain substrings for terms containing Han, Hiragana or Katakana characters. NULL or
    an empty ``terms`` list blocks nothing (false). NULL text gives NULL.
    """
    return pa.array(_counts(text, terms) > 0, pa.bool_())


_HOST_RE = (r"^\s*(?:(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)?(?:[^@/?#\s]*@)?"
            r"(?P<host>\[[^\]]*\]|[^:/?#\s]*)")


def normalize_host(host: str) -> str:
    """Lowercase, no trailing dot, no ``*.``/leading dot, IDNA (punycode) for non-ASCII labels."""
    h = host.strip().casefold().rstrip(".")
    while h.startswith(("*.", ".")):
        h = h[2:] if h.startswith("*.") else h[1:]
    if not h.isascii():
        try:
            h = h.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return h


@lru_cache(maxsize=32)
def _domain_set(domains: tuple) -> frozenset:
    out = set()
    for d in domains:
        if d is None:
            continue
        if "/" in d:
            match = pc.extract_regex(pa.array([d]), _HOST_RE)[0].as_py()
            d = match["host"] if match else d
        d = normalize_host(d)
        if d:
            out.add(d)
    return frozenset(out)


def _blocked(host: str, blocked: frozenset) -> bool:
    h = normalize_host(host)
    if h.startswith("["):
        return h in blocked or h.strip("[]") in blocked
    while h:
        if h in blocked:
            return True
        dot = h.find(".")
        if dot < 0:
            return False
        h = h[dot + 1:]
    return False


def url_domain_blocked(url: pa.Array, *, domains=()) -> pa.Array:
    """True when the URL's host, or any parent domain of it, is in the domain list.

    The host is what follows ``scheme://`` and any ``user@`` up to the port, path, query or
    fragment (RFC 3986); a URL without a scheme ("example.com/page") is read the same way. Host
    and list entries are compared lowercased, without a trailing dot, with non-ASCII names in
    IDNA (punycode) form; a list entry may be written ``*.example.com``, ``.example.com`` or as
    a URL. So ["example.com"] blocks "https://www.Example.com./x" but not "notexample.com".
    ``domains`` is a VARCHAR[] constant; NULL or an empty list blocks nothing. NULL URL gives
    NULL.
    """
    blocked = _domain_set(tuple(domains or ()))
    n = len(url)
    if not blocked or n == 0:
        return pa.array(np.zeros(n, dtype=bool), pa.bool_())
    hosts = pc.struct_field(pc.extract_regex(url, _HOST_RE), [0])
    hosts = pc.fill_null(hosts, "")
    unique = pc.unique(hosts)
    verdict = pa.array([_blocked(h, blocked) for h in unique.to_pylist()], pa.bool_())
    return pc.take(verdict, pc.index_in(hosts, value_set=unique))
