"""Resource guards of near-duplicate detection: over-full LSH buckets (max_bucket) and the
corpusql memory budget. A resource limit must give an error naming the knob, never an OOM kill
or a full disk, and near-identical documents must not produce quadratically many pairs."""

from __future__ import annotations

import duckdb
import pytest

import corpusql

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


@pytest.fixture
def con(mcon):
    mcon.execute("SET threads = 2")
    return mcon


def rows(con, sql):
    return con.execute(sql).fetchall()


def number_tables(con, name, n, first_id=0):
    """``n`` tables of numbers that differ only in digits: identical once digits are folded."""
    con.execute(f"""
        CREATE OR REPLACE TABLE {name} AS
        SELECT {first_id} + i AS id,
               'table of measurements row ' || i || ' width ' || (i * 7) || ' height ' || (i * 13)
               || ' weight ' || (i * 31) || ' and the total for the row is ' || (i * 51) AS text
        FROM range({n}) r(i)""")


def _bands(con, fn_weight):
    (p,), = rows(con, f"SELECT minhash_params(0.8, num_perm := 128, fn_weight := {fn_weight})")
    return p["bands"]


def test_identical_documents_give_linear_candidate_pairs(con):
    # 3,000 documents with one band key per band: every pair used to be a candidate
    # (4,498,500 pairs, i.e. 40 million join rows over 9 bands); an over-full bucket now gives
    # the pairs (representative, member) only
    number_tables(con, "tables3k", 3000)
    (n, lo, hi), = rows(con, "SELECT count(*), min(id_a), max(id_a) "
                             "FROM near_dup_candidates('tables3k', 'text', 'id')")
    assert n == 2999 and lo == hi == 0
    got = rows(con, "SELECT cluster_size, count(*) FILTER (WHERE is_kept) "
                    "FROM near_dup_clusters('tables3k', 'text', 'id') GROUP BY ALL")
    assert got == [(3000, 1)]


def test_buckets_within_max_bucket_expand_to_all_pairs(con):
    number_tables(con, "tables60", 60)
    sql = "SELECT count(*) FROM near_dup_candidates('tables60', 'text', 'id', max_bucket := {})"
    assert rows(con, sql.format(60)) == [(60 * 59 // 2,)]  # a bucket of exactly max_bucket
    assert rows(con, sql.format(59)) == [(59,)]
    clusters = "FROM near_dup_clusters('tables60', 'text', 'id', max_bucket := {}) ORDER BY id"
    assert rows(con, clusters.format(1000)) == rows(con, clusters.format(2))


def test_bad_max_bucket(con):
    number_tables(con, "tables3", 3)
    for bad in ("0", "NULL"):
        with pytest.raises(duckdb.Error, match=r"near_dup_candidates: max_bucket = .* must be >= 1"):
            rows(con, f"FROM near_dup_candidates('tables3', 'text', 'id', max_bucket := {bad})")


def test_member_failing_the_representative_is_left_to_other_bands(con):
    # 7 and 8 share a band key at threshold 0.55 but their exact Jaccard is 0.5; 9 and 10 are
    # copies of 8. With max_bucket := 3 the bucket {7, 8, 9, 10} is over-full: its members are
    # checked against 7 only and all fail; 8, 9, 10 still meet in the other bands' buckets.
    base = "completely different words about the history of typesetting and printing presses in "
    con.execute("CREATE OR REPLACE TABLE fails AS SELECT * FROM (VALUES (7, ?), (8, ?), (9, ?), "
                "(10, ?)) t(id, text)", [base + "europe extra words at the very end"] + [base + "asia"] * 3)
    (j,), = rows(con, "SELECT jaccard(a.text, b.text) FROM fails a, fails b WHERE a.id = 7 AND b.id = 8")
    assert j == 0.5
    cands = "SELECT id_a, id_b FROM near_dup_candidates('fails', 'text', 'id', threshold := 0.55{})"
    assert (7, 8) in rows(con, cands.format(""))
    capped = rows(con, cands.format(", max_bucket := 3"))
    assert {(7, 8), (7, 9), (7, 10), (8, 9), (8, 10), (9, 10)} <= set(capped)
    sql = ("SELECT id, cluster_id, is_kept FROM near_dup_clusters('fails', 'text', 'id', "
           "threshold := 0.55{}) ORDER BY id")
    want = [(7, 7, True), (8, 8, True), (9, 8, False), (10, 8, False)]
    assert rows(con, sql.format("")) == want
    assert rows(con, sql.format(", max_bucket := 3")) == want


def test_overfull_clusters_deterministic_across_threads(con):
    number_tables(con, "mixed", 400)
    con.execute("""INSERT INTO mixed SELECT 1000 + i,
        'a page about ' || (i % 7) || ' gardens ' || repeat('and flowers ', (i % 5) + 1)
        || 'in the spring with roses tulips daisies and lilies' FROM range(300) r(i)""")
    results = []
    for threads in (1, 2):
        con.execute(f"SET threads = {threads}")
        results.append(rows(con, "FROM near_dup_clusters('mixed', 'text', 'id', max_bucket := 20)"))
    assert results[0] == results[1]
    sizes = sorted({(r[1], r[2]) for r in results[0] if r[2] > 1}, key=lambda r: r[0])
    assert sizes[0] == (0, 400)


def test_report_counts_overfull_buckets(con):
    number_tables(con, "tables50", 50)
    con.execute("INSERT INTO tables50 VALUES (100, 'a short unrelated note about the weather today')")
    con.execute("CREATE OR REPLACE TABLE tables50s AS SELECT *, "
                "CASE WHEN id < 20 THEN 'a' WHEN id < 100 THEN 'b' ELSE 'c' END AS site FROM tables50")
    bands = _bands(con, 0.9)
    got = rows(con, "SELECT n_docs, n_removed, n_overfull_buckets "
                    "FROM near_dup_report('tables50', 'text', 'id', max_bucket := 10)")
    assert got == [(51, 49, bands)]
    got = rows(con, "SELECT n_overfull_buckets FROM near_dup_report('tables50', 'text', 'id')")
    assert got == [(0,)]
    got = rows(con, "SELECT source, n_overfull_buckets FROM near_dup_report('tables50s', 'text', "
                    "'id', source_col := 'site', max_bucket := 25) ORDER BY source")
    assert got == [("a", bands), ("b", bands), ("c", 0)]


@pytest.mark.slow
def test_fifty_thousand_identical_and_fifty_thousand_near_identical(con):
    """50,000 number tables identical after digit folding, plus a base text and 49,999
    one-word variants of it: two clusters, and candidate rows linear in the documents.
    DuckDB's memory_limit and temp size are set so a quadratic regression errors (it needed
    18.8 GB, then 65 GB of spill) instead of swapping or filling the disk."""
    number_tables(con, "fifty", 50_000)
    base = " ".join(WORDS[i % 26] + WORDS[i // 26] for i in range(120))  # 120 distinct words
    # variant i replaces words i % 120 and (i // 120) % 120 by words no other document has
    # (letters, not digits); about 3.5 variants share both positions
    con.execute("""
        CREATE OR REPLACE TEMP MACRO nd_word(tag, i) AS tag || chr(CAST(97 + i % 26 AS INTEGER))
            || chr(CAST(97 + (i // 26) % 26 AS INTEGER)) || chr(CAST(97 + (i // 676) % 26 AS INTEGER))
            || chr(CAST(97 + (i // 17576) % 26 AS INTEGER))""")
    con.execute(f"""
        INSERT INTO fifty
        SELECT 100000 + i,
               CASE WHEN i = 0 THEN '{base}' ELSE
                   array_to_string(list_transform(string_split('{base}', ' '), lambda w, k:
                       CASE WHEN k - 1 = i % 120 THEN nd_word('q', i)
                            WHEN k - 1 = (i // 120) % 120 THEN nd_word('z', i)
                            ELSE w END), ' ') END
        FROM range(50000) r(i)""")
    con.execute("SET memory_limit = '2GB'")
    con.execute("SET max_temp_directory_size = '2GB'")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE fifty_clusters AS "
                    "FROM near_dup_clusters('fifty', 'text', 'id', max_bucket := 100)")
        (n_cands,), = rows(con, "SELECT count(*) FROM near_dup_candidates('fifty', 'text', 'id', "
                                "fn_weight := 0.9, max_bucket := 100)")
        report = rows(con, "SELECT n_docs, n_clusters, n_removed, largest_cluster, "
                           "n_overfull_buckets FROM near_dup_report('fifty', 'text', 'id', max_bucket := 100)")
    finally:
        con.execute("RESET memory_limit")
        con.execute("RESET max_temp_directory_size")
    # the number tables: one cluster, the smallest id kept; no cluster mixes the two families
    got = rows(con, "SELECT cluster_id, cluster_size, count(*) FILTER (WHERE is_kept) "
                    "FROM fifty_clusters WHERE id < 100000 GROUP BY ALL")
    assert got == [(0, 50_000, 1)]
    assert rows(con, "SELECT count(*) FROM fifty_clusters "
                     "WHERE (id < 100000) <> (cluster_id < 100000)") == [(0,)]
    # every variant that shares a band key with the base text (Jaccard >= 0.84 with it) sits in
    # an over-full bucket whose representative is the base, so it is in the base's cluster; the
    # few that share none are left to the buckets they share with other variants
    (sharing, in_base, missed), = rows(con, """
        WITH keys AS (FROM near_dup_band_keys('fifty', 'text', 'id')),
        sharing AS (SELECT DISTINCT id FROM keys
                    WHERE band_key IN (SELECT band_key FROM keys WHERE id = 100000))
        SELECT (SELECT count(*) FROM sharing),
               (SELECT count(*) FROM fifty_clusters WHERE cluster_id = 100000),
               (SELECT count(*) FROM sharing JOIN fifty_clusters AS c USING (id)
                WHERE c.cluster_id <> 100000)""")
    assert missed == 0 and in_base >= sharing > 45_000 and in_base > 49_000
    assert rows(con, "SELECT id FROM fifty_clusters WHERE cluster_id = 100000 AND is_kept") == [
        (100_000,)]
    bands = _bands(con, 0.9)
    assert n_cands <= 100_000 * bands * 100 // 2  # (before: 1.25 billion pairs per family)
    assert n_cands < 1_000_000
    (n_docs, n_clusters, n_removed, largest, n_overfull), = report
    assert (n_docs, largest) == (100_000, 50_000) and n_removed >= 99_000
    assert n_overfull >= 2 * bands


def test_memory_budget_defaults_to_half_the_ram_and_is_set_per_connection(tmp_path):
    import os

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    c = corpusql.connect()
    try:
        (got,), = rows(c, "SELECT getvariable('corpusql_memory_budget')")
        assert 0 < got <= ram // 2  # half of what the process can still get (udfs/memory.py)
        assert corpusql.set_memory_budget(c, "1.5GB") == 1_500_000_000
        assert rows(c, "SELECT getvariable('corpusql_memory_budget')") == [(1_500_000_000,)]
        assert corpusql.set_memory_budget(c, "2GiB") == 2 * 2**30
        assert corpusql.set_memory_budget(c, 12345) == 12345
        for bad in ("lots", "-1GB", 0, "4 parsecs"):
            with pytest.raises(ValueError, match=r"memory_budget = .* is not a size; give bytes"):
                corpusql.set_memory_budget(c, bad)
    finally:
        c.close()
    c = corpusql.connect(str(tmp_path / "lake.duckdb"), memory_budget="300MB")
    try:
        assert rows(c, "SELECT getvariable('corpusql_memory_budget')") == [(300_000_000,)]
    finally:
        c.close()


def test_tiny_budget_stops_candidate_expansion_with_the_knobs():
    number_tables_con = corpusql.connect(memory_budget="100KB")
    try:
        number_tables(number_tables_con, "tables200", 200)
        # 200 identical documents: 19,900 pairs of 32 bytes in each of 9 bands > 100 KB
        with pytest.raises(duckdb.Error, match=(
                r"near_dup_candidates needs more than 0\.\d+ GB for the \d+ candidate pairs of "
                r"tables200 \(budget 0\.0 GB\); raise the budget with corpusql\.connect\(\.\.\., "
                r"memory_budget=\.\.\.\) or corpusql\.set_memory_budget\(con, \.\.\.\), "
                r"or lower max_bucket \(now 1000\)")):
            rows(number_tables_con, "FROM near_dup_candidates('tables200', 'text', 'id')")
        # SQL users set the same variable (bytes)
        number_tables_con.execute("SET VARIABLE corpusql_memory_budget = 10_000_000")
        (n,), = rows(number_tables_con, "SELECT count(*) FROM near_dup_candidates('tables200', "
                                        "'text', 'id')")
        assert n == 200 * 199 // 2
        corpusql.set_memory_budget(number_tables_con, "100KB")
        # lowering max_bucket is the other knob: stars fit
        (n,), = rows(number_tables_con, "SELECT count(*) FROM near_dup_candidates('tables200', "
                                        "'text', 'id', max_bucket := 10)")
        assert n == 199
    finally:
        number_tables_con.close()


def test_tiny_budget_stops_clustering_kernel_with_the_knobs(con):
    # 10,000 distinct documents and one copy of the first, given the largest id: one candidate
    # pair passes the expansion check; near_dup_clusters labels only the two documents of that
    # edge (edge_components, in SQL), while the connected_components kernel, given the edge
    # (0, 10000), labels all 10,001 nodes and is stopped by the budget
    con.execute("""
        CREATE OR REPLACE TABLE distinct10k AS
        SELECT i AS id, list_reduce(list_transform(['alpha', 'bravo', 'charlie', 'delta', 'echo',
                   'golf'], lambda w: w || chr(CAST(97 + i % 26 AS INTEGER))
                   || chr(CAST(97 + (i // 26) % 26 AS INTEGER))
                   || chr(CAST(97 + (i // 676) % 26 AS INTEGER))), lambda a, b: a || ' ' || b) AS text
        FROM range(10000) r(i)""")
    con.execute("INSERT INTO distinct10k SELECT 10000, text FROM distinct10k WHERE id = 0")
    corpusql.set_memory_budget(con, 100_000)
    try:
        assert rows(con, "SELECT id_a, id_b FROM near_dup_candidates('distinct10k', 'text', 'id')"
                    ) == [(0, 10000)]
        with pytest.raises(duckdb.Error, match=(
                r"connected_components needs more than 0\.\d+ GB for 1 edges over 10001 "
                r"nodes \(budget 0\.0 GB\); raise the budget with corpusql\.connect\(\.\.\., "
                r"memory_budget=\.\.\.\) or corpusql\.set_memory_budget\(con, \.\.\.\), "
                r"or lower max_bucket")):
            rows(con, "SELECT connected_components([0], [10000])")
        assert rows(con, "SELECT id, cluster_id, is_kept FROM near_dup_clusters('distinct10k', "
                         "'text', 'id') WHERE cluster_size > 1") == [(0, 0, True), (10000, 0, False)]
        with pytest.raises(duckdb.Error, match=r"set_jaccard needs more than .* for 1 sets"):
            rows(con, "SELECT set_jaccard(shingle_set(text), shingle_set(text || ' more')) FROM ("
                      "SELECT string_agg(chr(CAST(97 + i % 26 AS INTEGER)) || chr(CAST(97 + (i // 26) "
                      "% 26 AS INTEGER)) || chr(CAST(97 + i // 676 AS INTEGER)), ' ') AS text "
                      "FROM range(5000) r(i))")
    finally:
        corpusql.set_memory_budget(con, "1TB")
    assert rows(con, "SELECT id, cluster_id, is_kept FROM near_dup_clusters('distinct10k', "
                     "'text', 'id') WHERE cluster_size > 1") == [(0, 0, True), (10000, 0, False)]


def test_kernels_without_a_budget_are_unbounded():
    import pyarrow as pa

    from corpusql.udfs.graph import connected_components

    got = connected_components(pa.array([[0, 2]]), pa.array([[1, 3]]), memory_budget=None)
    assert got.to_pylist() == [[0, 0, 2, 2]]
    with pytest.raises(ValueError, match="connected_components needs more than"):
        connected_components(pa.array([[0, 2]]), pa.array([[1, 3]]), memory_budget=10)


@pytest.mark.parametrize("release_size", [1, 3000])
def test_incremental_with_identical_documents_in_batch_and_release(con, release_size):
    # 3,000 identical batch documents (4.5 million pairs per band, uncapped) against a release
    # holding one or 3,000 of them (9 million batch x release pairs per band, uncapped); DuckDB
    # may use 300 MB and spill 300 MB, so a quadratic expansion errors instead of swapping
    number_tables(con, "inc_release", release_size)
    number_tables(con, "inc_batch", 3000, first_id=10_000)
    con.execute("INSERT INTO inc_batch VALUES (20000, 'a new page about something else entirely "
                "with enough words to be signed')")
    con.execute("SET memory_limit = '300MB'")
    con.execute("SET max_temp_directory_size = '300MB'")
    try:
        got = rows(con, "SELECT duplicate_in, count(*), min(duplicate_of), max(duplicate_of), "
                        "count(*) FILTER (WHERE is_kept) FROM near_dup_incremental('inc_batch', "
                        "'inc_release', 'text', 'id') GROUP BY ALL ORDER BY ALL")
    finally:
        con.execute("RESET memory_limit")
        con.execute("RESET max_temp_directory_size")
    assert got == [("release", 3000, 0, 0, 0), (None, 1, None, None, 1)]


def test_tiny_budget_stops_incremental_expansion_with_the_knobs():
    c = corpusql.connect(memory_budget="5MB")
    try:
        number_tables(c, "inc_release", 200)
        number_tables(c, "inc_batch", 200, first_id=10_000)
        # 200 x 200 batch x release pairs and 19,900 batch pairs per band, 32 bytes each: 27 MB
        with pytest.raises(duckdb.Error, match=(
                r"near_dup_incremental needs more than 0\.\d+ GB for the \d+ candidate pairs of "
                r"inc_batch and inc_release \(budget 0\.01 GB\); raise the budget with "
                r"corpusql\.connect\(\.\.\., memory_budget=\.\.\.\) or "
                r"corpusql\.set_memory_budget\(con, \.\.\.\), or lower max_bucket \(now 1000\)")):
            rows(c, "FROM near_dup_incremental('inc_batch', 'inc_release', 'text', 'id')")
        got = rows(c, "SELECT count(*) FILTER (WHERE duplicate_in = 'release'), min(duplicate_of) "
                      "FROM near_dup_incremental('inc_batch', 'inc_release', 'text', 'id', "
                      "max_bucket := 10)")
        assert got == [(200, 0)]
    finally:
        c.close()
