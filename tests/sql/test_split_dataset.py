"""split_dataset (leakage-free, grouped by near-duplicate clusters) and split_leakage."""

from __future__ import annotations

import pytest

from corpusql.demo import sample_path

SPLIT = "train := 0.8, val := 0.1, test := 0.1"


@pytest.fixture
def sample(con):
    con.execute("CREATE TABLE docs AS SELECT * FROM read_parquet(?)", [str(sample_path())])
    return con


def _leakage(con, table):
    return con.execute(
        f"SELECT near_dup_pairs, straddling_pairs FROM split_leakage('{table}', 'split', 'text')"
    ).fetchone()


def test_near_dup_groups_share_a_split_and_nothing_leaks(sample):
    con = sample
    con.execute(f"CREATE TABLE s AS SELECT d.*, x.split, x.group_key FROM docs AS d "
                f"JOIN split_dataset('docs', 'text', 'id', {SPLIT}) AS x USING (id)")
    assert con.execute("SELECT count(*) FROM s").fetchone()[0] == 4203
    # every group sits in exactly one split
    assert con.execute("SELECT max(n) FROM (SELECT count(DISTINCT split) AS n FROM s "
                       "GROUP BY group_key)").fetchone() == (1,)
    pairs, straddling = _leakage(con, "s")
    assert pairs > 500 and straddling == 0
    shares = dict(con.execute("SELECT split, count(*) / 4203 FROM s GROUP BY split").fetchall())
    assert abs(shares["train"] - 0.8) < 0.05


def test_a_naive_split_leaks(sample):
    con = sample
    con.execute(f"CREATE TABLE n AS SELECT *, split_assign(id, {SPLIT}) AS split FROM docs")
    pairs, straddling = _leakage(con, "n")
    assert straddling > 0.2 * pairs


def test_without_grouping_it_is_split_assign_of_the_id(sample):
    rows = sample.execute(
        f"SELECT count(*) FILTER (WHERE x.split <> split_assign('d:' || x.id, {SPLIT})) "
        f"FROM split_dataset('docs', 'text', 'id', {SPLIT}, group_by_near_dups := false) AS x"
    ).fetchone()
    assert rows == (0,)


def test_leakage_free_on_the_shared_near_duplicate_benchmark(con, shared_data):
    con.execute("CREATE TABLE nd AS SELECT id, text FROM read_parquet(?)",
                [str(shared_data / "neardup-dev" / "bench.parquet")])
    con.execute(f"CREATE TABLE s AS SELECT nd.*, x.split FROM nd "
                f"JOIN split_dataset('nd', 'text', 'id', {SPLIT}) AS x USING (id)")
    con.execute(f"CREATE TABLE n AS SELECT nd.*, split_assign(id, {SPLIT}) AS split FROM nd")
    grouped, naive = _leakage(con, "s"), _leakage(con, "n")
    assert grouped[0] > 4000 and grouped[1] == 0
    assert naive[1] > 1000


@pytest.mark.parametrize("sql, message", [
    ("SELECT * FROM split_dataset('docs', 'nope', 'id')", 'Could not find key "nope"'),
    ("SELECT * FROM split_dataset('docs', 'text', 'id', train := 0.5)", "must sum to 1"),
    ("SELECT * FROM split_leakage('docs', 'nosplit', 'text')", 'Could not find key "nosplit"'),
])
def test_errors_name_the_problem(sample, sql, message):
    with pytest.raises(Exception, match=message):
        sample.execute(sql).fetchall()
