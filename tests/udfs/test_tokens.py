"""token_count / tokenize: parity with tokenizers, NULL contract, caching, errors."""

from __future__ import annotations

import json
import threading

import duckdb
import pyarrow as pa
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from corpusql.udfs import tokens

NASTY = [
    "",
    " ",
    "\n\t  \n",
    "The quick brown fox jumps over the lazy dog.",
    "grep -rn 'pattern' /etc/*.conf | sort -u",
    "日本語のテキストには単語の間にスペースがありません。",
    "中文没有空格分词。",
    "한국어 텍스트도 있습니다",
    "emoji 🙂👍🏽 and flags 🇫🇷 and ZWJ 👩‍👩‍👧",
    "combining e\u0301 a\u0300 and NFD/NFC \u00e9",
    "Ελληνικά και русский текст, العربية",
    "x" * 5000,
    "word " * 2000,
]


def reference_counts(tok: Tokenizer, texts: list[str]) -> list[int]:
    return [len(tok.encode(t, add_special_tokens=False).ids) for t in texts]


@pytest.fixture(scope="module")
def default_tok() -> Tokenizer:
    return Tokenizer.from_file(tokens.default_tokenizer_path())


@pytest.fixture(scope="module")
def corpus_texts(shared_data) -> list[str]:
    """About 300 real documents of every source and many languages (short ones, for speed)."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT text FROM read_parquet(?) WHERE text IS NOT NULL AND length(text) < 4000 "
            "QUALIFY row_number() OVER (PARTITION BY source, lang ORDER BY id) <= 3 "
            "ORDER BY id",
            [str(shared_data / "corpus-dev.parquet")],
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def test_default_tokenizer_ships_and_is_small():
    import os

    path = tokens.default_tokenizer_path()
    assert os.path.getsize(path) < 1_000_000
    assert tokens.load_tokenizer("default").get_vocab_size() == 8192


def test_kernel_parity_nasty(default_tok):
    got = tokens.token_count(pa.array(NASTY)).to_pylist()
    assert got == reference_counts(default_tok, NASTY)
    ids = tokens.tokenize(pa.array(NASTY)).to_pylist()
    assert ids == [default_tok.encode(t, add_special_tokens=False).ids for t in NASTY]
    assert got[0] == 0 and ids[0] == []


def test_sql_parity_corpus(con, default_tok, corpus_texts):
    texts = corpus_texts + NASTY
    assert len(texts) > 200
    con.register("docs", pa.table({"i": list(range(len(texts))), "text": texts}))
    rows = con.execute(
        "SELECT token_count(text), tokenize(text) FROM docs ORDER BY i"
    ).fetchall()
    assert [r[0] for r in rows] == reference_counts(default_tok, texts)
    assert [r[1] for r in rows] == [default_tok.encode(t, add_special_tokens=False).ids
                                     for t in texts]


def test_null_contract(con):
    rows = con.execute(
        "SELECT token_count(t), tokenize(t) FROM (VALUES (NULL), (''), ('a b')) v(t) "
        "ORDER BY t NULLS FIRST"
    ).fetchall()
    assert rows[0] == (0, None)
    assert rows[1] == (0, [])
    assert rows[2][0] == len(rows[2][1]) > 0
    assert con.execute("SELECT typeof(token_count('x')), typeof(tokenize('x'))").fetchall() == [
        ("INTEGER", "INTEGER[]")
    ]


def test_kernel_nulls_without_binder():
    arr = pa.array(["a b", None, ""])
    assert tokens.token_count(arr).to_pylist()[1:] == [0, 0]
    assert tokens.tokenize(arr).to_pylist()[1:] == [None, []]


def test_many_batches_equal_one_call(con, default_tok):
    texts = [f"document {i} " + "lorem ipsum " * (i % 7) for i in range(5000)]
    con.register("many", pa.table({"i": list(range(len(texts))), "text": texts}))
    got = [r[0] for r in con.execute("SELECT token_count(text) FROM many ORDER BY i").fetchall()]
    assert got == reference_counts(default_tok, texts)


def _tiny_tokenizer(path, *, truncate: int | None = None) -> Tokenizer:
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        ["alpha beta gamma", "beta gamma delta"],
        trainers.WordLevelTrainer(special_tokens=["[UNK]"], show_progress=False),
    )
    if truncate is not None:
        tok.enable_truncation(truncate)
    tok.save(str(path))
    return tok


def test_any_tokenizer_path(con, tmp_path):
    path = tmp_path / "tiny" / "tokenizer.json"
    path.parent.mkdir()
    tok = _tiny_tokenizer(path)
    texts = ["alpha beta", "delta, epsilon!", "", "gamma gamma gamma"]
    con.register("t", pa.table({"i": [0, 1, 2, 3], "text": texts}))
    got = con.execute(
        "SELECT token_count(text, tokenizer := ?), tokenize(text, tokenizer := ?) "
        "FROM t ORDER BY i",
        [str(path), str(path)],
    ).fetchall()
    assert [g[0] for g in got] == reference_counts(tok, texts) == [2, 4, 0, 3]
    assert [g[1] for g in got] == [tok.encode(t, add_special_tokens=False).ids for t in texts]


def test_truncation_in_file_is_ignored(tmp_path):
    path = tmp_path / "trunc.json"
    _tiny_tokenizer(path, truncate=2)
    assert json.loads(path.read_text())["truncation"] is not None
    assert tokens.token_count(pa.array(["alpha beta gamma delta"]),
                              tokenizer=str(path)).to_pylist() == [4]


def test_loaded_once_and_shared_across_threads(tmp_path, monkeypatch):
    path = tmp_path / "once.json"
    _tiny_tokenizer(path)
    calls = []
    real = tokens._load

    def counting(p, function):
        calls.append(p)
        return real(p, function)

    monkeypatch.setattr(tokens, "_load", counting)
    barrier = threading.Barrier(8)
    seen = []

    def work():
        barrier.wait()
        seen.append(tokens.load_tokenizer(str(path)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert all(s is seen[0] for s in seen)
    assert tokens.load_tokenizer(str(path)) is seen[0]
    assert tokens.load_tokenizer("default") is tokens.load_tokenizer("default")


def test_sql_threads_agree(shared_data, default_tok):
    """Many DuckDB threads calling the UDF at once give the single-threaded answer."""
    import corpusql

    con = corpusql.connect(config={"threads": 4})
    try:
        con.execute(
            "CREATE TABLE d AS SELECT id, text FROM read_parquet(?) "
            "WHERE text IS NOT NULL AND length(text) < 1000 ORDER BY id LIMIT 4000",
            [str(shared_data / "corpus-dev.parquet")],
        )
        texts = [r[0] for r in con.execute("SELECT text FROM d ORDER BY id").fetchall()]
        got = con.execute(
            "SELECT list(n ORDER BY id) FROM (SELECT id, token_count(text) AS n FROM d)"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert got == [len(e.ids) for e in default_tok.encode_batch(texts, add_special_tokens=False)]


NOT_TOKENIZER = "is not a Hugging Face tokenizers JSON file"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.json", "does not exist"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "notjson.json", "this is not json"), NOT_TOKENIZER),
        (lambda d: _write(d / "wrong.json", '{"vocab": {"a": 1}}'), NOT_TOKENIZER),
    ],
)
def test_bad_tokenizer_paths(con, tmp_path, make, message):
    path = str(make(tmp_path))
    for fn in ("token_count", "tokenize"):
        with pytest.raises(duckdb.Error) as err:
            con.execute(f"SELECT {fn}('some text', tokenizer := ?)", [path]).fetchall()
        assert message in str(err.value)
        assert path in str(err.value)
        assert f"{fn}:" in str(err.value)


def _write(path, text):
    path.write_text(text)
    return path
