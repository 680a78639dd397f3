"""kmeans, kmeans_assign, nearest_centroid (sql/semantic/) and their kernels (udfs/kmeans.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from corpusql.udfs import kmeans as K


def _blobs(n_per=40, dim=16, centers=4, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, dim))
    x = np.concatenate([c[i] + 0.05 * rng.standard_normal((n_per, dim)) for i in range(centers)])
    return x.astype(np.float32), np.repeat(np.arange(centers), n_per)


def _register(con, name, x, ids=None, order=None):
    ids = list(range(len(x))) if ids is None else ids
    rows = list(range(len(x))) if order is None else order
    con.register(name, pa.table({
        "id": pa.array([ids[i] for i in rows], pa.int64()),
        "emb": pa.array([None if x[i] is None else list(x[i]) for i in rows],
                        pa.list_(pa.float32()))}))


def test_kmeans_finds_separated_clusters_and_is_deterministic(con):
    x, truth = _blobs()
    _register(con, "pts", x)
    got = con.execute("SELECT centroid_id, centroid, size FROM kmeans('pts', 'emb', 4)").fetchall()
    assert sorted(r[2] for r in got) == [40, 40, 40, 40]
    assert all(abs(np.linalg.norm(r[1]) - 1) < 1e-5 for r in got)
    shuffled = list(np.random.default_rng(5).permutation(len(x)))
    _register(con, "pts_shuffled", x, order=shuffled)
    con.execute("SET threads = 1")
    again = con.execute("SELECT * FROM kmeans('pts_shuffled', 'emb', 4)").fetchall()
    con.execute("SET threads = 2")
    assert again == got
    other_seed = con.execute("SELECT * FROM kmeans('pts', 'emb', 4, seed := 7)").fetchall()
    assert sorted(r[2] for r in other_seed) == [40, 40, 40, 40]


def _reference_spherical(x, centroids, iters):
    """Unblocked spherical k-means, written out: argmax of dot products, normalized sums."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    c = centroids.astype(np.float64)
    for _ in range(iters):
        labels = np.argmax(x @ c.T, axis=1)
        new = c.copy()
        for j in range(len(c)):
            members = x[labels == j]
            if len(members):
                s = members.sum(axis=0)
                new[j] = s / np.linalg.norm(s)
        c = new
    return np.argmax(x @ c.T, axis=1), c


def test_lloyd_steps_match_a_plain_reference_and_blocks_do_not_matter(monkeypatch):
    x, _ = _blobs(n_per=60, centers=6, seed=3)
    x = x + np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)  # overlapping
    xn = K.matrix(pa.array(list(x), pa.list_(pa.float32())), "test")
    start = K._seed_centroids(xn, 6, np.random.default_rng(1))
    c = start
    for _ in range(5):
        labels, sizes, c = K.lloyd_step(xn, c)
    ref_labels, ref_c = _reference_spherical(x.astype(np.float64), start, 5)
    assert np.array_equal(np.argmax(xn @ c.T, axis=1), ref_labels)
    assert np.abs(c - ref_c).max() < 1e-5
    monkeypatch.setattr(K, "BLOCK", 7)
    c7 = start
    for _ in range(5):
        labels7, sizes7, c7 = K.lloyd_step(xn, c7)
    assert np.array_equal(labels7, labels) and np.array_equal(sizes7, sizes)
    assert np.abs(c7 - c).max() < 1e-6


def test_assign_and_nearest_centroid_agree_with_brute_force(con):
    x, _ = _blobs(n_per=25, centers=3, seed=2)
    x = x + 0.5 * np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)
    rows = [*x[:30], None, *x[30:]]
    _register(con, "pts", rows)
    con.execute("CREATE TEMP TABLE cents AS SELECT * FROM kmeans('pts', 'emb', 5)")
    cents = con.execute("SELECT centroid FROM cents ORDER BY centroid_id").fetchall()
    c = np.array([r[0] for r in cents])
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    want = np.argmax(xn @ c.T, axis=1)
    got = con.execute("SELECT id, centroid_id, similarity FROM kmeans_assign('pts', 'emb', 'id', "
                      "'cents')").fetchall()
    ids = [i for i in range(len(rows)) if rows[i] is not None]
    assert [r[0] for r in got] == ids
    assert [r[1] for r in got] == list(want)
    assert np.allclose([r[2] for r in got], (xn * c[want]).sum(axis=1), atol=1e-5)
    scalar = con.execute("SELECT id, nearest_centroid(emb, 'cents') FROM pts ORDER BY id").fetchall()
    assert [r[1] for r in scalar if r[1] is not None] == list(want)
    assert scalar[30] == (30, None)


def test_dimension_mismatch_names_both_dimensions(con):
    x, _ = _blobs(n_per=5, centers=2, dim=8)
    _register(con, "pts", x)
    con.execute("CREATE TEMP TABLE cents AS SELECT * FROM kmeans('pts', 'emb', 2)")
    _register(con, "wide", np.ones((3, 12), np.float32))
    with pytest.raises(Exception, match="embeddings have 12 dimensions but the centroids have 8"):
        con.execute("SELECT * FROM kmeans_assign('wide', 'emb', 'id', 'cents')").fetchall()
    with pytest.raises(Exception, match="embedding has 12 dimensions but the centroids have 8"):
        con.execute("SELECT nearest_centroid(emb, 'cents') FROM wide").fetchall()
    _register(con, "mixed", [np.ones(8, np.float32), np.ones(4, np.float32)])
    with pytest.raises(Exception, match="same dimension, but one has 4 values and another 8"):
        con.execute("SELECT * FROM kmeans('mixed', 'emb', 1)").fetchall()


def test_fewer_rows_than_k_and_null_rows(con):
    _register(con, "few", [np.array([1, 0], np.float32), None, np.array([0, 1], np.float32)])
    got = con.execute("SELECT centroid_id, size FROM kmeans('few', 'emb', 10)").fetchall()
    assert got == [(0, 1), (1, 1)]
    _register(con, "none", [None, None])
    assert con.execute("SELECT count(*) FROM kmeans('none', 'emb', 3)").fetchall() == [(0,)]
