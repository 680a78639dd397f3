"""One demo run shared by the report tests (the demo takes 10-50 s), and Debian's chromium."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from corpusql.demo import demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo's result and its output folder (``out/`` with train, val, test, lake.duckdb)."""
    out = tmp_path_factory.mktemp("report") / "out"
    return demo(out)


@pytest.fixture(scope="session")
def demo_release(demo_run):
    return demo_run.out_dir


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
        pytest.skip("Debian's chromium (apt package 'chromium') is not installed and cannot "
                    "be installed here")
    return path
