"""SQL logic tests for the near-duplicate macros (near_dup_candidates, near_dup_clusters,
near_dedup, near_dup_report) and the MinHash functions as SQL users call them."""

from __future__ import annotations

import duckdb
import pytest

BASE = "the quick brown fox jumps over the lazy dog near the river bank on a sunny day in june"
OTHER = "completely different words about the history of typesetting and printing presses in europe"


@pytest.fixture
def con(mcon):
    mcon.execute("SET threads = 2")
    return mcon


@pytest.fixture
def docs(con):
    con.execute("""
        CREATE OR REPLACE TABLE docs AS SELECT * FROM (VALUES
            (1, ?, 5),
            (2, ?, 9),
            (3, ?, 1),
            (4, NULL, 1),
            (5, '', 1),
            (6, ?, 1),
            (7, ?, 1),
            (8, ?, 2)
        ) AS t(id, text, prio)
    """, [BASE, BASE + "!", OTHER, BASE.upper() + ".", OTHER + " extra words at the very end",
          OTHER.replace("europe", "asia")])
    return con


def rows(con, sql):
    return con.execute(sql).fetchall()


def test_functions_are_documented(con):
    names = {"minhash_signature", "minhash_bands", "minhash_params", "minhash_jaccard",
             "jaccard", "connected_components"}
    got = dict(rows(con, "SELECT function_name, comment FROM duckdb_functions() "
                         "WHERE function_type = 'macro' AND database_name = 'temp'"))
    for name in names:
        assert got.get(name), name


def test_signature_and_bands_from_sql(con):
    (sig, empty, null, bands), = rows(con, """
        SELECT minhash_signature('a b c d e f g', num_perm := 16),
               minhash_signature('  !! '), minhash_signature(NULL),
               minhash_bands(minhash_signature('a b c d e f g', num_perm := 16), bands := 4, rows := 4)
    """)
    assert len(sig) == 16 and empty is None and null is None and len(bands) == 4


def test_params_from_sql(con):
    (p,), = rows(con, "SELECT minhash_params(0.8, num_perm := 128)")
    assert (p["bands"], p["rows"]) == (9, 13)


def test_candidates(docs):
    got = rows(docs, "SELECT id_a, id_b, est_jaccard FROM near_dup_candidates('docs', 'text', 'id')")
    pairs = {(a, b) for a, b, _ in got}
    assert {(1, 2), (1, 6), (2, 6)} <= pairs
    assert all(a < b for a, b in pairs)
    assert all(e == 1.0 for a, b, e in got if (a, b) in {(1, 2), (1, 6), (2, 6)})
    assert not any(4 in p or 5 in p for p in pairs)  # NULL and empty texts never pair


def test_candidates_bad_threshold(docs):
    for bad in ("0.0", "1.5", "-1"):
        with pytest.raises(duckdb.Error, match=r"near_dup_candidates: threshold = .* out of range"):
            rows(docs, f"FROM near_dup_candidates('docs', 'text', 'id', threshold := {bad})")


def test_candidates_bad_num_perm(docs):
    with pytest.raises(duckdb.Error, match=r"num_perm = 4096 is out of range \[2, 1024\]"):
        rows(docs, "FROM near_dup_candidates('docs', 'text', 'id', num_perm := 4096)")


def test_clusters(docs):
    got = rows(docs, "SELECT id, cluster_id, cluster_size, is_kept "
                     "FROM near_dup_clusters('docs', 'text', 'id') ORDER BY id")
    by_id = {r[0]: r[1:] for r in got}
    assert by_id[1] == (1, 3, True) and by_id[2] == (1, 3, False) and by_id[6] == (1, 3, False)
    assert by_id[4] == (4, 1, True) and by_id[5] == (5, 1, True)
    assert len(got) == 8
    # every cluster keeps exactly one document
    (bad,), = rows(docs, "SELECT count(*) FROM (SELECT cluster_id FROM near_dup_clusters("
                         "'docs', 'text', 'id') GROUP BY ALL HAVING sum(is_kept::INT) <> 1)")
    assert bad == 0


def test_clusters_keep_by(docs):
    kept = rows(docs, "SELECT id FROM near_dup_clusters('docs', 'text', 'id', keep_by := 'prio') "
                      "WHERE is_kept AND cluster_size > 1 ORDER BY id")
    assert (2,) in kept and (1,) not in kept


def _components(edges):
    label = {}

    def find(x):
        while label.get(x, x) != x:
            x = label[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        label[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in {v for e in edges for v in e}}


@pytest.mark.parametrize("threshold", [0.5, 0.55, 0.8])
def test_clusters_are_components_of_verified_candidates(docs, threshold):
    cands = rows(docs, f"""
        SELECT c.id_a, c.id_b, jaccard(a.text, b.text)
        FROM near_dup_candidates('docs', 'text', 'id', threshold := {threshold}) AS c
        JOIN docs AS a ON a.id = c.id_a JOIN docs AS b ON b.id = c.id_b""")
    for verify, edges in ((False, [(a, b) for a, b, _ in cands]),
                          (True, [(a, b) for a, b, j in cands if j >= threshold])):
        got = rows(docs, f"SELECT id, cluster_id FROM near_dup_clusters('docs', 'text', 'id', "
                         f"threshold := {threshold}, verify := {verify}) ORDER BY id")
        expect = _components(edges)
        assert got == [(i, expect.get(i, i)) for i in range(1, 9)]


def test_verify_drops_a_candidate_below_threshold(docs):
    # with this data and seed, LSH at 0.55 proposes 7~8, whose exact Jaccard is 0.5
    (j,), = rows(docs, "SELECT jaccard(a.text, b.text) FROM docs a, docs b "
                       "WHERE a.id = 7 AND b.id = 8")
    assert j == 0.5
    cand = rows(docs, "SELECT id_a, id_b FROM near_dup_candidates('docs', 'text', 'id', "
                      "threshold := 0.55)")
    assert (7, 8) in cand
    docs.execute("CREATE OR REPLACE TABLE pair AS FROM docs WHERE id IN (7, 8)")
    sql = "SELECT id, cluster_id FROM near_dup_clusters('pair', 'text', 'id', threshold := 0.55"
    assert rows(docs, sql + ", verify := false) ORDER BY id") == [(7, 7), (8, 7)]
    assert rows(docs, sql + ") ORDER BY id") == [(7, 7), (8, 8)]


def test_clusters_deterministic_across_threads(docs):
    docs.execute("CREATE OR REPLACE TABLE many AS SELECT (i * 8 + d.id) AS id, "
                 "d.text || CASE WHEN i % 3 = 0 THEN '' ELSE ' tail' || (i % 5) END AS text "
                 "FROM docs d, range(60) r(i)")
    results = []
    for threads in (1, 2):
        docs.execute(f"SET threads = {threads}")
        results.append(rows(docs, "FROM near_dup_clusters('many', 'text', 'id')"))
    assert results[0] == results[1]


def test_near_dedup(docs):
    got = rows(docs, "SELECT id, prio FROM near_dedup('docs', 'text', 'id')")
    assert [r[0] for r in got] == [1, 3, 4, 5, 7]  # 2, 6 copy 1; 8 is 3 with one word changed
    got = rows(docs, "SELECT id FROM near_dedup('docs', 'text', 'id', keep_by := 'prio')")
    assert [r[0] for r in got] == [2, 4, 5, 7, 8]
    cols = [d[0] for d in docs.execute("FROM near_dedup('docs', 'text', 'id')").description]
    assert cols == ["id", "text", "prio"]


def test_near_dup_report(docs):
    (source, n_docs, n_empty, n_clusters, n_clustered, n_removed, frac, largest, n_overfull), = rows(
        docs, "FROM near_dup_report('docs', 'text', 'id')")
    (n_kept,), = rows(docs, "SELECT count(*) FROM near_dedup('docs', 'text', 'id')")
    assert source is None and n_docs == 8 and n_empty == 2  # ids 4 (NULL) and 5 ('')
    assert n_removed == n_docs - n_kept == 3 and largest == 3
    assert frac == pytest.approx(n_removed / n_docs) and n_clustered == 5 and n_clusters == 2
    assert n_overfull == 0  # no band key is shared by more than max_bucket (1000) documents


def test_near_dup_report_per_source(docs):
    docs.execute("CREATE OR REPLACE TABLE sourced AS SELECT *, "
                 "CASE WHEN id IN (2, 6) THEN 'mirror' ELSE 'web' END AS site FROM docs")
    got = rows(docs, "SELECT source, n_docs, n_empty, n_clusters, n_removed, largest_cluster "
                     "FROM near_dup_report('sourced', 'text', 'id', source_col := 'site')")
    # 2 and 6 copy 1 (a 'web' document), so the mirror loses both; 8 near-copies 3
    assert got == [("mirror", 2, 0, 1, 2, 3), ("web", 6, 2, 2, 1, 3)]


def test_near_dup_cluster_sizes(docs):
    got = rows(docs, "FROM near_dup_cluster_sizes('docs', 'text', 'id')")
    assert got == [(1, 3, 3, 0), (2, 1, 2, 1), (3, 1, 3, 2)]
    (n,), = rows(docs, "SELECT sum(n_docs) FROM near_dup_cluster_sizes('docs', 'text', 'id')")
    assert n == 8


def test_empty_table(con):
    con.execute("CREATE OR REPLACE TABLE empty_docs (id INTEGER, text VARCHAR)")
    assert rows(con, "FROM near_dup_clusters('empty_docs', 'text', 'id')") == []
    assert rows(con, "FROM near_dup_report('empty_docs', 'text', 'id')") == []
    assert rows(con, "FROM near_dup_cluster_sizes('empty_docs', 'text', 'id')") == []


def test_neardup_dev_sample(con, shared_data):
    path = shared_data / "neardup-dev"
    con.execute(f"CREATE OR REPLACE TABLE sample AS SELECT id, text FROM read_parquet('{path}/bench.parquet') "
                "WHERE id IN (SELECT a FROM read_parquet('{path}/truth_pairs.parquet') "
                "WHERE jaccard >= 0.9 ORDER BY a, b LIMIT 150) "
                "OR id IN (SELECT b FROM read_parquet('{path}/truth_pairs.parquet') "
                "WHERE jaccard >= 0.9 ORDER BY a, b LIMIT 150)".replace("{path}", str(path)))
    truth = set(rows(con, f"SELECT a, b FROM read_parquet('{path}/truth_pairs.parquet') "
                          "WHERE jaccard >= 0.9 AND a IN (SELECT id FROM sample) "
                          "AND b IN (SELECT id FROM sample)"))
    found = set(rows(con, "SELECT id_a, id_b FROM near_dup_candidates('sample', 'text', 'id')"))
    assert len(truth & found) >= 0.95 * len(truth)


def test_norm_numbers(con):
    a = "release notes for version 2.4.1 of the tool with many small fixes"
    b = "release notes for version 3.0.17 of the tool with many small fixes"
    (folded, kept, same_sig, other_sig), = rows(con, f"""
        SELECT jaccard('{a}', '{b}'), jaccard('{a}', '{b}', norm_numbers := false),
               minhash_signature('{a}') = minhash_signature('{b}'),
               minhash_signature('{a}', norm_numbers := false)
                   = minhash_signature('{b}', norm_numbers := false)""")
    assert folded == 1.0 and kept < 0.8 and same_sig and not other_sig
    con.execute(f"CREATE OR REPLACE TABLE versions AS SELECT * FROM (VALUES (1, '{a}'), (2, '{b}')) t(id, text)")
    sql = "SELECT count(*) FROM near_dedup('versions', 'text', 'id'{})"
    assert rows(con, sql.format("")) == [(1,)]
    assert rows(con, sql.format(", norm_numbers := false")) == [(2,)]


@pytest.mark.parametrize("name", ["kept", "banding", "signatures", "band_keys", "edges", "ranked"])
def test_table_named_like_a_step_of_the_macros(docs, name):
    # the macros' own steps must not shadow the user's table of the same name
    docs.execute(f"CREATE OR REPLACE TABLE {name} AS FROM docs")
    for macro in ("near_dedup", "near_dup_clusters"):
        want = rows(docs, f"SELECT id FROM {macro}('docs', 'text', 'id') ORDER BY id")
        assert rows(docs, f"SELECT id FROM {macro}('{name}', 'text', 'id') ORDER BY id") == want
    docs.execute(f"DROP TABLE {name}")


_BIG_DOC = r'''
import resource, sys
import corpusql
con = corpusql.connect()
con.execute("SET enable_progress_bar = false")  # slow first runs (kernels compiling) would print it
con.execute("SELECT minhash_signature('warm up'), shingle_set('warm up')").fetchall()
con.execute("""CREATE TABLE big AS SELECT 1 AS id, string_agg(chr(CAST(97 + i % 26 AS INTEGER))
               || chr(CAST(97 + (i // 26) % 26 AS INTEGER)) || chr(CAST(97 + (i // 676) % 23 AS INTEGER))
               || 'x', ' ') AS text FROM range(11000000) t(i)""")
mb = con.execute("SELECT strlen(text) / 1e6 FROM big").fetchone()[0]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
n, = con.execute("SELECT len(minhash_signature(text)) FROM big").fetchone()
k, = con.execute("SELECT len(shingle_set(text)) FROM big").fetchone()
(removed,), = con.execute("SELECT count(*) FILTER (WHERE NOT is_kept) FROM near_dup_clusters('big', 'text', 'id')").fetchall()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(mb, n, k, removed, after - before)
'''


def test_fifty_megabyte_document(tmp_path):
    """One 50 MB text goes through the kernels and the clustering macro in bounded memory."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _BIG_DOC], capture_output=True, text=True,
                         check=True, timeout=600).stdout.strip().splitlines()[-1].split()
    mb, n, k, removed, grew = float(out[0]), int(out[1]), int(out[2]), int(out[3]), float(out[4])
    assert mb > 50 and n == 128 and k == 26 * 26 * 23 and removed == 0
    assert grew < 20 * mb, f"peak memory grew by {grew:.0f} MB for a {mb:.0f} MB document"


def test_invalid_utf8_from_a_file_is_quarantined_not_clustered(tmp_path):
    import corpusql

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_bytes(
        b'{"id": 1, "text": "' + BASE.encode() + b'"}\n'
        b'{"id": 2, "text": "' + BASE.encode() + b' \xff"}\n'   # line 2: not UTF-8
        b'{"id": 3, "text": "' + BASE.upper().encode() + b'!"}\n')
    con = corpusql.connect(str(tmp_path / "lake.duckdb"))
    try:
        corpusql.catalog(con).add("crawl", str(tmp_path / "in" / "*.jsonl"))
        got = rows(con, "SELECT id, cluster_id, is_kept FROM near_dup_clusters('crawl', 'text', 'id') "
                        "ORDER BY id")
        assert got == [(1, 1, True), (3, 1, False)]
        (line, reason), = rows(con, "SELECT line, reason FROM corpusql.quarantine "
                                    "WHERE dataset = 'crawl'")
        assert line == 2 and reason.startswith("invalid UTF-8")
    finally:
        con.close()


@pytest.mark.parametrize("macro", ["near_dup_candidates", "near_dup_clusters", "near_dedup"])
def test_ids_must_be_unique_and_not_null(docs, macro):
    docs.execute("CREATE OR REPLACE TABLE twice AS FROM docs UNION ALL FROM docs WHERE id = 3")
    with pytest.raises(duckdb.Error, match=r"near_dup_candidates: twice\.id is not unique: "
                                           r"1 repeated ids, e\.g\. 3"):
        rows(docs, f"FROM {macro}('twice', 'text', 'id')")
    docs.execute("CREATE OR REPLACE TABLE no_id AS FROM docs UNION ALL "
                 "SELECT NULL, 'some text', 1")
    with pytest.raises(duckdb.Error, match=r"no_id\.id has 1 NULL ids"):
        rows(docs, f"FROM {macro}('no_id', 'text', 'id')")


def test_near_dup_ids_checked(con):
    con.execute("CREATE OR REPLACE TABLE ids_ok AS SELECT * FROM (VALUES (1), (2)) t(id)")
    assert rows(con, "FROM near_dup_ids_checked('ids_ok', 'caller: ids_ok.id')") == [(True,)]
    con.execute("CREATE OR REPLACE TABLE ids_twice AS SELECT * FROM (VALUES (5), (2), (5), (2), (9)) t(id)")
    with pytest.raises(duckdb.Error, match=r"caller: ids_twice\.id is not unique: 2 repeated ids, e\.g\. 2"):
        rows(con, "FROM near_dup_ids_checked('ids_twice', 'caller: ids_twice.id')")
