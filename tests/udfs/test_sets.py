"""set_jaccard: exact Jaccard of distinct-value lists, equal to jaccard() on shingle sets."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from corpusql.udfs.sets import set_jaccard


def reference(a, b):
    if a is None or b is None or not (set(a) | set(b)):
        return None
    return len(set(a) & set(b)) / len(set(a) | set(b))


def test_matches_python_sets_on_random_lists():
    rng = random.Random(5)
    a, b = [], []
    for _ in range(500):
        pool = rng.sample(range(60), 40)
        a.append(None if rng.random() < 0.05 else sorted(rng.sample(pool, rng.randint(0, 20))))
        b.append(None if rng.random() < 0.05 else sorted(rng.sample(pool, rng.randint(0, 20))))
    got = set_jaccard(pa.array(a, pa.list_(pa.uint64())),
                      pa.array(b, pa.list_(pa.uint64()))).to_pylist()
    want = [reference(x, y) for x, y in zip(a, b)]
    assert [None if g is None else round(g, 12) for g in got] == [
        None if w is None else round(w, 12) for w in want]


@pytest.mark.parametrize("a, b", [
    ("the quick brown fox jumps over the lazy dog", "the quick brown fox jumps over the lazy cat"),
    ("日本語の文章は空白なしで書かれます", "日本語の文章は空白なしで書かれる"),
    ("one two three four five six", "one two three four five six"),
])
def test_equals_jaccard_on_shingle_sets(con, a, b):
    unit = "char" if a[0] > "~" else "word"
    got, want = con.execute(
        f"SELECT set_jaccard(shingle_set(?, ngram := 3, unit := '{unit}'), "
        f"shingle_set(?, ngram := 3, unit := '{unit}')), "
        f"jaccard(?, ?, ngram := 3, unit := '{unit}')", [a, b, a, b]).fetchone()
    assert got == pytest.approx(want)
