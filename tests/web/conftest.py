"""Fixtures for the web tests: the tests' WARC (built once) and a network that refuses."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import warcgen  # noqa: E402


@pytest.fixture(scope="session")
def web_warc(tmp_path_factory):
    """(path, Corpus) of the tests' WARC (see warcgen)."""
    path = tmp_path_factory.mktemp("web") / "crawl.warc.gz"
    corpus = warcgen.build(path)
    return path, corpus


@pytest.fixture
def no_network(monkeypatch):
    """Every socket connection attempt fails (parsers and the suffix list must not need one)."""
    def refuse(*args, **kwargs):
        raise OSError("network access is refused in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
