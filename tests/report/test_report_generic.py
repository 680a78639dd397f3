"""The report draws any recipe's logs, found by their columns, and says what is missing."""

from __future__ import annotations

import re

import corpusql
from corpusql.report import build_html


def test_a_recipe_with_a_bare_removal_log(tmp_path):
    con = corpusql.connect(tmp_path / "lake.duckdb")
    try:
        con.execute("CREATE TABLE kept AS SELECT * FROM (VALUES (1, 'hello world', 'a', 0.9), "
                    "(2, 'more text here', 'b', 0.7), (6, 'and more', 'b', 0.2)) "
                    "AS t(id, text, source, score)")
        con.execute("CREATE TABLE my_removed AS SELECT * FROM (VALUES "
                    "(5, 'short', 'too short'), (3, 'dedup', 'exact duplicate of 1'), "
                    "(4, 'dedup', 'exact duplicate of 1'), (7, 'dedup', 'exact duplicate of 2')) "
                    "AS t(id, step, reason)")
        corpusql.materialize(con, "SELECT * FROM kept", tmp_path / "out", order_by="id")
    finally:
        con.close()
    page = build_html(tmp_path / "out", db=tmp_path / "lake.duckdb")
    stages = re.search(r'<section id="stages">(.*?)</section>', page, re.S).group(1)
    # stages in the log's row order, counts without the texts (the kept table lacks the ids)
    assert re.findall(r'<h3 id="stage-\d+">\d+\. (\w+):', stages) == ["short", "dedup"]
    assert '<td>dedup</td><td class="num">3</td>' in stages
    assert "no counts in and out" in stages
    assert "<td>exact duplicate of a kept document</td>" in stages
    clusters = re.search(r'<section id="clusters">(.*?)</section>', page, re.S).group(1)
    assert "dedup: 2 clusters" in clusters and "cluster of 3 kept as 1" in clusters
    assert "The texts are not in the database" in clusters
    signals = re.search(r'<section id="signals">(.*?)</section>', page, re.S).group(1)
    assert "No signal log" in signals and ">score</text>" in signals  # the output's column
    assert ">a (1)</text>" in signals and ">b (2)</text>" in signals  # shares per source
    assert "no flag log" in page and "no mix report" in page


def test_tokens_are_counted_up_to_a_limit(tmp_path, monkeypatch):
    from corpusql import report_log

    con = corpusql.connect(tmp_path / "lake.duckdb")
    try:
        con.execute("CREATE TABLE docs AS SELECT i AS id, repeat('word ', i) AS text "
                    "FROM range(1, 9) AS t(i)")
        con.execute("CREATE TABLE removed_log AS SELECT id, 'short' AS step, 'too short' AS "
                    "reason FROM docs WHERE id <= 3")
        corpusql.materialize(con, "SELECT * FROM docs WHERE id > 3", tmp_path / "out",
                             order_by="id")
        (total,) = con.execute("SELECT sum(token_count(text)) FROM docs").fetchone()
        (removed,) = con.execute("SELECT sum(token_count(text)) FROM docs WHERE id <= 3"
                                 ).fetchone()
    finally:
        con.close()
    page = build_html(tmp_path / "out", db=tmp_path / "lake.duckdb")
    assert (f'<td>short</td><td class="num">8</td><td class="num">3</td><td class="num">5</td>'
            f'<td class="num">{total}</td><td class="num">{removed}</td>'
            f'<td class="num">{total - removed}</td>') in page
    assert "word word word" in page  # the removed texts are shown
    monkeypatch.setattr(report_log, "MAX_TOKENIZED_DOCS", 7)
    page = build_html(tmp_path / "out", db=tmp_path / "lake.duckdb")
    assert "Tokens are not counted: the dataset has 8 documents" in page
    assert '<td>short</td><td class="num">8</td><td class="num">3</td><td class="num">5</td>' \
           '</tr>' in page
