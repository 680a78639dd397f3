"""split_stratified and split_grouped (sql/splitting/)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest


@pytest.fixture
def splitcon(con):
    n = 5000
    con.register("docs", pa.table({
        "id": [f"doc-{i}" for i in range(n)],
        "lang": [["en", "fr", "ja", "sw"][min(i % 10, 3)] for i in range(n)],
        "url": [f"https://site{i % 211}.example/page" for i in range(n)],
    }))
    return con


def test_stratified_proportions_held_in_every_stratum(splitcon):
    rows = splitcon.execute(
        "SELECT stratum, count(*), count(*) FILTER (WHERE split = 'train'), "
        "count(*) FILTER (WHERE split = 'val'), count(*) FILTER (WHERE split = 'test') "
        "FROM split_stratified('docs', 'id', 'lang', seed := 1, train := 0.8, val := 0.15, "
        "test := 0.05) GROUP BY stratum ORDER BY stratum"
    ).fetchall()
    assert [r[0] for r in rows] == ["en", "fr", "ja", "sw"]
    for _, n, train, val, test in rows:
        assert train + val + test == n
        assert abs(train - 0.8 * n) <= 1
        assert abs(val - 0.15 * n) <= 1
        assert abs(test - 0.05 * n) <= 1


def test_stratified_deterministic_and_seeded(splitcon):
    q = "SELECT id, split FROM split_stratified('docs', 'id', 'lang', seed := {}, train := 0.5, " \
        "val := 0.25, test := 0.25) ORDER BY id"
    a, b, c = (splitcon.execute(q.format(s)).fetchall() for s in (3, 3, 4))
    assert a == b
    assert a != c
    # within a stratum, the order is hash_unit(id, seed)
    ok = splitcon.execute(
        "WITH s AS (SELECT * FROM split_stratified('docs', 'id', 'lang', seed := 3, "
        "train := 0.5, val := 0.25, test := 0.25)) "
        "SELECT bool_and(mx < mn) FROM (SELECT stratum, "
        "max(hash_unit(id, seed := 3)) FILTER (WHERE split = 'train') AS mx, "
        "min(hash_unit(id, seed := 3)) FILTER (WHERE split <> 'train') AS mn FROM s GROUP BY 1)"
    ).fetchall()
    assert ok == [(True,)]


def test_stratified_nulls(con):
    con.register("n", pa.table({"id": ["a", None, "c", "d"], "s": ["x", "x", None, None]}))
    rows = con.execute(
        "SELECT id, stratum, split FROM split_stratified('n', 'id', 's', train := 0.6, "
        "val := 0.4, test := 0.0)"
    ).fetchall()
    assert ("a", "x", "train") in rows
    assert (None, "x", None) in rows
    assert sorted(r[2] for r in rows if r[1] is None) == ["train", "val"]


#: split_stratified's definition written the direct way: every stratum ranked by a full sort of
#: (hash_unit(id, seed), id). The macro sorts only the documents near each cut (1024 hash buckets
#: counted first) and must give the same rows.
_FULL_SORT = """
SELECT id, stratum, split FROM (
    SELECT id, stratum, CASE
        WHEN (r + 0.5) / n < {train} THEN 'train'
        WHEN (r + 0.5) / n < {train} + {val} THEN 'val'
        ELSE 'test' END AS split
    FROM (SELECT id, s AS stratum,
                 row_number() OVER (PARTITION BY s ORDER BY hash_unit(CAST(id AS VARCHAR),
                                    seed := {seed}), id) - 1 AS r,
                 count(*) OVER (PARTITION BY s) AS n
          FROM strata WHERE id IS NOT NULL)
    UNION ALL SELECT id, s, NULL FROM strata WHERE id IS NULL)
"""


@pytest.fixture(scope="module")
def strata_con(mcon):
    """Strata of 1 to 20,000 documents (a NULL stratum among them), a few NULL ids, and ids
    repeated inside a stratum; the same rows with integer ids."""
    import numpy as np

    rng = np.random.default_rng(7)
    sizes = [1, 2, 3, 5, 8, 13, 40, 99, 100, 101, 1000, 1023, 1024, 1025, 4000, 20000]
    ids, strata = [], []
    for k, n in enumerate(sizes):
        for i in range(n):
            ids.append(None if (k * 31 + i) % 977 == 11 else f"s{k}-{i % max(1, n - n // 50)}")
            strata.append(None if k == 9 else f"stratum{k}")
    mcon.register("strata", pa.table({"id": ids, "s": strata}))
    nums = [None if i is None else int(rng.integers(0, 2**40)) for i in ids]
    mcon.register("strata_num", pa.table({"id": pa.array(nums, pa.int64()), "s": strata}))
    return mcon


@pytest.mark.parametrize("train, val, test", [
    ("0.98", "0.01", "0.01"), ("0.8", "0.15", "0.05"), ("0.5", "0.25", "0.25"),
    ("1.0", "0.0", "0.0"), ("0.0", "1.0", "0.0"), ("0.0", "0.0", "1.0"), ("0.5", "0.5", "0.0"),
    ("0.0", "0.5", "0.5"), ("0.999", "0.0005", "0.0005"), ("0.1", "0.1", "0.8"),
    ("1/3", "1/3", "1/3"), ("0.001", "0.998", "0.001"),
])
@pytest.mark.parametrize("seed", [0, 5])
def test_stratified_equals_the_full_sort(strata_con, train, val, test, seed):
    call = (f"split_stratified('strata', 'id', 's', seed := {seed}, train := {train}, "
            f"val := {val}, test := {test})")
    got = strata_con.execute(f"SELECT * FROM {call}").fetchall()
    want = strata_con.execute(_FULL_SORT.format(train=train, val=val, seed=seed)).fetchall()
    key = lambda r: (r[1] is None, r[1] or "", r[0] is None, r[0] or "", r[2] or "")  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)
    # in stratum, then id order (rows with equal ids in any order)
    assert [r[:2] for r in got] == [r[:2] for r in sorted(got, key=key)]
    assert {r[2] for r in got} >= {s for s, f in (("train", train), ("val", val), ("test", test))
                                   if eval(f) >= 0.5}


def test_stratified_equals_the_full_sort_with_integer_ids(strata_con):
    got = strata_con.execute("SELECT * FROM split_stratified('strata_num', 'id', 's', seed := 3, "
                             "train := 0.7, val := 0.2, test := 0.1)").fetchall()
    want = strata_con.execute(_FULL_SORT.replace("FROM strata ", "FROM strata_num ")
                              .format(train=0.7, val=0.2, seed=3)).fetchall()
    key = lambda r: (r[1] is None, r[1] or "", r[0] is None, r[0] or 0, r[2] or "")  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)


@pytest.mark.parametrize(
    "args, message",
    [
        ("train := 0.8", "must sum to 1"),
        ("train := 1.5, val := -0.5, test := 0.0", "must each be between 0 and 1"),
        ("train := NULL", "must each be between 0 and 1"),
    ],
)
def test_stratified_errors(splitcon, args, message):
    with pytest.raises(duckdb.Error) as err:
        splitcon.execute(f"FROM split_stratified('docs', 'id', 'lang', {args})").fetchall()
    assert "split_stratified:" in str(err.value)
    assert message in str(err.value)


def test_grouped_keeps_groups_together(splitcon):
    rows = splitcon.execute(
        "SELECT group_key, count(DISTINCT split), count(*) FROM split_grouped('docs', 'id', 'url', "
        "seed := 2, train := 0.6, val := 0.2, test := 0.2) GROUP BY group_key"
    ).fetchall()
    assert len(rows) == 211
    assert all(r[1] == 1 for r in rows)
    splits = splitcon.execute(
        "SELECT split, count(DISTINCT group_key) FROM split_grouped('docs', 'id', 'url', "
        "seed := 2, train := 0.6, val := 0.2, test := 0.2) GROUP BY split ORDER BY split"
    ).fetchall()
    assert [s[0] for s in splits] == ["test", "train", "val"]
    # it is split_assign of the group key, so it matches a direct call
    same = splitcon.execute(
        "SELECT bool_and(g.split = split_assign(d.url, seed := 2, train := 0.6, val := 0.2, "
        "test := 0.2)) FROM split_grouped('docs', 'id', 'url', seed := 2, train := 0.6, "
        "val := 0.2, test := 0.2) AS g JOIN docs AS d ON d.id = g.id"
    ).fetchall()
    assert same == [(True,)]


def test_grouped_null_group_uses_id(con):
    con.register("g", pa.table({"id": ["a", "b"], "grp": [None, "x"]}))
    rows = con.execute(
        "SELECT id, group_key, split = split_assign(coalesce(group_key, id), seed := 5, "
        "train := 0.5, val := 0.25, test := 0.25) FROM split_grouped('g', 'id', 'grp', seed := 5, "
        "train := 0.5, val := 0.25, test := 0.25) ORDER BY id"
    ).fetchall()
    assert rows == [("a", None, True), ("b", "x", True)]


@pytest.mark.parametrize(
    "args, message",
    [
        ("train := 0.5", "must sum to 1"),
        ("train := 1.5, val := -0.5, test := 0.0", "must each be between 0 and 1"),
    ],
)
def test_grouped_errors(splitcon, args, message):
    with pytest.raises(duckdb.Error) as err:
        splitcon.execute(f"FROM split_grouped('docs', 'id', 'url', {args})").fetchall()
    assert "split_grouped:" in str(err.value)
    assert message in str(err.value)
