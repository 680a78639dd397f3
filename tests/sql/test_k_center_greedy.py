"""k_center_greedy (sql/mixing/) and its kernel k_center_pick (udfs/diversity.py)."""

from __future__ import annotations

import hashlib
import itertools
import math
import random

import duckdb
import pyarrow as pa
import pytest

from corpusql.udfs.diversity import k_center_pick


def _table(con, name, ids, vectors):
    con.register(name, pa.table({"id": pa.array(ids),
                                 "emb": pa.array(vectors, pa.list_(pa.float32()))}))


def _greedy(con, name, k, seed=0):
    return con.execute(
        f"SELECT id, pick_rank, radius FROM k_center_greedy('{name}', 'id', 'emb', {k}, "
        f"seed := {seed})").fetchall()


def _unit(key: str, seed: int) -> float:
    """hash_unit written out: keyed BLAKE2b-64 of the UTF-8 key, little-endian / 2^64."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, key=str(seed).encode()).digest()
    return int.from_bytes(digest, "little") / 2.0**64


def _reference_greedy(points: dict, k: int, seed: int) -> list:
    """Plain-Python farthest-point greedy with the documented first pick and tie rule."""
    ids = sorted(points)
    first = min(ids, key=lambda i: (_unit(str(i), seed), i))
    picks = [first]
    nearest = {i: math.dist(points[i], points[first]) for i in ids}
    while len(picks) < min(k, len(ids)):
        rest = [i for i in ids if i not in picks]
        far = max(nearest[i] for i in rest)
        nxt = min(i for i in rest if nearest[i] == far)
        picks.append(nxt)
        for i in ids:
            nearest[i] = min(nearest[i], math.dist(points[i], points[nxt]))
    return picks


def _covering_radius(points: dict, centers) -> float:
    return max(min(math.dist(p, points[c]) for c in centers) for p in points.values())


def _random_points(rng, n, dim, grid=None):
    if grid:  # small integers: exact distances and many ties
        return {i: tuple(float(rng.randrange(grid)) for _ in range(dim)) for i in range(n)}
    return {i: tuple(rng.uniform(-1, 1) for _ in range(dim)) for i in range(n)}


@pytest.mark.parametrize("case", range(12))
def test_within_twice_the_optimal_radius(mcon, case):
    """Exhaustive search of the best k centers among the rows on tiny data."""
    rng = random.Random(case)
    n, dim, k = rng.randrange(4, 10), rng.randrange(1, 4), rng.randrange(1, 4)
    points = _random_points(rng, n, dim)
    _table(mcon, "pts", list(points), list(points.values()))
    rows = _greedy(mcon, "pts", k, seed=case)
    assert [r[1] for r in rows] == list(range(1, min(k, n) + 1))
    optimal = min(_covering_radius(points, c) for c in itertools.combinations(points, min(k, n)))
    assert rows[-1][2] <= 2 * optimal + 1e-6
    # each radius is the covering radius of the picks so far, and it never grows
    picks = [r[0] for r in rows]
    for r, (_, _, radius) in enumerate(rows, start=1):
        assert radius == pytest.approx(_covering_radius(points, picks[:r]), abs=1e-6)
    assert all(a[2] >= b[2] for a, b in itertools.pairwise(rows))


@pytest.mark.parametrize("case", range(10))
def test_same_picks_as_plain_python_greedy(mcon, case):
    rng = random.Random(100 + case)
    n, dim = rng.randrange(5, 60), rng.randrange(1, 6)
    points = _random_points(rng, n, dim, grid=4 if case % 2 else None)
    k = rng.randrange(1, n + 3)
    _table(mcon, "pts", list(points), list(points.values()))
    rows = _greedy(mcon, "pts", k, seed=case)
    assert [r[0] for r in rows] == _reference_greedy(points, k, case)


def test_ties_go_to_the_smallest_id_in_the_id_columns_type(con):
    """Integer ids order as integers (10 after 9), not as text."""
    points = {9: (1.0,), 10: (-1.0,), 0: (0.0,)}
    _table(con, "pts", list(points), list(points.values()))
    rows = _greedy(con, "pts", 3)
    assert [r[0] for r in rows] == _reference_greedy(points, 3, 0)
    assert isinstance(rows[0][0], int)


def test_deterministic_whatever_the_row_order_and_thread_count(con):
    rng = random.Random(7)
    n = 20_000
    ids = [f"doc-{i}" for i in range(n)]
    vectors = [[rng.randrange(50) / 7 for _ in range(8)] for _ in range(n)]
    order = list(range(n))
    rng.shuffle(order)
    _table(con, "a", ids, vectors)
    _table(con, "b", [ids[i] for i in order], [vectors[i] for i in order])
    con.execute("SET threads = 1")
    one = _greedy(con, "a", 25, seed=3)
    con.execute("SET threads = 4")
    assert _greedy(con, "b", 25, seed=3) == one
    assert _greedy(con, "a", 25, seed=3) == one
    assert _greedy(con, "a", 25, seed=4)[0] != one[0] or _greedy(con, "a", 25, seed=5)[0] != one[0]


def test_first_pick_is_the_smallest_hash_unit(con):
    _table(con, "pts", [f"r{i}" for i in range(30)], [[float(i)] for i in range(30)])
    for seed in (0, 1, 2):
        first = con.execute(
            f"SELECT id FROM k_center_greedy('pts', 'id', 'emb', 1, seed := {seed})").fetchall()
        want = con.execute(
            f"SELECT arg_min(id, hash_unit(id, seed := {seed})) FROM pts").fetchall()
        assert first == want


def test_k_beyond_the_rows_returns_every_row_and_nulls_are_skipped(con):
    ids = ["a", "b", "c", "d", None, "f"]
    vectors = [[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [9.0, 9.0], None]
    _table(con, "pts", ids, vectors)
    rows = _greedy(con, "pts", 10)
    assert sorted(r[0] for r in rows) == ["a", "b", "c", "d"]
    assert [r[1] for r in rows] == [1, 2, 3, 4]
    assert rows[-1][2] == 0.0 and rows[-2][2] == 0.0  # the duplicate vector covers nothing new
    assert _greedy(con, "pts", 2) == rows[:2]


def test_empty_table_gives_no_rows(con):
    con.execute("CREATE TABLE nothing (id INTEGER, emb FLOAT[])")
    assert con.execute("FROM k_center_greedy('nothing', 'id', 'emb', 3)").fetchall() == []


def test_array_and_double_columns(con):
    con.execute("CREATE TABLE arr AS SELECT range AS id, [range % 5, range // 5]::DOUBLE[2] AS emb "
                "FROM range(25)")
    rows = con.execute("FROM k_center_greedy('arr', 'id', 'emb', 4)").fetchall()
    points = {i: (float(i % 5), float(i // 5)) for i in range(25)}
    assert [r[0] for r in rows] == _reference_greedy(points, 4, 0)


def test_minhash_sketches(con):
    texts = ["the cat sat on the mat today", "the cat sat on the mat today!",
             "a completely different sentence about databases and queries",
             "quarterly revenue grew faster than expected in europe",
             "the cat sat on a mat today", "databases answer queries about sentences"]
    con.register("docs", pa.table({"id": [f"d{i}" for i in range(len(texts))], "text": texts}))
    con.execute(
        "CREATE TABLE sketches AS SELECT id, list_transform(minhash_signature(text, num_perm := 16, "
        "ngram := 2), lambda x: x::FLOAT / 4294967295) AS emb FROM docs")
    rows = con.execute("FROM k_center_greedy('sketches', 'id', 'emb', 3, seed := 1)").fetchall()
    assert [r[1] for r in rows] == [1, 2, 3]
    # near-copies of the cat sentence are never two of the first three picks
    cats = {"d0", "d1", "d4"}
    assert len(cats & {r[0] for r in rows}) <= 1
    sketch = dict(con.execute("SELECT id, emb FROM sketches").fetchall())
    assert [r[0] for r in rows] == _reference_greedy(sketch, 3, 1)


@pytest.mark.parametrize("rows_sql, k, message", [
    ("SELECT 1 AS id, [0.0]::FLOAT[] AS emb", "0", "k_center_greedy: k must be at least 1, got 0"),
    ("SELECT 1 AS id, [0.0]::FLOAT[] AS emb", "-3", "k must be at least 1, got -3"),
    ("SELECT 1 AS id, [0.0]::FLOAT[] AS emb", "NULL", "k must be at least 1, got NULL"),
    ("SELECT * FROM (VALUES (1, [0.0, 1.0]::FLOAT[]), (2, [1.0])) v(id, emb)", "2",
     ("k_center_greedy: vectors in column emb must all have the same length, but id 2 has 1 "
      "values and id 1 has 2")),
    ("SELECT * FROM (VALUES (1, [0.0]::FLOAT[]), (1, [1.0])) v(id, emb)", "2",
     "k_center_greedy: ids in column id must be unique, but id 1 occurs more than once"),
    ("SELECT * FROM (VALUES (1, [0.0, 'nan'::FLOAT]), (2, [1.0, 2.0])) v(id, emb)", "2",
     "k_center_pick: the vector of id '1' holds NULL, NaN or infinite values"),
    ("SELECT * FROM (VALUES (1, [0.0, 1.0]::FLOAT[]), (2, [NULL, 2.0])) v(id, emb)", "2",
     "k_center_pick: the vector of id '2' holds NULL, NaN or infinite values"),
])
def test_errors(con, rows_sql, k, message):
    con.execute(f"CREATE TABLE bad AS {rows_sql}")
    with pytest.raises(duckdb.Error) as err:
        con.execute(f"FROM k_center_greedy('bad', 'id', 'emb', {k})").fetchall()
    assert message in str(err.value)


def test_kernel_rows_are_independent_problems():
    ids = pa.array([["a", "b"], None, ["x", "y", "z"], []], pa.list_(pa.string()))
    vectors = pa.array([[[0.0], [2.0]], [[1.0]], [[0.0], [1.0], [5.0]], []],
                       pa.list_(pa.list_(pa.float32())))
    out = k_center_pick(ids, vectors, k=2).to_pylist()
    assert out[1] is None and out[3] == []
    assert sorted(p["id"] for p in out[0]) == ["a", "b"]
    assert [p["rank"] for p in out[2]] == [1, 2]
    with pytest.raises(ValueError, match="ids has 2 entries but vectors has 3"):
        k_center_pick(pa.array([["a", "b"]]), pa.array([[[0.0], [1.0], [2.0]]]))
