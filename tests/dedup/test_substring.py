"""exact_substring_spans (suffix array) against a brute-force definition, chunks, memory."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pyarrow as pa
import pytest

import corpusql
from corpusql.udfs import substring
from corpusql.udfs.substring import MemoryBudgetError, spans_of, tokenize


def brute_force(texts: list, k: int) -> list[tuple[int, int, int]]:
    """The module docstring's definition, by counting every window of k token strings."""
    toks = [[t[a:b] for a, b in tokenize(t)] if t else [] for t in texts]
    count: dict = {}
    for words in toks:
        for i in range(len(words) - k + 1):
            w = tuple(words[i:i + k])
            count[w] = count.get(w, 0) + 1
    out = []
    for d, words in enumerate(toks):
        cov = [False] * len(words)
        for i in range(len(words) - k + 1):
            if count[tuple(words[i:i + k])] >= 2:
                cov[i:i + k] = [True] * k
        offs = tokenize(texts[d]) if texts[d] else []
        i = 0
        while i < len(cov):
            if cov[i]:
                j = i
                while j < len(cov) and cov[j]:
                    j += 1
                out.append((d, offs[i][0], offs[j - 1][1]))
                i = j
            else:
                i += 1
    return out


VOCAB = ["the", "a", "cat", "dog", "sat", "on", "mat", ",", ".", "日", "本", "語", "の", "文",
         "É", "naïve", "x1", "🎉"]


def _corpus(rng: random.Random, docs: int, length: int) -> list:
    texts = []
    for _ in range(docs):
        words = [rng.choice(VOCAB[:rng.randint(2, len(VOCAB))]) for _ in range(rng.randint(0, length))]
        seps = [rng.choice([" ", "  ", "\n", ""]) if w in "日本語の文,.🎉" else
                rng.choice([" ", "\n", "\t "]) for w in words]
        texts.append("".join(w + s for w, s in zip(words, seps)))
    if docs > 2:
        texts[rng.randrange(docs)] = None
    return texts


@pytest.mark.parametrize("seed", range(12))
def test_identical_to_brute_force(seed):
    rng = random.Random(seed)
    texts = _corpus(rng, rng.randint(1, 8), 60)
    for k in (1, 2, 3, 5, 8):
        want = brute_force(texts, k)
        assert spans_of(texts, min_tokens=k) == want, (seed, k)
        arrow = substring.substring_spans(pa.array([texts]), min_tokens=k).to_pylist()[0]
        assert [(r["doc"], r["span_start"], r["span_end"]) for r in arrow] == want
        total = sum(len(tokenize(t)) + 1 if t else 1 for t in texts)
        cap = 2 * max(k + 1, max(len(tokenize(t)) + 1 if t else 1 for t in texts))
        if total > cap:  # chunked: every pair of chunks compared
            assert spans_of(texts, min_tokens=k, max_tokens=cap) == want, (seed, k, cap)


def test_cjk_tokens_are_characters():
    assert [("日本語の文章。"[a:b]) for a, b in tokenize("日本語の文章。")] == list("日本語の文章。")
    assert [("naïve co-op_2 🎉"[a:b]) for a, b in tokenize("naïve co-op_2 🎉")] == [
        "naïve", "co", "-", "op_2", "🎉"]
    texts = ["前文。日本語の文章には空白がありません", "別の文書：日本語の文章には空白がありません！"]
    spans = spans_of(texts, min_tokens=10)
    assert [texts[d][s:e] for d, s, e in spans] == ["日本語の文章には空白がありません"] * 2


def test_a_repeat_split_across_two_chunks_is_found():
    filler = [" ".join(f"w{d}_{i}" for i in range(40)) for d in range(6)]
    shared = " ".join(f"s{i}" for i in range(12))
    texts = [filler[0] + " " + shared, *filler[1:5], shared + " " + filler[5]]
    cap = 2 * 60
    docs = substring._chunks(substring._ids(texts, None)[1], cap // 2)
    assert len(docs) >= 4 and docs[0][0] == 0 and docs[-1][1] == len(texts)  # first, last apart
    want = brute_force(texts, 10)
    assert want == [(0, len(filler[0]) + 1, len(texts[0])), (5, 0, len(shared))]
    assert spans_of(texts, min_tokens=10, max_tokens=cap) == want
    assert spans_of(texts, min_tokens=10) == want


def test_single_repeated_token_documents():
    texts = ["a " * 1000, "b", "a " * 3, "ab " * 50]
    got = spans_of(texts, min_tokens=5)
    assert got == brute_force(texts, 5) == [(0, 0, 1999), (3, 0, 149)]


@pytest.fixture
def scon():
    c = corpusql.connect()
    c.execute("CREATE TABLE docs(id INTEGER, text VARCHAR)")
    c.executemany("INSERT INTO docs VALUES (?, ?)", [
        (3, "intro. the quick brown fox jumps over the lazy dog. end"),
        (1, "the quick brown fox jumps over the lazy dog"),
        (2, None), (4, "nothing shared here")])
    yield c
    c.close()


def test_sql_spans_and_removal(scon):
    rows = scon.execute("SELECT id, start, \"end\", substring(text, start + 1, \"end\" - start) "
                        "FROM exact_substring_spans('docs', 'text', 'id', min_tokens := 5) "
                        "JOIN docs USING (id) ORDER BY id").fetchall()
    assert rows == [(1, 0, 43, "the quick brown fox jumps over the lazy dog"),
                    (3, 7, 50, "the quick brown fox jumps over the lazy dog")]
    cleaned = scon.execute(
        "SELECT d.id, remove_substring_spans(d.text, (SELECT list([s.start, s.\"end\"]) FROM "
        "exact_substring_spans('docs', 'text', 'id', min_tokens := 5) AS s WHERE s.id = d.id)) "
        "FROM docs AS d ORDER BY d.id").fetchall()
    assert cleaned == [(1, ""), (2, None), (3, "intro. . end"), (4, "nothing shared here")]


def test_remove_substring_spans_refuses_a_span_outside_the_text(scon):
    with pytest.raises(Exception, match=r"span \[3, 99\] is not \[start, end\]"):
        scon.execute("SELECT remove_substring_spans('short', [[3, 99]])").fetchall()


def test_repeated_ids_are_refused(scon):
    scon.execute("INSERT INTO docs VALUES (1, 'again')")
    with pytest.raises(Exception, match="exact_substring_spans: docs.id is not unique"):
        scon.execute("SELECT * FROM exact_substring_spans('docs', 'text', 'id')").fetchall()


def test_over_budget_fails_early_with_the_estimate_and_the_knobs():
    with pytest.raises(MemoryBudgetError, match=r"needs an estimated .* MiB.*memory_budget.*"
                                                r"max_tokens"):
        spans_of(["a " * 100_000], min_tokens=5, memory_budget=1_000_000)
    con = corpusql.connect(memory_budget=2_000_000)
    try:
        con.execute("CREATE TABLE one AS SELECT 1 AS id, repeat('a ', 400000) AS text")
        with pytest.raises(Exception, match="memory budget of 2 MiB; raise the budget"):
            con.execute("SELECT * FROM exact_substring_spans('one', 'text', 'id')").fetchall()
    finally:
        con.close()


_PEAK = """
import json, sys
from corpusql.udfs.substring import spans_of
def hwm():  # this process's peak RSS (ru_maxrss would carry the parent's across exec)
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) * 1024
spans_of(["a b c d " * 100, "a b c d"], min_tokens=2)  # imports and warm-up
base = hwm()
text = "a " * int(sys.argv[1])
after_input = hwm()
spans = spans_of([text], min_tokens=50)
peak = hwm()
print(json.dumps({"spans": spans, "grew": peak - base, "input": after_input - base}))
"""


def test_a_single_repeated_token_stays_within_the_estimate():
    """The worst case for suffix arrays: peak growth stays under the estimate the budget uses."""
    n = 2_000_000
    out = subprocess.run([sys.executable, "-c", _PEAK, str(n)], capture_output=True, text=True,
                         check=True)
    r = json.loads(out.stdout)
    assert r["spans"] == [[0, 0, 2 * n - 1]]
    tokens = n + 1
    estimate = tokens * substring.BYTES_PER_TOKEN + tokens * 6 + 2 * n * substring.BYTES_PER_INPUT_BYTE
    assert 0 < r["grew"] <= estimate, (r, estimate)


def test_sql_equals_brute_force_whatever_the_threads_and_row_order(tmp_path):
    rng = random.Random(7)
    texts = _corpus(rng, 3000, 30)
    ids = list(range(3000))
    rng.shuffle(ids)
    want = sorted((ids[d], s, e) for d, s, e in brute_force(texts, 6))
    path = tmp_path / "docs.parquet"
    con = corpusql.connect()
    try:
        con.execute("CREATE TABLE src(id INTEGER, text VARCHAR)")
        con.executemany("INSERT INTO src VALUES (?, ?)", list(zip(ids, texts)))
        con.execute(f"COPY (SELECT * FROM src) TO '{path}' (ROW_GROUP_SIZE 200)")
        con.execute(f"CREATE VIEW docs AS SELECT * FROM read_parquet('{path}')")
        for threads in (1, 2):
            con.execute(f"SET threads = {threads}")
            got = con.execute("SELECT id, start, \"end\" FROM exact_substring_spans('docs', "
                              "'text', 'id', min_tokens := 6)").fetchall()
            assert got == want
    finally:
        con.close()
    assert len(want) > 100
