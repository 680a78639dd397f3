"""The compiled English rules (udfs/quality/_rules_jit.py) decide chunks as the Python rules do.

test_words_identity.py checks whole documents both ways against the reference tokenizer; this
module checks the pieces: the counts and tokens the kernel decides itself, which chunks it hands
back to Python, the pattern reader, the token attribute flags computed in bulk, and when a
process switches from the Python rules to the compiled ones.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from test_words_identity import TRICKY, _chunks, _reference_texts, _sample_texts

from corpusql.udfs.quality import _rules_jit, _spacy_en, words


@pytest.fixture(scope="module")
def rules():
    r = words.compiled_rules(force=True)
    assert r is not None
    return r


def _chunk_set(name: str, shared_data) -> list[str]:
    if name == "tricky":
        return [c for c in TRICKY if c and not any(ch.isspace() for ch in c)]
    texts = _sample_texts() if name == "sample" else _reference_texts(shared_data)
    return _chunks(texts)


@pytest.mark.parametrize("name, decided_at_least", [
    ("tricky", 0.5), ("sample", 0.95), ("reference", 0.95)])
def test_counts_and_tokens_are_the_python_rules(rules, shared_data, name, decided_at_least):
    chunks = _chunk_set(name, shared_data)
    arr = pa.array(chunks, pa.string())
    want = [words.spacy_en_tokens(c) for c in chunks]
    count = _rules_jit.count(rules, arr, words._url, words._LONG_CHUNK)
    n, starts, ends = _rules_jit.tokenize(rules, arr, words._url, words._LONG_CHUNK)
    first = np.concatenate([[0], np.cumsum(np.maximum(n, 0))])
    bad = []
    for i, c in enumerate(chunks):
        if count[i] >= 0 and count[i] != len(want[i]):
            bad.append((c, "count", int(count[i]), want[i]))
        if n[i] >= 0:
            got = tuple(c[a:b] for a, b in zip(starts[first[i]:first[i + 1]].tolist(),
                                               ends[first[i]:first[i + 1]].tolist()))
            if got != want[i]:
                bad.append((c, "tokens", got, want[i]))
    assert not bad, f"{len(bad)} of {len(chunks)} chunks differ, e.g. {bad[:5]}"
    # the kernel decides most chunks itself, so the comparison above is not vacuous
    assert (n >= 0).mean() >= decided_at_least
    assert (count >= 0).mean() >= decided_at_least


@pytest.mark.parametrize("chunk, counted, why", [
    ("x" * 20_001, -1, "longer than the long-chunk limit"),
    ("don't", 2, "a special case: counted, its tokens come from Python"),
    ("(don't", -1, "a special case reached after a prefix"),
    ("later):", -1, "the second pass may merge '):'"),
    ("http://example.com/a?b=c.", 2, "the URL pattern, tried in Python"),
    ("(e.g.", -1, "a special case reached after a prefix"),
    ("hello,", 2, "decided in the kernel"),
])
def test_which_chunks_take_the_python_path(rules, chunk, counted, why):
    arr = pa.array([chunk])
    assert _rules_jit.count(rules, arr, words._url, words._LONG_CHUNK).tolist() == [counted], why
    n, _, _ = _rules_jit.tokenize(rules, arr, words._url, words._LONG_CHUNK)
    assert n.tolist() == [-1 if chunk in _spacy_en.SPECIALS else counted], why


def test_chunks_of_every_script_and_width(rules):
    """Multi-byte UTF-8 (2, 3 and 4 bytes), astral symbols at either end, sliced arrays."""
    chunks = ["日本語。", "мама.", "Zürich,", "😀hello", "hello😀", "(😀)", "a…b", "¿Qué?", "x" * 40]
    arr = pa.array(["pad", *chunks]).slice(1)
    got = _rules_jit.count(rules, arr, words._url, words._LONG_CHUNK).tolist()
    assert got == [len(words.spacy_en_tokens(c)) for c in chunks]


@pytest.mark.parametrize("pattern, anchor", [
    (r"a*b", None),  # a repeat followed by more pattern
    (r"[^a]", None),  # a negated class
    (r"\w", None),  # a category
    (r"(?=a)b", None),  # a look-ahead before the body
    (r"a", "end"),  # a suffix without its $ anchor
])
def test_patterns_outside_the_grammar_are_refused(pattern, anchor):
    from re import _constants as C
    with pytest.raises(ValueError):
        _rules_jit.read_alternative(pattern, C.AT_END if anchor == "end" else None)


def test_an_alternation_inside_an_alternative_becomes_one_row_per_branch():
    from re import _constants as C
    rows = _rules_jit.read_alternative(r"(?<=[0-9])(?:km|m|cm)$", C.AT_END)
    assert [len(r["body"]) for r in rows] == [2, 1, 2]
    assert all(r["lb"] == [[(48, 57)]] for r in rows)


def test_token_flags_in_bulk_match_the_definition():
    """Every code point of the Basic Multilingual Plane but the surrogates, alone, and the tokens
    of the bundled sample."""
    singles = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    tokens = singles + [t for c in _chunks(_sample_texts()) for t in words.spacy_en_tokens(c)]
    tokens += ["😀", "a😀", "😀.", "..", "!?", "a1", "12", "¡Hola!"]
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    got = words.token_flags(tokens, lengths).tolist()
    want = [words._token_flags(t) for t in tokens]
    diff = [(t, g, w) for t, g, w in zip(tokens, got, want) if g != w]
    assert not diff, diff[:10]


def test_the_python_rules_serve_until_compiling_pays(monkeypatch):
    monkeypatch.setattr(words, "_RULES", None)
    monkeypatch.setattr(_rules_jit, "is_cached", lambda: False)
    monkeypatch.setattr(words, "_chunks_seen", 0)
    assert words.compiled_rules() is None
    monkeypatch.setattr(words, "_chunks_seen", words.COMPILE_AFTER_CHUNKS)
    assert words.compiled_rules() is not None
    monkeypatch.setattr(words, "_RULES", None)
    monkeypatch.setattr(words, "_chunks_seen", 0)
    monkeypatch.setattr(_rules_jit, "is_cached", lambda: True)  # compiled by an earlier process
    assert words.compiled_rules() is not None


def test_rules_the_tables_cannot_hold_leave_the_python_path(monkeypatch):
    monkeypatch.setattr(words, "_RULES", None)
    monkeypatch.setattr(_spacy_en, "SUFFIX", r"\w+$")
    assert words.compiled_rules(force=True) is None
    text = pa.array(["hello, world (again)."])
    assert words.word_counts(text).tolist() == [len("hello , world ( again ) .".split())]


def test_chunks_another_thread_registered_meanwhile_are_not_registered_twice(monkeypatch, rules):
    """Two DuckDB threads tokenize their batches' new chunks outside the lock; the second to
    register keeps the first one's ids for the chunks they share."""
    monkeypatch.setattr(words, "_TABLES", words._Tables())
    real = words._compiled_tokens
    other = pa.array(["beta, gamma-delta (epsilon)"])

    raced = []

    def racing(rules_, chunks, arr):
        out = real(rules_, chunks, arr)
        if not raced:  # "another thread" registers some of the same chunks first
            raced.append(chunks)
            words.words(other)
        return out

    monkeypatch.setattr(words, "_compiled_tokens", racing)
    registered: list[str] = []
    add = words._Tables.add_chunks

    def spy(self, chunks, *args):
        registered.extend(chunks)
        return add(self, chunks, *args)

    monkeypatch.setattr(words._Tables, "add_chunks", spy)
    text = pa.array(["alpha beta, gamma-delta (epsilon) zeta."])
    w = words.words(text)
    got = [w.token_of[i] for i in w.ids.tolist()]
    assert got == ["alpha", "beta", ",", "gamma", "-", "delta", "(", "epsilon", ")", "zeta", "."]
    t = words._TABLES
    assert len(t.tokens) == len(set(t.tokens)) == len(t.token_id)
    assert t.chunks["beta,"] == (t.token_id["beta"], t.token_id[","])
    assert "beta," in raced[0]  # the race did cover a shared chunk
    assert sorted(registered) == sorted(set(registered))  # each chunk registered once


def test_a_demo_sized_job_does_not_compile_the_rules(monkeypatch):
    """The demo's first run must not wait for the rules' compile: the four rule sets over the
    sample, twice, stay on the Python rules."""
    from corpusql.udfs.quality import c4, fineweb, gopher, repetition

    monkeypatch.setattr(words, "_RULES", None)
    monkeypatch.setattr(words, "_chunks_seen", 0)
    monkeypatch.setattr(words, "_TABLES", words._Tables())
    monkeypatch.setattr(_rules_jit, "is_cached", lambda: False)
    texts = _sample_texts()
    for _ in range(2):
        for f in (gopher.gopher_quality_reasons, repetition.gopher_repetition_reasons,
                  c4.c4_quality_reasons, fineweb.fineweb_quality_reasons):
            for start in range(0, len(texts), 2048):
                f(texts.slice(start, 2048))
    assert words._RULES is None
    assert 0 < words._chunks_seen < words.COMPILE_AFTER_CHUNKS
