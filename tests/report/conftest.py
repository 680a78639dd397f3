"""One demo run shared by the report tests (the demo takes 10-50 s)."""

from __future__ import annotations

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
