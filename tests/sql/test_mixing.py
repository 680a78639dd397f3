"""mix, mix_report, mix_weights_temperature (sql/mixing/) and hash_unit."""

from __future__ import annotations

import itertools
import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import corpusql
from corpusql.udfs.hashing import unit_interval


def _docs(n_per_group: dict[str, int], *, mean: float = 300.0, seed: int = 1) -> pa.Table:
    """Documents with heavy-tailed (log-normal) token counts of about ``mean`` tokens."""
    rng = np.random.default_rng(seed)
    ids, groups, counts = [], [], []
    for g, n in n_per_group.items():
        sigma = 1.0
        lengths = rng.lognormal(math.log(mean) - sigma**2 / 2, sigma, n).astype(np.int64) + 1
        ids += [f"{g}-{i}" for i in range(n)]
        groups += [g] * n
        counts += lengths.tolist()
    return pa.table({"id": ids, "source": groups, "n_tokens": pa.array(counts, pa.int64())})


def _weights(con, name: str, rows: list[tuple]) -> None:
    con.register(name, pa.table({"group_key": [r[0] for r in rows],
                                 "weight": pa.array([r[1] for r in rows], pa.float64())}))


def _load(con):
    con.register("docs", _docs({"web": 6000, "code": 3000, "books": 1500, "tiny": 40}))
    _weights(con, "w", [("web", 0.5), ("code", 0.3), ("books", 0.2)])
    return con


@pytest.fixture
def mixcon(con):
    return _load(con)


@pytest.fixture(scope="module")
def shared_con():
    """One connection for the error cases (each only reads; it saves a connect per case)."""
    c = _load(corpusql.connect())
    c.execute("CREATE TABLE empty_docs AS SELECT * FROM docs LIMIT 0")
    c.execute(
        "CREATE TABLE null_docs AS SELECT id, source, CASE WHEN id = 'web-3' THEN NULL "
        "ELSE n_tokens END AS n_tokens FROM docs"
    )
    yield c
    c.close()


def test_hash_unit_matches_split_assign_definition(con):
    keys = ["a", "b", "doc-17", "", "日本"]
    got = [con.execute("SELECT hash_unit(?, seed := 7)", [k]).fetchall()[0][0] for k in keys]
    assert got == unit_interval(pa.array(keys), seed=7).tolist()
    assert all(0 <= u < 1 for u in got)
    assert con.execute("SELECT hash_unit(NULL)").fetchall() == [(None,)]
    assert con.execute("SELECT typeof(hash_unit('a'))").fetchall() == [("DOUBLE",)]


@pytest.mark.parametrize("seed", [0, 7, -3, 10**12])
def test_hash_unit_kernel_batches(seed):
    from corpusql.udfs.mixing import hash_unit

    keys = pa.array(["x", None, "", "日本", "doc-1", "🙂"] * 50)
    got = hash_unit(keys, seed=seed)
    ref = unit_interval(keys, seed=seed)
    assert got.null_count == 50
    assert got.to_pylist() == [None if math.isnan(u) else u for u in ref.tolist()]


def test_shares_within_half_a_point(mixcon):
    mean = mixcon.execute("SELECT avg(n_tokens) FROM docs").fetchall()[0][0]
    budget = int(1000 * mean)
    report = mixcon.execute(
        "SELECT group_key, target_share, achieved_share, share_error_pp, shortfall_tokens, "
        "target_tokens, achieved_tokens FROM mix_report('docs', 'w', ?, seed := 3)", [budget]
    ).fetchall()
    assert [r[0] for r in report] == ["books", "code", "web"]
    for _, target, achieved, err_pp, shortfall, t_tok, a_tok in report:
        assert abs(achieved - target) * 100 < 0.5
        assert err_pp == pytest.approx((achieved - target) * 100)
        assert shortfall == 0
        assert abs(a_tok - t_tok) < 0.005 * budget
        assert a_tok <= t_tok  # first-fit never goes over a group's target
    # the report agrees with the rows mix returns
    rows = mixcon.execute(
        "SELECT mix_group, sum(n_tokens) FROM mix('docs', 'w', ?, seed := 3) GROUP BY ALL "
        "ORDER BY 1", [budget]
    ).fetchall()
    assert rows == [(r[0], r[6]) for r in report]


def test_few_long_documents(con):
    """A group whose target is a handful of long documents still lands on its share."""
    docs = pa.concat_tables([
        _docs({"short": 20000}, mean=100, seed=5),
        _docs({"long": 150}, mean=3000, seed=6),
    ])
    con.register("docs", docs)
    _weights(con, "w", [("short", 0.9), ("long", 0.1)])
    mean = con.execute("SELECT avg(n_tokens) FROM docs").fetchall()[0][0]
    for seed in range(3):
        errors = con.execute(
            "SELECT max(abs(share_error_pp)) FROM mix_report('docs', 'w', ?, seed := ?)",
            [1000 * mean, seed],
        ).fetchall()[0][0]
        assert errors < 0.5


def test_rows_and_columns(mixcon):
    rel = mixcon.execute("SELECT * FROM mix('docs', 'w', 100000) LIMIT 1")
    assert [d[0] for d in rel.description] == [
        "id", "source", "n_tokens", "mix_group", "epoch", "mix_rank"
    ]
    bad = mixcon.execute(
        "SELECT count(*) FROM mix('docs', 'w', 100000) WHERE source <> mix_group OR epoch <> 0"
    ).fetchall()
    assert bad == [(0,)]
    # mix_rank numbers each group's rows 1..n in output order
    assert mixcon.execute(
        "SELECT bool_and(mix_rank = rn) FROM (SELECT mix_rank, row_number() OVER "
        "(PARTITION BY mix_group ORDER BY mix_rank) AS rn FROM mix('docs', 'w', 100000))"
    ).fetchall() == [(True,)]


def test_deterministic_from_seed(mixcon):
    q = "SELECT id, epoch FROM mix('docs', 'w', 200000, seed := {}) ORDER BY mix_group, mix_rank"
    a = mixcon.execute(q.format(1)).fetchall()
    b = mixcon.execute(q.format(1)).fetchall()
    c = mixcon.execute(q.format(2)).fetchall()
    assert a == b
    assert a != c
    # the selection order is hash_unit order within a group
    ordered = mixcon.execute(
        "SELECT list(id ORDER BY mix_rank) = list(id ORDER BY hash_unit(id, seed := 1), id) "
        "FROM mix('docs', 'w', 200000, seed := 1) GROUP BY mix_group"
    ).fetchall()
    assert ordered and all(r[0] for r in ordered)


def test_weights_are_normalized(mixcon):
    _weights(mixcon, "w_raw", [("web", 5.0), ("code", 3.0), ("books", 2.0)])
    q = "SELECT id, epoch FROM mix('docs', '{}', 150000) ORDER BY mix_group, mix_rank"
    assert mixcon.execute(q.format("w")).fetchall() == mixcon.execute(q.format("w_raw")).fetchall()


def test_upsampling_marks_epochs_and_reports_shortfall(mixcon):
    tiny = mixcon.execute("SELECT sum(n_tokens) FROM docs WHERE source = 'tiny'").fetchall()[0][0]
    # tiny wants 2.5 epochs' worth: three epochs, the last one partial
    _weights(mixcon, "w_up", [("web", 1.0 - 2.5 * tiny / 1e6), ("tiny", 2.5 * tiny / 1e6)])
    rows = mixcon.execute(
        "SELECT epoch, count(*), count(DISTINCT id), sum(n_tokens) FROM mix('docs', 'w_up', 1e6) "
        "WHERE mix_group = 'tiny' GROUP BY epoch ORDER BY epoch"
    ).fetchall()
    assert [r[0] for r in rows] == [0, 1, 2]
    assert rows[0][1] == rows[1][1] == rows[0][2] == 40  # two full copies, each id once per epoch
    assert rows[2][1] < 40
    assert abs(sum(r[3] for r in rows) - 2.5 * tiny) < 0.5 * tiny / 40 * 10
    # a group needing more than max_epochs gives every copy and reports the shortfall
    _weights(mixcon, "w_short", [("web", 0.9), ("tiny", 0.1)])
    report = dict((r[0], r[1:]) for r in mixcon.execute(
        "SELECT group_key, achieved_tokens, n_copies, epochs_used, shortfall_tokens "
        "FROM mix_report('docs', 'w_short', 1e6, max_epochs := 3)"
    ).fetchall())
    assert report["tiny"] == (3 * tiny, 120, 3, pytest.approx(1e5 - 3 * tiny))
    assert report["web"][3] == 0


def test_zero_weight_and_unlisted_groups_get_nothing(mixcon):
    _weights(mixcon, "w0", [("web", 1.0), ("code", 0.0)])
    groups = mixcon.execute(
        "SELECT DISTINCT mix_group FROM mix('docs', 'w0', 50000) ORDER BY 1"
    ).fetchall()
    assert groups == [("web",)]


def test_other_column_names_and_no_id(con):
    con.register("d2", pa.table({"lang": ["en", "en", "fr", "fr"], "toks": [10, 20, 30, 40],
                                 "body": ["a", "b", "c", "d"]}))
    _weights(con, "wl", [("en", 1), ("fr", 1)])
    rows = con.execute(
        "SELECT mix_group, sum(toks) FROM mix('d2', 'wl', 60, \"by\" := 'lang', "
        "token_col := 'toks', id_col := NULL) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert rows == [("en", 30), ("fr", 30)]


@pytest.mark.parametrize(
    "weights, call, message",
    [
        ([("web", -0.5), ("code", 1.0)], "mix('docs', 'wx', 1000)",
         "weight of group 'web' is -0.5; weights must be >= 0"),
        ([("web", 1.0), ("nope", 1.0)], "mix('docs', 'wx', 1000)",
         "group 'nope' of weights table wx has no rows in docs (column source); "
         "groups present: books, code, tiny, web"),
        ([("web", 1.0)], "mix('empty_docs', 'wx', 1000)", "mix: table empty_docs has no rows"),
        ([], "mix('docs', 'wx', 1000)", "weights table wx has no rows"),
        ([("web", 0.0)], "mix('docs', 'wx', 1000)", "sum to 0"),
        ([("web", 1.0), ("web", 2.0)], "mix('docs', 'wx', 1000)", "'web' appears more than once"),
        ([("web", 1.0)], "mix('docs', 'wx', 0)", "budget_tokens must be a positive number"),
        ([("web", 1.0)], "mix('docs', 'wx', 1000, max_epochs := 0)",
         "max_epochs must be at least 1"),
        ([("web", 1.0)], "mix('null_docs', 'wx', 1000)", "has rows with NULL n_tokens"),
        ([("web", -1.0)], "mix_report('docs', 'wx', 1000)", "weights must be >= 0"),
    ],
)
def test_mix_errors(shared_con, weights, call, message):
    _weights(shared_con, "wx", weights)
    with pytest.raises(duckdb.Error) as err:
        shared_con.execute(f"SELECT * FROM {call}").fetchall()
    assert message in str(err.value)


def test_temperature_weights(con):
    con.register("counts", pa.table({"group_key": ["a", "b", "c", "z"],
                                     "n": [1000.0, 100.0, 10.0, 0.0]}))
    for t in (0.5, 1.0, 2.0, 5.0):
        got = dict(con.execute("FROM mix_weights_temperature('counts', ?)", [t]).fetchall())
        mass = {k: v ** (1 / t) for k, v in {"a": 1000, "b": 100, "c": 10}.items()}
        total = sum(mass.values())
        assert got.pop("z") == 0
        assert got == pytest.approx({k: m / total for k, m in mass.items()})
    flat = dict(con.execute("FROM mix_weights_temperature('counts', 1000)").fetchall())
    assert flat["a"] == pytest.approx(1 / 3, abs=0.01)
    # the output is a valid weights table for mix
    con.register("d", pa.table({"id": ["1", "2", "3"], "source": ["a", "b", "c"],
                                "n_tokens": [5, 5, 5]}))
    con.execute("CREATE TABLE wt AS SELECT * FROM mix_weights_temperature('counts', 2) "
                "WHERE group_key <> 'z'")
    assert con.execute("SELECT count(*) FROM mix('d', 'wt', 10)").fetchall()[0][0] > 0


@pytest.mark.parametrize(
    "counts, t, message",
    [
        ({"group_key": ["a"], "n": [1.0]}, 0, "t must be > 0, got 0"),
        ({"group_key": ["a"], "n": [-1.0]}, 1, "n of group 'a' is NULL or negative"),
        ({"group_key": ["a", "a"], "n": [1.0, 2.0]}, 1, "appears more than once"),
        ({"group_key": pa.array([], pa.string()), "n": pa.array([], pa.float64())}, 1,
         "has no rows"),
    ],
)
def test_temperature_errors(shared_con, counts, t, message):
    shared_con.register("bad_counts", pa.table(counts))
    with pytest.raises(duckdb.Error) as err:
        shared_con.execute("FROM mix_weights_temperature('bad_counts', ?)", [t]).fetchall()
    assert message in str(err.value)


def test_targets_do_not_depend_on_the_order_of_the_weights_rows(con):
    """0.7 + 0.2 + 0.1 is 1.0 in one order and 0.9999999999999999 in another: a target summed
    in arrival order moved by one bit between runs, and with it whether a zero-token document
    still fit (seen as 53 extra rows in one call out of three, same inputs, same seed)."""
    n = 3000
    con.register("dz", pa.table({
        "id": [f"d{i}" for i in range(n)],
        "source": [["a", "b", "c"][i % 3] for i in range(n)],
        "n_tokens": pa.array([0 if i % 4 == 0 else 10 for i in range(n)], pa.int64())}))
    targets, weights, rows = set(), set(), set()
    for order in itertools.permutations([("a", 0.7), ("b", 0.2), ("c", 0.1)]):
        _weights(con, "wz", list(order))
        targets.add(tuple(con.execute(
            "SELECT target_tokens FROM mix_report('dz', 'wz', 1000)").fetchall()))
        rows.add(tuple(con.execute(
            "SELECT id, epoch, mix_rank FROM mix('dz', 'wz', 1000) ORDER BY ALL").fetchall()))
        con.register("cz", pa.table({"group_key": [g for g, _ in order],
                                     "n": [w * 10 for _, w in order]}))
        weights.add(tuple(con.execute(
            "SELECT weight FROM mix_weights_temperature('cz', 1.0)").fetchall()))
    total = 0.0
    for w in (0.7, 0.2, 0.1):  # in group order, one after another
        total += w
    assert targets == {tuple((1000 * w / total,) for w in (0.7, 0.2, 0.1))}
    assert len(rows) == 1 and len(weights) == 1
