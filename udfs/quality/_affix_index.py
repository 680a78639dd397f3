"""Faster equivalents of spaCy's prefix, suffix and infix alternations, derived from the patterns.

Python's ``re`` tries every alternative of a pattern at every position it scans, and the spaCy
English alternatives start with look-behind classes of several hundred ranges: a suffix search
over a dozen characters costs several microseconds. Three rewrites give the same matches:

* **dispatch on the character**: a prefix match consumes the character at its start, a suffix
  match the character at its end. For each character, only the alternatives whose first
  (prefix) or last (suffix) consumed character can be that character are kept, in their
  original order; the sets are read from the parsed alternatives (``re._parser``), and an
  alternative whose set cannot be read, or that could match the empty string, is kept for
  every character.
* **cheap guard first**: each alternative is preceded by a look-ahead for its possible first
  characters (a short class, or the range from the smallest to the largest), and the whole
  alternation by one look-ahead for any of them, so a position whose character cannot start a
  match is rejected before any alternative or look-behind class is tried.
* **no infix character, no infix**: a string holding none of the infixes' possible first
  characters cannot contain an infix match.

Each rewrite keeps the set of positions and the order in which the alternatives are tried, so
the first match found is the one the original pattern finds.
"""

from __future__ import annotations

import functools
import re
from re import _constants as C  # the parse tree of a pattern
from re import _parser

#: A character set that could not be read from the pattern: the alternative is kept everywhere.
ANY = None
_GUARD_CLASS_MAX = 32


def split_alternatives(pattern: str) -> list[str]:
    """The top-level ``|`` alternatives of a pattern's source text."""
    out, depth, start, i, in_class, class_start = [], 0, 0, 0, False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]" and i > class_start:
                in_class = False
        elif ch == "[":
            in_class = True
            class_start = i + 1
            if pattern[class_start:class_start + 1] == "^":
                class_start += 1
            if pattern[class_start:class_start + 1] == "]":  # a leading ] is literal
                class_start += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    if "|".join(out) != pattern or depth != 0 or in_class:
        raise ValueError("cannot split the pattern into alternatives")
    return out


def _class_chars(items) -> set[int] | None:
    chars: set[int] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(av)
        elif op is C.RANGE:
            chars.update(range(av[0], av[1] + 1))
        else:  # NEGATE, CATEGORY (\d, \w...): not read
            return ANY
    return chars


def _edge_chars(seq, last: bool) -> set[int] | None:
    """Possible first (or last) consumed character of a parsed sequence; ANY when unknown or
    when the sequence could match the empty string."""
    items = [it for it in seq if it[0] not in (C.AT, C.ASSERT, C.ASSERT_NOT)]
    if not items:
        return ANY
    op, av = items[-1] if last else items[0]
    if op is C.LITERAL:
        return {av}
    if op is C.IN:
        return _class_chars(av)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        lo, _, sub = av
        return _edge_chars(sub, last) if lo >= 1 else ANY
    if op is C.SUBPATTERN:
        return _edge_chars(av[-1], last)
    if op is C.BRANCH:
        out: set[int] = set()
        for sub in av[1]:
            chars = _edge_chars(sub, last)
            if chars is ANY:
                return ANY
            out |= chars
        return out
    return ANY


@functools.lru_cache(maxsize=1024)
def edge_chars(alternative: str, last: bool) -> frozenset[int] | None:
    """Possible first (``last=False``) or last consumed character of one alternative."""
    parsed = _parser.parse(alternative)
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return ANY
    chars = _edge_chars(parsed.data, last)
    return None if chars is ANY else frozenset(chars)


def _escape(cp: int) -> str:
    return f"\\U{cp:08x}"


def _char_class(cps: set[int]) -> str:
    """A regex class of exactly these code points, as ranges of consecutive ones."""
    out, run = [], sorted(cps)
    i = 0
    while i < len(run):
        j = i
        while j + 1 < len(run) and run[j + 1] == run[j] + 1:
            j += 1
        out.append(_escape(run[i]) + (f"-{_escape(run[j])}" if j > i else ""))
        i = j + 1
    return "[" + "".join(out) + "]"


def alternation(alternatives: list[str], outer_max: int | None = None) -> str:
    """The alternatives, each guarded, behind one look-ahead for any of their first characters
    (left out when there are more than ``outer_max`` of them: a large class is slow to compile).

    The look-ahead's class is split at U+FFFF: ``re`` tests a class's characters above the
    Basic Multilingual Plane one range at a time, so they are tested only for such characters.
    """
    body = "|".join(map(guarded, alternatives))
    first = _first_codes(alternatives)
    if first is None or (outer_max is not None and len(first) > outer_max):
        return body
    bmp = {c for c in first if c <= 0xFFFF}
    astral = first - bmp
    parts = [_char_class(bmp)] if bmp else []
    if astral:
        parts.append(f"(?![\\x00-\\uffff]){_char_class(astral)}")
    return f"(?={'|'.join(parts)})(?:{body})" if parts else body


def guarded(alternative: str) -> str:
    """The alternative preceded by a look-ahead for its possible first characters."""
    first = edge_chars(alternative, last=False)
    if first is ANY:
        return alternative
    if len(first) <= _GUARD_CLASS_MAX:
        guard = "".join(map(_escape, sorted(first)))
    else:
        guard = f"{_escape(min(first))}-{_escape(max(first))}"
    return f"(?=[{guard}])(?:{alternative})"


class Dispatch(dict):
    """Per character, the compiled alternation of the alternatives that can consume it first
    (``last=False``) or last; ``d[ch]`` is None when none can. Compiled on first use (few
    characters occur), then a plain dictionary lookup."""

    def __init__(self, alternatives: list[str], last: bool) -> None:
        super().__init__()
        edges = [edge_chars(a, last) for a in alternatives]
        everywhere = tuple(i for i, e in enumerate(edges) if e is ANY)
        per_char: dict[int, set[int]] = {}
        for i, e in enumerate(edges):
            if e is not ANY:
                for cp in e:
                    per_char.setdefault(cp, {*everywhere}).add(i)
        self._alternatives = alternatives
        self._compiled: dict[tuple[int, ...], re.Pattern | None] = {(): None}
        #: character -> the alternatives to try
        self._which = {chr(cp): tuple(sorted(idx)) for cp, idx in per_char.items()}
        self._everywhere = everywhere

    def __missing__(self, ch: str) -> re.Pattern | None:
        idx = self._which.get(ch, self._everywhere)
        if idx not in self._compiled:
            self._compiled[idx] = re.compile(alternation([self._alternatives[i] for i in idx],
                                                           outer_max=_GUARD_CLASS_MAX))
        self[ch] = rule = self._compiled[idx]
        return rule


def _first_codes(alternatives: list[str]) -> set[int] | None:
    """Every code point that can start a match of one of the alternatives (None: unknown)."""
    out: set[int] = set()
    for a in alternatives:
        chars = edge_chars(a, last=False)
        if chars is ANY:
            return None
        out |= chars
    return out


def first_chars(alternatives: list[str]) -> frozenset[str] | None:
    """Every character that can start a match of one of the alternatives (None: unknown)."""
    codes = _first_codes(alternatives)
    return None if codes is None else frozenset(map(chr, codes))


