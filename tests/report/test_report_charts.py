"""The report's SVG charts keep every label inside the chart, whatever the label lengths, and
the kept-beside-removed view marks exactly the differing words."""

from __future__ import annotations

import re

import pytest
from cdp import Browser

from corpusql.report_diff import side_by_side
from corpusql.report_html import PAGE
from corpusql.report_svg import bars, histogram, nice_ticks

LONG = "a-source-name-that-goes-on-and-on-for-a-while"


def _page(body: str) -> str:
    return PAGE.format(title="charts", version="test",
                       body=f'<section id="charts"><h2>charts</h2>{body}</section>')


@pytest.fixture(scope="module")
def browser(tmp_path_factory, chromium):
    b = Browser(chromium, tmp_path_factory.mktemp("charts") / "profile")
    yield b
    b.close()


def test_long_labels_stay_inside_the_charts(browser, tmp_path):
    cats = [f"{LONG}-{i}" for i in range(12)]
    charts = [
        bars(cats, {"target share": [0.05] * 12, "achieved share": [0.06] * 12},
             title="many long categories", xlabel="source", ylabel="share of the mix's tokens",
             percent=True, notes=[f"{i} epochs" for i in range(12)]),
        bars([str(n) for n in range(2, 40)], {"clusters": [10 ** (n % 6) for n in range(38)]},
             title="cluster sizes", xlabel="cluster size", ylabel="clusters"),
        histogram([0, 0.5, 1.0, 1.5], {f"{LONG} (1,234,567)": [0.2, 0.5, 0.3],
                                        "short (3)": [1.0, 0, 0]},
                  title="a signal", xlabel="a signal", ylabel="share of the source's documents",
                  thresholds=[(1.4, "threshold: > 1.4 is cut")]),
    ]
    page = tmp_path / "charts.html"
    page.write_text(_page("".join(charts)), encoding="utf-8")
    browser.open(page.as_uri(), 1200, 900)
    assert browser.labels_outside() == []
    # the check sees a label drawn past the chart's edge
    broken = charts[0].replace('text-anchor="end" transform="rotate(-45',
                               'text-anchor="start" transform="rotate(0', 1)
    broken = broken.replace('<text x="', '<text x="9', 1)
    page.write_text(_page(broken), encoding="utf-8")
    browser.open(page.as_uri(), 1200, 900)
    assert browser.labels_outside()


def test_nice_ticks():
    assert nice_ticks(0, 596) == [0, 200, 400, 600]
    assert nice_ticks(0, 0.4001) == [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_side_by_side_marks_the_differing_words():
    same = " ".join(f"w{i}" for i in range(60))
    html = side_by_side(("k", f"Alpha {same} beta gamma"), ("r", f"Alpha {same} BETA gamma"))
    assert re.findall(r'<mark class="del">(.*?)</mark>', html) == ["beta"]
    assert re.findall(r'<mark class="ins">(.*?)</mark>', html) == ["BETA"]
    assert "1 words differ" in html and "equal words]" in html  # the long equal run is cut
    assert "identical texts" in side_by_side(("k", "a b"), ("r", "a b"))
    assert "differ only in spacing" in side_by_side(("k", "a b"), ("r", "a  b"))
    assert "&lt;script&gt;" in side_by_side(("k", "<script>"), ("r", "x"))
