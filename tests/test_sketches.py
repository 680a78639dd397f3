"""corpusql signatures as datasketch objects: datasketch's MinHashLSH, given the signatures
``minhash_signature`` made, finds exactly the candidate pairs ``near_dup_candidates`` finds with
the same bands and rows."""

from __future__ import annotations

import pytest
from datasketch import LeanMinHash, MinHashLSH

import corpusql
from corpusql.demo import sample_path


@pytest.fixture(scope="module")
def con():
    c = corpusql.connect()
    # the sample's first 600 documents, and an edited copy (one word dropped) of every 3rd one
    c.execute("CREATE TABLE base AS SELECT id, text FROM read_parquet(?) ORDER BY id LIMIT 600",
              [str(sample_path())])
    c.execute("""CREATE TABLE docs AS
        SELECT CAST(id AS VARCHAR) AS id, text FROM base
        UNION ALL
        SELECT id || '-copy', regexp_replace(text, '\\s\\S+', '') FROM base
        WHERE hash_unit(CAST(id AS VARCHAR)) < 0.34""")
    yield c
    c.close()


@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_datasketch_lsh_finds_the_same_candidates(con, threshold):
    (params,), = con.execute("SELECT minhash_params(?)", [threshold]).fetchall()
    bands, rows = params["bands"], params["rows"]
    ours = set(con.execute(
        "SELECT id_a, id_b FROM near_dup_candidates('docs', 'text', 'id', threshold := ?, "
        "max_bucket := 100000)", [threshold]).fetchall())
    lsh = MinHashLSH(threshold=threshold, num_perm=128, params=(bands, rows))
    sigs = {}
    for doc_id, sig in con.execute(
            "SELECT id, minhash_signature(text) FROM docs ORDER BY id").fetchall():
        if sig is None:
            continue
        sigs[doc_id] = corpusql.to_datasketch(sig)
        lsh.insert(doc_id, sigs[doc_id])
    theirs = set()
    for doc_id, m in sigs.items():
        for other in lsh.query(m):
            if other != doc_id:
                theirs.add(tuple(sorted((doc_id, other))))
    assert len(ours) > 50  # the edited copies, at least
    assert theirs == ours


def test_lean_minhash_carries_our_values_and_seed(con):
    (sig,), = con.execute("SELECT minhash_signature('a b c d e f g', seed := 7)").fetchall()
    m = corpusql.to_datasketch(sig, seed=7)
    assert isinstance(m, LeanMinHash)
    assert m.seed == 7 and list(m.hashvalues) == list(sig)
    (sig2,), = con.execute("SELECT minhash_signature('a b c d e f h', seed := 7)").fetchall()
    (est,), = con.execute("SELECT minhash_jaccard(?::UINTEGER[], ?::UINTEGER[])",
                          [sig, sig2]).fetchall()
    assert m.jaccard(corpusql.to_datasketch(sig2, seed=7)) == pytest.approx(est)


@pytest.mark.parametrize("bad, message", [(None, "NULL"), ([], "expected a list")])
def test_bad_signatures_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        corpusql.to_datasketch(bad)


