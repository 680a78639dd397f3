"""Word segmentation shared by the quality rule sets, batched on Arrow arrays.

datatrove 0.10.1 splits English text into words with a blank spaCy English tokenizer
(``spacy.blank("en")``, tokens stripped, empty ones dropped). This module reproduces that
tokenizer without importing spaCy: the text is cut at Unicode whitespace (``str.split()``), each
whitespace-free chunk is split by spaCy's published English rules (special cases, then prefixes
and suffixes peeled off in turn, then the URL pattern, then infixes; the rule data is in
:mod:`._spacy_en`, applied through the equivalent, faster patterns of :mod:`._affix_index`).
A chunk always gives the same tokens, so each distinct chunk is tokenized once and cached; a
batch of documents is handled with Arrow and numpy array operations over its chunks. The same
rules also run compiled (:mod:`._rules_jit`, numba, without the GIL) over a batch's new chunks:
a process switches to them when an earlier process of the install has compiled them, or after
:data:`COMPILE_AFTER_CHUNKS` chunks, and hands the few chunks they cannot decide alone (a URL
candidate, a special case behind an affix, a possible second-pass merge) to the Python rules.

spaCy's second pass, which re-merges special cases that the first pass cut apart (``"):"`` in
``f():``, ``"d."`` in ``id.``), is reproduced within each chunk. On the 8000 reference documents
the words are identical to datatrove's. Known differences: whitespace-free chunks longer than
20,000 characters are cut into runs of word characters and single other characters (spaCy's
rules are quadratic-ish there); special cases spanning two chunks (none in English) are ignored.

Character sets, as datatrove and spaCy define them:
``TERMINAL_PUNCTUATION`` (datatrove ``utils.text``; FineWeb's line-end characters),
``PUNCTUATION_SET`` (datatrove; a word made only of these is a "symbol word" for Gopher) and
``SENTENCE_END_CHARS`` (spaCy's sentencizer; C4 counts sentences with it).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import re
import threading
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _affix_index, _rules_jit, _spacy_en

# fmt: off
TERMINAL_PUNCTUATION = frozenset(
    "!.?։؝؞؟۔܀܁܂߹࠷࠹࠽࠾।॥၊။።፧፨᙮᜵᜶។៕៖៙៚᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᭽᭾᰻᰼᱾᱿\u203c\u203d\u2047\u2048\u2049\u2e2e\u2e3c\u2e53\u2e54\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52\ufe56\ufe57\uff01\uff0e\uff1f\uff61\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011944\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44\U00016e98\U0001bc9f\U0001da88"
)
SENTENCE_END_CHARS = frozenset(
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿\u203c\u203d\u2047\u2048\u2049\u2e2e\u2e3c\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52\ufe56\ufe57\uff01\uff0e\uff1f\uff61\U00010a56\U00010a57\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44\U0001bc9f\U0001da88"
)
_PUNCT_VISIBLE = "!/\u2014\u201d:\uff05\uff11\u3008&(\u3001\u2501\u005c\u3010#%\u300c\u300d\uff0c\u3011\uff1b+^]~\u201c\u300a\u201e';\u2019{|\u2236´[=-`*\uff0e\uff08\u2013\uff1f\uff01\uff1a$\uff5e«\u3009,><\u300b)?\uff09\u3002\u2026@_.\u0022}\u25ba»"
# datatrove's PUNCTUATION also holds the C0 controls except tab and newline, DEL and the C1 controls.
_PUNCT_CONTROLS = "".join(map(chr, [*range(9), *range(11, 32), *range(127, 160)]))
PUNCTUATION_SET = frozenset(_PUNCT_VISIBLE + _PUNCT_CONTROLS) | TERMINAL_PUNCTUATION
# fmt: on

_prefix_for = _suffix_for = _infix = _url = None  # compiled on first use (slow to compile)
_READY = False  # set last by _compile: every rule and the second pass's table are built
_INFIX_FIRST: frozenset[str] = frozenset()


def _compile() -> None:
    """The rule patterns, rewritten by :mod:`._affix_index` to find the same matches faster."""
    global _prefix_for, _suffix_for, _infix, _url, _INFIX_FIRST, _READY
    if not _READY:
        # The prefix rules without their ``^`` anchors, so they can be tried at any position.
        prefixes = [a[1:] for a in _affix_index.split_alternatives(_spacy_en.PREFIX)]
        _prefix_for = _affix_index.Dispatch(prefixes, last=False).__getitem__
        _suffix_for = _affix_index.Dispatch(
            _affix_index.split_alternatives(_spacy_en.SUFFIX), last=True).__getitem__
        infixes = _affix_index.split_alternatives(_spacy_en.INFIX)
        _INFIX_FIRST = _affix_index.first_chars(infixes)
        _infix = re.compile(_affix_index.alternation(infixes)).finditer
        _url = re.compile(_spacy_en.URL).match
        _build_patterns()
        _READY = True


#: Every suffix rule but the run of periods matches at most this many characters.
_SUFFIX_WINDOW = 12
_MAX_SPECIAL = max(map(len, _spacy_en.SPECIALS))
#: Whitespace-free chunks longer than this (binary garbage, minified code) are cut into runs of
#: word characters and single other characters instead: spaCy's rules cost about 15 µs per
#: character on such chunks. A documented difference from datatrove.
_LONG_CHUNK = 20_000
_LONG_TOKEN = re.compile(r"\w+|[^\w\s]")


_PLAIN_SUFFIX = frozenset(',;:!?)]"')
_PLAIN_PREFIX = frozenset('(["')
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ASCII_DIGITS = frozenset("0123456789")


def _prefix_len(s: str, lo: int, hi: int) -> int:
    """Length of spaCy's prefix match on s[lo:hi] (0 if none)."""
    c = s[lo]
    if c in _ASCII_ALNUM and c not in "UCA":  # only US$, C$ and A$ start with a letter
        return 0
    rule = _prefix_for(c)  # the prefix rules that can start with c
    if rule is None:
        return 0
    m = rule.match(s, lo, hi)
    return m.end() - lo if m else 0


def _suffix_len(s: str, lo: int, hi: int) -> int:
    """Length of spaCy's suffix match on s[lo:hi]: the leftmost match that ends at hi.

    Searches only the last few characters unless a run of periods reaches further. A match
    that would take all of s[lo:hi] is checked again on the slice, where lookbehinds cannot
    see the characters before lo (as in spaCy, which slices).
    """
    c = s[hi - 1]
    if c in _ASCII_DIGITS:  # no suffix rule ends in an ASCII digit
        return 0
    if c in _ASCII_ALNUM and s[hi - 2:hi - 1] not in ("'", "’") and _ASCII_DIGITS.isdisjoint(
            s[max(lo, hi - 6):hi]):  # a letter ends only 's or a unit after a digit
        return 0
    # the suffix rules that can end with c ("$" also matches before a final newline)
    rule = _suffix_for(c) if c != "\n" else re.compile(_spacy_en.SUFFIX)
    if rule is None:
        return 0
    start = hi - _SUFFIX_WINDOW
    if start <= lo or s[start - 1] == ".":
        start = lo
    m = rule.search(s, start, hi)
    if m is None:
        return 0
    if m.start() == lo and lo > 0:
        m = rule.search(s[lo:hi])
        return m.end() - m.start() if m else 0
    return hi - m.start()


_SPECIALS = _spacy_en.SPECIALS


def _split_infixes(s: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _infix(s):
        a, b = m.start(), m.end()
        if a == 0:  # an infix at the very start is not split off
            continue
        if a != start:
            out.append(s[start:a])
        if a != b:
            out.append(s[a:b])
        start = b
    if start < len(s):
        out.append(s[start:])
    return out


def spacy_en_tokens(chunk: str) -> tuple[str, ...]:
    """Tokens of one whitespace-free chunk under spaCy's English rules (see module docstring)."""
    special = _SPECIALS.get(chunk)
    if special is not None:
        return special
    if chunk.isalpha():  # no English prefix, suffix, infix or URL rule applies to letters only
        return (chunk,)
    if not chunk:
        return ()
    if not _READY:
        _compile()
    # Letters with one opening or closing mark: the mark is an unconditional prefix or suffix
    # and the letters go through no other rule (checked against the full rules on corpus-dev).
    last = chunk[-1]
    if last in _PLAIN_SUFFIX and chunk[:-1].isalpha():
        return _second_pass((*_SPECIALS.get(chunk[:-1], (chunk[:-1],)), last))
    first = chunk[0]
    if first in _PLAIN_PREFIX and chunk[1:].isalpha():
        return _second_pass((first, *_SPECIALS.get(chunk[1:], (chunk[1:],))))
    if len(chunk) > _LONG_CHUNK:  # garbage: bounded cost instead of spaCy's rules
        return tuple(_LONG_TOKEN.findall(chunk))
    return _second_pass(_affix_tokens(chunk, _SPECIALS))


def _second_pass(tokens: tuple[str, ...]) -> tuple[str, ...]:
    if len(tokens) < 2 or _PATTERN_FIRST.isdisjoint(tokens):  # the common case
        return tokens
    # every special-case run is one listed token or starts with a listed pair of tokens
    if _PATTERN_ONE.isdisjoint(tokens) and _PATTERN_PAIRS.isdisjoint(zip(tokens, tokens[1:])):
        return tokens
    return _merge_specials(tokens)


def _affix_tokens(chunk: str, specials: dict) -> tuple[str, ...]:
    """First pass: special cases, prefixes and suffixes, URL pattern, infixes.

    Works on indices into the chunk (no re-slicing), so a long chunk of punctuation costs time
    linear in its length.
    """
    prefixes: list[str] = []
    suffixes: list[str] = []
    s = chunk
    lo, hi = 0, len(s)
    last = -1
    longest = _MAX_SPECIAL  # (special-case checks written out: a closure per call cost more)
    while lo < hi and hi - lo != last:
        if hi - lo <= longest and s[lo:hi] in specials:
            break
        last = hi - lo
        pre = _prefix_len(s, lo, hi)
        if pre and lo + pre < hi and hi - lo - pre <= longest and s[lo + pre:hi] in specials:
            prefixes.append(s[lo:lo + pre])
            lo += pre
            break
        suf = _suffix_len(s, lo + pre, hi)
        if suf and lo < hi - suf and hi - suf - lo <= longest and s[lo:hi - suf] in specials:
            suffixes.append(s[hi - suf:hi])
            hi -= suf
            break
        if pre and suf and pre + suf <= hi - lo:
            prefixes.append(s[lo:lo + pre])
            suffixes.append(s[hi - suf:hi])
            lo += pre
            hi -= suf
        elif pre:
            prefixes.append(s[lo:lo + pre])
            lo += pre
        elif suf:
            suffixes.append(s[hi - suf:hi])
            hi -= suf
    middle: list[str] | tuple[str, ...]
    rest = s[lo:hi]
    if not rest:
        middle = []
    elif rest in specials:
        middle = specials[rest]
    elif ("." in rest and _url(rest)) or (rest.isascii() and rest.isalnum()):
        # (the URL pattern needs a dot, every infix rule a non-alphanumeric character)
        middle = [rest]
    elif _INFIX_FIRST.isdisjoint(rest):  # no character that an infix rule can start with
        middle = [rest]
    else:
        middle = _split_infixes(rest)
    return (*prefixes, *middle, *reversed(suffixes))


_PATTERNS: dict[tuple[str, ...], tuple[str, ...]] | None = None
_PATTERN_LENGTHS: tuple[int, ...] = ()
_PATTERN_FIRST: frozenset[str] = frozenset()
_PATTERN_ONE: frozenset[str] = frozenset()
_PATTERN_PAIRS: frozenset[tuple[str, str]] = frozenset()


def _patterns() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Special cases that the first pass can cut apart, keyed by the tokens it cuts them into."""
    if not _READY:
        _compile()
    return _PATTERNS


def _build_patterns() -> None:
    global _PATTERNS, _PATTERN_LENGTHS, _PATTERN_FIRST, _PATTERN_ONE, _PATTERN_PAIRS
    pats = {}
    for key, toks in _SPECIALS.items():
        if any(c.isspace() for c in key):
            continue
        if _prefix_len(key, 0, len(key)) or _suffix_len(key, 0, len(key)) or next(
                _infix(key), None):
            pats[_affix_tokens(key, {})] = toks
    _PATTERN_LENGTHS = tuple(sorted({len(k) for k in pats}, reverse=True))
    _PATTERN_FIRST = frozenset(k[0] for k in pats)
    _PATTERN_ONE = frozenset(k[0] for k in pats if len(k) == 1)
    _PATTERN_PAIRS = frozenset(k[:2] for k in pats if len(k) >= 2)
    _PATTERNS = pats


def _merge_specials(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Second pass: re-merge token runs that spell a special case (longest match first)."""
    if len(tokens) < 2:
        return tokens
    pats = _patterns()
    if _PATTERN_FIRST.isdisjoint(tokens):  # the common case, checked without a Python loop
        return tokens
    spans = []
    n = len(tokens)
    for i in range(n):
        if tokens[i] not in _PATTERN_FIRST:
            continue
        for length in _PATTERN_LENGTHS:
            if i + length <= n and tokens[i:i + length] in pats:
                spans.append((length, -i))
    if not spans:
        return tokens
    spans.sort()
    seen: set[int] = set()
    keep = []
    for length, neg_i in reversed(spans):  # longest first, then leftmost
        i = -neg_i
        if i not in seen and i + length - 1 not in seen:
            keep.append((i, length))
        seen.update(range(i, i + length))
    keep.sort()
    out: list[str] = []
    pos = 0
    for i, length in keep:
        out.extend(tokens[pos:i])
        out.extend(pats[tokens[i:i + length]])
        pos = i + length
    out.extend(tokens[pos:])
    return tuple(out)


# --- token and chunk tables, shared by every batch -----------------------------------------------
#: Token attribute bits.
NON_SYMBOL = 1  # has a character outside datatrove's PUNCTUATION_SET
HAS_ALPHA = 2  # has a character for which str.isalpha() is true
IS_PUNCT = 4  # spaCy's is_punct: every character is in a Unicode P* category
SENT_END = 8  # the token is one of spaCy's sentencizer punctuation characters

_MAX_CHUNKS = 2_000_000


class _Tables:
    """Token ids and attributes, chunk -> token ids; replaced (never cleared) when too large."""

    def __init__(self) -> None:
        self.token_id: dict[str, int] = {}
        self.tokens: list[str] = []
        self.length = np.zeros(1024, dtype=np.int64)
        self.flags = np.zeros(1024, dtype=np.int8)
        self.chunks: dict[str, tuple[int, ...]] = {}

    def _grow(self, size: int) -> None:
        """Room for ``size`` tokens; arrays grow by replacement (see ``words``)."""
        if size > len(self.length):
            size = max(size, 2 * len(self.length))
            length = np.zeros(size, dtype=np.int64)
            length[:len(self.length)] = self.length
            flags = np.zeros(size, dtype=np.int8)
            flags[:len(self.flags)] = self.flags
            self.length, self.flags = length, flags

    def add_chunks(self, chunks: list[str], counts: list[int] | None = None,
                   flat: list[str] | None = None) -> list[tuple[int, ...]]:
        """Tokenize chunks not seen before and register them, and their new tokens, at once.

        One pass over the batch's new tokens (ids, lengths and attribute flags in bulk) instead
        of one dictionary round trip per token of every chunk. Tokens already cut by the
        compiled rules are registered as given: ``flat``, all of them in order, and ``counts``,
        how many belong to each chunk."""
        if flat is None:
            global _chunks_seen
            _chunks_seen += len(chunks)
            toks = list(map(spacy_en_tokens, chunks))
            counts = list(map(len, toks))
            flat = list(itertools.chain.from_iterable(toks))
        token_id = self.token_id
        new = [t for t in dict.fromkeys(flat) if t not in token_id]
        if new:
            base = len(self.tokens)
            end = base + len(new)
            self._grow(end)
            self.tokens.extend(new)
            token_id.update(zip(new, range(base, end)))
            lengths = np.fromiter(map(len, new), dtype=np.int64, count=len(new))
            self.length[base:end] = lengths
            self.flags[base:end] = token_flags(new, lengths)
        ids = list(map(token_id.__getitem__, flat))
        out = []
        pos = 0
        for n in counts:
            out.append(tuple(ids[pos:pos + n]))
            pos += n
        self.chunks.update(zip(chunks, out))
        return out

    def chunk(self, chunk: str) -> tuple[int, ...]:
        return self.add_chunks([chunk])[0]


def _is_punct_char(c: str) -> bool:
    return unicodedata.category(c)[0] == "P"


def _token_flags(tok: str) -> int:
    if tok.isalpha():  # no letter is in PUNCTUATION_SET or in a P* category
        return NON_SYMBOL | HAS_ALPHA
    f = 0
    if not PUNCTUATION_SET.issuperset(tok):
        f |= NON_SYMBOL
    if any(map(str.isalpha, tok)):
        f |= HAS_ALPHA
    if not tok.isalnum() and all(map(_is_punct_char, tok)):
        f |= IS_PUNCT
    if tok in SENTENCE_END_CHARS:
        f |= SENT_END
    return f


# Property bits of a code point, as Python defines them, for token_flags.
_ALPHA, _ALNUM, _IN_PUNCTUATION_SET, _P_CATEGORY, _SENTENCE_END = 1, 2, 4, 8, 16
#: Code points below this have their properties in a table built once per process (~10 ms).
_PROPS_TABLE = 0x3000
_props_table: np.ndarray | None = None


def _props(c: str) -> int:
    return (c.isalpha() * _ALPHA | c.isalnum() * _ALNUM
            | (c in PUNCTUATION_SET) * _IN_PUNCTUATION_SET | _is_punct_char(c) * _P_CATEGORY
            | (c in SENTENCE_END_CHARS) * _SENTENCE_END)


def _code_point_props(cps: np.ndarray) -> np.ndarray:
    global _props_table
    if _props_table is None:
        _props_table = np.array([_props(chr(c)) for c in range(_PROPS_TABLE)], dtype=np.uint8)
    out = np.empty(len(cps), dtype=np.uint8)
    small = cps < _PROPS_TABLE
    out[small] = _props_table[cps[small]]
    if not small.all():
        big, back = np.unique(cps[~small], return_inverse=True)
        out[~small] = np.array([_props(chr(c)) for c in big.tolist()], dtype=np.uint8)[back]
    return out


def token_flags(tokens: list[str], lengths: np.ndarray) -> np.ndarray:
    """``_token_flags`` of each token (non-empty; ``lengths``: their lengths), computed from
    per-code-point properties over the tokens' code points at once."""
    if not tokens:
        return np.zeros(0, dtype=np.int8)
    cps = np.frombuffer("".join(tokens).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    props = _code_point_props(cps)
    starts = np.zeros(len(tokens), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    any_of = np.bitwise_or.reduceat(props, starts)
    all_of = np.bitwise_and.reduceat(props, starts)
    flags = np.where(all_of & _IN_PUNCTUATION_SET, 0, NON_SYMBOL)
    flags |= np.where(any_of & _ALPHA, HAS_ALPHA, 0)
    flags |= np.where(((all_of & _ALNUM) == 0) & ((all_of & _P_CATEGORY) != 0), IS_PUNCT, 0)
    flags |= np.where((lengths == 1) & ((props[starts] & _SENTENCE_END) != 0), SENT_END, 0)
    return flags.astype(np.int8)


_TABLES = _Tables()
_LOCK = threading.Lock()


class Words:
    """The words of a batch of documents, flattened.

    ``ids``: token ids of every word of every document, in order; ``doc_offsets``: where each
    document's words start in ``ids`` (length n_docs + 1); ``length`` and ``flags``: attribute
    arrays indexed by token id; ``token_of``: token id -> token text.
    """

    __slots__ = ("doc_offsets", "flags", "ids", "length", "token_id", "token_of")

    def __init__(self, ids, doc_offsets, length, flags, token_of, token_id) -> None:
        self.ids = ids
        self.doc_offsets = doc_offsets
        self.length = length
        self.flags = flags
        self.token_of = token_of
        self.token_id = token_id

    def doc_of(self, positions: np.ndarray) -> np.ndarray:
        """The document (row) each word position belongs to."""
        return np.searchsorted(self.doc_offsets, positions, side="right") - 1

    def counts(self) -> np.ndarray:
        return np.diff(self.doc_offsets)


def list_offsets(lists: pa.Array) -> np.ndarray:
    """Offsets (n + 1, starting at 0) of a list array's rows into its flattened values."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _chunk_tokens(text: pa.Array):
    """(chunk offsets per document, chunk -> distinct-chunk index, token ids per distinct chunk,
    the token tables) for a batch."""
    with _gc_paused():
        return _chunk_tokens_now(text)


@contextlib.contextmanager
def _gc_paused():
    """Automatic cyclic garbage collection paused (and restored) around a batch's tokenization.

    A cold batch allocates hundreds of thousands of tuples and lists (none in a cycle); each
    automatic collection would walk the growing chunk tables again, which cost a third of a
    cold call on the reference documents."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _distinct_chunks(text: pa.Array) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """(where each document's chunks start, each chunk's index among the distinct ones, the
    distinct chunks) of a batch."""
    chunks = pc.utf8_split_whitespace(text)
    enc = pc.dictionary_encode(pc.list_flatten(chunks))
    occ = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return list_offsets(chunks), occ, enc.dictionary


def _chunk_tokens_now(text: pa.Array):
    chunk_offsets, occ, uniq = _distinct_chunks(text)
    per_chunk, t = _known_chunks(uniq.to_pylist(), uniq)
    return chunk_offsets, occ, per_chunk, t


def word_counts(text: pa.Array) -> np.ndarray:
    """Number of datatrove English words of each document of ``text`` (no NULLs).

    Counted by the compiled rules (:mod:`._rules_jit`) once they are available (see
    :func:`compiled_rules`), the chunks they hand back through the Python path and its tables;
    otherwise every chunk goes through the Python path."""
    rules = compiled_rules()
    if rules is None:
        chunk_offsets, occ, per_chunk, _ = _chunk_tokens(text)
        n_tok = np.fromiter(map(len, per_chunk), dtype=np.int64, count=len(per_chunk))
        return seg_sum(n_tok[occ], chunk_offsets)
    chunk_offsets, occ, uniq = _distinct_chunks(text)
    n_tok = _rules_jit.count(rules, uniq, _url, _LONG_CHUNK).astype(np.int64)
    slow = np.flatnonzero(n_tok < 0)
    if len(slow):
        with _gc_paused():
            per_chunk, _ = _known_chunks(uniq.take(pa.array(slow)).to_pylist())
        n_tok[slow] = np.fromiter(map(len, per_chunk), dtype=np.int64, count=len(slow))
    return seg_sum(n_tok[occ], chunk_offsets)


#: Distinct chunks a process sends through the Python rules before it loads (or, on a fresh
#: install, compiles: about 8 s once) the compiled rules; a rules kernel compiled by an earlier
#: process of this install (numba's cache index exists) is used from the start. Below this, the
#: compile would cost more than it saves (the Python rules: about 4 µs a chunk), so a small job
#: such as the demo's first run never waits for it.
COMPILE_AFTER_CHUNKS = 2_000_000
_chunks_seen = 0
_RULES = None


def compiled_rules(force: bool = False):
    """The tables of :mod:`._rules_jit` (built once per process), or None while the Python path
    is still the cheaper one (see :data:`COMPILE_AFTER_CHUNKS`). ``force``: build them, and
    load or compile the kernel, now (a benchmark's or a long job's set-up)."""
    global _RULES
    if _RULES is not None:
        return _RULES or None
    if not force and _chunks_seen < COMPILE_AFTER_CHUNKS and not _rules_jit.is_cached():
        return None
    if not _READY:
        _compile()
    with _LOCK:
        if _RULES is None:
            try:
                _RULES = _rules_jit.Rules(
                    _affix_index.split_alternatives(_spacy_en.PREFIX),
                    _affix_index.split_alternatives(_spacy_en.SUFFIX),
                    _affix_index.split_alternatives(_spacy_en.INFIX), _SPECIALS,
                    # a one-token pattern spelling its own special case changes nothing
                    frozenset(k[0] for k, v in _PATTERNS.items() if len(k) == 1 and k != v),
                    _PATTERN_PAIRS, _MAX_SPECIAL)
            except ValueError:  # a rule the tables cannot hold: the Python path stays
                _RULES = False
    if force and _RULES:
        _rules_jit.count(_RULES, pa.array(["(a.b),"]), _url, _LONG_CHUNK)
    return _RULES or None


def _known_chunks(chunks: list[str], arr: pa.Array | None = None
                  ) -> tuple[list[tuple[int, ...]], _Tables]:
    """Token ids of each chunk from the chunk tables (tokenizing and registering new ones), and
    the tables they index. ``arr``: the same chunks as an Arrow array, for the compiled rules."""
    global _TABLES
    rules = compiled_rules() if arr is not None else None  # (takes the lock itself)
    with _LOCK:
        if len(_TABLES.chunks) > _MAX_CHUNKS:
            _TABLES = _Tables()
        t = _TABLES
        per_chunk = list(map(t.chunks.get, chunks))
        missing = [i for i, ids in enumerate(per_chunk) if ids is None]
        if missing and rules is None:
            for i, ids in zip(missing, t.add_chunks([chunks[i] for i in missing])):
                per_chunk[i] = ids
            return per_chunk, t
    if missing:  # the compiled rules, outside the lock (they release the GIL)
        new = [chunks[i] for i in missing]
        counts, flat = _compiled_tokens(rules, new, arr.take(pa.array(missing)))
        with _LOCK:
            # another thread's batch may have registered some of them meanwhile
            known = list(map(t.chunks.get, new))
            todo = [j for j, ids in enumerate(known) if ids is None]
            if len(todo) < len(new):
                ends = list(itertools.accumulate(counts))
                flat = list(itertools.chain.from_iterable(
                    flat[ends[j] - counts[j]:ends[j]] for j in todo))
                counts = [counts[j] for j in todo]
            for j, ids in zip(todo, t.add_chunks([new[j] for j in todo], counts, flat)):
                known[j] = ids
        for i, ids in zip(missing, known):
            per_chunk[i] = ids
    return per_chunk, t


def _compiled_tokens(rules, chunks: list[str], arr: pa.Array) -> tuple[list[int], list[str]]:
    """(number of tokens of each chunk, all their tokens in order) for new chunks, cut by the
    compiled rules; the chunks they hand back go through the Python rules."""
    count, starts, ends = _rules_jit.tokenize(rules, arr, _url, _LONG_CHUNK)
    fast = np.maximum(count, 0)
    owner = np.repeat(np.arange(len(chunks)), fast).tolist()
    flat = [chunks[c][a:b] for c, a, b in zip(owner, starts.tolist(), ends.tolist())]
    slow = np.flatnonzero(count < 0).tolist()
    if not slow:
        return count.tolist(), flat
    toks = [spacy_en_tokens(chunks[i]) for i in slow]
    count[slow] = [len(t) for t in toks]
    first = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=first[1:])
    out = np.empty(int(first[-1]), dtype=object)
    out[_rules_jit.token_slots(first, np.arange(len(chunks)), fast)] = flat
    for i, t in zip(slow, toks):
        out[first[i]:first[i + 1]] = t
    return count.tolist(), out.tolist()


def words(text: pa.Array) -> Words:
    """Tokenize every document of ``text`` (no NULLs) as datatrove's English word splitter does."""
    chunk_offsets, occ, per_chunk, t = _chunk_tokens(text)
    # Arrays grow by replacement, so this snapshot stays valid for every id handed out so far.
    length, flags, token_of, token_id = t.length, t.flags, t.tokens, t.token_id
    n_tok = np.fromiter(map(len, per_chunk), dtype=np.int64, count=len(per_chunk))
    flat_ids = np.fromiter(itertools.chain.from_iterable(per_chunk), dtype=np.int64,
                           count=int(n_tok.sum()))
    uniq_start = np.zeros(len(n_tok), dtype=np.int64)
    np.cumsum(n_tok[:-1], out=uniq_start[1:])
    occ_n = n_tok[occ]
    occ_cum = np.zeros(len(occ) + 1, dtype=np.int64)
    np.cumsum(occ_n, out=occ_cum[1:])
    total = int(occ_cum[-1])
    gather = np.repeat(uniq_start[occ] - occ_cum[:-1], occ_n) + np.arange(total, dtype=np.int64)
    return Words(flat_ids[gather], occ_cum[chunk_offsets], length, flags, token_of, token_id)


def seg_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each segment ``offsets[i]:offsets[i+1]`` (empty segments give 0)."""
    c = np.zeros(len(values) + 1, dtype=np.result_type(values.dtype, np.int64))
    np.cumsum(values, out=c[1:])
    return c[offsets[1:]] - c[offsets[:-1]]


def duplicate_stats(lists: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a list<string> array: (elements, repeated elements, characters in repeats).

    An element counts as repeated when an equal element occurs earlier in the same row; its
    characters (code points) count toward the third figure. This is datatrove's
    ``find_duplicates``.
    """
    offsets = list_offsets(lists)
    n_rows = len(offsets) - 1
    counts = np.diff(offsets)
    flat = pc.list_flatten(lists)
    if len(flat) == 0:
        z = np.zeros(n_rows, dtype=np.int64)
        return counts, z, z
    enc = pc.dictionary_encode(flat)
    idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    row = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    key = row * (int(idx.max()) + 1) + idx
    _, first = np.unique(key, return_index=True)
    is_first = np.zeros(len(key), dtype=bool)
    is_first[first] = True
    lengths = pc.utf8_length(flat).to_numpy(zero_copy_only=False).astype(np.int64)
    dup = ~is_first
    return counts, seg_sum(dup.astype(np.int64), offsets), seg_sum(np.where(dup, lengths, 0), offsets)
