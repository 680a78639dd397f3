"""Decision-by-decision agreement with datatrove 0.10.1 on the shared reference documents.

``../shared/data/quality-ref/decisions.parquet`` holds 8000 corpus-dev documents with the
pass/fail and reason datatrove's own filters gave (default parameters). Each filter runs through
SQL; a decision agrees when pass/fail and the reason (our first reason) are both equal.
"""

from __future__ import annotations

import pytest

FILTERS = [
    ("gopher_quality", "gopher_quality"),
    ("gopher_repetition", "gopher_repetition"),
    ("c4_quality", "c4"),
    ("fineweb_quality", "fineweb"),
]


@pytest.fixture(scope="module")
def ref(shared_data):
    path = shared_data / "quality-ref" / "decisions.parquet"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    import corpusql

    con = corpusql.connect()
    con.execute("CREATE TABLE ref AS SELECT * FROM read_parquet(?)", [str(path)])
    yield con
    con.close()


@pytest.mark.parametrize("fn, col", FILTERS, ids=[f for f, _ in FILTERS])
def test_agreement_with_datatrove(ref, fn, col):
    rows = ref.execute(f"""
        WITH ours AS (
            SELECT lang, {col}_pass AS ref_pass, {col}_reason AS ref_reason,
                   {fn}_reasons(text) AS reasons
            FROM ref
        ), judged AS (
            SELECT lang,
                   (len(reasons) = 0) = ref_pass
                   AND reasons[1] IS NOT DISTINCT FROM ref_reason AS agree
            FROM ours
        )
        SELECT
            avg(agree::INTEGER) FILTER (WHERE lang = 'en') AS en,
            avg(agree::INTEGER) AS all_langs,
            count(*) FILTER (WHERE NOT agree) AS n_disagree
        FROM judged
    """).fetchall()
    en, all_langs, n_disagree = rows[0]
    print(f"{fn}: agreement en {en:.4f}, all languages {all_langs:.4f}, "
          f"{n_disagree} disagreements")
    assert en >= 0.99, f"{fn}: English agreement {en:.4f} < 0.99"
    assert all_langs >= 0.99, f"{fn}: all-language agreement {all_langs:.4f} < 0.99"


def test_pass_agrees_with_reasons(ref):
    """``<set>_pass`` is exactly ``len(<set>_reasons) = 0``."""
    for fn, _ in FILTERS:
        (bad,), = ref.execute(f"""
            SELECT count(*) FROM (SELECT text FROM ref LIMIT 500)
            WHERE {fn}_pass(text) <> (len({fn}_reasons(text)) = 0)
        """).fetchall()
        assert bad == 0, fn
