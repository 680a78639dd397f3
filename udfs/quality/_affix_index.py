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
  characters (a short class, or the range from the smallest to the largest), so a position
  whose character cannot start a match is rejected before any look-behind class is tested.
* **no infix character, no infix**: a string holding none of the infixes' possible first
  characters cannot contain an infix match.

Each rewrite keeps the set of positions and the order in which the alternatives are tried, so
the first match found is the one the original pattern finds.
"""

from __future__ import annotations

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


def edge_chars(alternative: str, last: bool) -> set[int] | None:
    """Possible first (``last=False``) or last consumed character of one alternative."""
    parsed = _parser.parse(alternative)
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return ANY
    return _edge_chars(parsed.data, last)


def _escape(cp: int) -> str:
    return f"\\U{cp:08x}"


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


class Dispatch:
    """Per character, the compiled alternation of the alternatives that can consume it first
    (``last=False``) or last; ``get(ch)`` is None when none can."""

    def __init__(self, alternatives: list[str], last: bool) -> None:
        edges = [edge_chars(a, last) for a in alternatives]
        everywhere = tuple(i for i, e in enumerate(edges) if e is ANY)
        per_char: dict[int, set[int]] = {}
        for i, e in enumerate(edges):
            if e is not ANY:
                for cp in e:
                    per_char.setdefault(cp, {*everywhere}).add(i)
        self._alternatives = alternatives
        self._compiled: dict[tuple[int, ...], re.Pattern] = {}
        #: character -> the alternatives to try (compiled on first use: few characters occur)
        self._which = {chr(cp): tuple(sorted(idx)) for cp, idx in per_char.items()}
        self._everywhere = everywhere
        self._table: dict[str, re.Pattern | None] = {}

    def get(self, ch: str) -> re.Pattern | None:
        rule = self._table.get(ch, False)
        if rule is False:
            idx = self._which.get(ch, self._everywhere)
            if not idx:
                rule = None
            else:
                rule = self._compiled.get(idx)
                if rule is None:
                    rule = re.compile("|".join(guarded(self._alternatives[i]) for i in idx))
                    self._compiled[idx] = rule
            self._table[ch] = rule
        return rule


def first_chars(alternatives: list[str]) -> frozenset[str] | None:
    """Every character that can start a match of one of the alternatives (None: unknown)."""
    out: set[int] = set()
    for a in alternatives:
        chars = edge_chars(a, last=False)
        if chars is ANY:
            return None
        out |= chars
    return frozenset(map(chr, out))

