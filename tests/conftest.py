"""Shared fixtures: connections that always close, and the ../shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

import corpusql

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture
def con():
    """A fresh in-memory corpusql connection, closed after the test."""
    c = corpusql.connect()
    yield c
    c.close()


@pytest.fixture(scope="module")
def mcon():
    """One corpusql connection for a whole test module (connecting binds every registry
    function: slow), closed after the module."""
    c = corpusql.connect()
    yield c
    c.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it are skipped with a reason when it is absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not beside the project (see shared/README.md)")
    return path


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from the current outputs (review the diff)")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def spy(monkeypatch):
    """``spy(owner, name)``: wrap ``owner.name`` (a module's function) for this test so that each
    call's first argument is appended to the list it returns; the real function still runs."""

    def install(owner, name: str) -> list:
        calls: list = []
        real = getattr(owner, name)

        def recording(first, *args, **kwargs):
            calls.append(first)
            return real(first, *args, **kwargs)

        monkeypatch.setattr(owner, name, recording)
        return calls

    return install
