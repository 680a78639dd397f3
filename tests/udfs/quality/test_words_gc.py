"""A cold batch is tokenized with automatic garbage collection paused, and the caller's setting
is restored afterwards (on success and on error)."""

from __future__ import annotations

import gc

import pyarrow as pa
import pytest

from corpusql.udfs.quality import words


@pytest.fixture
def seen(monkeypatch):
    """gc.isenabled() at each chunk the Python rules tokenize (the compiled rules kept out)."""
    monkeypatch.setattr(words, "compiled_rules", lambda force=False: None)
    states: list[bool] = []
    tokens = words.spacy_en_tokens

    def spy(chunk):
        states.append(gc.isenabled())
        return tokens(chunk)

    monkeypatch.setattr(words, "spacy_en_tokens", spy)
    monkeypatch.setattr(words, "_TABLES", words._Tables())
    return states


TEXTS = pa.array(["alpha beta-gamma (delta), 3.5km.", "epsilon zeta:eta"])


def test_collection_paused_while_tokenizing_then_restored(seen):
    assert gc.isenabled()
    w = words.words(TEXTS)
    assert [w.token_of[i] for i in w.ids.tolist()][:6] == ["alpha", "beta", "-", "gamma", "(",
                                                             "delta"]
    assert seen and not any(seen)
    assert gc.isenabled()


def test_caller_who_disabled_collection_keeps_it_disabled(seen):
    gc.disable()
    try:
        words.words(TEXTS)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen and not any(seen)


def test_collection_restored_after_an_error(monkeypatch, seen):
    def boom(chunk):
        raise RuntimeError("boom")

    monkeypatch.setattr(words, "spacy_en_tokens", boom)
    with pytest.raises(RuntimeError, match="boom"):
        words.words(TEXTS)
    assert gc.isenabled()


def test_collection_paused_while_registering_the_compiled_rules_tokens(monkeypatch):
    assert words.compiled_rules(force=True) is not None
    monkeypatch.setattr(words, "_TABLES", words._Tables())
    states: list[bool] = []
    flags = words.token_flags

    def spy(tokens, lengths):
        states.append(gc.isenabled())
        return flags(tokens, lengths)

    monkeypatch.setattr(words, "token_flags", spy)
    words.words(TEXTS)
    assert states and not any(states)
    assert gc.isenabled()
