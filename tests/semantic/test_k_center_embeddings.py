"""k_center_greedy on embedding-shaped data (issue 14 part 4): 2,000 x 384 float32 vectors, the
same picks as a brute-force farthest-point traversal written out with the full distance matrix."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa


def _unit(key: str, seed: int) -> float:
    digest = hashlib.blake2b(key.encode(), digest_size=8, key=str(seed).encode()).digest()
    return int.from_bytes(digest, "little") / 2.0**64


def _brute_force(ids, x, k, seed):
    """Farthest-point traversal from the all-pairs distance matrix (no blocks, no updates)."""
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    d = np.sqrt(np.maximum(
        (x * x).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2 * x @ x.T, 0))
    first = min(order, key=lambda i: (_unit(ids[i], seed), ids[i]))
    picks = [first]
    for _ in range(k - 1):
        nearest = d[:, picks].min(axis=1)
        nearest[picks] = -1
        far = nearest.max()
        picks.append(min((i for i in order if nearest[i] == far), key=lambda i: ids[i]))
    return [ids[i] for i in picks]


def test_same_picks_as_brute_force_on_2000_embeddings(con):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2000, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x[100:150] = x[:50] + 0.01 * rng.standard_normal((50, 384)).astype(np.float32)  # near copies
    ids = [f"doc{i:05d}" for i in range(len(x))]
    flat = pa.array(x.ravel(), pa.float32())
    con.register("emb", pa.table({"id": ids, "e": pa.FixedSizeListArray.from_arrays(flat, 384)}))
    got = [r[0] for r in con.execute(
        "SELECT id FROM k_center_greedy('emb', 'id', 'e', 40, seed := 3) ORDER BY pick_rank"
    ).fetchall()]
    assert got == _brute_force(ids, x.astype(np.float64), 40, 3)
