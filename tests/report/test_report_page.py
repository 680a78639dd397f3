"""The HTML report shows what happened: stages and reasons with the deciding values, duplicate
clusters, normalized signal histograms with thresholds, the mix, flagged documents and the
versions once; it renders in headless Chromium with no console error and no request."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from cdp import Browser

from corpusql.report import SECTIONS, build_html

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "report-screenshots"  # kept as CI artefacts (out/ is git-ignored)
WINDOW = (1200, 900)
EXTERNAL = re.compile(r"""(?:src|href|action|xlink:href)\s*=\s*["']?\s*(?!#|data:)[a-z]+:|"""
                      r"""url\(\s*["']?(?!data:|#)|@import|<link\b|<iframe\b""", re.I)


@pytest.fixture(scope="module")
def page(demo_release):
    return build_html(demo_release)


@pytest.fixture(scope="module")
def lake(demo_release):
    db = duckdb.connect(str(demo_release / "lake.duckdb"), read_only=True)
    yield db
    db.close()


def _section(page: str, name: str) -> str:
    m = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert m, name
    return m.group(1)


def test_every_section_and_no_external_reference(page):
    for name in [*SECTIONS, "changes"]:  # changes: the demo's splits are versioned
        assert f'<section id="{name}">' in page
    assert "val: v0001 is the only version kept" in _section(page, "changes")
    assert not EXTERNAL.findall(page), EXTERNAL.findall(page)[:5]
    assert "<img" not in page  # charts are inline SVG
    for name in ("clusters", "signals", "mix", "lengths"):
        assert "<svg" in _section(page, name), name


def test_stages_show_every_reason_with_counts_and_values(page, lake):
    stages = _section(page, "stages")
    order = [s for (s,) in lake.execute(
        "SELECT step FROM demo_removed_log GROUP BY step ORDER BY min(rowid)").fetchall()]
    assert order == ["empty", "language", "exact_dedup", "near_dedup", "gopher_repetition",
                     "quality_model"]
    shown = re.findall(r'<h3 id="stage-\d+">\d+\. (\w+):', stages)
    assert shown == order
    # the stage table: documents in, removed and out chain from the dataset's count
    (docs,) = lake.execute("SELECT count(*) FROM docs").fetchone()
    for step in order:
        (n,) = lake.execute("SELECT count(*) FROM demo_removed_log WHERE step = ?",
                            [step]).fetchone()
        assert (f"<td>{step}</td><td class=\"num\">{docs:,}</td><td class=\"num\">{n:,}</td>"
                f"<td class=\"num\">{docs - n:,}</td>") in stages
        docs -= n
    for reason, n in lake.execute(
            "SELECT reason, count(*) FROM demo_removed_log WHERE step = 'gopher_repetition' "
            "GROUP BY ALL").fetchall():
        assert f'<td>{reason}</td><td class="num">{n:,}</td>' in stages
        assert f"{reason}: {min(n, 20)} of {n:,} documents" in stages
    # examples carry the values that decided them
    assert re.search(r"<td>top_2_gram = 0\.\d+ &gt; 0\.2", stages)
    assert re.search(r"<td>quality = 0\.\d+ &lt; 0\.5</td>", stages)
    n_examples = len(re.findall(r"<tr><td>[^<]+</td><td>[^<]*</td><td>[^<]+</td>",
                                stages.split("<table class=\"examples\">", 1)[1]))
    assert n_examples > 100


def test_clusters_have_labeled_axes_and_highlighted_differences(page):
    clusters = _section(page, "clusters")
    for step in ("exact_dedup", "near_dedup"):
        assert f"{step}: clusters by size" in clusters
    assert clusters.count("cluster size (documents, the kept one included)") == 2
    assert clusters.count(">clusters</text>") == 2  # the y axis label
    assert clusters.count('<div class="pair">') >= 4
    assert '<mark class="del">' in clusters and '<mark class="ins">' in clusters


def test_signals_are_shares_per_source_with_thresholds(page, lake):
    signals = _section(page, "signals")
    assert "share of the source&#x27;s documents" in signals
    assert "documents</text>" not in signals.replace("source&#x27;s documents</text>", "")
    assert "threshold: &gt; 0.15 is cut" in signals  # duplicated_5_n_grams
    sources = [s for (s,) in lake.execute(
        "SELECT DISTINCT source FROM demo_signals_log ORDER BY 1").fetchall()]
    for s in sources:
        assert f">{s} (" in signals  # a legend entry per source


def test_mix_flags_and_versions(page, lake):
    mix = _section(page, "mix")
    assert ">target share</text>" in mix and ">achieved share</text>" in mix
    for source, epochs in lake.execute(
            "SELECT group_key, epochs_used FROM demo_mix_report_log").fetchall():
        assert f">{epochs} epoch" in mix and f">{source}</text>" in mix
    flagged = _section(page, "flagged")
    (kept,) = lake.execute(
        "SELECT count(DISTINCT id) FROM demo_flags_log WHERE id NOT IN "
        "(SELECT id FROM demo_removed_log)").fetchone()
    assert f"{kept:,} documents are kept in the output with at least one flag" in flagged
    assert "gopher_below_alpha_threshold" in flagged
    versions = _section(page, "versions")
    assert versions.count("<td>exact_dup_groups</td>") == 1  # one table, not one per part
    assert page.count("<td>exact_dup_groups</td>") == 1
    assert versions.count("recipe SQL") == 1


def test_single_output_and_missing_manifest(demo_release, tmp_path):
    page = build_html(demo_release / "val", db=tmp_path / "none.duckdb")
    assert "val" in page and "no removal log" in page
    with pytest.raises(FileNotFoundError, match="no _manifest.json"):
        build_html(tmp_path)


def _not_blank(png: Path) -> bool:
    from PIL import Image

    with Image.open(png) as im:
        lo, hi = im.convert("L").getextrema()
        return im.width > 100 and im.height > 50 and hi > lo


def test_renders_in_headless_chromium(demo_release, tmp_path, chromium):
    html_path = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "corpusql.cli", "report", str(demo_release),
                           "--html", str(html_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open(html_path.as_uri(), *WINDOW)
        found = browser.evaluate(
            "JSON.stringify(Array.from(document.querySelectorAll('section')).map(function (s) {"
            " var r = s.getBoundingClientRect();"
            " return {id: s.id, x: r.left + scrollX, y: r.top + scrollY, width: r.width,"
            " height: r.height}; }))")
        layout = browser.evaluate(
            "JSON.stringify({links: document.querySelectorAll('#toc a').length,"
            " sections: document.body.getAttribute('data-sections'),"
            " overflow: document.documentElement.scrollWidth - innerWidth})")
        cut = browser.labels_outside()
        shots = []
        for s in json.loads(found):
            assert s["height"] > 20, s
            path = SHOTS / f"{s['id']}.png"
            browser.screenshot(path, {"x": s["x"], "y": s["y"], "width": s["width"],
                                      "height": min(s["height"], 6000)})
            shots.append((s["id"], path))
        problems = browser.problems()
    finally:
        browser.close()
    layout = json.loads(layout)
    shown = [*SECTIONS, "changes"]  # the demo's splits are versioned releases
    assert [name for name, _ in shots] == shown
    assert layout["links"] == len(shown) and layout["sections"] == str(len(shown))
    assert layout["overflow"] <= 0, "the page is wider than the window"
    assert not cut, f"labels outside their chart or the page: {cut[:10]}"
    assert not problems, problems
    for name, path in shots:
        assert _not_blank(path), f"{name}: blank screenshot {path}"
