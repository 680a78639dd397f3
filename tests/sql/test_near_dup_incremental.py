"""near_dup_incremental(new_tbl, release_tbl, ...): a new batch deduplicated against an earlier
release, which keeps every document it had."""

from __future__ import annotations

import duckdb
import pytest

from corpusql.demo import sample_path

WORDS = [c + v + "n" for c in "bcdfghkl" for v in "aeiou"]  # 40 distinct words, no digits
RELEASE_TEXT = " ".join(WORDS)                       # 36 word 5-grams
NEAR_RELEASE = RELEASE_TEXT + " xan xen xin xon xun"      # 36/41 = 0.88 to the release text
BRIDGED = NEAR_RELEASE + " zan zen zin zon zun"           # 41/46 = 0.89 to NEAR_RELEASE, 36/46 = 0.78 to the release
OTHER = "completely different words about the history of typesetting and printing presses in europe"
FRESH = "a new page about compilers linkers loaders and the way object files are laid out on disk today"


@pytest.fixture
def con(mcon):
    mcon.execute("SET threads = 2")
    mcon.execute("CREATE OR REPLACE TABLE release AS SELECT * FROM (VALUES "
                 "(1, ?), (2, ?), (3, NULL)) AS t(id, text)", [RELEASE_TEXT, OTHER])
    mcon.execute("""
        CREATE OR REPLACE TABLE batch AS SELECT * FROM (VALUES
            (10, ?, 1),
            (11, ?, 1),
            (12, ?, 1),
            (13, ?, 5),
            (14, NULL, 1),
            (15, '', 1),
            (16, ?, 1),
            (17, ?, 1)
        ) AS t(id, text, prio)
    """, [NEAR_RELEASE, BRIDGED, FRESH, FRESH + " again", OTHER.upper() + "!", RELEASE_TEXT])
    return mcon


def rows(con, sql, params=None):
    return con.execute(sql, params).fetchall()


def test_batch_against_release(con):
    got = rows(con, "FROM near_dup_incremental('batch', 'release', 'text', 'id')")
    assert got == [
        (10, False, 1, "release"),    # near copy of release document 1
        (11, False, 1, "release"),    # only near 10, which is near 1: the release wins the cluster
        (12, True, None, None),       # new, and the first of its batch cluster
        (13, False, 12, "batch"),
        (14, True, None, None),       # NULL and empty texts never match
        (15, True, None, None),
        (16, False, 2, "release"),    # same words as 2 after normalization
        (17, False, 1, "release"),    # exact copy
    ]


def test_bridged_document_has_no_direct_pair_with_the_release(con):
    (j_direct, j_bridge), = rows(con, "SELECT jaccard(?, ?), jaccard(?, ?)",
                                 [BRIDGED, RELEASE_TEXT, BRIDGED, NEAR_RELEASE])
    assert j_direct < 0.8 <= j_bridge


def test_keep_by_inside_the_batch(con):
    got = dict((i, (k, d)) for i, k, d in rows(
        con, "SELECT id, is_kept, duplicate_of FROM near_dup_incremental("
             "'batch', 'release', 'text', 'id', keep_by := 'prio')"))
    assert got[13] == (True, None) and got[12] == (False, 13)
    assert got[10] == (False, 1)  # keep_by never lets a batch document displace the release


def test_release_is_never_reported_or_changed(con):
    before = rows(con, "FROM release ORDER BY id")
    ids = [r[0] for r in rows(con, "FROM near_dup_incremental('batch', 'release', 'text', 'id')")]
    assert ids == [r[0] for r in rows(con, "FROM batch ORDER BY id")]
    assert rows(con, "FROM release ORDER BY id") == before


def test_verify_drops_a_candidate_below_threshold(con):
    # alone in a batch, the bridged text shares a band key with release document 1 (Jaccard 0.78)
    con.execute("CREATE OR REPLACE TABLE lone AS FROM batch WHERE id = 11")
    con.execute("CREATE OR REPLACE TABLE pair AS SELECT id, text FROM lone UNION ALL "
                "SELECT id, text FROM release WHERE id = 1")
    assert rows(con, "SELECT id_a, id_b FROM near_dup_candidates('pair', 'text', 'id', "
                     "fn_weight := 0.9)") == [(1, 11)]
    sql = "FROM near_dup_incremental('lone', 'release', 'text', 'id', verify := {})"
    assert rows(con, sql.format("true")) == [(11, True, None, None)]
    assert rows(con, sql.format("false")) == [(11, False, 1, "release")]


def test_empty_release_is_plain_clustering(con):
    con.execute("CREATE OR REPLACE TABLE nothing AS FROM release LIMIT 0")
    inc = rows(con, "SELECT id, is_kept FROM near_dup_incremental('batch', 'nothing', 'text', 'id')")
    full = rows(con, "SELECT id, is_kept FROM near_dup_clusters('batch', 'text', 'id') ORDER BY id")
    assert inc == full
    assert rows(con, "FROM near_dup_incremental('nothing', 'release', 'text', 'id')") == []


@pytest.mark.parametrize("threshold, message", [
    # the batch's banding and the release's band keys check it: either may report first
    (0, r"near_dup_(incremental|settings): threshold = 0 is out of range \(0, 1\]"),
    (1.5, r"threshold = 1.5 is out of range"),
])
def test_bad_threshold(con, threshold, message):
    with pytest.raises(duckdb.Error, match=message):
        rows(con, f"FROM near_dup_incremental('batch', 'release', 'text', 'id', threshold := {threshold})")


def test_bad_num_perm(con):
    with pytest.raises(duckdb.Error, match=r"num_perm = 4096 is out of range"):
        rows(con, "FROM near_dup_incremental('batch', 'release', 'text', 'id', num_perm := 4096)")


@pytest.fixture(scope="module")
def sample(mcon):
    """The bundled sample split in two by a corpusql hash of the id: a deduplicated release made
    from one part, and the other part as the new batch."""
    mcon.execute(f"CREATE OR REPLACE TABLE sample AS SELECT id, text, origin FROM '{sample_path()}'")
    mcon.execute("CREATE OR REPLACE TABLE part_a AS FROM sample WHERE "
                 "split_assign(id, seed := 3, train := 0.6, val := 0.4, test := 0.0) = 'train'")
    mcon.execute("CREATE OR REPLACE TABLE part_b AS FROM sample WHERE "
                 "split_assign(id, seed := 3, train := 0.6, val := 0.4, test := 0.0) <> 'train'")
    mcon.execute("CREATE OR REPLACE TABLE old_release AS FROM near_dedup('part_a', 'text', 'id')")
    mcon.execute("CREATE OR REPLACE TABLE both_parts AS "
                 "SELECT id, text, 1 AS from_release FROM old_release "
                 "UNION ALL SELECT id, text, 0 FROM part_b")
    return mcon


@pytest.mark.parametrize("threshold, verify", [(0.7, True), (0.8, True), (0.9, True), (0.8, False)])
def test_same_as_clustering_both_with_the_release_preferred(sample, threshold, verify):
    """Batch documents kept by near_dup_incremental are exactly those near_dup_clusters keeps
    over release and batch together when every release document outranks the batch."""
    inc = rows(sample, f"SELECT id, is_kept FROM near_dup_incremental('part_b', 'old_release', "
                       f"'text', 'id', threshold := {threshold}, verify := {verify})")
    full = rows(sample, f"SELECT c.id, c.is_kept FROM near_dup_clusters('both_parts', 'text', 'id', "
                        f"threshold := {threshold}, verify := {verify}, keep_by := 'from_release') AS c "
                        f"SEMI JOIN part_b USING (id) ORDER BY c.id")
    assert inc == full
    assert sum(not kept for _, kept in inc) > 50  # the sample's injected copies do get removed


def test_injected_copies_of_released_documents_are_removed(sample):
    # ids of injected copies are '<original id>#<kind><n>'; copies of released originals must go
    got = rows(sample, """
        SELECT count(*), count(*) FILTER (WHERE NOT i.is_kept AND i.duplicate_in = 'release')
        FROM near_dup_incremental('part_b', 'old_release', 'text', 'id') AS i
        JOIN part_b AS b USING (id)
        WHERE b.origin IN ('exact', 'format')
          AND split_part(b.id, '#', 1) IN (SELECT id FROM old_release)""")
    (n, removed), = got
    assert n > 20 and removed == n


def test_deterministic_across_threads(sample):
    results = []
    for threads in (1, 2):
        sample.execute(f"SET threads = {threads}")
        results.append(rows(sample, "FROM near_dup_incremental('part_b', 'old_release', 'text', 'id')"))
    assert results[0] == results[1]


def test_band_keys_and_settings(con):
    (settings,), = rows(con, "SELECT near_dup_settings()")
    assert settings == "bands=14 rows=9 num_perm=128 ngram=5 unit=word seed=1 norm_numbers=true"
    got = rows(con, "SELECT id, count(*), count(DISTINCT band_key), any_value(settings) "
                    "FROM near_dup_band_keys('release', 'text', 'id') GROUP BY id ORDER BY id")
    assert got == [(1, 14, 14, settings), (2, 14, 14, settings)]  # 3 has NULL text: no keys
    with pytest.raises(duckdb.Error, match=r"threshold = 2 is out of range"):
        rows(con, "SELECT near_dup_settings(threshold := 2)")


def test_stored_release_keys_give_the_same_answer(sample):
    sample.execute("CREATE OR REPLACE TABLE old_release_keys AS "
                   "FROM near_dup_band_keys('old_release', 'text', 'id')")
    signed = rows(sample, "FROM near_dup_incremental('part_b', 'old_release', 'text', 'id')")
    stored = rows(sample, "FROM near_dup_incremental('part_b', 'old_release', 'text', 'id', "
                          "release_keys := 'old_release_keys')")
    assert stored == signed and any(r[3] == "release" for r in stored)


def test_stored_release_keys_with_other_settings_are_refused(sample):
    sample.execute("CREATE OR REPLACE TABLE keys_at_07 AS "
                   "FROM near_dup_band_keys('old_release', 'text', 'id', threshold := 0.7)")
    with pytest.raises(duckdb.Error, match=r"release_keys keys_at_07 were made with bands=.* "
                                           r"but this call uses bands=14 rows=9 .*near_dup_band_keys"):
        rows(sample, "FROM near_dup_incremental('part_b', 'old_release', 'text', 'id', "
                     "release_keys := 'keys_at_07')")


def test_batch_ids_must_be_unique_and_not_null(con):
    con.execute("CREATE OR REPLACE TABLE twice AS FROM batch UNION ALL FROM batch WHERE id = 12")
    with pytest.raises(duckdb.Error, match=r"near_dup_incremental: twice\.id is not unique: "
                                           r"1 repeated ids, e\.g\. 12"):
        rows(con, "FROM near_dup_incremental('twice', 'release', 'text', 'id')")
    con.execute("CREATE OR REPLACE TABLE no_id AS FROM batch UNION ALL SELECT NULL, 'x y z', 1")
    with pytest.raises(duckdb.Error, match=r"no_id\.id has 1 NULL ids"):
        rows(con, "FROM near_dup_incremental('no_id', 'release', 'text', 'id')")
