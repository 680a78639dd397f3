"""The English word splitter as words.py had it before the fast paths (commit 73c9488): the
test reference that the faster splitter must match token for token.

A verbatim copy of the functions the fast paths replaced (the chunk splitter, the affix pass and
the special-case merge); the rule matchers they call (spaCy 3.8.18's English prefix, suffix,
infix and URL rules, data in corpusql.udfs.quality._spacy_en) are words.py's own, unchanged.
"""

from __future__ import annotations

from corpusql.udfs.quality import words
from corpusql.udfs.quality.words import (
    _LONG_CHUNK,
    _LONG_TOKEN,
    _MAX_SPECIAL,
    _PLAIN_PREFIX,
    _PLAIN_SUFFIX,
    _SPECIALS,
    _compile,
    _prefix_len,
    _split_infixes,
    _suffix_len,
)


def spacy_en_tokens(chunk: str) -> tuple[str, ...]:
    """Tokens of one whitespace-free chunk under spaCy's English rules (see module docstring)."""
    special = _SPECIALS.get(chunk)
    if special is not None:
        return special
    if chunk.isalpha():  # no English prefix, suffix, infix or URL rule applies to letters only
        return (chunk,)
    if not chunk:
        return ()
    # Letters with one opening or closing mark: the mark is an unconditional prefix or suffix
    # and the letters go through no other rule (checked against the full rules on corpus-dev).
    last = chunk[-1]
    if last in _PLAIN_SUFFIX and chunk[:-1].isalpha():
        return _merge_specials((*_SPECIALS.get(chunk[:-1], (chunk[:-1],)), last))
    first = chunk[0]
    if first in _PLAIN_PREFIX and chunk[1:].isalpha():
        return _merge_specials((first, *_SPECIALS.get(chunk[1:], (chunk[1:],))))
    if len(chunk) > _LONG_CHUNK:  # garbage: bounded cost instead of spaCy's rules
        return tuple(_LONG_TOKEN.findall(chunk))
    return _merge_specials(_affix_tokens(chunk, _SPECIALS))


def _affix_tokens(chunk: str, specials: dict) -> tuple[str, ...]:
    """First pass: special cases, prefixes and suffixes, URL pattern, infixes.

    Works on indices into the chunk (no re-slicing), so a long chunk of punctuation costs time
    linear in its length.
    """
    _compile()
    prefixes: list[str] = []
    suffixes: list[str] = []
    s = chunk
    lo, hi = 0, len(s)
    last = -1

    def special(a: int, b: int) -> bool:
        return b - a <= _MAX_SPECIAL and s[a:b] in specials

    while lo < hi and hi - lo != last:
        if special(lo, hi):
            break
        last = hi - lo
        pre = _prefix_len(s, lo, hi)
        if pre and lo + pre < hi and special(lo + pre, hi):
            prefixes.append(s[lo:lo + pre])
            lo += pre
            break
        suf = _suffix_len(s, lo + pre, hi)
        if suf and lo < hi - suf and special(lo, hi - suf):
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
    elif ("." in rest and words._url(rest)) or (rest.isascii() and rest.isalnum()):
        # (the URL pattern needs a dot, every infix rule a non-alphanumeric character)
        middle = [rest]
    else:
        middle = _split_infixes(rest)
    return (*prefixes, *middle, *reversed(suffixes))


_PATTERNS: dict[tuple[str, ...], tuple[str, ...]] | None = None
_PATTERN_LENGTHS: tuple[int, ...] = ()
_PATTERN_FIRST: frozenset[str] = frozenset()


def _patterns() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Special cases that the first pass can cut apart, keyed by the tokens it cuts them into."""
    global _PATTERNS, _PATTERN_LENGTHS, _PATTERN_FIRST
    if _PATTERNS is None:
        _compile()
        pats = {}
        for key, toks in _SPECIALS.items():
            if any(c.isspace() for c in key):
                continue
            if _prefix_len(key, 0, len(key)) or _suffix_len(key, 0, len(key)) or next(
                    words._infix(key), None):
                pats[_affix_tokens(key, {})] = toks
        _PATTERN_LENGTHS = tuple(sorted({len(k) for k in pats}, reverse=True))
        _PATTERN_FIRST = frozenset(k[0] for k in pats)
        _PATTERNS = pats
    return _PATTERNS


def _merge_specials(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Second pass: re-merge token runs that spell a special case (longest match first)."""
    if len(tokens) < 2:
        return tokens
    pats = _patterns()
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
