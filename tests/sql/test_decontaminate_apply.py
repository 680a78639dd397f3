"""remove_spans (udfs/decontam.py) and decontaminate_apply (sql/governance/decontaminate_apply.sql)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from corpusql.udfs.decontam import _word_spans, remove_spans, word_ngram_set
from corpusql.udfs.text import text_normalize

QUESTION = (
    "Which planet in the solar system has the most moons as of the year 2023 according to NASA?"
)
Q_WORDS = QUESTION[:-1]  # the matched characters: the final "?" is not part of any word


def filler(k: int, tag: str = "f") -> str:
    """k characters of words that appear in no benchmark item."""
    return " ".join(f"{tag}{i}" for i in range(k))[:k]


def grams(text: str, n: int = 13) -> list[str]:
    return word_ngram_set(pa.array([text]), n=n)[0].as_py()


def run(text, ngrams, **kw):
    return remove_spans(pa.array([text], pa.string()), pa.array([ngrams], pa.list_(pa.string())),
                        **kw)[0].as_py()


def test_span_and_window_removed_rest_kept():
    pre, post = filler(1000, "a"), filler(1000, "b")
    text = pre + " " + QUESTION + " " + post
    start = text.index(QUESTION)
    end = start + len(Q_WORDS)
    out = run(text, grams(QUESTION))
    assert out == {"text": text[:start - 200] + "\n\n" + text[end + 200:], "n_spans": 1,
                   "n_fragments": 2, "dropped": False}
    assert grams(out["text"]) and not set(grams(out["text"])) & set(grams(QUESTION))


def test_same_through_sql(con):
    text = filler(600, "a") + " " + QUESTION + " " + filler(600, "b")
    row = con.execute("SELECT remove_spans(?, word_ngram_set(?))", [text, QUESTION]).fetchone()[0]
    assert row == run(text, grams(QUESTION))
    row = con.execute("SELECT remove_spans(?, word_ngram_set(?, n := 3), n := 3, window_chars := 0, "
                      "min_fragment := 0)", [text, QUESTION]).fetchone()[0]
    start = text.index(QUESTION)
    assert row["text"] == text[:start] + "\n\n" + text[start + len(Q_WORDS):]


def test_short_fragments_dropped_and_nothing_left_drops_the_doc():
    text = filler(300, "a") + " " + QUESTION + " " + filler(1000, "b")
    end = text.index(QUESTION) + len(Q_WORDS)
    out = run(text, grams(QUESTION))  # 300 - 1 - 200 = 99 characters before: dropped
    assert out == {"text": text[end + 200:], "n_spans": 1, "n_fragments": 1, "dropped": False}
    assert run(text, grams(QUESTION), min_fragment=50)["n_fragments"] == 2
    assert run(QUESTION, grams(QUESTION)) == {
        "text": None, "n_spans": 1, "n_fragments": 0, "dropped": True}


def test_more_than_max_splits_drops_the_doc():
    def doc(k):
        return (" " + filler(1000, "x") + " ").join([""] + [QUESTION] * k + [""])
    ten = run(doc(10), grams(QUESTION))
    assert (ten["n_spans"], ten["n_fragments"], ten["dropped"]) == (10, 11, False)
    eleven = run(doc(11), grams(QUESTION))
    assert eleven == {"text": None, "n_spans": 11, "n_fragments": 0, "dropped": True}
    assert run(doc(11), grams(QUESTION), max_splits=11)["dropped"] is False


def test_close_occurrences_merge_into_one_span():
    text = filler(500, "a") + " " + QUESTION + " " + filler(300, "m") + " " + QUESTION + " " \
        + filler(500, "b")
    out = run(text, grams(QUESTION))
    assert (out["n_spans"], out["n_fragments"]) == (1, 2)


def test_case_and_punctuation_insensitive_matching_maps_to_original_characters():
    variant = "WHICH planet, in the Solar-System -- has the MOST moons (as of the year 2023) " \
              "according to: NASA!!"
    pre, post = "Intro text... ", " ...and more."
    text = pre + variant + post
    out = run(text, grams(QUESTION), window_chars=0, min_fragment=0)
    assert out["text"] == pre + "\n\n" + "!!" + post
    # compatibility forms and combining accents go through the non-NFKC-stable path
    text = "x ＷＨＩＣＨ planet ﬁrst cafe\u0301 y"
    out = run(text, ["which planet first café"], n=4, window_chars=0, min_fragment=0)
    assert out["text"] == "x \n\n y"
    out = run(text, ["planet first"], n=2, window_chars=0, min_fragment=0)
    assert out["text"] == "x ＷＨＩＣＨ \n\n cafe\u0301 y"


def test_word_offsets_agree_with_text_normalize():
    for text in ["  Hello,World!  ", "\x0bA\u2028b\x0b", "ＡＢ①㈱ cafe\u0301 ㄱㅏ", "日本語。の テキスト",
                 "emoji 👩‍👩‍👧 party 🎉", "Σίσυφος İstanbul ß", ""]:
        want = text_normalize(pa.array([text]))[0].as_py()
        for stable in ([False, True] if text.isascii() else [False]):
            spans = _word_spans(text, stable)
            assert " ".join(w for w, _, _ in spans) == want
            assert all(0 <= a < b <= len(text) for _, a, b in spans)


def test_cjk_null_and_empty():
    text = "これは 日本語。の テキスト です"
    assert run(text, ["日本語 の"], n=2, window_chars=0, min_fragment=0)["text"] == \
        "これは \n\n テキスト です"
    assert run("日本語の文章には空白がありません。", ["日本語の文章には空白がありません"], n=1,
               window_chars=0, min_fragment=2) == {
        "text": None, "n_spans": 1, "n_fragments": 0, "dropped": True}
    assert run("some text", None) == {
        "text": "some text", "n_spans": 0, "n_fragments": 1, "dropped": False}
    assert run("some text", []) == {
        "text": "some text", "n_spans": 0, "n_fragments": 1, "dropped": False}
    assert run("", grams(QUESTION)) == {
        "text": "", "n_spans": 0, "n_fragments": 0, "dropped": False}
    assert run(None, grams(QUESTION)) is None


def test_ngram_of_the_wrong_length_is_an_error(con):
    with pytest.raises(ValueError, match="has 3 words, expected n = 13"):
        run("a b c", ["a b c"])
    with pytest.raises(duckdb.Error, match="has 3 words, expected n = 13"):
        con.execute("SELECT remove_spans('a b c', ['a b c'])").fetchall()


@pytest.fixture
def acon(con):
    long_doc = filler(1000, "a") + " Quiz night! " + QUESTION.upper() + " " + filler(1000, "b")
    train = [
        ("t1", long_doc),
        ("t2", "Nothing to see here, just a manual page about grep and sed."),
        ("t3", QUESTION.replace("?", "...") + " Discuss."),
        ("t4", None),
    ]
    con.register("train", pa.table({"id": [t[0] for t in train], "text": [t[1] for t in train]}))
    con.register("bench", pa.table({"qid": ["q1", "q2"],
                                    "question": [QUESTION, "A short question?"]}))
    return con


def test_apply_span_mode(acon):
    rows = acon.execute(
        "SELECT id, text, action, n_spans FROM decontaminate_apply('train', 'text', 'bench', "
        "'question', bench_id_col := 'qid')").fetchall()
    long_doc = acon.execute("SELECT text FROM train WHERE id = 't1'").fetchone()[0]
    start = long_doc.index(QUESTION.upper())
    end = start + len(Q_WORDS)
    assert rows == [
        ("t1", long_doc[:start - 200] + "\n\n" + long_doc[end + 200:], "cleaned", 1),
        ("t2", "Nothing to see here, just a manual page about grep and sed.", "kept", 0),
        ("t3", None, "dropped", 1),
        ("t4", None, "kept", 0),
    ]
    acon.execute("CREATE TABLE cleaned AS SELECT id, text FROM decontaminate_apply('train', "
                 "'text', 'bench', 'question', bench_id_col := 'qid')")
    assert acon.execute("FROM decontaminate('cleaned', 'text', 'bench', 'question', "
                        "bench_id_col := 'qid')").fetchall() == []


def test_apply_document_mode(acon):
    rows = acon.execute(
        "SELECT id, text IS NULL, action, n_spans FROM decontaminate_apply('train', 'text', "
        "'bench', 'question', bench_id_col := 'qid', mode := 'document')").fetchall()
    assert rows == [("t1", True, "dropped", 1), ("t2", False, "kept", 0),
                    ("t3", True, "dropped", 1), ("t4", True, "kept", 0)]


def test_apply_bad_mode(acon):
    with pytest.raises(duckdb.Error, match="mode = 'spans' is not one of 'span', 'document'"):
        acon.execute("FROM decontaminate_apply('train', 'text', 'bench', 'question', "
                     "bench_id_col := 'qid', mode := 'spans')").fetchall()
