"""The rewritten spaCy rule patterns (_affix_index) find exactly the matches of the originals.

The dispatch tables and guards are derived from the parsed patterns; these tests check the
derivation on small patterns and compare the rewritten prefix, suffix and infix rules with the
original regular expressions on every character the rules name, every 1009th code point and a
set of contexts around them (look-behind and look-ahead neighbours, runs, slices).
"""

from __future__ import annotations

import re

import pytest

from corpusql.udfs.quality import _affix_index as ai
from corpusql.udfs.quality import _spacy_en


def test_split_alternatives_respects_groups_classes_and_escapes():
    assert ai.split_alternatives(r"a|(?:b|c)|[|x]|\||[]|]|d") == [
        "a", "(?:b|c)", "[|x]", r"\|", "[]|]", "d"]
    with pytest.raises(ValueError, match="cannot split"):
        ai.split_alternatives("(a|b")


@pytest.mark.parametrize(("alt", "first", "last"), [
    ("ab", {"a"}, {"b"}),
    ("(?:ab|c)d+", {"a", "c"}, {"d"}),
    ("(?<=[0-9])[x-z]$", {"x", "y", "z"}, {"x", "y", "z"}),
    (r"\+(?![0-9])", {"+"}, {"+"}),
    ("a?b", None, {"b"}),  # could start with b: unknown, kept everywhere
    ("ab*", {"a"}, None),
    ("[^x]", None, None),
    (r"\d", None, None),
    ("(?:)", None, None),
    ("(?i)a", None, None),
])
def test_edge_chars(alt, first, last):
    def chars(s):
        return None if s is None else set(map(ord, s))
    assert ai.edge_chars(alt, last=False) == chars(first)
    assert ai.edge_chars(alt, last=True) == chars(last)


def test_guarded_alternative_matches_the_same():
    alt = r"(?<=[0-9])[+\-*^](?=[0-9-])"
    pat, fast = re.compile(alt), re.compile(ai.guarded(alt))
    for s in ["1+2", "a+2", "1-", "1^-", "+", "12*3*4"]:
        assert [m.span() for m in pat.finditer(s)] == [m.span() for m in fast.finditer(s)]


def _strings(chars: list[str]) -> list[str]:
    ctx = ["", "1", "a", "A", "°F", "..", "x1", "US", "(", ")", "—", "km", "s", "’"]
    out = []
    for c in chars:
        for b in ctx:
            out += [c, b + c, c + b, b + c + b, c + c]
    return out


def _rule_chars() -> list[str]:
    cps: set[int] = set(range(0, 0x250)) | set(range(0, 0x110000, 1009))
    for pattern in (_spacy_en.PREFIX, _spacy_en.SUFFIX, _spacy_en.INFIX):
        for alt in ai.split_alternatives(pattern):
            for last in (False, True):
                cps |= ai.edge_chars(alt.lstrip("^"), last) or set()
    return [chr(c) for c in sorted(cps) if not chr(c).isspace()]


@pytest.fixture(scope="module")
def strings() -> list[str]:
    return _strings(_rule_chars())


def test_prefix_dispatch_equals_the_prefix_pattern(strings):
    full = re.compile(re.sub(r"(^|\|)\^", r"\1", _spacy_en.PREFIX))
    d = ai.Dispatch([a[1:] for a in ai.split_alternatives(_spacy_en.PREFIX)], last=False)
    for s in strings:
        for lo in range(min(len(s), 3)):
            want = full.match(s, lo)
            rule = d[s[lo]]
            got = rule.match(s, lo) if rule else None
            assert (got and got.span()) == (want and want.span()), (s, lo)


def test_suffix_dispatch_equals_the_suffix_pattern(strings):
    full = re.compile(_spacy_en.SUFFIX)
    d = ai.Dispatch(ai.split_alternatives(_spacy_en.SUFFIX), last=True)
    for s in strings:
        for start in range(min(len(s), 3)):
            want = full.search(s, start)
            rule = d[s[-1]]
            got = rule.search(s, start) if rule else None
            assert (got and got.span()) == (want and want.span()), (s, start)


def test_infix_rewrite_equals_the_infix_pattern(strings):
    full = re.compile(_spacy_en.INFIX)
    alts = ai.split_alternatives(_spacy_en.INFIX)
    fast = re.compile(ai.alternation(alts))
    first = ai.first_chars(alts)
    for s in strings:
        want = [m.span() for m in full.finditer(s)]
        assert [m.span() for m in fast.finditer(s)] == want, s
        if first.isdisjoint(s):
            assert want == [], s
