"""quality_report(tbl, text_col): rejections per filter, rule and source, through SQL."""

from __future__ import annotations

import duckdb
import pytest

SENTENCES = [
    "The committee met on Tuesday to discuss the budget for the coming year.",
    "Several members raised concerns about the rising cost of maintenance.",
    "After a long debate, they agreed to postpone the decision until spring.",
    "The chairman thanked everyone for their patience and closed the meeting.",
    "Local residents will be invited to comment on the proposal next month.",
    "A report with the full figures has been published on the council website.",
]
GOOD = "\n".join(SENTENCES)
SHORT = "Too short."
REPEATED = "\n".join(["buy now buy now buy now"] * 12)


@pytest.fixture
def docs(con):
    con.execute("""
        CREATE TABLE docs AS SELECT * FROM (VALUES
            (1, ?, 'web'), (2, ?, 'web'), (3, ?, 'books'), (4, NULL, 'books'), (5, ?, NULL)
        ) AS t(id, body, source)
    """, [GOOD, SHORT, REPEATED, GOOD])
    return con


def report(con, sql):
    return con.execute(sql).fetchall()


def test_any_rows_count_rejected_documents_per_source(docs):
    rows = report(docs, "SELECT filter, source, n_docs, n_failed, share FROM "
                        "quality_report('docs', 'body') WHERE reason = '(any)'")
    by = {(f, s): (n, k, sh) for f, s, n, k, sh in rows}
    # every filter has an '(all)' row and one per source ('(null)' for the NULL source)
    for f in ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"):
        assert by[(f, "(all)")][0] == 5
        assert {s for (g, s) in by if g == f} == {"(all)", "web", "books", "(null)"}
    # NULL text (id 4) fails every filter; the repeated text fails repetition; so does the short
    # one (datatrove: its only 2-gram, counted once, is 90 % of its characters)
    assert by[("gopher_repetition", "books")] == (2, 2, 1.0)
    assert by[("gopher_repetition", "web")] == (2, 1, 0.5)
    assert by[("gopher_repetition", "(null)")] == (1, 0, 0.0)


def test_rule_rows_use_datatrove_reason_codes(docs):
    rows = report(docs, "SELECT filter, reason, n_failed, n_first FROM "
                        "quality_report('docs', 'body') WHERE source = '(all)'")
    reasons = {(f, r) for f, r, _, _ in rows}
    assert ("gopher_quality", "gopher_short_doc") in reasons
    assert ("gopher_repetition", "empty") in reasons
    assert ("c4_quality", "too_few_sentences") in reasons
    # the first reasons of a filter add up to its '(any)' row
    for f in {f for f, _ in reasons}:
        firsts = sum(n_first for g, r, _, n_first in rows if g == f and r != "(any)")
        anys = [n for g, r, n, _ in rows if g == f and r == "(any)"]
        assert [firsts] == anys


def test_ordering_is_total_and_any_comes_first(docs):
    rows = report(docs, "SELECT filter, reason, source FROM quality_report('docs', 'body')")
    assert len(rows) == len(set(rows))
    first_per_filter = {}
    for f, r, s in rows:
        first_per_filter.setdefault(f, (r, s))
    assert all(v == ("(any)", "(all)") for v in first_per_filter.values())


def test_table_without_source_column_reports_totals_only(con):
    con.execute("CREATE TABLE plain AS SELECT ? AS text UNION ALL SELECT ?", [GOOD, SHORT])
    rows = report(con, "SELECT DISTINCT source FROM quality_report('plain', 'text')")
    assert rows == [("(all)",)]


def test_unknown_text_column_is_an_error_naming_the_candidates(docs):
    with pytest.raises(duckdb.BinderException) as err:
        report(docs, "SELECT * FROM quality_report('docs', 'text')")
    assert 'Could not find key "text"' in str(err.value)
    assert "body" in str(err.value)


def test_unknown_table_is_an_error(con):
    with pytest.raises(duckdb.CatalogException, match="nosuch"):
        report(con, "SELECT * FROM quality_report('nosuch', 'text')")
