"""Blocklist kernels against a brute-force reference: words, CJK substrings, case, many terms."""

from __future__ import annotations

import functools
import random
import unicodedata

import pyarrow as pa
import pytest

from corpusql.udfs import blocklist


def is_cjk(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in blocklist.CJK_RANGES) and \
        unicodedata.category(ch)[0] in "LMN"


def is_word(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN" or ch == "_"


def ref_words(s: str) -> list[str]:
    """Words as documented: runs of letters/marks/digits/_; each CJK character alone."""
    out, cur = [], ""
    for ch in s:
        if is_word(ch) and not is_cjk(ch):
            cur += ch
            continue
        if cur:
            out.append(cur)
            cur = ""
        if is_cjk(ch):
            out.append(ch)
    return out + ([cur] if cur else [])


@functools.lru_cache(maxsize=4)
def ref_terms(terms: tuple) -> tuple[set, set]:
    """(word tuples of the word terms, the CJK terms), case-folded and distinct."""
    word_terms, cjk_terms = set(), set()
    for term in terms:
        if term is None:
            continue
        t = term.casefold()
        if any(is_cjk(c) for c in t):
            cjk_terms.add(t)
        elif ref_words(t):
            word_terms.add(tuple(ref_words(t)))
    return word_terms, cjk_terms


def ref_count(text: str | None, terms) -> int:
    """Brute force: every occurrence of every distinct term, overlaps included."""
    if text is None:
        return 0
    folded = text.casefold()
    words = ref_words(folded)
    word_terms, cjk_terms = ref_terms(tuple(terms or ()))
    total = sum(1 for t in cjk_terms for i in range(len(folded)) if folded.startswith(t, i))
    for k in {len(w) for w in word_terms}:
        total += sum(1 for i in range(len(words) - k + 1) if tuple(words[i:i + k]) in word_terms)
    return total


ALPHABET = list("abcAB  ,.-'_1") + ["é", "É", "ß", "中", "文", "日", "本", "ä", "\u0301",
                                    "!"]


def random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def test_random_texts_and_terms_match_brute_force():
    rng = random.Random(4)
    texts = [random_text(rng, rng.randint(0, 60)) for _ in range(400)] + [None, ""]
    for _ in range(20):
        terms = [random_text(rng, rng.randint(1, 5)) for _ in range(rng.randint(0, 12))]
        got = blocklist.count_matches(pa.array(texts, pa.string()), terms=terms).to_pylist()
        want = [ref_count(t, terms) for t in texts]
        assert got == want, terms
        any_ = blocklist.contains_any(pa.array(texts, pa.string()), terms=terms).to_pylist()
        assert any_ == [w > 0 for w in want]


@pytest.mark.parametrize("text, terms, count", [
    ("a class act", ["ass"], 0),                           # never part of a word
    ("Ass, ass! ASS", ["ass"], 3),                         # case-insensitive, punctuation bounds
    ("STRASSE und Straße", ["straße"], 2),                 # case folding: ß = ss
    ("send an E-Mail or e mail", ["e-mail"], 2),           # punctuation inside terms is a gap
    ("New York, new york", ["new york", "york"], 4),       # overlaps count
    ("la la la", ["la la"], 2),
    ("这是中文文本，中文很好", ["中文"], 2),                   # CJK: plain substring
    ("哈哈哈", ["哈哈"], 2),
    ("ok中文", ["ok"], 1),                                   # a CJK character is its own word
    ("bad", ["bad", "BAD", "Bad"], 1),                     # distinct terms after folding
    ("bad", ["!!!", "", None], 0),                         # no word character: ignored
    ("bad", [], 0),
    ("bad", None, 0),
    ("café", ["cafe"], 0),                                 # no accent stripping
])
def test_documented_examples(text, terms, count):
    got = blocklist.count_matches(pa.array([text]), terms=terms).to_pylist()
    assert got == [count]
    assert ref_count(text, terms) == count


def test_thousands_of_terms():
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    terms = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 8)))
                    for _ in range(5000)})
    terms += ["two words", "中文字"]
    vocab = terms[:50] + ["zzzzzzzzz", "the", "two", "words", "中文"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))) for _ in range(300)]
    got = blocklist.count_matches(pa.array(texts), terms=terms).to_pylist()
    assert got == [ref_count(t, terms) for t in texts]
    assert sum(got) > 1000


def test_rows_never_match_across_row_boundaries():
    got = blocklist.count_matches(pa.array(["new", "york", "中", "文"]),
                                  terms=["new york", "中文"]).to_pylist()
    assert got == [0, 0, 0, 0]


@pytest.mark.parametrize("url, blocked", [
    ("https://www.Example.com./page", True),
    ("http://user:pw@sub.example.com:8080/x?y#z", True),
    ("example.com/path", True),
    ("https://notexample.com/", False),
    ("https://example.com.evil.org/", False),
    ("https://evil.org/?u=example.com", False),
    ("mailto:someone@example.com", True),
    ("https://münchen.de/", True),
    ("http://[2001:db8::1]:80/", True),
    ("", False),
])
def test_url_domain_blocked(url, blocked):
    domains = ["*.example.com", "xn--mnchen-3ya.de", "[2001:db8::1]"]
    assert blocklist.url_domain_blocked(pa.array([url]), domains=domains).to_pylist() == [blocked]


def test_url_domain_blocked_empty_list_blocks_nothing():
    urls = pa.array(["https://example.com", "x"])
    assert blocklist.url_domain_blocked(urls, domains=None).to_pylist() == [False, False]
    assert blocklist.url_domain_blocked(urls, domains=[]).to_pylist() == [False, False]


def test_sql_constant_list_from_a_subquery(con):
    con.execute("CREATE TABLE blocklist AS SELECT * FROM (VALUES ('bad'), ('worse')) t(term)")
    con.execute("CREATE TABLE nothing (term VARCHAR)")
    con.execute("CREATE TABLE docs AS SELECT * FROM (VALUES (1, 'a bad day'), (2, 'fine'), "
                "(3, NULL), (4, 'Worse and BAD')) t(id, text)")
    rows = con.execute("SELECT id, count_matches(text, (SELECT list(term) FROM blocklist)), "
                       "contains_any(text, (SELECT list(term) FROM nothing)) "
                       "FROM docs ORDER BY id").fetchall()
    assert rows == [(1, 1, False), (2, 0, False), (3, None, None), (4, 2, False)]
    kept = con.execute("SELECT id FROM docs WHERE count_matches(text, "
                       "(SELECT list(term) FROM blocklist)) = 0 ORDER BY id").fetchall()
    assert kept == [(2,)]
    assert con.execute("SELECT url_domain_blocked('https://a.b.org/x', ['b.org'])").fetchall() \
        == [(True,)]
