"""The HTML report reads a versioned release through current and shows what its latest
version changed."""

from __future__ import annotations

from prov_helpers import ALL

import corpusql
from corpusql.releases import materialize
from corpusql.report import build_html


def test_report_shows_the_diff_between_the_two_latest_versions(lake, tmp_path):
    con, _ = lake
    out = tmp_path / "train"
    materialize(con, ALL, out, versioned=True)
    materialize(con, f"SELECT * FROM ({ALL}) WHERE id <> 'web-3'", out, versioned=True)
    corpusql.takedown(con, {"id": "books-2"}, "copyright claim", "DMCA-1", [out])
    page = build_html(out)
    assert "Changes since the previous version" in page
    assert "train: v0002 &rarr; v0003" in page
    num = '<td class="num">'
    assert (f"<td>books</td>{num}0</td><td>NULL</td>{num}1</td><td>NULL</td>") in page
    assert f"<td>DMCA-1</td><td>copyright claim</td><td>takedown</td>{num}1</td>" in page
    assert "58 rows in 1 part(s)" in page.replace(",", "")


def test_report_shows_removed_documents_by_stage_and_reason(lake, tmp_path):
    con, _ = lake
    out = tmp_path / "train"
    con.execute("CREATE TABLE removed_log (id VARCHAR, step VARCHAR, reason VARCHAR)")
    materialize(con, ALL, out, versioned=True, removal_log="removed_log")
    con.execute("INSERT INTO removed_log VALUES ('web-1', 'quality', 'too short'), "
                "('web-2', 'quality', 'too short'), ('books-3', 'language', 'not English')")
    materialize(con, f"SELECT * FROM ({ALL}) WHERE id NOT IN (SELECT id FROM removed_log) "
                "AND id <> 'web-30'", out, versioned=True, removal_log="removed_log")
    corpusql.takedown(con, {"id": "books-2"}, "copyright claim", "DMCA-1", [out])
    page = build_html(out)
    num = '<td class="num">'
    assert "removed by stage" in page
    assert f"<td>takedown</td><td>copyright claim (request DMCA-1)</td>{num}1</td>" in page
    assert "train: v0002 &rarr; v0003" in page  # the two latest versions
    # between v0001 and v0002 (rolled back to compare): stages from the removal log
    from corpusql.releases import rollback

    rollback(out, "v0002")
    page = build_html(out)
    assert "train: v0001 &rarr; v0002" in page
    assert f"<td>quality</td><td>too short</td>{num}2</td>" in page
    assert f"<td>language</td><td>not English</td>{num}1</td>" in page
    assert f"<td>(not recorded)</td><td></td>{num}1</td>" in page  # web-30: the query's own
