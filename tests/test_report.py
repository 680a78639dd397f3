"""The HTML report renders in headless Chromium with every section and no console errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from corpusql.demo import demo
from corpusql.report import SECTIONS, build_html

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _install_chromium() -> str | None:
    """Debian's chromium, installed by the test setup when we may (root, apt-get present)."""
    found = shutil.which("chromium")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "install", "-y", "-qq", "chromium"],
                ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if cmd[1] == "install" and proc.returncode == 0:
            break
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium():
    path = _install_chromium()
    if path is None:
        pytest.skip("Debian's chromium is not installed and cannot be installed here")
    return path


@pytest.fixture(scope="module")
def demo_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    demo(out)
    return out


def test_page_has_every_section_and_the_figures(demo_release):
    page = build_html(demo_release)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert page.count("data:image/png;base64,") >= 3
    assert "exact_dedup" in page and "Duplicate cluster sizes" in page
    assert "exact_dup_groups" in page  # macro versions from the manifest
    assert "Token exports" in page and "train_tokens" in page  # the demo's token shards
    assert "http://" not in page and "https://" not in page  # works offline


def test_single_output_and_missing_manifest(demo_release, tmp_path):
    page = build_html(demo_release / "val", db=tmp_path / "none.duckdb")
    assert "val" in page and "no removal log" in page
    with pytest.raises(FileNotFoundError, match="no _manifest.json"):
        build_html(tmp_path)


def test_renders_in_headless_chromium(demo_release, tmp_path, chromium):
    html_path = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "corpusql.cli", "report", str(demo_release),
                           "--html", str(html_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
         "--v=0", "--dump-dom", html_path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the page's script ran and counted every section
    assert f'data-sections="{len(SECTIONS)}"' in dom.stdout
    assert dom.stdout.count('<a href="#') == len(SECTIONS)
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                    f"--screenshot={shot}", "--window-size=1200,2400", html_path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    assert re.search(r"<img src=\"data:image/png", dom.stdout)
