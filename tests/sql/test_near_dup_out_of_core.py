"""Out-of-core near-dup clustering (issue 17 item 1): near_dup_clusters labels components with
edge_components (SQL over an edges table) instead of one Python list of every edge, with the same
clusters and keep decisions as the in-memory path it replaced; a tiny memory budget fails early
naming the knob, and a tiny DuckDB memory_limit still completes by spilling."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from corpusql.udfs import graph

ROOT = Path(__file__).resolve().parents[2]

#: The in-memory near_dup_clusters this change replaced (connected_components over list() of all
#: edges), read from the commit before it and created under another name as the reference.
BEFORE = "73c9488"


def _corpus(n_families: int = 700, seed: int = 7) -> list[tuple[int, str | None, int]]:
    """About 3,000 documents: families of near copies (some chained: a copy of a copy), unrelated
    texts, NULL and empty texts; (id, text, priority)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"  # no digits: norm_numbers would fold them together
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 8))) for _ in range(3000)]
    rows: list[tuple[int, str | None, int]] = []
    for _ in range(n_families):
        words = [rng.choice(vocab) for _ in range(rng.randint(40, 120))]
        rows.append((0, " ".join(words), rng.randint(0, 3)))
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
            words = list(words)  # a chain: each copy changes the previous one a little
            for _ in range(rng.randint(1, 3)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            rows.append((0, " ".join(words), rng.randint(0, 3)))
    rows += [(0, None, 1), (0, "", 2), (0, "   ", 0)]
    rng.shuffle(rows)
    return [(i * 7 + 3, text, prio) for i, (_, text, prio) in enumerate(rows)]


@pytest.fixture
def con(mcon):
    mcon.execute("SET threads = 2")
    mcon.execute("CREATE OR REPLACE TABLE ooc_docs (id BIGINT, text VARCHAR, prio INTEGER)")
    mcon.executemany("INSERT INTO ooc_docs VALUES (?, ?, ?)", _corpus())
    yield mcon
    mcon.execute("RESET memory_limit")
    mcon.execute("SET VARIABLE corpusql_memory_budget = 4e9::BIGINT")


def _before(con, name: str) -> str:
    """Macro ``name`` as it was at BEFORE, created as ``name``_in_memory on ``con``."""
    sql = subprocess.run(["git", "show", f"{BEFORE}:sql/governance/{name}.sql"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    if sql.returncode != 0:
        pytest.skip(f"commit {BEFORE} is not in this clone: {sql.stderr.strip()}")
    con.execute(sql.stdout.replace(f"MACRO {name}(", f"MACRO {name}_in_memory("))
    return f"{name}_in_memory"


@pytest.fixture(scope="module")
def in_memory(mcon):
    """The previous near_dup_clusters, as near_dup_clusters_in_memory on the module connection."""
    return _before(mcon, "near_dup_clusters")


@pytest.mark.parametrize("args", [
    "threshold := 0.8",
    "threshold := 0.7, keep_by := 'prio'",
    "threshold := 0.8, verify := false",
    "threshold := 0.9, max_bucket := 2",
])
def test_same_clusters_and_keep_decisions_as_the_in_memory_path(con, in_memory, args):
    new = con.execute(f"FROM near_dup_clusters('ooc_docs', 'text', 'id', {args})").fetchall()
    old = con.execute(f"FROM {in_memory}('ooc_docs', 'text', 'id', {args})").fetchall()
    assert len(new) == con.execute("SELECT count(*) FROM ooc_docs").fetchone()[0]
    assert new == old  # same rows in the same order: ids, cluster ids, sizes, keep decisions
    assert sum(1 for r in new if not r[3]) > 100  # the corpus really has near-duplicates
    assert max(r[2] for r in new) >= 4


@pytest.mark.parametrize("args", ["", ", keep_by := 'prio'", ", verify := false"])
def test_incremental_gives_the_same_answer_as_the_in_memory_path(con, args):
    old = _before(con, "near_dup_incremental")
    con.execute("CREATE OR REPLACE TABLE ooc_release AS FROM ooc_docs WHERE id % 5 = 0")
    con.execute("CREATE OR REPLACE TABLE ooc_batch AS FROM ooc_docs WHERE id % 5 <> 0")
    call = "('ooc_batch', 'ooc_release', 'text', 'id'" + args + ")"
    new = con.execute(f"FROM near_dup_incremental{call}").fetchall()
    assert new == con.execute(f"FROM {old}{call}").fetchall()
    assert {r[3] for r in new} == {None, "batch", "release"}  # both kinds of duplicate occur


def test_a_tiny_duckdb_memory_limit_still_completes_by_spilling(con, in_memory, tmp_path):
    expected = con.execute(f"FROM {in_memory}('ooc_docs', 'text', 'id')").fetchall()
    con.execute(f"SET temp_directory = '{tmp_path}'")
    con.execute("SET memory_limit = '48MB'")
    got = con.execute("FROM near_dup_clusters('ooc_docs', 'text', 'id')").fetchall()
    assert got == expected


def test_a_tiny_budget_fails_early_naming_the_knob(con):
    con.execute("SET VARIABLE corpusql_memory_budget = 20000::BIGINT")
    with pytest.raises(duckdb.InvalidInputException) as err:
        con.execute("FROM near_dup_clusters('ooc_docs', 'text', 'id', threshold := 0.8)").fetchall()
    msg = str(err.value)
    assert "needs more than" in msg and "ooc_docs" in msg
    assert "memory_budget" in msg and "budget 0.0 GB" in msg


def test_labelling_fails_with_the_estimate_when_edges_exceed_the_budget(con):
    con.execute("CREATE OR REPLACE TABLE ooc_edges AS "
                "SELECT i AS src, i + 1 AS dst FROM range(1000) AS t(i)")
    con.execute("SET VARIABLE corpusql_memory_budget = 1000::BIGINT")
    with pytest.raises(duckdb.InvalidInputException,
                       match=r"near_dup_clusters: ooc_edges needs more than 0\.0 GB to label the "
                             r"1001 documents .*corpusql_memory_budget"):
        con.execute("FROM edge_components('ooc_edges', "
                    "what := 'near_dup_clusters: ooc_edges')").fetchall()


def _graphs():
    rng = np.random.default_rng(5)
    yield "path", np.arange(5000), np.arange(1, 5001)  # the longest chain: log2 rounds
    yield "reversed path", np.arange(1, 3001), np.arange(3000)
    yield "star", np.zeros(500, dtype=np.int64), np.arange(1, 501)
    src, dst = rng.integers(0, 4000, 3000), rng.integers(0, 4000, 3000)
    yield "random", src, dst
    yield "self loops", np.array([3, 3, 8]), np.array([3, 9, 8])


@pytest.mark.parametrize("name,src,dst", list(_graphs()), ids=lambda v: v if isinstance(v, str) else "")
def test_edge_components_equals_the_kernel(con, name, src, dst):
    con.execute("CREATE OR REPLACE TABLE ooc_edges (src BIGINT, dst BIGINT)")
    con.executemany("INSERT INTO ooc_edges VALUES (?, ?)",
                    [(int(a), int(b)) for a, b in zip(src, dst, strict=True)])
    got = dict(con.execute("FROM edge_components('ooc_edges')").fetchall())
    label = graph.connected_components(pa.array([src.tolist()]), pa.array([dst.tolist()]))[0]
    nodes = sorted(set(src.tolist()) | set(dst.tolist()))
    assert got == {n: label[n].as_py() for n in nodes}


def test_edge_components_ignores_null_ends_and_takes_text_nodes(con):
    con.execute("CREATE OR REPLACE TABLE ooc_edges AS SELECT * FROM (VALUES "
                "('b', 'c'), ('c', NULL), (NULL, 'z'), ('x', 'y'), ('a', 'c')) AS t(src, dst)")
    got = con.execute("FROM edge_components('ooc_edges')").fetchall()
    assert got == [("a", "a"), ("b", "a"), ("c", "a"), ("x", "x"), ("y", "x")]
