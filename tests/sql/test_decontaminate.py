"""decontaminate (sql/governance/decontaminate.sql) and its n-gram kernels."""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pytest

from corpusql.udfs.decontam import word_ngram_hashes, word_ngram_set

QUESTION = (
    "Which planet in the solar system has the most moons as of the year 2023 according to NASA?"
)


def test_ngram_kernels_agree():
    texts = pa.array(["The cat, the CAT sat. the cat", "", None, "a b", "日本 語 の テキスト"])
    grams = word_ngram_set(texts, n=3).to_pylist()
    hashes = word_ngram_hashes(texts, n=3).to_pylist()
    assert grams[0] == ["the cat the", "cat the cat", "the cat sat", "cat sat the", "sat the cat"]
    assert grams[1:4] == [[], None, []]
    assert hashes[2] is None
    for g, h in zip(grams, hashes):
        if g is not None:
            assert h == [int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(),
                                        "little") for x in g]


@pytest.fixture
def dcon(con):
    train = [
        ("t1", "Quiz night! " + QUESTION.upper() + " The answer was Saturn."),
        ("t2", "Nothing to see here, just a manual page about grep and sed."),
        ("t3", QUESTION.replace("?", "...") + " Discuss."),
        ("t4", None),
    ]
    # a boilerplate line shared by many training documents and by one benchmark item
    boiler = ("this program is distributed in the hope that it will be useful "
              "but without any warranty")
    train += [(f"b{i}", f"doc {i}. {boiler}.") for i in range(12)]
    con.register("train", pa.table({"id": [t[0] for t in train], "text": [t[1] for t in train]}))
    con.register("bench", pa.table({
        "qid": ["q1", "q2", "q3"],
        "question": [QUESTION, "A short question?", boiler],
    }))
    return con


def test_finds_contaminated_docs(dcon):
    rows = dcon.execute(
        "SELECT id, bench_id, n_shared, shared_ngrams FROM decontaminate('train', 'text', "
        "'bench', 'question', bench_id_col := 'qid')"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("t1", "q1"), ("t3", "q1")]
    n_words = len(QUESTION.split())
    assert rows[0][2] == n_words - 13 + 1
    assert rows[0][3] == sorted(rows[0][3])
    assert "which planet in the solar system has the most moons as of the" in rows[0][3]


def test_frequent_ngrams_are_ignored_unless_asked(dcon):
    q = ("SELECT DISTINCT bench_id FROM decontaminate('train', 'text', 'bench', 'question', "
         "bench_id_col := 'qid', max_train_docs := {}) ORDER BY 1")
    assert dcon.execute(q.format("10")).fetchall() == [("q1",)]
    assert dcon.execute(q.format("NULL")).fetchall() == [("q1",), ("q3",)]
    assert dcon.execute(q.format("12")).fetchall() == [("q1",), ("q3",)]


def test_smaller_n_matches_short_items(dcon):
    rows = dcon.execute(
        "SELECT id, bench_id FROM decontaminate('train', 'text', 'bench', 'question', n := 2, "
        "bench_id_col := 'qid') WHERE bench_id = 'q2'"
    ).fetchall()
    assert rows == []  # 'a short' / 'short question' appear nowhere
    rows = dcon.execute(
        "SELECT DISTINCT id FROM decontaminate('train', 'text', 'bench', 'question', n := 2, "
        "bench_id_col := 'qid') WHERE bench_id = 'q1' ORDER BY id"
    ).fetchall()
    assert rows == [("t1",), ("t3",)]


def test_bad_n(dcon):
    with pytest.raises(duckdb.Error, match="word_ngram_hashes: parameter n = 0 is out of range"):
        dcon.execute(
            "FROM decontaminate('train', 'text', 'bench', 'question', n := 0, "
            "bench_id_col := 'qid')"
        ).fetchall()
