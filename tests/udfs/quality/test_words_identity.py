"""The word splitter gives exactly the tokens of the previous implementation (spacy_reference.py).

Every distinct whitespace-free chunk of the bundled sample and of the shared quality reference
documents (8000 corpus-dev documents, ~60 languages; skipped without ../shared) is split by both,
one chunk at a time and through the batch path (``words()``, which tokenizes a batch's new chunks
together), and the tokens must be identical. The batch path is checked twice: with the Python
rules, and with the compiled rules (udfs/quality/_rules_jit.py) that a process switches to once
they are compiled; ``word_counts`` must count the same words both ways.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import spacy_reference as ref

from corpusql.demo import sample_path
from corpusql.udfs.quality import words

TRICKY = [
    "", "a", "U.S.", "f():", "id.", "(hello),", "don't.", "'s", "5km.", "10a.m.", "$5.00", "US$5",
    "...", "....", "…", "hello...", "--flag=value", "x--y", "a-b-c", "http://example.com/a?b=c.",
    "e.g.", "(e.g.", "<a>", "1+2", "3-4", "a,b", "C$", "A$1", "+1", "+a", "°F.", "°C.", "ABC.",
    "abc.", "Ab.", "'Cause", "''", ":)", ":-)", "(*_*)", "8-)", "x" * 20_001, ".." + "x" * 30,
    "мама.", "日本語。", "Zürich,", "naïve-ish", "«quoted»", "“smart”", "a_b()", "\x1b[35;1m",
]


def _chunks(texts: pa.Array) -> list[str]:
    return pc.unique(pc.list_flatten(pc.utf8_split_whitespace(texts))).to_pylist()


def _sample_texts() -> pa.Array:
    return pc.fill_null(pq.read_table(sample_path(), columns=["text"]).column("text"),
                        "").combine_chunks()


def _reference_texts(shared_data) -> pa.Array:
    path = shared_data / "quality-ref" / "decisions.parquet"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return pq.read_table(path, columns=["text"]).column("text").combine_chunks()


@pytest.fixture(params=["python rules", "compiled rules"])
def rules_path(request, monkeypatch):
    """The Python rules only, or the compiled rules from the first chunk on."""
    if request.param == "python rules":
        monkeypatch.setattr(words, "compiled_rules", lambda force=False: None)
    else:
        assert words.compiled_rules(force=True) is not None
        calls = []
        real = words._rules_jit.tokenize
        monkeypatch.setattr(words._rules_jit, "tokenize", lambda *a: calls.append(1) or real(*a))
        yield request.param
        assert calls, "the compiled rules were not used"
        return
    yield request.param


def _check(texts: pa.Array) -> None:
    """Chunk by chunk, then words() over 2048-document batches with the chunk tables emptied
    first (a cold start, where a batch's new chunks are tokenized together), and word_counts()
    with the tables emptied again."""
    want_of = {c: ref.spacy_en_tokens(c) for c in _chunks(texts)}
    diff = [(c, words.spacy_en_tokens(c), t) for c, t in want_of.items()]
    diff = [d for d in diff if d[1] != d[2]]
    assert not diff, f"{len(diff)} of {len(want_of)} chunks differ, e.g. {diff[:5]}"
    words._TABLES = words._Tables()
    for start in range(0, len(texts), 2048):
        batch = texts.slice(start, 2048)
        w = words.words(batch)
        got = [w.token_of[i] for i in w.ids.tolist()]
        # the chunks as words() cuts them (Arrow's whitespace split)
        doc_chunks = pc.utf8_split_whitespace(batch).to_pylist()
        per_doc = [[t for c in chunks for t in want_of[c]] for chunks in doc_chunks]
        assert got == [t for doc in per_doc for t in doc], f"batch at document {start}"
        offsets = w.doc_offsets.tolist()
        for d, doc in enumerate(per_doc):
            assert got[offsets[d]:offsets[d + 1]] == doc, f"document {start + d}"
    words._TABLES = words._Tables()
    for start in range(0, len(texts), 2048):
        batch = texts.slice(start, 2048)
        want = [sum(len(want_of[c]) for c in chunks)
                for chunks in pc.utf8_split_whitespace(batch).to_pylist()]
        assert words.word_counts(batch).tolist() == want, f"word counts, batch at {start}"


def test_tricky_chunks_identical(rules_path):
    _check(pa.array([" ".join(TRICKY), "", "  ", "plain words only", *TRICKY]))


def test_sample_chunks_identical(rules_path):
    _check(_sample_texts())


def test_reference_corpus_chunks_identical(shared_data, rules_path):
    _check(_reference_texts(shared_data))
