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
